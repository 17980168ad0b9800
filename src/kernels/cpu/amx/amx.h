// The AMX table's prefill (cpu/amx/) and the same kernels over emulated tiles (cpu/amx_emu/), see
// x86/amx_body.h. The AMX table is the AVX-512 table with prefill of the integer types, F16 and BF16 moved
// onto the tiles (amx/table_over.h).
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cpu/x86/act_q8.h"
#include "kernels/kernels.h"

namespace slm::kernels::cpu::amx {

// Token count from which the table runs the tile kernel: the prefill blocks' smallest (matmul_parallel).
constexpr int64_t kGemmMinTokens = kPrefillMinTokens;

// F16 / BF16: the kernel that reads prepare_float_act's BF16 pieces (AMX-BF16).
inline bool float_pieces(DType t) { return t == DType::F16 || t == DType::BF16; }
// The types the tile kernels take: the ActQ8 integer types (AMX-INT8), F16 and BF16 (AMX-BF16).
inline bool gemm_supports(DType t) { return x86::uses_act_q8(t) || float_pieces(t); }

// y[t * w.rows + r] for t < n (n >= kGemmMinTokens), r0 <= r < r1. xa: n ActQ8 rows for the integer types
// (the same integer sums as the AVX-512 kernels, the same f32 arithmetic per chunk), n prepare_float_act rows
// for F16 / BF16 (exact BF16 pieces, see x86/amx_body.h). Needs the tile permission (dispatch.cc).
void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

// The F16 / BF16 kernel's prepared rows: three BF16 pieces of float_act_cols(cols) values (cols rounded up
// to whole 32-column tiles, zeros past cols); prepare_float_act writes rows [t0, t1) of x (cols floats each).
inline int64_t float_act_cols(int64_t cols) { return (cols + 31) / 32 * 32; }
inline size_t float_act_bytes(int64_t cols) { return 3 * size_t(float_act_cols(cols)) * sizeof(uint16_t); }
void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst);

// Runs the tile kernel on the hardware and on the emulator (x86/tiles.h) over small fixed inputs of each
// tile shape the kernel configures; false, with the reason in *why, where they disagree or the hardware run
// faults (run_fault_guarded).
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
