// LoRA at the matmul site: y += scale * B (A x) for each adapter of a projection (see Model::add_lora).
#pragma once

#include <span>
#include <vector>

#include "kernels/kernels.h"
#include "model/weights.h"

namespace slm::model {

// x: (n, in), y: (n, out); no-op when `adapters` is empty.
void lora_apply(const kernels::CpuKernels& k, const std::vector<LoraMat>& adapters, std::span<const float> x,
                int64_t n, std::span<float> y);

}  // namespace slm::model
