// The attention-row kernels' split of a GQA group into blocks of up to 4 query heads (cpu/avx2/attn_rows.cc,
// cpu/avx512/attn_rows.cc): f(h, std::integral_constant<int, G>()) for the block of G heads starting at h,
// so each block's register layout is fixed at compile time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace slm::kernels::cpu::x86 {

template <class F>
void head_blocks(size_t g, F f) {
  for (size_t h = 0; h < g; h += 4) {
    switch (std::min<size_t>(4, g - h)) {
      case 1: f(h, std::integral_constant<int, 1>()); break;
      case 2: f(h, std::integral_constant<int, 2>()); break;
      case 3: f(h, std::integral_constant<int, 3>()); break;
      default: f(h, std::integral_constant<int, 4>()); break;
    }
  }
}

}  // namespace slm::kernels::cpu::x86
