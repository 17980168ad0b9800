// The on-the-fly activation format of the x86 integer dot products: blocks of 32 int8 with a float
// scale and the scaled sum (for weight offsets and minimums). Shared by every x86 ISA table.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace slm::kernels::cpu::x86 {

// a[j] ~= d * qs[j]; s = d * sum(qs). Q6_K's activations (prepare_act for Q6_K) carry h instead: the
// sums of qs[0..15] and qs[16..31], the offset of its 16-value sub-blocks (no Q6_K kernel reads s).
struct ActQ8 {
  float d;
  union {
    float s;
    int16_t h[2];
  };
  int8_t qs[32];
};
static_assert(sizeof(ActQ8) == 40);

// The weight types whose products take ActQ8 activations (every x86 integer kernel's types).
inline bool uses_act_q8(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
    case DType::IQ4_NL: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

}  // namespace slm::kernels::cpu::x86
