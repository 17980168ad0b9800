// The on-the-fly activation format of the x86 integer dot products: blocks of 32 int8 with a float
// scale and the scaled sum (for weight offsets and minimums). Shared by every x86 ISA table.
#pragma once

#include <cstdint>

namespace slm::kernels::cpu::x86 {

struct ActQ8 {  // a[j] ~= d * qs[j]; s = d * sum(qs)
  float d;
  float s;
  int8_t qs[32];
};
static_assert(sizeof(ActQ8) == 40);

}  // namespace slm::kernels::cpu::x86
