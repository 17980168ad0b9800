// Chooses the kernel table once: the best compiled ISA this CPU supports, or SLM_FORCE_ISA.
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#if defined(SLM_KERNELS_X86) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/error.h"
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/tables.h"
#include "kernels/kernels.h"

namespace slm::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::amx: return "amx";
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

// AMX-TILE + AMX-INT8 + AMX-BF16 in cpuid, the tile state enabled by the OS (XCR0 bits 17 and 18), and Linux's
// per-process permission for the tile data (ARCH_REQ_XCOMP_PERM), without which the first tile instruction
// faults. Then the tiles must agree with their emulator (amx::self_check, which also turns a fault of the
// tiles into a disagreement); where they do not, slm says so and stays on AVX-512. Checked once.
bool amx_usable() {
  if (!cpu_has_avx512() || !__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-int8") ||
      !__builtin_cpu_supports("amx-bf16") || !__builtin_cpu_supports("xsave"))
    return false;
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
#else
  return false;
#endif
  std::string why;
  if (!cpu::amx::self_check(&why)) {
    fmt::print(stderr, "[kernels] AMX self-check failed ({}); using AVX-512 instead\n", why);
    return false;
  }
  return true;
}

bool cpu_has_amx() {
  static const bool ok = amx_usable();
  return ok;
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
    case Isa::amx:
      return cpu_has_amx() ? &cpu::amx::table() : nullptr;
#else
    case Isa::avx2:
    case Isa::avx512:
    case Isa::amx:
      return nullptr;
#endif
  }
  return nullptr;
}

namespace {

const CpuKernels& choose() {
  if (const char* env = std::getenv("SLM_FORCE_ISA"); env && *env) {
    for (Isa isa : kIsas) {
      if (std::string_view(env) != isa_name(isa)) continue;
      if (const CpuKernels* k = cpu_kernels_for(isa)) return *k;
      fail("[kernels] SLM_FORCE_ISA={}: not compiled in or not supported by this CPU", env);
    }
    fail("[kernels] SLM_FORCE_ISA={}: unknown (scalar, avx2, avx512, amx)", env);
  }
  for (Isa isa : {Isa::amx, Isa::avx512, Isa::avx2, Isa::scalar})
    if (const CpuKernels* k = cpu_kernels_for(isa)) return *k;
  SLM_CHECK(false, "no kernel table");
}

}  // namespace

const CpuKernels& cpu_kernels() {
  static const CpuKernels& k = choose();
  return k;
}

}  // namespace slm::kernels
