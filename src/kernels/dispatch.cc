// Chooses the kernel table once: the best compiled ISA this CPU supports, or SLM_FORCE_ISA.
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "kernels/cpu/tables.h"
#include "kernels/kernels.h"

namespace slm::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

const CpuKernels* cpu_kernels_for(Isa isa) {
  switch (isa) {
    case Isa::scalar: return &cpu::portable_table();
    case Isa::avx2:    // compiled later from cpu/avx2/ (checked with __builtin_cpu_supports)
    case Isa::avx512:  // compiled later from cpu/avx512/
      return nullptr;
  }
  return nullptr;
}

namespace {

const CpuKernels& choose() {
  if (const char* env = std::getenv("SLM_FORCE_ISA"); env && *env) {
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
      if (std::string_view(env) != isa_name(isa)) continue;
      if (const CpuKernels* k = cpu_kernels_for(isa)) return *k;
      fail("[kernels] SLM_FORCE_ISA={}: not compiled in or not supported by this CPU", env);
    }
    fail("[kernels] SLM_FORCE_ISA={}: unknown (scalar, avx2, avx512)", env);
  }
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::scalar})
    if (const CpuKernels* k = cpu_kernels_for(isa)) return *k;
  SLM_CHECK(false, "no kernel table");
}

}  // namespace

const CpuKernels& cpu_kernels() {
  static const CpuKernels& k = choose();
  return k;
}

}  // namespace slm::kernels
