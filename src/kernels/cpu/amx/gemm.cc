// The AMX tile kernel on the hardware (AMX-TILE + AMX-INT8 beside AVX-512), see cpu/amx/amx.h and
// x86/amx_body.h. The tile instructions are written as inline assembly rather than GCC 12's <immintrin.h>
// macros, whose TILELOADD and LDTILECFG statements do not tell the compiler that they read memory (a store
// to the panel could then move past the load); here every tile statement that touches memory clobbers it.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/f16.h"
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/fault_guard.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "kernels/cpu/x86/tiles.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::amx {
namespace {

#include "kernels/cpu/x86/decoders.h"
#include "kernels/cpu/x86/amx_body.h"

// Tiles as amx_body.h uses them: C = tmm0, A = tmm1, B = tmm2 (x86::gemm_tile_config).
struct HwTiles {
  static void configure(const x86::TileConfig& c) { asm volatile("ldtilecfg %0" ::"m"(c) : "memory"); }
  static void release() { asm volatile("tilerelease" ::: "memory"); }
  static void zero_c() { asm volatile("tilezero %%tmm0" ::); }
  static void load_a(const void* p, size_t stride) {
    asm volatile("tileloadd (%0,%1,1), %%tmm1" ::"r"(p), "r"(stride) : "memory");
  }
  static void load_b(const void* p, size_t stride) {
    asm volatile("tileloadd (%0,%1,1), %%tmm2" ::"r"(p), "r"(stride) : "memory");
  }
  static void dot() { asm volatile("tdpbssd %%tmm2, %%tmm1, %%tmm0" ::); }
  static void store_c(void* p, size_t stride) {
    asm volatile("tilestored %%tmm0, (%0,%1,1)" ::"r"(p), "r"(stride) : "memory");
  }
  // The float kernel's tiles (x86::float_tile_config): C = tmm0-3, A = tmm4-5, B = tmm6-7.
  static void fzero() { asm volatile("tilezero %%tmm0\n\ttilezero %%tmm1\n\ttilezero %%tmm2\n\ttilezero %%tmm3" ::); }
  static void fload_a(const void* a0, const void* a1, size_t stride) {
    asm volatile("tileloadd (%0,%2,1), %%tmm4\n\ttileloadd (%1,%2,1), %%tmm5" ::"r"(a0), "r"(a1), "r"(stride)
                 : "memory");
  }
  static void fload_b(const void* b0, const void* b1) {
    asm volatile("tileloadd (%0,%2,1), %%tmm6\n\ttileloadd (%1,%2,1), %%tmm7" ::"r"(b0), "r"(b1), "r"(size_t(64))
                 : "memory");
  }
  static void fdot() {
    asm volatile(
        "tdpbf16ps %%tmm6, %%tmm4, %%tmm0\n\ttdpbf16ps %%tmm7, %%tmm4, %%tmm1\n\t"
        "tdpbf16ps %%tmm6, %%tmm5, %%tmm2\n\ttdpbf16ps %%tmm7, %%tmm5, %%tmm3" ::);
  }
  static void fstore(int which, void* p, size_t stride) {
    switch (which) {
      case 0: asm volatile("tilestored %%tmm0, (%0,%1,1)" ::"r"(p), "r"(stride) : "memory"); break;
      case 1: asm volatile("tilestored %%tmm1, (%0,%1,1)" ::"r"(p), "r"(stride) : "memory"); break;
      case 2: asm volatile("tilestored %%tmm2, (%0,%1,1)" ::"r"(p), "r"(stride) : "memory"); break;
      default: asm volatile("tilestored %%tmm3, (%0,%1,1)" ::"r"(p), "r"(stride) : "memory"); break;
    }
  }
};

// Deterministic bytes for the start-up check.
struct Bytes {
  uint64_t s = 0x9E3779B97F4A7C15u;
  uint8_t next() {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return uint8_t(s >> 24);
  }
};

// One hardware run of the tile kernel, as run_fault_guarded calls it (the kernel keeps only arrays on its
// stack, so a fault leaves nothing to destroy).
struct HwRun {
  const MatView* w;
  const void* xa;
  int64_t n;
  float* y;
  static void call(void* p) {
    const HwRun& r = *static_cast<const HwRun*>(p);
    amx_gemm_rows<HwTiles>(*r.w, r.xa, r.n, 0, r.w->rows, r.y);
  }
};

// The tile kernel on the hardware and on the emulator over the same n prepared rows xa: false, with the
// first differing value in *why, unless every output agrees to f32 rounding. A fault on the hardware (an
// instruction the CPU or kernel refuses, a configuration it rejects) is a disagreement too, not the end of
// the process.
bool agree(const MatView& w, const void* xa, int64_t n, std::string* why) {
  std::vector<float> hw(size_t(n * w.rows)), emu(hw.size());
  HwRun run{&w, xa, n, hw.data()};
  if (const int sig = run_fault_guarded(&HwRun::call, &run)) {
    run_fault_guarded([](void*) { HwTiles::release(); }, nullptr);
    *why = fmt::format("{} {}x{}, {} tokens: the tiles raised SIG{}", dtype_info(w.type).name, w.rows, w.cols, n,
                       sigabbrev_np(sig));
    return false;
  }
  amx_gemm_rows<x86::EmuTiles>(w, xa, n, 0, w.rows, emu.data());
  for (size_t i = 0; i < hw.size(); ++i)
    if (!(std::fabs(hw[i] - emu[i]) <= 1e-5f * (1.0f + std::fabs(emu[i])))) {
      *why = fmt::format("{} {}x{}, {} tokens: token {} row {}: tiles {} against the emulator's {}",
                         dtype_info(w.type).name, w.rows, w.cols, n, int64_t(i) / w.rows, int64_t(i) % w.rows, hw[i],
                         emu[i]);
      return false;
    }
  return true;
}

// An integer type: `rows` rows of `cols` columns of t, n tokens; blocks filled with bytes and then given sane
// scales by `fix`; activations of random int8 with their scales.
template <class Block, class Fix>
bool check_q(DType t, int64_t rows, int64_t cols, int64_t n, Fix fix, std::string* why) {
  Bytes bytes;
  const size_t rb = row_bytes(t, cols);
  std::vector<uint8_t> wbytes(rb * size_t(rows));
  for (uint8_t& b : wbytes) b = bytes.next();
  Block* blocks = reinterpret_cast<Block*>(wbytes.data());
  for (size_t i = 0; i < wbytes.size() / sizeof(Block); ++i) fix(blocks[i]);
  std::vector<x86::ActQ8> a(size_t(n * cols / 32));
  for (x86::ActQ8& blk : a) {
    int sum = 0;
    for (int8_t& q : blk.qs) q = int8_t(bytes.next() % 255 - 127), sum += q;
    blk.d = 0.01f + float(bytes.next()) / 1024.0f;
    blk.s = blk.d * float(sum);
  }
  return agree(MatView{t, wbytes.data(), rows, cols, rb}, a.data(), n, why);
}

// F16 weights and activations of N(0, 1)-like size from the bytes: the float kernel's tiles.
bool check_f16(int64_t rows, int64_t cols, int64_t n, std::string* why) {
  Bytes bytes;
  std::vector<f16> wv(size_t(rows * cols));
  for (f16& v : wv) v = f32_to_f16(float(int(bytes.next()) - 128) / 37.0f);
  std::vector<float> x(size_t(n * cols));
  for (float& v : x) v = float(int(bytes.next()) - 128) / 29.0f + float(bytes.next()) * 1e-6f;
  std::vector<uint8_t> xa(float_act_bytes(cols) * size_t(n));
  amx_prepare_float_act(x.data(), cols, 0, n, xa.data());
  const MatView w{DType::F16, reinterpret_cast<const uint8_t*>(wv.data()), rows, cols, size_t(cols) * sizeof(f16)};
  return agree(w, xa.data(), n, why);
}

}  // namespace

void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  amx_gemm_rows<HwTiles>(w, xa, n, r0, r1, y);
}

void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  amx_prepare_float_act(x, cols, t0, t1, dst);
}

bool self_check(std::string* why) {
  // Q8_0 across two panel segments (k = 32, no minimum), Q4_K (minimums), Q6_K (k = 16 half chunks); 20 rows
  // (a partial group) and 21 tokens (the overlapping last tile). F16: 37 rows (a partial second group), 600
  // columns (two segments, a part tile), 37 tokens (three token tiles: a pair and a lone one).
  const auto q8 = [](BlockQ8_0& b) { b.d = f32_to_f16(0.01f); };
  const auto q4k = [](BlockQ4_K& b) { b.d = f32_to_f16(0.002f), b.dmin = f32_to_f16(0.001f); };
  const auto q6k = [](BlockQ6_K& b) { b.d = f32_to_f16(0.0005f); };
  return check_q<BlockQ8_0>(DType::Q8_0, 20, 32 * (kAmxSegChunks + 1), 21, q8, why) &&
         check_q<BlockQ4_K>(DType::Q4_K, 20, 512, 21, q4k, why) &&
         check_q<BlockQ6_K>(DType::Q6_K, 20, 512, 21, q6k, why) && check_f16(37, 600, 37, why);
}

}  // namespace slm::kernels::cpu::amx
