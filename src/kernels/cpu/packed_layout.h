// The repacked weight layouts (MatView::packed) that the x86 tables read: plain byte rearrangement, compiled
// without ISA flags so that every table can pack. A group is kPackRows = 16 consecutive rows; its bytes are
// exactly those of the 16 stored rows, rearranged (so packed_bytes(w) = rows rounded up to 16 times
// row_bytes, and a group starts at row * row_bytes):
//   Q8_0  per chunk of 32 columns: [8 steps][16 rows][4 bytes] of q ^ 0x80 (= q + 128, unsigned), then
//         the 16 rows' f16 d (544 bytes: one sequential stream).
//   Q4_0  per chunk: [4 steps][16 rows][4 bytes] of the block's packed nibbles (qs[4k..4k+3]: low nibbles
//         are columns 4k..4k+3, high nibbles 16+4k..16+4k+3, unsigned q + 8), then 16 f16 d (288 bytes).
//   Q5_0  per chunk: the Q4_0 nibbles, then per step s a 64-bit mask whose bit 4r + b is the high bit of
//         column 4s + b of row r (added as 16: unsigned q in 0..31, offset 16), then 16 f16 d (352 bytes).
//   Q4_K  per super-block of 256 columns: [4 pairs of sub-blocks][8 steps][16 rows][4 bytes] of the block's
//         qs[32k + 4s..+3] (low nibbles: columns 4s.. of sub-block 2k, high nibbles: of sub-block 2k + 1),
//         then the 12 scale bytes transposed ([12][16 rows]), then 16 f16 d and 16 f16 dmin (2304 bytes).
//         The 6-bit scales and mins are unpacked for 16 rows at once per super-block and tile.
//   Q6_K  per super-block: ql as Q4_K's nibbles ([4 runs k = 2 * half + j][8 steps][16 rows][4 bytes] of
//         ql[32k + 4s..+3]: low nibbles columns 4s.. of 32-block 4 * half + j, high nibbles of block
//         4 * half + j + 2), then qh ([2 halves][8 steps][16 rows][4 bytes] of qh[32 * half + 4s..+3]: bits
//         2i..2i+1 are the high bits of block 4 * half + i), the 16 int8 scales transposed ([16][16 rows]),
//         16 f16 d (3360 bytes). Unsigned q in 0..63 against the activations; the -32 offset per 16-value
//         sub-block comes from the activations' half sums (ActQ8::h), in the int32 sum's start value.
//   F16   [cols][16 rows] f16.
// A 64-byte step holds 4 consecutive columns of all 16 rows (one zmm, or two ymm of 8 rows each), so one
// instruction against a broadcast 4-byte group of a token's int8 activations adds 4 products to each row's
// sum: no horizontal sums, no per-call decoding, one sequential stream per group.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu {

// Bytes per group of 16 rows and super-block of 256 columns.
constexpr int64_t kPackQ4KBytes = 2304;
constexpr int64_t kPackQ6KBytes = 3360;

// Q8_0, Q4_0, Q5_0, Q4_K, Q6_K and F16.
bool pack16_supports(DType t);

// Writes packed_bytes(w) bytes of w's packed layout to dst (rows past w.rows zero; 64-byte aligned is best).
void pack16(const MatView& w, uint8_t* dst);

}  // namespace slm::kernels::cpu
