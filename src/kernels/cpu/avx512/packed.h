// The AVX-512 table's kernels over weights repacked at load (MatView::packed, cpu/packed_layout.h): one
// contiguous stream feeds 16 row sums per instruction, with no horizontal sums and no per-call decoding.
// Same contract as CpuKernels::matmul_rows; the table routes every packed matrix here, any token count.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx512 {

// y[t * w.rows + r] for t < n, r0 <= r < r1, reading w.packed (a layout of cpu/packed_layout.h). For F16,
// xa is null (x is read) or the tiles written by prepare_f16_tiles.
void packed_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

// F16's prepared activations: each whole tile of kActTile tokens interleaved, so that one stream feeds the
// tile's broadcasts (one pointer instead of kActTile, which had the kernel's addresses spilled to vector
// registers and the stack). Value (t, k) of the tile at tokens t0.. is dst[t0 * cols + kActTile * k + t - t0];
// the tokens after the last whole tile are not written (the kernel reads them from x). Rows [t0, t1) of n.
void prepare_f16_tiles(const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, float* dst);

}  // namespace slm::kernels::cpu::avx512
