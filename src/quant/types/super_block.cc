// Super-block quantisers (see search.h): the sub-blocks' continuous scales are fitted first; then several
// f16 super-block scales are tried, each sub-block taking the integer code(s) near its own scale with the
// lowest exact decoded error (sub-blocks are independent once the super-block scale is fixed), and the
// super-block scale is finally refitted by least squares for the kept codes.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/types/search.h"

namespace slm::quant::detail {
namespace {

// Best code in a window around scale s / df for one symmetric sub-block; returns its error.
double best_sym_code(const float* x, const float* w, const SymPlan& p, float s, float df, int* code) {
  uint8_t tmp[kMaxLen];
  const int c0 = round_clamp(s / df, p.cmin, p.cmax);
  double best = kInf;
  for (int c = std::max(p.cmin, c0 - 2); c <= std::min(p.cmax, c0 + 2); ++c) {
    const double err = sub_error_sym(x, w, p.len, df * float(c), p.grid, tmp);
    if (err < best) {
      best = err;
      *code = c;
    }
  }
  return best;
}

// Best (scale, min) codes in a window around the fit for one affine sub-block; returns its error.
double best_affine_codes(const float* x, const float* w, const AffinePlan& p, Affine fit, float df, float mf,
                         int* sc, int* mc) {
  uint8_t tmp[kMaxLen];
  const int s0 = df > 0 ? round_clamp(fit.s / df, 0, p.cmax) : 0;
  const int m0 = mf > 0 ? round_clamp(fit.m / mf, 0, p.cmax) : 0;
  double best = kInf;
  for (int a = std::max(0, s0 - 1); a <= std::min(p.cmax, s0 + 1); ++a) {
    for (int b = std::max(0, m0 - 1); b <= std::min(p.cmax, m0 + 1); ++b) {
      const double err = sub_error_affine(x, w, p.len, df * float(a), mf * float(b), p.nmax, tmp);
      if (err < best) {
        best = err;
        *sc = a;
        *mc = b;
      }
    }
  }
  return best;
}

// Weighted least squares for (d, dmin) in x ~ d * (sc * L) - dmin * mc with the codes fixed.
bool solve_super_affine(const float* x, const float* w, const AffinePlan& p, const int* sc, const int* mc,
                        const uint8_t* L, double* d, double* dmin) {
  double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
  for (int i = 0; i < p.nsub * p.len; ++i) {
    const double a = double(sc[i / p.len]) * L[i], b = -double(mc[i / p.len]);
    saa += w[i] * a * a;
    sab += w[i] * a * b;
    sbb += w[i] * b * b;
    sax += w[i] * a * x[i];
    sbx += w[i] * b * x[i];
  }
  if (sbb == 0) {
    if (saa <= 0) return false;
    *d = sax / saa;
    *dmin = 0;
    return true;
  }
  const double det = saa * sbb - sab * sab;
  if (!(det > 1e-12 * saa * sbb)) return false;
  *d = (sbb * sax - sab * sbx) / det;
  *dmin = (saa * sbx - sab * sax) / det;
  return true;
}

}  // namespace

f16 quantize_super_sym(const float* x, const float* w, const SymPlan& p, int* codes, uint8_t* L) {
  SLM_CHECK(p.nsub <= kMaxSub && p.nsub * p.len <= kMaxLen, "plan {}x{}", p.nsub, p.len);
  const int n = p.nsub * p.len;
  float s[kMaxSub];
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

  auto evaluate = [&](float d) {
    const float df = f16_to_f32(to_f16_finite(d));
    if (df == 0 || !std::isfinite(df)) return;
    int cand[kMaxSub];
    double total = 0;
    for (int k = 0; k < p.nsub && total < best; ++k)
      total += best_sym_code(x + k * p.len, w + k * p.len, p, s[k], df, &cand[k]);
    if (!(total < best)) return;
    best = total;
    best_d = f32_to_f16(df);
    std::copy(cand, cand + p.nsub, codes);
    for (int k = 0; k < p.nsub; ++k)
      sub_error_sym(x + k * p.len, w + k * p.len, p.len, df * float(codes[k]), p.grid, L + k * p.len);
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
  SLM_CHECK(p.nsub <= kMaxSub && p.nsub * p.len <= kMaxLen, "plan {}x{}", p.nsub, p.len);
  Affine fit[kMaxSub];
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

  auto evaluate = [&](float d, float dmin) {
    const f16 dh = to_f16_finite(d), mh = to_f16_finite(dmin);
    const float df = f16_to_f32(dh), mf = f16_to_f32(mh);
    if (!(df >= 0) || !(mf >= 0)) return;
    int cs[kMaxSub], cm[kMaxSub];
    double total = 0;
    for (int k = 0; k < p.nsub && total < best; ++k)
      total += best_affine_codes(x + k * p.len, w + k * p.len, p, fit[k], df, mf, &cs[k], &cm[k]);
    if (!(total < best)) return;
    best = total;
    best_dm = {dh, mh};
    std::copy(cs, cs + p.nsub, sc);
    std::copy(cm, cm + p.nsub, mc);
    for (int k = 0; k < p.nsub; ++k)
      sub_error_affine(x + k * p.len, w + k * p.len, p.len, df * float(sc[k]), mf * float(mc[k]), p.nmax,
                       L + k * p.len);
  };
  for (const float f : {1.0f, 0.94f})
    for (const float g : {1.0f, 0.94f}) evaluate(smax / (float(p.cmax) * f), mmax / (float(p.cmax) * g));
  for (int it = 0; it < 2; ++it) {
    double d, dmin;
    if (!solve_super_affine(x, w, p, sc, mc, L, &d, &dmin)) break;
    const f16 dh = to_f16_finite(float(d)), mh = to_f16_finite(float(dmin));
    for (int da = -1; da <= 1; ++da)
      for (int db = -1; db <= 1; ++db) evaluate(f16_step(dh, da), f16_step(mh, db));
  }
  return best_dm;
}

}  // namespace slm::quant::detail
