// Scale searches for the k-quant and IQ4 quantisers (see search.h). The approach: fit each sub-block's
// continuous scale (and min) by trying many starting scales, each refined by alternating nearest-level
// assignment with weighted least squares; then quantise the super-block scale(s) to f16 and the sub-block
// scales to their integer codes, trying several super-block scales and nearby codes and keeping the lowest
// exact decoded error.
#include "quant/types/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slm::quant::detail {
namespace {

constexpr int kMaxLen = 256;  // longest sub-block or block searched at once
constexpr double kInf = std::numeric_limits<double>::infinity();

f16 to_f16_finite(float v) {  // f16 rounding that saturates instead of overflowing to inf
  constexpr float kMax = 65504.0f;
  return f32_to_f16(std::clamp(v, -kMax, kMax));
}

float f16_step(f16 h, int delta) {  // the f16 value delta ulps away (same sign), as float
  const int mag = int(h.bits & 0x7fff) + delta;
  if (mag < 0 || mag >= 0x7c00) return f16_to_f32(h);
  return f16_to_f32(f16{uint16_t((h.bits & 0x8000) | mag)});
}

// v rounded to the nearest integer in 0..nmax (NaN -> 0).
inline uint8_t round_code(float v, int nmax) {
  if (!(v > 0.5f)) return 0;
  if (v >= float(nmax)) return uint8_t(nmax);
  return uint8_t(int(v + 0.5f));
}

// v rounded to the nearest integer, clamped to lo..hi (NaN -> lo).
inline int round_clamp(float v, int lo, int hi) {
  if (!(v > float(lo))) return lo;
  if (v >= float(hi)) return hi;
  return int(std::nearbyint(v));
}

// Nearest codes for scale s, least-squares rescale, nearest codes again; returns the continuous error.
double lloyd_sym(const float* x, const float* w, int n, const Grid& g, float& s, uint8_t* L) {
  if (s == 0 || !std::isfinite(s)) return kInf;
  const float inv = 1.0f / s;
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = uint8_t(g.nearest(x[i] * inv));
    const double v = g.value(L[i]);
    num += w[i] * v * x[i];
    den += w[i] * v * v;
  }
  if (den <= 0 || num == 0) return kInf;
  s = float(num / den);
  const float inv2 = 1.0f / s;
  double err = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = uint8_t(g.nearest(x[i] * inv2));
    const double e = double(x[i]) - double(s) * g.value(L[i]);
    err += w[i] * e * e;
  }
  return err;
}

// Weighted least squares of x ~ s * L + b given L, with s >= 0 and (unless free_offset) b <= 0.
void solve_affine(const float* x, const float* w, int n, const uint8_t* L, bool free_offset, float& s, float& b) {
  double sw = 0, sl = 0, sll = 0, sx = 0, slx = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sl += w[i] * L[i];
    sll += w[i] * double(L[i]) * L[i];
    sx += w[i] * x[i];
    slx += w[i] * double(L[i]) * x[i];
  }
  const double det = sw * sll - sl * sl;
  double ds = s, db = b;
  if (det > 1e-12 * sw * sll && sw > 0) {
    ds = (sw * slx - sl * sx) / det;
    db = (sll * sx - sl * slx) / det;
  }
  if (db > 0 && !free_offset) {
    db = 0;
    ds = sll > 0 ? slx / sll : 0;
  }
  if (ds < 0) {
    ds = 0;
    db = sw > 0 ? sx / sw : 0;
    if (!free_offset) db = std::min(db, 0.0);
  }
  s = float(ds);
  b = float(db);
}

double lloyd_affine(const float* x, const float* w, int n, int nmax, bool free_offset, float& s, float& b,
                    uint8_t* L) {
  for (int pass = 0; pass < 2; ++pass) {
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; ++i) L[i] = round_code((x[i] - b) * inv, nmax);
    if (pass == 0) solve_affine(x, w, n, L, free_offset, s, b);
  }
  double err = 0;
  for (int i = 0; i < n; ++i) {
    const double e = double(x[i]) - (double(s) * L[i] + b);
    err += w[i] * e * e;
  }
  return err;
}

}  // namespace

void row_weights(const float* imatrix, int64_t col0, int n, float* w) {
  if (!imatrix) {
    std::fill(w, w + n, 1.0f);
    return;
  }
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const float v = imatrix[col0 + i];
    w[i] = (v > 0 && std::isfinite(v)) ? v : 0.0f;
    sum += w[i];
  }
  // A small floor keeps every element in play (and every least-squares system solvable).
  const float floor = float(sum / n * 1e-6) + 1e-30f;
  for (int i = 0; i < n; ++i) w[i] += floor;
}

float fit_scale(const float* x, const float* w, int n, const Grid& g, uint8_t* L) {
  float amax = 0, xm = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      xm = x[i];
    }
  }
  if (amax == 0 || !std::isfinite(amax)) {
    std::fill(L, L + n, uint8_t(g.nearest(0.0f)));
    return 0.0f;
  }
  uint8_t tmp[kMaxLen];
  double best = kInf;
  float best_s = 0;
  for (const float ext : {g.value(0), g.value(g.size() - 1)}) {
    if (ext == 0) continue;
    for (int t = 0; t <= 12; ++t) {
      float s = xm / (ext * (1.1f - 0.05f * float(t)));
      const double err = lloyd_sym(x, w, n, g, s, tmp);
      if (err < best) {
        best = err;
        best_s = s;
      }
    }
  }
  for (int it = 0; it < 8 && best < kInf; ++it) {  // polish the winner
    float s = best_s;
    const double err = lloyd_sym(x, w, n, g, s, tmp);
    if (!(err < best)) break;
    best = err;
    best_s = s;
  }
  if (best == kInf) best_s = xm / g.value(g.size() - 1);
  const float inv = 1.0f / best_s;
  for (int i = 0; i < n; ++i) L[i] = uint8_t(g.nearest(x[i] * inv));
  return best_s;
}

Affine fit_affine(const float* x, const float* w, int n, int nmax, uint8_t* L, bool free_offset) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!free_offset) lo = std::min(lo, 0.0f);
  if (!(hi > lo) || !std::isfinite(hi - lo)) {
    std::fill(L, L + n, uint8_t(0));
    return {0.0f, std::isfinite(lo) ? -lo : 0.0f};
  }
  uint8_t tmp[kMaxLen];
  double best = kInf;
  float best_s = (hi - lo) / float(nmax), best_b = lo;
  // Starting grids: narrower or wider than the range, anchored from its low end to its high end.
  for (int t = 0; t <= 10; ++t) {
    const float s0 = (hi - lo) / (float(nmax) * (0.9f + 0.05f * float(t)));
    const float span = s0 * float(nmax);
    for (const float a : {0.0f, 0.25f, 0.5f, 0.75f, 1.0f}) {
      float s = s0, b = lo + a * (hi - lo - span);
      if (!free_offset) b = std::min(b, 0.0f);
      const double err = lloyd_affine(x, w, n, nmax, free_offset, s, b, tmp);
      if (err < best) {
        best = err;
        best_s = s;
        best_b = b;
      }
    }
  }
  for (int it = 0; it < 8; ++it) {
    float s = best_s, b = best_b;
    const double err = lloyd_affine(x, w, n, nmax, free_offset, s, b, tmp);
    if (!(err < best)) break;
    best = err;
    best_s = s;
    best_b = b;
  }
  const float inv = best_s > 0 ? 1.0f / best_s : 0.0f;
  for (int i = 0; i < n; ++i) L[i] = round_code((x[i] - best_b) * inv, nmax);
  return {best_s, -best_b};
}

double sub_error_sym(const float* x, const float* w, int n, float dl, const Grid& g, uint8_t* L) {
  double err = 0;
  if (dl == 0) {
    const uint8_t z = uint8_t(g.nearest(0.0f));
    for (int i = 0; i < n; ++i) {
      L[i] = z;
      err += double(w[i]) * x[i] * x[i];
    }
    return err;
  }
  const float inv = 1.0f / dl;
  for (int i = 0; i < n; ++i) {
    const int c = g.nearest(x[i] * inv);
    const float y = dl * g.value(c);
    L[i] = uint8_t(c);
    const double e = double(x[i]) - y;
    err += w[i] * e * e;
  }
  return err;
}

double sub_error_affine(const float* x, const float* w, int n, float dl, float ml, int nmax, uint8_t* L) {
  double err = 0;
  const float inv = dl > 0 ? 1.0f / dl : 0.0f;
  for (int i = 0; i < n; ++i) {
    L[i] = round_code((x[i] + ml) * inv, nmax);
    const float y = dl * float(L[i]) - ml;
    const double e = double(x[i]) - y;
    err += w[i] * e * e;
  }
  return err;
}

f16 quantize_block_sym(const float* x, const float* w, int n, const Grid& g, uint8_t* L) {
  uint8_t tmp[kMaxLen];
  double best = sub_error_sym(x, w, n, 0.0f, g, L);
  f16 best_d{0};
  auto consider = [&](float d) {
    const f16 h = to_f16_finite(d);
    for (int delta = -2; delta <= 2; ++delta) {
      const float df = f16_step(h, delta);
      if (df == 0) continue;
      const double err = sub_error_sym(x, w, n, df, g, tmp);
      if (err < best) {
        best = err;
        best_d = f32_to_f16(df);
        std::copy(tmp, tmp + n, L);
      }
    }
  };
  consider(fit_scale(x, w, n, g, tmp));
  for (int it = 0; it < 2; ++it) {  // least-squares rescale for the kept codes
    double num = 0, den = 0;
    for (int i = 0; i < n; ++i) {
      const double v = g.value(L[i]);
      num += w[i] * v * x[i];
      den += w[i] * v * v;
    }
    if (den <= 0 || num == 0) break;
    consider(float(num / den));
  }
  return best_d;
}


void quantize_block_affine(const float* x, const float* w, int n, int nmax, f16* d, f16* m, uint8_t* L) {
  uint8_t tmp[kMaxLen];
  const Affine a = fit_affine(x, w, n, nmax, tmp, /*free_offset=*/true);
  double best = sub_error_affine(x, w, n, f16_to_f32(*d), -f16_to_f32(*m), nmax, L);  // the caller's start
  const f16 dh = to_f16_finite(a.s), mh = to_f16_finite(-a.m);
  for (int dd = -1; dd <= 1; ++dd) {
    for (int dm = -1; dm <= 1; ++dm) {
      const float df = f16_step(dh, dd), mf = f16_step(mh, dm);
      if (df < 0) continue;
      const double err = sub_error_affine(x, w, n, df, -mf, nmax, tmp);
      if (err < best) {
        best = err;
        *d = f32_to_f16(df);
        *m = f32_to_f16(mf);
        std::copy(tmp, tmp + n, L);
      }
    }
  }
}

f16 quantize_super_sym(const float* x, const float* w, const SymPlan& p, int* codes, uint8_t* L) {
  const int n = p.nsub * p.len;
  float s[kMaxLen / 8];
  uint8_t tmp[kMaxLen];
  float smax = 0;
  for (int k = 0; k < p.nsub; ++k) {
    s[k] = fit_scale(x + k * p.len, w + k * p.len, p.len, p.grid, tmp);
    if (std::fabs(s[k]) > std::fabs(smax)) smax = s[k];
  }
  double best = sub_error_sym(x, w, n, 0.0f, p.grid, L);
  f16 best_d{0};
  std::fill(codes, codes + p.nsub, 0);
  if (smax == 0) return best_d;

  int cand[kMaxLen / 8];
  auto evaluate = [&](float d) {  // best codes near each sub-block's own scale for the f16 d
    const float df = f16_to_f32(to_f16_finite(d));
    if (df == 0 || !std::isfinite(df)) return;
    double total = 0;
    for (int k = 0; k < p.nsub && total < best; ++k) {
      const float* xk = x + k * p.len;
      const float* wk = w + k * p.len;
      const int c0 = round_clamp(s[k] / df, p.cmin, p.cmax);
      double kbest = kInf;
      for (int c = std::max(p.cmin, c0 - 2); c <= std::min(p.cmax, c0 + 2); ++c) {
        const double err = sub_error_sym(xk, wk, p.len, df * float(c), p.grid, tmp);
        if (err < kbest) {
          kbest = err;
          cand[k] = c;
        }
      }
      total += kbest;
    }
    if (total < best) {
      best = total;
      best_d = f32_to_f16(df);
      std::copy(cand, cand + p.nsub, codes);
      for (int k = 0; k < p.nsub; ++k)
        sub_error_sym(x + k * p.len, w + k * p.len, p.len, df * float(codes[k]), p.grid, L + k * p.len);
    }
  };
  for (const int top : {p.cmin, p.cmax}) {
    if (top == 0) continue;
    for (const float f : {1.0f, 0.95f, 0.9f, 1.05f}) evaluate(smax / (float(top) * f));
  }
  for (int it = 0; it < 2; ++it) {  // least-squares super-block scale for the kept codes
    double num = 0, den = 0;
    for (int i = 0; i < n; ++i) {
      const double v = double(codes[i / p.len]) * p.grid.value(L[i]);
      num += w[i] * v * x[i];
      den += w[i] * v * v;
    }
    if (den <= 0 || num == 0) break;
    const f16 h = to_f16_finite(float(num / den));
    for (int delta = -1; delta <= 1; ++delta) evaluate(f16_step(h, delta));
  }
  return best_d;
}

AffineCodes quantize_super_affine(const float* x, const float* w, const AffinePlan& p, int* sc, int* mc,
                                  uint8_t* L) {
  Affine fit[kMaxLen / 8];
  uint8_t tmp[kMaxLen];
  float smax = 0, mmax = 0;
  for (int k = 0; k < p.nsub; ++k) {
    fit[k] = fit_affine(x + k * p.len, w + k * p.len, p.len, p.nmax, tmp);
    smax = std::max(smax, fit[k].s);
    mmax = std::max(mmax, fit[k].m);
  }
  AffineCodes best_dm{f16{0}, f16{0}};
  std::fill(sc, sc + p.nsub, 0);
  std::fill(mc, mc + p.nsub, 0);
  double best = sub_error_affine(x, w, p.nsub * p.len, 0.0f, 0.0f, p.nmax, L);
  if (smax == 0 && mmax == 0) return best_dm;

  int cs[kMaxLen / 8], cm[kMaxLen / 8];
  auto evaluate = [&](float d, float dmin) {
    const f16 dh = to_f16_finite(d), mh = to_f16_finite(dmin);
    const float df = f16_to_f32(dh), mf = f16_to_f32(mh);
    if (!std::isfinite(df) || !std::isfinite(mf) || df < 0 || mf < 0) return;
    double total = 0;
    for (int k = 0; k < p.nsub && total < best; ++k) {
      const float* xk = x + k * p.len;
      const float* wk = w + k * p.len;
      const int s0 = df > 0 ? round_clamp(fit[k].s / df, 0, p.cmax) : 0;
      const int m0 = mf > 0 ? round_clamp(fit[k].m / mf, 0, p.cmax) : 0;
      double kbest = kInf;
      for (int a = std::max(0, s0 - 1); a <= std::min(p.cmax, s0 + 1); ++a) {
        for (int b = std::max(0, m0 - 1); b <= std::min(p.cmax, m0 + 1); ++b) {
          const double err = sub_error_affine(xk, wk, p.len, df * float(a), mf * float(b), p.nmax, tmp);
          if (err < kbest) {
            kbest = err;
            cs[k] = a;
            cm[k] = b;
          }
        }
      }
      total += kbest;
    }
    if (total < best) {
      best = total;
      best_dm = {dh, mh};
      std::copy(cs, cs + p.nsub, sc);
      std::copy(cm, cm + p.nsub, mc);
      for (int k = 0; k < p.nsub; ++k)
        sub_error_affine(x + k * p.len, w + k * p.len, p.len, df * float(sc[k]), mf * float(mc[k]), p.nmax,
                         L + k * p.len);
    }
  };
  const float fs[] = {1.0f, 0.94f};
  for (const float f : fs)
    for (const float g : fs) evaluate(smax / (float(p.cmax) * f), mmax / (float(p.cmax) * g));
  for (int it = 0; it < 2; ++it) {  // least squares for (d, dmin) with the kept codes: x ~ d*a - dmin*b
    double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
    for (int i = 0; i < p.nsub * p.len; ++i) {
      const double a = double(sc[i / p.len]) * L[i], b = -double(mc[i / p.len]);
      saa += w[i] * a * a;
      sab += w[i] * a * b;
      sbb += w[i] * b * b;
      sax += w[i] * a * x[i];
      sbx += w[i] * b * x[i];
    }
    const double det = saa * sbb - sab * sab;
    double d, m;
    if (sbb == 0) {
      if (saa <= 0) break;
      d = sax / saa;
      m = 0;
    } else {
      if (!(det > 1e-12 * saa * sbb)) break;
      d = (sbb * sax - sab * sbx) / det;
      m = (saa * sbx - sab * sax) / det;
    }
    const f16 dh = to_f16_finite(float(d)), mh = to_f16_finite(float(m));
    for (int da = -1; da <= 1; ++da)
      for (int db = -1; db <= 1; ++db) evaluate(f16_step(dh, da), f16_step(mh, db));
  }
  return best_dm;
}

}  // namespace slm::quant::detail
