// The AVX2 table's kernels over weights repacked at load (MatView::packed, cpu/packed_layout.h), for a few
// tokens (decode): each 64-byte step is two ymm of 8 rows, so a broadcast 4-byte group of a token's
// activations meets 8 rows per instruction, with no horizontal sums. One token at a time (the same
// instructions whatever the batch, so a token's row is the same bits batched or alone); batches of
// kGemmMinTokens and more go to the panels on the stored layout.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx2 {

// y[t * w.rows + r] for t < n, r0 <= r < r1, reading w.packed (Q8_0, Q4_0, Q5_0, Q4_K and Q6_K with ActQ8
// activations xa, F16 with x).
void packed_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

}  // namespace slm::kernels::cpu::avx2
