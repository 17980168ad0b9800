// The kernel tables compiled into this build. Each per-ISA folder (cpu/<isa>/) defines one function
// returning its table; the portable table is plain C++ that the compiler may auto-vectorise.
#pragma once

#include "kernels/kernels.h"

namespace slm::kernels::cpu {

const CpuKernels& portable_table();  // Isa::scalar

}  // namespace slm::kernels::cpu
