// Training matrix products: OpenBLAS sgemm for float, plain loops for double.
#include "train/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "train/ops.h"

namespace slm::train {
namespace {

// The pool provides the parallelism: each sgemm call runs on the thread that makes it.
void blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Splits [0, n) over the pool in pieces of at least `grain` (one piece inline when small or single-threaded).
template <class F>
void split(ThreadPool* pool, int64_t n, int64_t grain, F&& fn) {
  if (pool == nullptr || pool->size() == 1 || n < 2 * grain) {
    fn(int64_t{0}, n);
    return;
  }
  pool->for_range(n, grain, fn);
}

constexpr int64_t kGrain = 16;

}  // namespace

template <>
void gemm_nt<float>(ThreadPool* pool, int64_t n, int64_t out, int64_t in, const float* x, int64_t ldx,
                    const float* w, int64_t ldw, float* y, int64_t ldy, bool accumulate) {
  if (n <= 0 || out <= 0) return;
  blas_single_threaded();
  const float beta = accumulate ? 1.0f : 0.0f;
  if (n >= out)
    split(pool, n, kGrain, [&](int64_t t0, int64_t t1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(t1 - t0), int(out), int(in), 1.0f, x + t0 * ldx,
                  int(ldx), w, int(ldw), beta, y + t0 * ldy, int(ldy));
    });
  else
    split(pool, out, kGrain, [&](int64_t o0, int64_t o1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(o1 - o0), int(in), 1.0f, x, int(ldx),
                  w + o0 * ldw, int(ldw), beta, y + o0, int(ldy));
    });
}

template <>
void gemm_nn<float>(ThreadPool* pool, int64_t n, int64_t in, int64_t out, const float* dy, int64_t lddy,
                    const float* w, int64_t ldw, float* dx, int64_t lddx) {
  if (n <= 0 || in <= 0) return;
  blas_single_threaded();
  if (n >= in)
    split(pool, n, kGrain, [&](int64_t t0, int64_t t1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(t1 - t0), int(in), int(out), 1.0f, dy + t0 * lddy,
                  int(lddy), w, int(ldw), 1.0f, dx + t0 * lddx, int(lddx));
    });
  else
    split(pool, in, kGrain, [&](int64_t i0, int64_t i1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(i1 - i0), int(out), 1.0f, dy, int(lddy),
                  w + i0, int(ldw), 1.0f, dx + i0, int(lddx));
    });
}

template <>
void gemm_tn<float>(ThreadPool* pool, int64_t out, int64_t in, int64_t n, const float* dy, int64_t lddy,
                    const float* x, int64_t ldx, float* dw, int64_t lddw) {
  if (out <= 0 || in <= 0) return;
  blas_single_threaded();
  if (out >= in)
    split(pool, out, kGrain, [&](int64_t o0, int64_t o1) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(o1 - o0), int(in), int(n), 1.0f, dy + o0, int(lddy),
                  x, int(ldx), 1.0f, dw + o0 * lddw, int(lddw));
    });
  else
    split(pool, in, kGrain, [&](int64_t i0, int64_t i1) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(out), int(i1 - i0), int(n), 1.0f, dy, int(lddy),
                  x + i0, int(ldx), 1.0f, dw + i0, int(lddw));
    });
}

template <>
void gemm_nt<double>(ThreadPool* pool, int64_t n, int64_t out, int64_t in, const double* x, int64_t ldx,
                     const double* w, int64_t ldw, double* y, int64_t ldy, bool accumulate) {
  parallel_rows(pool, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t o = 0; o < out; ++o) {
        const double v = dot(x + t * ldx, w + o * ldw, in);
        y[t * ldy + o] = accumulate ? y[t * ldy + o] + v : v;
      }
  });
}

template <>
void gemm_nn<double>(ThreadPool* pool, int64_t n, int64_t in, int64_t out, const double* dy, int64_t lddy,
                     const double* w, int64_t ldw, double* dx, int64_t lddx) {
  parallel_rows(pool, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t o = 0; o < out; ++o) axpy(dy[t * lddy + o], w + o * ldw, dx + t * lddx, in);
  });
}

template <>
void gemm_tn<double>(ThreadPool* pool, int64_t out, int64_t in, int64_t n, const double* dy, int64_t lddy,
                     const double* x, int64_t ldx, double* dw, int64_t lddw) {
  parallel_rows(pool, out, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t t = 0; t < n; ++t) axpy(dy[t * lddy + o], x + t * ldx, dw + o * lddw, in);
  });
}

}  // namespace slm::train
