// Projections over float or quantised weights.
#include "train/linear.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "train/gemm.h"
#include "train/ops.h"

namespace slm::train {
namespace {

// Rows per dequantised tile: about 1 MiB of floats, at least 16 rows.
int64_t tile_rows(int64_t cols) { return std::max<int64_t>(16, (int64_t{1} << 18) / std::max<int64_t>(1, cols)); }

// Rows [r0, r0 + nr) of a quantised W as T values into buf (nr, cols), split over the pool.
template <class T>
void dequantise_rows(ThreadPool* pool, const Tensor<T>& W, int64_t r0, int64_t nr, std::vector<T>& buf) {
  const kernels::MatView v = W.view();
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  buf.resize(size_t(nr * W.cols));
  parallel_rows(pool, nr, [&](int64_t a, int64_t e) {
    std::vector<float> row(size_t(W.cols));
    for (int64_t r = a; r < e; ++r) {
      k.row_to_f32(v, r0 + r, row);
      std::copy(row.begin(), row.end(), buf.begin() + r * W.cols);
    }
  });
}

}  // namespace

template <class T>
kernels::MatView Tensor<T>::view() const {
  if (quantised()) return {qtype, q.data(), rows, cols, row_bytes(qtype, cols)};
  SLM_CHECK((std::is_same_v<T, float>), "{}: a float view of a non-float tensor", name);
  return {DType::F32, reinterpret_cast<const uint8_t*>(w.data()), rows, cols, size_t(cols) * sizeof(float)};
}

template <class T>
void tensor_row(const Tensor<T>& W, int64_t r, T* dst) {
  if (!W.quantised()) {
    std::copy_n(W.w.data() + r * W.cols, W.cols, dst);
    return;
  }
  std::vector<float> row(size_t(W.cols));
  kernels::cpu_kernels().row_to_f32(W.view(), r, row);
  std::copy(row.begin(), row.end(), dst);
}

template <class T>
void linear_forward(ThreadPool* pool, const Tensor<T>& W, const T* b, const T* x, T* y, int64_t n) {
  const int64_t in = W.cols, out = W.rows;
  if (!W.quantised()) {
    gemm_nt(pool, n, out, in, x, in, W.w.data(), in, y, out, false);
  } else {
    std::vector<T> buf;
    for (int64_t o0 = 0, step = tile_rows(in); o0 < out; o0 += step) {
      const int64_t nr = std::min(step, out - o0);
      dequantise_rows(pool, W, o0, nr, buf);
      gemm_nt(pool, n, nr, in, x, in, buf.data(), in, y + o0, out, false);
    }
  }
  if (b)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < out; ++o) y[t * out + o] += b[o];
}

template <class T>
void linear_backward(ThreadPool* pool, Tensor<T>& W, Tensor<T>* b, const T* x, const T* dy, T* dx, int64_t n) {
  const int64_t in = W.cols, out = W.rows;
  if (dx && !W.quantised()) gemm_nn(pool, n, in, out, dy, out, W.w.data(), in, dx, in);
  if (dx && W.quantised()) {
    std::vector<T> buf;
    for (int64_t o0 = 0, step = tile_rows(in); o0 < out; o0 += step) {
      const int64_t nr = std::min(step, out - o0);
      dequantise_rows(pool, W, o0, nr, buf);
      gemm_nn(pool, n, in, nr, dy + o0, out, buf.data(), in, dx, in);
    }
  }
  if (W.trainable && !W.g.empty()) gemm_tn(pool, out, in, n, dy, out, x, in, W.g.data(), in);
  if (b && b->trainable && !b->g.empty())
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < out; ++o) b->g[size_t(o)] += dy[t * out + o];
}

template struct Tensor<float>;
template struct Tensor<double>;
template void linear_forward(ThreadPool*, const Tensor<float>&, const float*, const float*, float*, int64_t);
template void linear_forward(ThreadPool*, const Tensor<double>&, const double*, const double*, double*, int64_t);
template void linear_backward(ThreadPool*, Tensor<float>&, Tensor<float>*, const float*, const float*, float*,
                              int64_t);
template void linear_backward(ThreadPool*, Tensor<double>&, Tensor<double>*, const double*, const double*,
                              double*, int64_t);
template void tensor_row(const Tensor<float>&, int64_t, float*);
template void tensor_row(const Tensor<double>&, int64_t, double*);

}  // namespace slm::train
