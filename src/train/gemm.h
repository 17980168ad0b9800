// The three matrix products of training, with leading dimensions so that callers can address column
// blocks: float goes to OpenBLAS sgemm (one BLAS thread per call, split over the pool), double runs plain
// loops (gradient checks). Results do not depend on the thread count for double; for float each output
// element is owned by one call, so one thread always gives the same bits.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace slm::train {

// y (n, out) = x (n, in) @ w^T, w: (out, in). accumulate: y += instead of y =.
template <class T>
void gemm_nt(ThreadPool* pool, int64_t n, int64_t out, int64_t in, const T* x, int64_t ldx, const T* w,
             int64_t ldw, T* y, int64_t ldy, bool accumulate);

// dx (n, in) += dy (n, out) @ w (out, in).
template <class T>
void gemm_nn(ThreadPool* pool, int64_t n, int64_t in, int64_t out, const T* dy, int64_t lddy, const T* w,
             int64_t ldw, T* dx, int64_t lddx);

// dw (out, in) += dy^T (out, n) @ x (n, in).
template <class T>
void gemm_tn(ThreadPool* pool, int64_t out, int64_t in, int64_t n, const T* dy, int64_t lddy, const T* x,
             int64_t ldx, T* dw, int64_t lddw);

}  // namespace slm::train
