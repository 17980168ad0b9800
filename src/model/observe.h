// An optional observer of the input of every weight matmul in the forward pass (importance statistics).
// Installed for a scope on the calling thread; the forward pass reports each projection's input rows.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "kernels/kernels.h"

namespace slm::model {

// w: the weight (a view into the model file: its data pointer identifies the tensor); x: (n_rows, w.cols).
using MatmulInputObserver = std::function<void(const kernels::MatView& w, std::span<const float> x, int64_t n_rows)>;

// Installs `f` for forward passes run on this thread while the object lives (restores the previous one).
class ScopedMatmulObserver {
 public:
  explicit ScopedMatmulObserver(MatmulInputObserver f);
  ~ScopedMatmulObserver();
  ScopedMatmulObserver(const ScopedMatmulObserver&) = delete;
  ScopedMatmulObserver& operator=(const ScopedMatmulObserver&) = delete;

 private:
  MatmulInputObserver* prev_;
  MatmulInputObserver f_;
};

// Called by the forward pass before a matmul; a no-op (one thread-local load) when nothing observes.
void observe_matmul_input(const kernels::MatView& w, std::span<const float> x, int64_t n_rows);
// Whether an observer is installed on this thread (the forward pass then runs every row through every
// layer, so the statistics see every row).
bool matmul_observed();

}  // namespace slm::model
