// The packed layouts of packed_layout.h: byte copies only.
#include "kernels/cpu/packed_layout.h"

#include <cstring>

#include "quant/blocks.h"

namespace slm::kernels::cpu {
namespace {

constexpr int kG = int(kPackRows);

// Calls fn(gp, r, bytes) for every stored row r of each group (gp: the group's packed bytes, zeroed first,
// so rows past w.rows stay zero).
template <class F>
void pack_groups(const MatView& w, uint8_t* dst, F fn) {
  const int64_t groups = (w.rows + kG - 1) / kG;
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* gp = dst + size_t(g) * size_t(kG) * w.row_bytes;
    std::memset(gp, 0, size_t(kG) * w.row_bytes);
    for (int r = 0; r < kG && g * kG + r < w.rows; ++r) fn(gp, r, w.row(g * kG + r));
  }
}

// Integer types: per group and chunk, step-major quads, (Q5_0) the step masks of the high bits, then the
// f16 scales.
template <class Block, int kSteps, bool kFlip, bool kHigh = false>
void pack_q(const MatView& w, uint8_t* dst) {
  const int64_t nb = w.cols / 32;
  const int64_t qbytes = kSteps * 64 + (kHigh ? 64 : 0);
  pack_groups(w, dst, [&](uint8_t* gp, int r, const uint8_t* row) {
    const Block* b = reinterpret_cast<const Block*>(row);
    for (int64_t c = 0; c < nb; ++c) {
      uint8_t* cp = gp + c * (qbytes + 32);
      for (int s = 0; s < kSteps; ++s) {
        uint8_t* q = cp + s * 64 + 4 * r;
        std::memcpy(q, b[c].qs + 4 * s, 4);
        if constexpr (kFlip)
          for (int j = 0; j < 4; ++j) q[j] ^= 0x80;
      }
      if constexpr (kHigh) {
        uint32_t qh;
        std::memcpy(&qh, b[c].qh, 4);
        for (int st = 0; st < 8; ++st) {
          uint64_t mask;
          uint8_t* mp = cp + kSteps * 64 + 8 * st;
          std::memcpy(&mask, mp, 8);
          mask |= uint64_t((qh >> (4 * st)) & 0xF) << (4 * r);
          std::memcpy(mp, &mask, 8);
        }
      }
      std::memcpy(cp + qbytes + 2 * r, &b[c].d, 2);
    }
  });
}

// K-quant runs of 32 bytes (4 bytes per step for 8 steps) as [runs][8 steps][16 rows][4 bytes], row r.
inline void put_runs(uint8_t* p, const uint8_t* src, int runs, int r) {
  for (int k = 0; k < runs; ++k)
    for (int st = 0; st < 8; ++st) std::memcpy(p + 512 * k + 64 * st + 4 * r, src + 32 * k + 4 * st, 4);
}

// K-quants: put(p, block, r) writes row r's super-block into the group's super-block at p.
template <class Block, int64_t kBytes, class F>
void pack_super(const MatView& w, uint8_t* dst, F put) {
  const int64_t nsb = w.cols / 256;
  pack_groups(w, dst, [&](uint8_t* gp, int r, const uint8_t* row) {
    const Block* b = reinterpret_cast<const Block*>(row);
    for (int64_t sb = 0; sb < nsb; ++sb) put(gp + sb * kBytes, b[sb], r);
  });
}

void pack_q4k(const MatView& w, uint8_t* dst) {
  pack_super<BlockQ4_K, kPackQ4KBytes>(w, dst, [](uint8_t* p, const BlockQ4_K& b, int r) {
    put_runs(p, b.qs, 4, r);
    for (int i = 0; i < 12; ++i) p[2048 + 16 * i + r] = b.scales[i];
    std::memcpy(p + 2240 + 2 * r, &b.d, 2);
    std::memcpy(p + 2272 + 2 * r, &b.dmin, 2);
  });
}

void pack_q6k(const MatView& w, uint8_t* dst) {
  pack_super<BlockQ6_K, kPackQ6KBytes>(w, dst, [](uint8_t* p, const BlockQ6_K& b, int r) {
    put_runs(p, b.ql, 4, r);
    put_runs(p + 2048, b.qh, 2, r);
    for (int i = 0; i < 16; ++i) p[3072 + 16 * i + r] = uint8_t(b.scales[i]);
    std::memcpy(p + 3328 + 2 * r, &b.d, 2);
  });
}

void pack_f16(const MatView& w, uint8_t* dst) {
  pack_groups(w, dst, [&](uint8_t* gp, int r, const uint8_t* row) {
    for (int64_t k = 0; k < w.cols; ++k) std::memcpy(gp + 32 * k + 2 * r, row + 2 * k, 2);
  });
}

}  // namespace

bool pack16_supports(DType t) {
  return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q4_K || t == DType::Q6_K ||
         t == DType::F16;
}

void pack16(const MatView& w, uint8_t* dst) {
  switch (w.type) {
    case DType::Q8_0: return pack_q<BlockQ8_0, 8, true>(w, dst);
    case DType::Q4_0: return pack_q<BlockQ4_0, 4, false>(w, dst);
    case DType::Q5_0: return pack_q<BlockQ5_0, 4, false, true>(w, dst);
    case DType::Q4_K: return pack_q4k(w, dst);
    case DType::Q6_K: return pack_q6k(w, dst);
    case DType::F16: return pack_f16(w, dst);
    default: return;  // pack16_supports() is false: nothing packs it
  }
}

}  // namespace slm::kernels::cpu
