// The AMX prefill matmuls (integer types on AMX-INT8 here, F16 / BF16 on AMX-BF16 below), written once over
// a tile interface `Tiles` (the hardware's instructions in cpu/amx/, the C++ emulator of x86/tiles.h in
// cpu/amx_emu/ and in the start-up check).
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

// Rows [rb, rb + rows) (at most 16; the rest get zero chunks: q, scales and minimum 0) and chunks [c0, c0 + nc).
template <class Dec>
void amx_panel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t c0, int64_t nc, AmxPanel& p) {
  for (int64_t i = 0; i < 16; ++i) {
    Chunk ch{};
    Dec dec{i < rows ? reinterpret_cast<decltype(dec.b)>(w.row(rb + i)) : nullptr};
    for (int64_t c = 0; c < nc; ++c) {
      if (i < rows) dec.load(c0 + c, ch);
      store_groups4(ch.q, &p.q[c][0][4 * i], sizeof p.q[c][0]);
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

// ---- F16 and BF16 weights on AMX-BF16, exactly -------------------------------------------------------
// BF16 products alone would round the weights (F16 keeps 11 significant bits, BF16 8) and the activations
// (24 bits). Instead each activation is split into three BF16 pieces, x = x0 + x1 + x2 exactly (the top 8
// significant bits, the next 8, the last 8), and each F16 weight into two, w = w0 + w1 (8 + 3 bits); BF16
// products are exact in f32, so the five TDPBF16PS of w0 x0 + w0 x1 + w0 x2 + w1 x0 + w1 x1 leave out only
// w1 x2 (below 2^-24 of w x) and differ from f32 FMAs by summation order. BF16 weights are one piece (three
// products). prepare_act gives each token its three pieces, each padded with zeros to whole 32-column tiles;
// the panel holds the weight pieces in the B tiles' pair order; four C tiles (two tiles of 16 tokens x two
// groups of 16 rows) stay in the tile registers over a segment of kAmxFSegCols columns.

constexpr int64_t kAmxFSegCols = 512;

// Rows [t0, t1) of x (cols floats each) as three BF16 pieces per row (see above; layout amx::float_act_bytes).
inline void amx_prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  const int64_t pc = amx::float_act_cols(cols);
  for (int64_t t = t0; t < t1; ++t) {
    uint16_t* p0 = static_cast<uint16_t*>(dst) + size_t(t) * 3 * size_t(pc);
    uint16_t* p1 = p0 + pc;
    uint16_t* p2 = p1 + pc;
    const float* xt = x + t * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const uint32_t u = f32_bits(xt[j]), h = u & 0xFFFF0000u;
      const float r1 = xt[j] - f32_from_bits(h);
      const uint32_t m = f32_bits(r1) & 0xFFFF0000u;
      const float r2 = r1 - f32_from_bits(m);
      p0[j] = uint16_t(h >> 16), p1[j] = uint16_t(m >> 16), p2[j] = uint16_t(f32_bits(r2) >> 16);
    }
    for (int64_t j = cols; j < pc; ++j) p0[j] = p1[j] = p2[j] = 0;
  }
}

// [32-column step][weight piece][row group] -> one B tile: 16 column pairs x 16 rows x 2 BF16.
struct AmxFPanel {
  alignas(64) uint32_t b[kAmxFSegCols / 32][2][2][16][16];
};

// Rows [rb, rb + rows) (rows <= 32), columns [k0, k0 + nk) of w into p; rows and columns past them zero.
template <class Load, bool kLo>
void amx_fpanel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t k0, int64_t nk, AmxFPanel& p) {
  const int64_t steps = (nk + 31) / 32;
  for (int64_t i = 0; i < 32; ++i) {
    const int g = int(i / 16), r = int(i % 16);
    alignas(32) float v[kAmxFSegCols];
    int64_t j = 0;
    if (i < rows) {
      const uint8_t* row = w.row(rb + i);
      for (; j + 8 <= nk; j += 8) _mm256_store_ps(v + j, Load::load8(row, k0 + j));
      for (; j < nk; ++j) v[j] = Load::load1(row, k0 + j);
    }
    for (; j < steps * 32; ++j) v[j] = 0.0f;
    for (int64_t s = 0; s < steps; ++s)
      for (int q = 0; q < 16; ++q) {
        const float a = v[32 * s + 2 * q], b = v[32 * s + 2 * q + 1];
        const uint32_t ha = f32_bits(a) & 0xFFFF0000u, hb = f32_bits(b) & 0xFFFF0000u;
        p.b[s][0][g][q][r] = (ha >> 16) | hb;
        if constexpr (kLo) {
          const uint32_t la = f32_bits(a - f32_from_bits(ha)), lb = f32_bits(b - f32_from_bits(hb));
          p.b[s][1][g][q][r] = (la >> 16) | (lb & 0xFFFF0000u);
        }
      }
  }
}

// Adds (or stores, on the first segment) C tile `which` (16 tokens x 16 rows, f32) for tokens from `keep`.
template <class Tiles>
void amx_fstore(int which, int64_t keep, float* y, int64_t ldy, int64_t rows, bool first) {
  alignas(64) float c[16][16];
  Tiles::fstore(which, c, 64);
  for (int64_t t = keep; t < 16; ++t)
    for (int64_t r = 0; r < rows; ++r) y[t * ldy + r] = first ? c[t][r] : y[t * ldy + r] + c[t][r];
}

template <class Tiles, class Load, bool kLo>
void amx_gemm_f(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  const int64_t pc = amx::float_act_cols(w.cols);
  const size_t astride = amx::float_act_bytes(w.cols);
  const uint16_t* a = static_cast<const uint16_t*>(xa);
  const int64_t tiles = (n + 15) / 16;
  Tiles::configure(x86::float_tile_config());
  AmxFPanel p;
  for (int64_t rb = r0; rb < r1; rb += 32) {
    const int64_t rows = std::min<int64_t>(32, r1 - rb);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kAmxFSegCols) {
      const int64_t nk = std::min(kAmxFSegCols, w.cols - k0), steps = (nk + 31) / 32;
      amx_fpanel_fill<Load, kLo>(w, rb, rows, k0, nk, p);
      // Token tiles in pairs; tile i starts at min(16 i, n - 16) and keeps its tokens from 16 i on.
      for (int64_t i = 0; i < tiles; i += 2) {
        const int64_t s0 = std::min(16 * i, n - 16), s1 = std::min(16 * (i + 1), n - 16);
        const uint16_t* a0 = a + size_t(s0) * astride / 2 + k0;
        const uint16_t* a1 = a + size_t(s1) * astride / 2 + k0;
        Tiles::fzero();
        for (int64_t s = 0; s < steps; ++s) {
          for (int wp = 0; wp < (kLo ? 2 : 1); ++wp) {
            Tiles::fload_b(p.b[s][wp][0], p.b[s][wp][1]);
            for (int ap = 0; ap < 3 - wp; ++ap) {
              Tiles::fload_a(a0 + ap * pc + 32 * s, a1 + ap * pc + 32 * s, astride);
              Tiles::fdot();
            }
          }
        }
        const bool first = k0 == 0;
        float* y0 = y + s0 * w.rows + rb;
        float* y1 = y + s1 * w.rows + rb;
        amx_fstore<Tiles>(0, 16 * i - s0, y0, w.rows, std::min<int64_t>(16, rows), first);
        if (rows > 16) amx_fstore<Tiles>(1, 16 * i - s0, y0 + 16, w.rows, rows - 16, first);
        if (i + 1 < tiles) {
          amx_fstore<Tiles>(2, 16 * (i + 1) - s1, y1, w.rows, std::min<int64_t>(16, rows), first);
          if (rows > 16) amx_fstore<Tiles>(3, 16 * (i + 1) - s1, y1 + 16, w.rows, rows - 16, first);
        }
      }
    }
  }
  Tiles::release();
}

// y[t * w.rows + r] for t < n (n >= 16), r0 <= r < r1; xa: n ActQ8 rows (prepare_act of the x86 tables) for
// the integer types, n amx_prepare_float_act rows for F16 / BF16.
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
    case DType::F16: return amx_gemm_f<Tiles, LoadF16, true>(w, xa, n, r0, r1, y);
    case DType::BF16: return amx_gemm_f<Tiles, LoadBF16, false>(w, xa, n, r0, r1, y);
    default: return;  // not amx::gemm_supports(): the table does not route it here
  }
}
