// The thread-local matmul input observer.
#include "model/observe.h"

#include <utility>

namespace slm::model {
namespace {
thread_local MatmulInputObserver* g_observer = nullptr;
}

ScopedMatmulObserver::ScopedMatmulObserver(MatmulInputObserver f) : prev_(g_observer), f_(std::move(f)) {
  g_observer = &f_;
}

ScopedMatmulObserver::~ScopedMatmulObserver() { g_observer = prev_; }

bool matmul_observed() { return g_observer != nullptr && *g_observer; }

void observe_matmul_input(const kernels::MatView& w, std::span<const float> x, int64_t n_rows) {
  if (matmul_observed()) (*g_observer)(w, x, n_rows);
}

}  // namespace slm::model
