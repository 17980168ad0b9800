// The shared decoder forward pass (model/forward.cc); Model::forward calls it.
#pragma once

#include <span>

#include "model/model.h"
#include "model/weights.h"

namespace slm::model {

void decoder_forward(const ModelConfig& cfg, const Weights& w, const Batch& batch, KvCache& kv,
                     std::span<float> logits_out);

}  // namespace slm::model
