// Sub-block and single-block scale searches (see search.h): each sub-block's continuous scale (and min) is
// fitted from many starting scales, each refined by alternating nearest-level assignment with weighted
// least squares; block scales are then rounded to f16 and their neighbours scored by the exact decoded
// error. The super-block quantisers built on these live in super_block.cc.
#include "quant/types/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slm::quant::detail {
namespace {

// v rounded to the nearest integer in 0..nmax (NaN -> 0).
inline uint8_t round_code(float v, int nmax) {
  if (!(v > 0.5f)) return 0;
  if (v >= float(nmax)) return uint8_t(nmax);
  return uint8_t(int(v + 0.5f));
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

void block_weights(const float* imatrix, const float* x, int n, float* w) {
  row_weights(imatrix, 0, n, w);
  if (!imatrix) return;
  double sum2 = 0;
  for (int i = 0; i < n; ++i) sum2 += double(x[i]) * x[i];
  const double sigma2 = 2.0 * sum2 / n;
  for (int i = 0; i < n; ++i) {
    const double v = double(w[i]) * std::sqrt(sigma2 + double(x[i]) * x[i]);
    w[i] = std::isfinite(v) ? float(v) : w[i];
  }
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

}  // namespace slm::quant::detail
