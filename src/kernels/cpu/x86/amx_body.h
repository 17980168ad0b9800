// The AMX prefill matmul (integer weight types), written once over a tile interface `Tiles` (the hardware's
// instructions in cpu/amx/, the C++ emulator of x86/tiles.h in cpu/amx_emu/ and in the start-up check).
// Included inside an ISA namespace after decoders.h; the float work is GCC vector code, so the same text runs
// as 512-bit registers in the AMX table and as pairs of 256-bit ones in the emulated build.
//
// A group of 16 weight rows is decoded once per segment of up to kAmxSegChunks chunks of 32 columns into B
// tiles in VNNI order (per chunk 8 rows of 64 bytes: 4 columns x 16 weight rows), with the weights' scales.
// Tiles of 16 tokens read their int8 activations straight from the prepared ActQ8 rows (A tiles with the
// rows' stride), one TDPBSSD per chunk gives the exact 16 x 16 integer sums of sum q * qa (signed x signed:
// no offset term), and f32 lanes take y += d_w * d_a * isum (+ m * s_a for types with minimums) as the
// AVX-512 panels do. Q6_K's 16-column sub-block scales take half-chunk products (k = 16). The last tile of a
// call starts at n - 16 and overlaps the one before; it stores only its new tokens, so every token's sums
// run the same instructions wherever the tiles fall. Needs n >= 16.
#pragma once

constexpr int64_t kAmxSegChunks = 64;  // 2048 columns per panel segment: 32 KiB of B tiles

typedef float AmxF16x __attribute__((vector_size(64)));
typedef int32_t AmxI16x __attribute__((vector_size(64)));

struct AmxPanel {
  alignas(64) int8_t q[kAmxSegChunks][8][64];  // [chunk][4-column group][weight row * 4 + byte]
  alignas(64) float d[kAmxSegChunks][2][16];   // d_w per [chunk][16-column half][row]
  alignas(64) float m[kAmxSegChunks][16];      // minimum per [chunk][row]
};

template <class Dec>
void amx_panel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t c0, int64_t nc, AmxPanel& p) {
  for (int64_t i = 0; i < 16; ++i) {
    if (i >= rows) {
      for (int64_t c = 0; c < nc; ++c) {
        for (int s = 0; s < 8; ++s) std::memset(&p.q[c][s][4 * i], 0, 4);
        p.d[c][0][i] = p.d[c][1][i] = p.m[c][i] = 0.0f;
      }
      continue;
    }
    Dec dec{reinterpret_cast<decltype(dec.b)>(w.row(rb + i))};
    Chunk ch{};
    alignas(32) int8_t qb[32];
    for (int64_t c = 0; c < nc; ++c) {
      dec.load(c0 + c, ch);
      _mm256_store_si256(reinterpret_cast<__m256i*>(qb), ch.q);
      for (int s = 0; s < 8; ++s) std::memcpy(&p.q[c][s][4 * i], qb + 4 * s, 4);
      if constexpr (Dec::kLaneScale) {
        alignas(32) int32_t sc[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(sc), ch.lane_scale);
        p.d[c][0][i] = ch.d * float(sc[0]), p.d[c][1][i] = ch.d * float(sc[4]);
      } else {
        p.d[c][0][i] = ch.d;
      }
      p.m[c][i] = Dec::kMin ? ch.m : 0.0f;
    }
  }
}

// Tokens [ts, ts + 16) against the panel's chunks; tokens before ts + keep are left as they are.
template <class Tiles, bool kHalves, bool kMin>
void amx_tile(const AmxPanel& p, const x86::ActQ8* a, int64_t nb, int64_t c0, int64_t nc, int64_t keep, float* y,
              int64_t ldy, int64_t rows, bool first) {
  constexpr int kK = kHalves ? 16 : 32;
  const size_t astride = size_t(nb) * sizeof(x86::ActQ8);
  alignas(64) int32_t isum[16][16];
  AmxF16x acc[16];
  for (AmxF16x& v : acc) v = AmxF16x{};
  for (int64_t c = 0; c < nc; ++c) {
    const x86::ActQ8* ac = a + c0 + c;  // token t's block: ac[t * nb]
    for (int h = 0; h < (kHalves ? 2 : 1); ++h) {
      Tiles::load_a(ac->qs + kK * h, astride);
      Tiles::load_b(p.q[c][kK / 4 * h], 64);
      Tiles::zero_c();
      Tiles::dot();
      Tiles::store_c(isum, 64);
      AmxF16x dw;
      std::memcpy(&dw, p.d[c][h], sizeof dw);
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) {
        AmxI16x s;
        std::memcpy(&s, isum[t], sizeof s);
        acc[t] += __builtin_convertvector(s, AmxF16x) * (dw * ac[t * nb].d);
      }
    }
    if constexpr (kMin) {
      AmxF16x mw;
      std::memcpy(&mw, p.m[c], sizeof mw);
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) acc[t] += mw * ac[t * nb].s;
    }
  }
  for (int64_t t = keep; t < 16; ++t) {
    float* yt = y + t * ldy;
    alignas(64) float v[16];
    std::memcpy(v, &acc[t], sizeof v);
    for (int64_t r = 0; r < rows; ++r) yt[r] = first ? v[r] : yt[r] + v[r];
  }
}

template <class Tiles, class Dec>
void amx_gemm_q(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  constexpr bool kHalves = Dec::kLaneScale;
  const int64_t nb = w.cols / 32;
  const x86::ActQ8* a = static_cast<const x86::ActQ8*>(xa);
  Tiles::configure(x86::gemm_tile_config(kHalves ? 16 : 32));
  AmxPanel p;
  for (int64_t rb = r0; rb < r1; rb += 16) {
    const int64_t rows = std::min<int64_t>(16, r1 - rb);
    for (int64_t c0 = 0; c0 < nb; c0 += kAmxSegChunks) {
      const int64_t nc = std::min(kAmxSegChunks, nb - c0);
      amx_panel_fill<Dec>(w, rb, rows, c0, nc, p);
      for (int64_t t0 = 0; t0 < n; t0 += 16) {
        const int64_t ts = std::min(t0, n - 16);
        amx_tile<Tiles, kHalves, Dec::kMin>(p, a + ts * nb, nb, c0, nc, t0 - ts, y + ts * w.rows + rb, w.rows, rows,
                                            c0 == 0);
      }
    }
  }
  Tiles::release();
}

// y[t * w.rows + r] for t < n (n >= 16), r0 <= r < r1, xa: n ActQ8 rows (prepare_act of the x86 tables).
template <class Tiles>
void amx_gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  switch (w.type) {
    case DType::Q4_0: return amx_gemm_q<Tiles, DecQ4_0>(w, xa, n, r0, r1, y);
    case DType::Q4_1: return amx_gemm_q<Tiles, DecQ4_1>(w, xa, n, r0, r1, y);
    case DType::Q5_0: return amx_gemm_q<Tiles, DecQ5_0>(w, xa, n, r0, r1, y);
    case DType::Q5_1: return amx_gemm_q<Tiles, DecQ5_1>(w, xa, n, r0, r1, y);
    case DType::Q8_0: return amx_gemm_q<Tiles, DecQ8_0>(w, xa, n, r0, r1, y);
    case DType::IQ4_NL: return amx_gemm_q<Tiles, DecIQ4_NL>(w, xa, n, r0, r1, y);
    case DType::Q4_K: return amx_gemm_q<Tiles, DecQ4_K>(w, xa, n, r0, r1, y);
    case DType::Q5_K: return amx_gemm_q<Tiles, DecQ5_K>(w, xa, n, r0, r1, y);
    case DType::Q6_K: return amx_gemm_q<Tiles, DecQ6_K>(w, xa, n, r0, r1, y);
    default: return;  // not an ActQ8 type (x86::uses_act_q8): the table does not route it here
  }
}
