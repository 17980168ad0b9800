// LoRA at the matmul site: y += scale * B (A x) for each adapter of a projection (see Model::add_lora).
#pragma once

#include <span>
#include <vector>

#include "kernels/kernels.h"
#include "model/weights.h"

namespace slm::model {

// x: (n, in), y: (n, out); no-op when `adapters` is empty. row_adapter: empty = every adapter on every
// row; else (n) the adapter index each row uses (-1: none), and each adapter runs only on its rows.
void lora_apply(const kernels::CpuKernels& k, const std::vector<LoraMat>& adapters, std::span<const float> x,
                int64_t n, std::span<float> y, std::span<const int32_t> row_adapter = {});

// Model::forward's per-row adapter choice (Batch::adapters) for the calls on this thread while the scope
// lives; lora_apply without an explicit row_adapter uses it. A scope rather than one more parameter through
// every block call: the blocks stay adapter-agnostic.
class LoraRowsScope {
 public:
  explicit LoraRowsScope(std::span<const int32_t> rows);
  ~LoraRowsScope();
  LoraRowsScope(const LoraRowsScope&) = delete;
  LoraRowsScope& operator=(const LoraRowsScope&) = delete;

 private:
  std::span<const int32_t> saved_;
};

}  // namespace slm::model
