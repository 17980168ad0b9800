// Scale searches shared by the k-quant and IQ4 quantisers: weighted least squares over integer grids.
// Every search scores candidates by the exact decoded error (the float arithmetic of the decoder), so
// what is kept is what the file will dequantise to.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/f16.h"

namespace slm::quant::detail {

constexpr int kMaxLen = 256;  // longest sub-block or block searched at once
constexpr int kMaxSub = 16;   // most sub-blocks in a super-block
constexpr double kInf = std::numeric_limits<double>::infinity();

// f16 rounding that saturates at the largest finite half instead of overflowing to inf.
inline f16 to_f16_finite(float v) { return f32_to_f16(std::clamp(v, -65504.0f, 65504.0f)); }

// The f16 value delta ulps away from h (same sign), as float; h itself at the ends of the range.
inline float f16_step(f16 h, int delta) {
  const int mag = int(h.bits & 0x7fff) + delta;
  if (mag < 0 || mag >= 0x7c00) return f16_to_f32(h);
  return f16_to_f32(f16{uint16_t((h.bits & 0x8000) | mag)});
}

// v rounded to the nearest integer, clamped to lo..hi (NaN -> lo).
inline int round_clamp(float v, int lo, int hi) {
  if (!(v > float(lo))) return lo;
  if (v >= float(hi)) return hi;
  return int(std::nearbyint(v));
}

// Quantisation levels: the integers lo..hi, or a sorted table of n values (mids: the n - 1 midpoints
// between neighbours). A code indexes the levels.
struct Grid {
  int lo = 0;
  int hi = 0;
  const int8_t* table = nullptr;
  const float* mids = nullptr;
  int n = 0;

  int size() const { return table ? n : hi - lo + 1; }
  float value(int code) const { return table ? float(table[code]) : float(lo + code); }
  // Code of the level nearest to v (NaN -> the lowest).
  int nearest(float v) const {
    if (table) {
      int c = 0;
      for (int k = 0; k + 1 < n; ++k) c += v > mids[k];
      return c;
    }
    if (!(v > float(lo))) return 0;
    if (v >= float(hi)) return hi - lo;
    return int(v - float(lo) + 0.5f);
  }
};

// Per-element weights: imatrix columns when given, else all ones. x: one row; w: the same length.
void row_weights(const float* imatrix, int64_t col0, int n, float* w);
// Per-element weights for one block x (n elements) with an imatrix: imatrix[j] * sqrt(sigma2 + x[j]^2),
// sigma2 = 2 * mean(x^2) over the block. The imatrix alone is the expected squared activation of each
// input column; the magnitude factor also favours the block's large weights, which the published IQ4
// recipe found to lower the model's error further. All ones without an imatrix.
void block_weights(const float* imatrix, const float* x, int n, float* w);

// Symmetric: x ~ s * grid.value(L). Best s of either sign (0 when x is all zero); writes L.
float fit_scale(const float* x, const float* w, int n, const Grid& g, uint8_t* L);

// Affine: x ~ s * L - m with L in 0..nmax, s >= 0 and m >= 0 (the offset is never positive, unless
// free_offset).
struct Affine {
  float s = 0;
  float m = 0;
};
Affine fit_affine(const float* x, const float* w, int n, int nmax, uint8_t* L, bool free_offset = false);

// Exact weighted error of one sub-block decoded as (dl * value(L)) with the nearest codes; writes L.
double sub_error_sym(const float* x, const float* w, int n, float dl, const Grid& g, uint8_t* L);
// Exact weighted error of one sub-block decoded as (dl * L - ml), L in 0..nmax; writes L.
double sub_error_affine(const float* x, const float* w, int n, float dl, float ml, int nmax, uint8_t* L);

// One scale per block, stored as f16: x ~ d * value(L). Returns d; writes L (n codes).
f16 quantize_block_sym(const float* x, const float* w, int n, const Grid& g, uint8_t* L);

// One f16 scale and one f16 offset per block: x ~ d * L + m (L in 0..nmax). d, m: on entry a starting
// candidate (with L its codes), on return the best found; writes L.
void quantize_block_affine(const float* x, const float* w, int n, int nmax, f16* d, f16* m, uint8_t* L);

// A super-block of nsub sub-blocks of len elements: x ~ (d * c[k]) * value(L), c[k] in cmin..cmax.
struct SymPlan {
  int nsub;
  int len;
  Grid grid;
  int cmin;
  int cmax;
};
// Returns d; writes codes (nsub) and L (nsub * len).
f16 quantize_super_sym(const float* x, const float* w, const SymPlan& p, int* codes, uint8_t* L);

// A super-block of affine sub-blocks: x ~ (d * sc[k]) * L - dmin * mc[k], sc in 0..cmax, mc in 0..cmax.
struct AffinePlan {
  int nsub;
  int len;
  int nmax;  // L in 0..nmax
  int cmax;  // scale and min codes in 0..cmax
};
struct AffineCodes {
  f16 d;
  f16 dmin;
};
AffineCodes quantize_super_affine(const float* x, const float* w, const AffinePlan& p, int* sc, int* mc,
                                  uint8_t* L);

}  // namespace slm::quant::detail
