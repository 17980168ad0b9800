// The architecture registry: general.architecture -> ArchSpec.
#include "model/registry.h"

namespace slm::model {
namespace {

const ArchSpec* const* all() {
  static const ArchSpec* const kAll[] = {&arch_llama(), &arch_qwen2(), &arch_qwen3(), &arch_phi3(),
                                         &arch_gemma2(), nullptr};
  return kAll;
}

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec* const* a = all(); *a; ++a)
    if ((*a)->name == name) return *a;
  return nullptr;
}

std::vector<std::string_view> arch_names() {
  std::vector<std::string_view> out;
  for (const ArchSpec* const* a = all(); *a; ++a) out.push_back((*a)->name);
  return out;
}

}  // namespace slm::model
