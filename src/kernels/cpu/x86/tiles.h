// AMX tiles (Sapphire Rapids and later): the tile configuration the kernels load, and a C++ emulator of the
// few tile instructions they use, so that the AMX kernel's code (amx_body.h) runs and is tested on any x86-64
// CPU (cpu/amx_emu/) and checks the hardware at start-up (cpu/amx/). Semantics and the #UD / #GP conditions
// follow the Intel SDM (LDTILECFG, TILELOADD, TILESTORED, TILEZERO, TDPBSSD); the emulator aborts where the
// hardware would fault. Plain C++: no intrinsics.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace slm::kernels::cpu::x86 {

// The 64-byte LDTILECFG operand, palette 1: 8 tiles of at most 16 rows x 64 bytes.
struct TileConfig {
  uint8_t palette = 0;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tile i
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

constexpr int kTileRows = 16, kTileColsb = 64, kTileCount = 8;

// The kernels' three tiles: C (tmm0) 16 x 16 int32 sums, A (tmm1) 16 token rows of k int8 activations,
// B (tmm2) k / 4 rows of 16 weight rows x 4 bytes (VNNI order). k = 32 (one block) or 16 (a half block).
inline TileConfig gemm_tile_config(int k) {
  TileConfig c;
  c.palette = 1;
  c.colsb[0] = 64, c.rows[0] = 16;
  c.colsb[1] = uint16_t(k), c.rows[1] = 16;
  c.colsb[2] = 64, c.rows[2] = uint8_t(k / 4);
  return c;
}

// The float kernel's eight tiles, all 16 x 64 bytes: C (tmm0-3) the f32 sums of two token tiles x two row
// groups (C[2 t + g]), A (tmm4, tmm5) 16 tokens x 32 BF16, B (tmm6, tmm7) 16 column pairs x 16 rows x 2 BF16.
inline TileConfig float_tile_config() {
  TileConfig c;
  c.palette = 1;
  for (int i = 0; i < kTileCount; ++i) c.colsb[i] = 64, c.rows[i] = 16;
  return c;
}

// One thread's emulated tile state; every operation checks what the hardware checks.
class TileEmulator {
 public:
  void load_config(const TileConfig& c) {
    SLM_CHECK(c.palette == 1, "[amx] palette {} (only palette 1 emulated)", c.palette);
    SLM_CHECK(c.start_row == 0, "[amx] start_row {}", c.start_row);
    for (uint8_t b : c.reserved) SLM_CHECK(b == 0, "[amx] reserved byte set");
    for (int i = 0; i < 16; ++i) {
      const bool used = i < kTileCount && c.rows[i] != 0;
      SLM_CHECK(used == (c.colsb[i] != 0), "[amx] tile {}: rows {} colsb {}", i, c.rows[i], c.colsb[i]);
      SLM_CHECK(c.rows[i] <= kTileRows && c.colsb[i] <= kTileColsb, "[amx] tile {}: {} x {} bytes", i, c.rows[i],
                c.colsb[i]);
    }
    cfg_ = c;
    configured_ = true;
    std::memset(t_, 0, sizeof t_);
  }
  void release() {
    configured_ = false;
    std::memset(t_, 0, sizeof t_);
  }
  void zero(int i) {
    valid(i);
    std::memset(t_[i], 0, sizeof t_[i]);
  }
  // TILELOADD: rows x colsb bytes from base + r * stride; the rest of the tile becomes zero.
  void load(int i, const void* base, size_t stride) {
    valid(i);
    std::memset(t_[i], 0, sizeof t_[i]);
    for (int r = 0; r < cfg_.rows[i]; ++r)
      std::memcpy(t_[i][r], static_cast<const uint8_t*>(base) + size_t(r) * stride, cfg_.colsb[i]);
  }
  void store(int i, void* base, size_t stride) const {
    valid(i);
    for (int r = 0; r < cfg_.rows[i]; ++r)
      std::memcpy(static_cast<uint8_t*>(base) + size_t(r) * stride, t_[i][r], cfg_.colsb[i]);
  }
  // TDPBSSD c += a . b: int32 c[m][n] += sum over k < colsb(a) of s8 a[m][k] * s8 b[k / 4][4 n + k % 4].
  void dpbssd(int c, int a, int b) {
    valid(c), valid(a), valid(b);
    SLM_CHECK(c != a && c != b && a != b, "[amx] tdpbssd operands {} {} {} not distinct", c, a, b);
    SLM_CHECK(cfg_.colsb[a] % 4 == 0 && cfg_.colsb[a] / 4 == cfg_.rows[b], "[amx] tdpbssd: A colsb {} for B rows {}",
              cfg_.colsb[a], cfg_.rows[b]);
    SLM_CHECK(cfg_.colsb[c] == cfg_.colsb[b] && cfg_.rows[c] == cfg_.rows[a] && cfg_.colsb[c] % 4 == 0,
              "[amx] tdpbssd: C {} x {} from A rows {}, B colsb {}", cfg_.rows[c], cfg_.colsb[c], cfg_.rows[a],
              cfg_.colsb[b]);
    for (int m = 0; m < cfg_.rows[c]; ++m)
      for (int n = 0; n < cfg_.colsb[c] / 4; ++n) {
        int32_t sum;
        std::memcpy(&sum, t_[c][m] + 4 * n, 4);
        for (int k = 0; k < cfg_.colsb[a]; ++k)
          sum += int32_t(int8_t(t_[a][m][k])) * int32_t(int8_t(t_[b][k / 4][4 * n + k % 4]));
        std::memcpy(t_[c][m] + 4 * n, &sum, 4);
      }
  }
  // TDPBF16PS c += a . b: f32 c[m][n] += a[m][2k] * b[k][2n] + a[m][2k + 1] * b[k][2n + 1] over the pairs k,
  // BF16 inputs widened with denormals read as zero, each addition rounded to nearest, denormal sums flushed.
  void dpbf16ps(int c, int a, int b) {
    valid(c), valid(a), valid(b);
    SLM_CHECK(c != a && c != b && a != b, "[amx] tdpbf16ps operands {} {} {} not distinct", c, a, b);
    SLM_CHECK(cfg_.colsb[a] % 4 == 0 && cfg_.colsb[a] / 4 == cfg_.rows[b],
              "[amx] tdpbf16ps: A colsb {} for B rows {}", cfg_.colsb[a], cfg_.rows[b]);
    SLM_CHECK(cfg_.colsb[c] == cfg_.colsb[b] && cfg_.rows[c] == cfg_.rows[a] && cfg_.colsb[c] % 4 == 0,
              "[amx] tdpbf16ps: C {} x {} from A rows {}, B colsb {}", cfg_.rows[c], cfg_.colsb[c], cfg_.rows[a],
              cfg_.colsb[b]);
    const auto bf = [](const uint8_t* p) {
      uint16_t h;
      std::memcpy(&h, p, 2);
      const uint32_t u = (h & 0x7F80u) == 0 ? uint32_t(h & 0x8000u) << 16 : uint32_t(h) << 16;  // DAZ
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    };
    const auto ftz = [](float f) { return std::fabs(f) < 1.17549435e-38f ? std::copysign(0.0f, f) : f; };
    for (int m = 0; m < cfg_.rows[c]; ++m)
      for (int n = 0; n < cfg_.colsb[c] / 4; ++n) {
        float sum;
        std::memcpy(&sum, t_[c][m] + 4 * n, 4);
        for (int k = 0; k < cfg_.colsb[a] / 4; ++k) {
          sum = ftz(sum + bf(t_[a][m] + 4 * k) * bf(t_[b][k] + 4 * n));
          sum = ftz(sum + bf(t_[a][m] + 4 * k + 2) * bf(t_[b][k] + 4 * n + 2));
        }
        std::memcpy(t_[c][m] + 4 * n, &sum, 4);
      }
  }

 private:
  void valid(int i) const {
    SLM_CHECK(configured_, "[amx] tile instruction before LDTILECFG");
    SLM_CHECK(i >= 0 && i < kTileCount && cfg_.rows[i] != 0, "[amx] tile {} not configured", i);
  }
  TileConfig cfg_;
  bool configured_ = false;
  uint8_t t_[kTileCount][kTileRows][kTileColsb] = {};
};

// The kernels' tile interface over the emulator (a thread's own state, as the hardware's).
struct EmuTiles {
  static TileEmulator& state() {
    thread_local TileEmulator e;
    return e;
  }
  static void configure(const TileConfig& c) { state().load_config(c); }
  static void release() { state().release(); }
  static void zero_c() { state().zero(0); }
  static void load_a(const void* p, size_t stride) { state().load(1, p, stride); }
  static void load_b(const void* p, size_t stride) { state().load(2, p, stride); }
  static void dot() { state().dpbssd(0, 1, 2); }
  static void store_c(void* p, size_t stride) { state().store(0, p, stride); }
  // The float kernel's tiles (float_tile_config).
  static void fzero() {
    for (int i = 0; i < 4; ++i) state().zero(i);
  }
  static void fload_a(const void* a0, const void* a1, size_t stride) {
    state().load(4, a0, stride);
    state().load(5, a1, stride);
  }
  static void fload_b(const void* b0, const void* b1) {
    state().load(6, b0, 64);
    state().load(7, b1, 64);
  }
  static void fdot() {
    state().dpbf16ps(0, 4, 6), state().dpbf16ps(1, 4, 7), state().dpbf16ps(2, 5, 6), state().dpbf16ps(3, 5, 7);
  }
  static void fstore(int which, void* p, size_t stride) { state().store(which, p, stride); }
};

}  // namespace slm::kernels::cpu::x86
