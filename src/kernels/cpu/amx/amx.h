// The AMX table's prefill (cpu/amx/) and the same kernels over emulated tiles (cpu/amx_emu/), see
// x86/amx_body.h. The AMX table is the AVX-512 table with integer prefill moved onto the tiles.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::amx {

// Token count from which the table runs the tile kernel: the prefill blocks' smallest (matmul_parallel).
constexpr int64_t kGemmMinTokens = kPrefillMinTokens;

// The types the tile kernels take: the ActQ8 integer types (AMX-INT8), F16 and BF16 (AMX-BF16).
bool gemm_supports(DType t);

// y[t * w.rows + r] for t < n (n >= kGemmMinTokens), r0 <= r < r1. xa: n ActQ8 rows for the integer types
// (the same integer sums as the AVX-512 kernels, the same f32 arithmetic per chunk), n prepare_float_act rows
// for F16 / BF16 (exact BF16 pieces, see x86/amx_body.h). Needs the tile permission (dispatch.cc).
void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

// The F16 / BF16 kernel's prepared rows: bytes per row, and rows [t0, t1) of x (cols floats each).
size_t float_act_bytes(int64_t cols);
void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst);

// Runs the tile kernel on the hardware and on the emulator (x86/tiles.h) over small fixed inputs of each
// tile shape the kernel configures; false, with the reason in *why, where they disagree.
bool self_check(std::string* why);

}  // namespace slm::kernels::cpu::amx

namespace slm::kernels::cpu::amx_emu {

// amx::gemm_rows and amx::prepare_float_act with every tile instruction emulated in C++: any CPU with
// AVX2 + F16C; for tests.
void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);
void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst);

// The AMX table's routing (amx/table_over.h) over the AVX2 table and the emulated tiles (isa reads amx): the
// whole table, matmul_parallel included, on any CPU with AVX2. Tests only; dispatch never offers it.
const CpuKernels& table();

}  // namespace slm::kernels::cpu::amx_emu
