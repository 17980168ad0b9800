// The x86 matmul kernels, written once and compiled once per ISA: each cpu/<isa>/matmul.cc defines the
// primitive dot_u8s8 (u8 x s8 -> 8 int32 sums of 4 products) in namespace slm::kernels::cpu::<isa> and
// includes this file inside that namespace. Needs AVX2, FMA and F16C at least.
//
// Integer types: activations are quantised per 32 values (ActQ8); each weight type has a decoder that
// turns chunk c of a row (32 weights) into 32 bytes q plus scales such that
//   sum_j w[j] a[j] = d * da * sum_j q[j] qa[j] (* per-16 lane scales) + m * sa.
// Signed q (Q8_0, IQ4_NL, Q6_K) uses |q| and sign(qa, q) so that the u8 x s8 product applies.
// Float types (F32, F16, BF16) read x directly; other types dequantise a row chunk through the reference.
// Tiles of 4 tokens share each decoded weight chunk (prefill); rows go in blocks of 16 so a block of
// weights stays in cache while the tokens stream past it.

using x86::ActQ8;
using x86::uses_act_q8;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

#include "kernels/cpu/x86/decoders.h"

// 32 floats -> one ActQ8 (round to nearest even, scale amax / 127); halves: the two 16-value sums in h
// instead of s (Q6_K).
inline void quantize_block(const float* x, ActQ8* out, bool halves) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float mx = _mm_cvtss_f32(m);
  const float d = mx / 127.0f;
  const __m256 id = _mm256_set1_ps(mx > 0.0f ? 127.0f / mx : 0.0f);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
  const int s0 = hsum_i32(_mm256_add_epi32(q[0], q[1])), s1 = hsum_i32(_mm256_add_epi32(q[2], q[3]));
  const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i b = _mm256_packs_epi16(p01, p23);  // dword order 0 4 1 5 2 6 3 7 of the wanted order
  const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out->qs), ordered);
  out->d = d;
  if (halves) {
    out->h[0] = int16_t(s0);
    out->h[1] = int16_t(s1);
  } else {
    out->s = d * float(s0 + s1);
  }
}

// out[t * ldo] = row . act row t, for NT tokens whose ActQ8 rows are `astride` blocks apart.
template <class Dec, int NT>
inline void qtile(const uint8_t* wrow, const ActQ8* a0, int64_t astride, int64_t nb, float* out, int64_t ldo) {
  Dec dec{reinterpret_cast<decltype(dec.b)>(wrow)};
  __m256 acc[NT][2];
  float macc[NT];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps(), macc[t] = 0.0f;
  Chunk ch;
  // Even chunks into acc[t][0], odd ones into acc[t][1]: the pair of steps keeps the index constant, so
  // the sums stay in registers (an index computed from c put them on the stack, stored every chunk).
  const auto step = [&](int64_t c, auto half) {
    dec.load(c, ch);
    const __m256i u = Dec::kSigned ? _mm256_sign_epi8(ch.q, ch.q) : ch.q;
    for (int t = 0; t < NT; ++t) {
      const ActQ8& a = a0[t * astride + c];
      __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
      if constexpr (Dec::kSigned) s = _mm256_sign_epi8(s, ch.q);
      __m256i p = dot_u8s8(u, s);
      if constexpr (Dec::kLaneScale) p = _mm256_mullo_epi32(p, ch.lane_scale);
      acc[t][half()] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ch.d * a.d), acc[t][half()]);
      if constexpr (Dec::kMin) macc[t] += ch.m * a.s;
    }
  };
  int64_t c = 0;
  for (; c + 2 <= nb; c += 2) step(c, std::integral_constant<int, 0>()), step(c + 1, std::integral_constant<int, 1>());
  if (c < nb) step(c, std::integral_constant<int, 0>());
  for (int t = 0; t < NT; ++t) out[t * ldo] = hsum(_mm256_add_ps(acc[t][0], acc[t][1])) + macc[t];
}

constexpr int64_t kRowBlock = 16;

template <class Dec>
void qrows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  const int64_t nb = w.cols / 32;
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = std::min(r1, rb + kRowBlock);
    int64_t t = 0;
    for (; t + 4 <= n; t += 4)
      for (int64_t r = rb; r < re; ++r) qtile<Dec, 4>(w.row(r), a + t * nb, nb, nb, y + t * w.rows + r, w.rows);
    for (; t < n; ++t)
      for (int64_t r = rb; r < re; ++r) qtile<Dec, 1>(w.row(r), a + t * nb, nb, nb, y + t * w.rows + r, w.rows);
  }
}

template <class Load, int NT>
inline void ftile(const uint8_t* wrow, const float* x0, int64_t ldx, int64_t cols, float* out, int64_t ldo) {
  __m256 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    const __m256 w0 = Load::load8(wrow, i), w1 = Load::load8(wrow, i + 8);
    for (int t = 0; t < NT; ++t) {
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + t * ldx + i), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x0 + t * ldx + i + 8), acc[t][1]);
    }
  }
  for (; i + 8 <= cols; i += 8) {
    const __m256 w0 = Load::load8(wrow, i);
    for (int t = 0; t < NT; ++t) acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + t * ldx + i), acc[t][0]);
  }
  float tail[NT] = {};
  for (; i < cols; ++i) {
    const float wv = Load::load1(wrow, i);
    for (int t = 0; t < NT; ++t) tail[t] += wv * x0[t * ldx + i];
  }
  for (int t = 0; t < NT; ++t) out[t * ldo] = hsum(_mm256_add_ps(acc[t][0], acc[t][1])) + tail[t];
}

template <class Load>
void frows(const MatView& w, const float* x, int64_t n, int64_t r0, int64_t r1, float* y) {
  const int64_t k = w.cols;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = std::min(r1, rb + kRowBlock);
    int64_t t = 0;
    for (; t + 4 <= n; t += 4)
      for (int64_t r = rb; r < re; ++r) ftile<Load, 4>(w.row(r), x + t * k, k, k, y + t * w.rows + r, w.rows);
    for (; t < n; ++t)
      for (int64_t r = rb; r < re; ++r) ftile<Load, 1>(w.row(r), x + t * k, k, k, y + t * w.rows + r, w.rows);
  }
}

// Types without a dedicated kernel: dequantise a block-aligned chunk of each row, then float dots.
void generic_rows(const MatView& w, const float* x, int64_t n, int64_t r0, int64_t r1, float* y) {
  constexpr int64_t kChunk = 2048;
  alignas(32) float buf[kChunk];
  const int64_t bs = dtype_info(w.type).block_size;
  const int64_t step = (kChunk / bs) * bs;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] = 0.0f;
    for (int64_t c0 = 0; c0 < w.cols; c0 += step) {
      const int64_t len = std::min(step, w.cols - c0);
      reference::row_chunk_to_f32(w, r, c0, std::span<float>(buf, size_t(len)));
      const uint8_t* p = reinterpret_cast<const uint8_t*>(buf);
      for (int64_t t = 0; t < n; ++t) {
        float v;
        ftile<LoadF32, 1>(p, x + t * w.cols + c0, 0, len, &v, 0);
        y[t * w.rows + r] += v;
      }
    }
  }
}

size_t act_bytes(DType wtype, int64_t cols) {
  return uses_act_q8(wtype) ? size_t(cols / 32) * sizeof(ActQ8) : 0;
}

void prepare_act(DType wtype, const float* x, int64_t /*n*/, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  if (!uses_act_q8(wtype)) return;
  const bool halves = wtype == DType::Q6_K;
  for (int64_t t = t0; t < t1; ++t) {
    ActQ8* out = static_cast<ActQ8*>(dst) + t * (cols / 32);
    for (int64_t b = 0; b < cols / 32; ++b) quantize_block(x + t * cols + 32 * b, out + b, halves);
  }
}

void matmul_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  switch (w.type) {
    case DType::Q4_0: return qrows<DecQ4_0>(w, xa, n, r0, r1, y);
    case DType::Q4_1: return qrows<DecQ4_1>(w, xa, n, r0, r1, y);
    case DType::Q5_0: return qrows<DecQ5_0>(w, xa, n, r0, r1, y);
    case DType::Q5_1: return qrows<DecQ5_1>(w, xa, n, r0, r1, y);
    case DType::Q8_0: return qrows<DecQ8_0>(w, xa, n, r0, r1, y);
    case DType::IQ4_NL: return qrows<DecIQ4_NL>(w, xa, n, r0, r1, y);
    case DType::Q4_K: return qrows<DecQ4_K>(w, xa, n, r0, r1, y);
    case DType::Q5_K: return qrows<DecQ5_K>(w, xa, n, r0, r1, y);
    case DType::Q6_K: return qrows<DecQ6_K>(w, xa, n, r0, r1, y);
    case DType::F32: return frows<LoadF32>(w, x, n, r0, r1, y);
    case DType::F16: return frows<LoadF16>(w, x, n, r0, r1, y);
    case DType::BF16: return frows<LoadBF16>(w, x, n, r0, r1, y);
    default: return generic_rows(w, x, n, r0, r1, y);
  }
}

// The table's matmul keeps float activations (the exact contract of CpuKernels::matmul); the quantised
// activations are for matmul_rows, which matmul_parallel uses.
void matmul(const MatView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  if (uses_act_q8(w.type)) return generic_rows(w, x.data(), n, 0, w.rows, y.data());
  matmul_rows(w, x.data(), nullptr, n, 0, w.rows, y.data());
}

// Elementwise entries the portable table already serves well stay shared; these are the hot ones.
float dot(std::span<const float> a, std::span<const float> b) {
  float v;
  ftile<LoadF32, 1>(reinterpret_cast<const uint8_t*>(a.data()), b.data(), 0, int64_t(a.size()), &v, 0);
  return v;
}

float dot_f16(std::span<const float> a, const f16* b) {
  float v;
  ftile<LoadF16, 1>(reinterpret_cast<const uint8_t*>(b), a.data(), 0, int64_t(a.size()), &v, 0);
  return v;
}

void axpy_f16(float a, const f16* x, std::span<float> y) {
  const __m256 av = _mm256_set1_ps(a);
  size_t i = 0;
  for (; i + 8 <= y.size(); i += 8) {
    const __m256 xv = LoadF16::load8(reinterpret_cast<const uint8_t*>(x), int64_t(i));
    _mm256_storeu_ps(y.data() + i, _mm256_fmadd_ps(av, xv, _mm256_loadu_ps(y.data() + i)));
  }
  for (; i < y.size(); ++i) y[i] += a * h2f(x[i]);
}

void axpy(float a, std::span<const float> x, std::span<float> y) {
  const __m256 av = _mm256_set1_ps(a);
  size_t i = 0;
  for (; i + 8 <= y.size(); i += 8)
    _mm256_storeu_ps(y.data() + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x.data() + i), _mm256_loadu_ps(y.data() + i)));
  for (; i < y.size(); ++i) y[i] += a * x[i];
}

// F16 rows (the f16 KV cache's keys and values in the tiled attention) widen 8 at a time; others as portable.
void row_to_f32(const MatView& w, int64_t r, std::span<float> dst) {
  if (w.type != DType::F16) return portable_table().row_to_f32(w, r, dst);
  const uint8_t* p = w.row(r);
  const int64_t n = int64_t(dst.size());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst.data() + i, LoadF16::load8(p, i));
  for (; i < n; ++i) dst[size_t(i)] = LoadF16::load1(p, i);
}

// exp(t) for 8 floats, t clamped to [-87, 88]: 2^n * p(r) as in the portable exp_sum (degree-6 polynomial,
// relative error < 3e-7).
inline __m256 exp8(__m256 t) {
  t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682e-6f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), t));
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  for (float c : {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

float exp_sum(std::span<float> x, float shift) {
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= x.size(); i += 8) {
    const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x.data() + i), sh));
    _mm256_storeu_ps(x.data() + i, v);
    acc = _mm256_add_ps(acc, v);
  }
  float sum = hsum(acc);
  if (i < x.size()) sum += portable_table().exp_sum(x.subspan(i), shift);
  return sum;
}

// Four chains of 8 lanes, each lane keeping its first largest value and where; then the lowest index among
// the lanes' equal maxima, then the tail.
int64_t argmax(std::span<const float> x) {
  const size_t n = x.size();
  __m256 best[4];
  __m256i at[4];
  for (int c = 0; c < 4; ++c) {
    best[c] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    at[c] = _mm256_setzero_si256();
  }
  __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  size_t i = 0;
  for (; i + 32 <= n && i + 32 < size_t(INT32_MAX); i += 32) {
    for (int c = 0; c < 4; ++c) {
      const __m256 v = _mm256_loadu_ps(x.data() + i + 8 * size_t(c));
      const __m256 gt = _mm256_cmp_ps(v, best[c], _CMP_GT_OQ);  // false for NaN
      best[c] = _mm256_blendv_ps(best[c], v, gt);
      at[c] = _mm256_blendv_epi8(at[c], _mm256_add_epi32(idx, _mm256_set1_epi32(8 * c)), _mm256_castps_si256(gt));
    }
    idx = _mm256_add_epi32(idx, _mm256_set1_epi32(32));
  }
  float m = -std::numeric_limits<float>::infinity();
  int64_t where = 0;
  for (int c = 0; c < 4; ++c) {
    alignas(32) float bv[8];
    alignas(32) int32_t bi[8];
    _mm256_store_ps(bv, best[c]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bi), at[c]);
    for (int l = 0; l < 8; ++l) {
      if (bv[l] > m || (bv[l] == m && bi[l] < where))
        m = bv[l], where = bi[l];
    }
  }
  for (; i < n; ++i) {
    if (x[i] > m) m = x[i], where = int64_t(i);
  }
  return where;
}

// Four chains of 8 lanes; max_ps returns its second operand when either is NaN, so a NaN never replaces a
// lane's value.
float max(std::span<const float> x) {
  __m256 m[4];
  for (__m256& v : m) v = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + 32 <= x.size(); i += 32)
    for (int c = 0; c < 4; ++c) m[c] = _mm256_max_ps(_mm256_loadu_ps(x.data() + i + 8 * size_t(c)), m[c]);
  __m256 all = _mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3]));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(all), _mm256_extractf128_ps(all, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  float r = _mm_cvtss_f32(h);
  for (; i < x.size(); ++i) r = x[i] > r ? x[i] : r;
  return r;
}

// out = gate / (1 + exp(-gate)) * up.
void silu_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const __m256 g = _mm256_loadu_ps(gate.data() + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out.data() + i, _mm256_mul_ps(s, _mm256_loadu_ps(up.data() + i)));
  }
  if (i < out.size()) portable_table().silu_mul(gate.subspan(i), up.subspan(i), out.subspan(i));
}

// The portable table with the entries above replaced.
CpuKernels make_table(Isa isa) {
  CpuKernels k = portable_table();
  k.isa = isa;
  k.matmul = matmul;
  k.dot = dot;
  k.dot_f16 = dot_f16;
  k.axpy = axpy;
  k.axpy_f16 = axpy_f16;
  k.act_bytes = act_bytes;
  k.prepare_act = prepare_act;
  k.matmul_rows = matmul_rows;
  k.exp_sum = exp_sum;
  k.argmax = argmax;
  k.max = max;
  k.row_to_f32 = row_to_f32;
  k.silu_mul = silu_mul;
  return k;
}
