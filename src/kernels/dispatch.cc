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

#if defined(SLM_KERNELS_X86)
namespace {
// __builtin_cpu_supports reads cpuid and, for AVX and AVX-512, whether the OS saves their registers.
bool cpu_has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
bool cpu_has_avx512() {
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni");
}
}  // namespace
#endif

const CpuKernels* cpu_kernels_for(Isa isa) {
  switch (isa) {
    case Isa::scalar: return &cpu::portable_table();
#if defined(SLM_KERNELS_X86)
    case Isa::avx2:
      return cpu_has_avx2() ? &cpu::avx2::table() : nullptr;
    case Isa::avx512:
      return cpu_has_avx512() ? &cpu::avx512::table() : nullptr;
#else
    case Isa::avx2:
    case Isa::avx512:
      return nullptr;
#endif
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
