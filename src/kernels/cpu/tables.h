// The kernel tables compiled into this build. Each per-ISA folder (cpu/<isa>/) defines one function
// returning its table; the portable table is plain C++ that the compiler may auto-vectorise.
#pragma once

#include "kernels/kernels.h"

namespace slm::kernels::cpu {

const CpuKernels& portable_table();  // Isa::scalar

// Per-ISA tables (cpu/<isa>/table.cc), compiled only where the build has them (SLM_KERNELS_X86);
// call only when the CPU supports the ISA (dispatch.cc checks).
namespace avx2 {
const CpuKernels& table();
}
namespace avx512 {
const CpuKernels& table();
}
namespace amx {
const CpuKernels& table();  // the AVX-512 table with integer prefill on AMX tiles
}

}  // namespace slm::kernels::cpu
