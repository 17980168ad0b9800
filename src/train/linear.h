// A projection of the training graph, y = x W^T + b, for a float/double weight or a quantised frozen one
// (qlora: tiles of rows are dequantised on the fly, forward and backward, so the base never exists in
// float as a whole).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "train/net.h"

namespace slm::train {

// y (n, W.rows) = x (n, W.cols) @ W^T [+ b]
template <class T>
void linear_forward(ThreadPool* pool, const Tensor<T>& W, const T* b, const T* x, T* y, int64_t n);

// dx (n, W.cols) += dy @ W when dx is given; W.g += dy^T x and b.g += sum_t dy for trainable tensors.
template <class T>
void linear_backward(ThreadPool* pool, Tensor<T>& W, Tensor<T>* b, const T* x, const T* dy, T* dx, int64_t n);

// Row r of W as T values (the embedding lookup).
template <class T>
void tensor_row(const Tensor<T>& W, int64_t r, T* dst);

}  // namespace slm::train
