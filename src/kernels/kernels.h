// The whole CPU kernel surface: one table of function pointers per compiled ISA, chosen once at start-up.
// reference/ holds the scalar oracle every table is tested against; cpu/ holds the tables. Per-ISA versions
// go in src/kernels/cpu/<isa>/*.cc, compiled with their own -m flags, each exposing one table that
// cpu_kernels_for() returns when the CPU supports it. Kernels never throw and never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/dtype.h"
#include "core/f16.h"

namespace slm::kernels {

enum class Isa { scalar, avx2, avx512, amx };
// Every Isa, in the order tests and benchmarks go through them.
inline constexpr Isa kIsas[] = {Isa::scalar, Isa::avx2, Isa::avx512, Isa::amx};
const char* isa_name(Isa isa);

// A row-major weight matrix of any dequantisable type: `rows` rows of `cols` elements, `row_bytes` apart.
// cols is a multiple of the type's block size. Views point into the mapped model file.
struct MatView {
  DType type = DType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;

  // The same matrix in the active kernel table's repacked layout (CpuKernels::pack), or null. data stays
  // valid and standard; tables without a packed path read data. Groups of kPackRows rows, each group
  // kPackRows * row_bytes bytes, so a slice starting on a group boundary keeps its packed view.
  const uint8_t* packed = nullptr;

  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
  MatView slice_rows(int64_t r0, int64_t n) const;
};

constexpr int64_t kPackRows = 16;
// Tokens per tile of prepared activations (CpuKernels::prepare_act).
constexpr int64_t kActTile = 8;
// From this many tokens a table may run its prefill kernels, whose float sums can round differently from
// those of fewer tokens' kernels; matmul_parallel cuts a batch into blocks of at least kPrefillMinTokens, a
// shorter tail joining the last block, so every piece of one call takes the same kernels.
constexpr int64_t kPrefillMinTokens = 16;
// Bytes of w in a packed layout: rows rounded up to a whole group.
inline size_t packed_bytes(const MatView& w) {
  return size_t((w.rows + kPackRows - 1) / kPackRows * kPackRows) * w.row_bytes;
}
inline MatView MatView::slice_rows(int64_t r0, int64_t n) const {
  const uint8_t* p = packed && r0 % kPackRows == 0 ? packed + size_t(r0) * row_bytes : nullptr;
  return {type, row(r0), n, cols, row_bytes, p};
}

struct CpuKernels {
  Isa isa;
  // y: (n, w.rows) = x: (n, w.cols) @ w^T; x and y row-major.
  void (*matmul)(const MatView& w, std::span<const float> x, int64_t n, std::span<float> y);
  // One row of w as floats (embedding lookup); dst.size() == w.cols.
  void (*row_to_f32)(const MatView& w, int64_t r, std::span<float> dst);
  // y = x / sqrt(mean(x^2) + eps) * w; y may alias x.
  void (*rmsnorm)(std::span<const float> x, std::span<const float> w, float eps, std::span<float> y);
  float (*dot)(std::span<const float> a, std::span<const float> b);
  float (*dot_f16)(std::span<const float> a, const f16* b);                // b has a.size() values
  void (*axpy)(float a, std::span<const float> x, std::span<float> y);    // y += a * x
  void (*axpy_f16)(float a, const f16* x, std::span<float> y);            // y += a * x, x has y.size()
  void (*to_f16)(std::span<const float> x, f16* y);
  void (*add)(std::span<const float> x, std::span<float> y);              // y += x
  void (*scale)(std::span<float> x, float s);                             // x *= s
  void (*softmax)(std::span<float> x);                                    // in place, max-subtracted
  void (*softcap)(std::span<float> x, float cap);                         // x = cap * tanh(x / cap)
  // out = act(gate) * up; out may alias gate.
  void (*silu_mul)(std::span<const float> gate, std::span<const float> up, std::span<float> out);
  void (*gelu_tanh_mul)(std::span<const float> gate, std::span<const float> up, std::span<float> out);

  // The split matmul used by matmul_parallel (kernels/parallel.h); null in tables without it. Activations
  // are prepared once per call (quantised on the fly for the integer dot products), then any row range of
  // w is computed independently. act_bytes: bytes of one prepared activation row (0: the kernel reads x).
  size_t (*act_bytes)(DType wtype, int64_t cols);
  // Rows [t0, t1) of the n rows x: (n, cols) into dst, the buffer of all n prepared rows (n * act_bytes
  // bytes). t0 is a multiple of kActTile: a layout may interleave the rows of a tile of kActTile tokens
  // (the AVX-512 table does for packed F16), so ranges split at other rows would tear a tile.
  void (*prepare_act)(DType wtype, const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, void* dst);
  // y[t * w.rows + r] for t < n, r0 <= r < r1; x: (n, w.cols) floats, xa: n prepared rows (null where
  // act_bytes is 0; float weights also take null and then read x). A caller may pass a run of tokens of a
  // larger prepared batch (x, xa and y advanced together) if the run starts at a multiple of kActTile.
  // Integer weight types quantise activations to int8 per 32 values: NMSE against reference::matmul ~1e-5,
  // not 1e-10.
  void (*matmul_rows)(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                      float* y);
  // Weight repacking at load (null in tables without it): can_pack(t) says whether pack has a layout for
  // t; pack(w, dst) writes packed_bytes(w) bytes (rows past w.rows zero) that matmul_rows then reads through
  // MatView::packed. Same results as the standard layout within the kernels' usual bounds.
  bool (*can_pack)(DType t);
  void (*pack)(const MatView& w, uint8_t* dst);
  // Decode attention for g query heads that share one kv head, over a run of n f16 cache rows `stride`
  // values apart (null in tables without them: callers loop over dot_f16 / axpy_f16). Each row is read once
  // for the whole group; a head's results do not depend on g.
  // Scores: out[h * out_stride + j] = a[h * d, + d) . rows[j * stride, + d) for h < g, j < n.
  void (*dot_f16_rows)(const float* a, size_t g, size_t d, const f16* rows, size_t stride, size_t n, float* out,
                       size_t out_stride);
  // Values: y[h * d + i] += sum_j p[h * p_stride + j] * rows[j * stride + i] for h < g, i < d, j < n.
  void (*axpy_f16_rows)(const float* p, size_t g, size_t p_stride, size_t n, const f16* rows, size_t stride,
                        float* y, size_t d);
  // The first index of the largest value, NaN counted as -inf; 0 when no value is above -inf. Greedy
  // sampling over the vocabulary row.
  int64_t (*argmax)(std::span<const float> x);
  // The largest value, NaN counted as -inf; -inf for an empty span (the online softmax's running max).
  float (*max)(std::span<const float> x);
  // x = exp(x - shift) in place, returns the sum (online softmax). Polynomial exp, relative error < 2e-7.
  float (*exp_sum)(std::span<float> x, float shift);
};

// The best table for this CPU, chosen once; SLM_FORCE_ISA=scalar|avx2|avx512|amx overrides it.
const CpuKernels& cpu_kernels();
// nullptr when that ISA is not compiled in or this CPU lacks it (tests iterate every Isa).
const CpuKernels* cpu_kernels_for(Isa isa);

}  // namespace slm::kernels
