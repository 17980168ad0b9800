// See huge_buffer.h.
#include "core/huge_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace slm {
namespace {

constexpr size_t kHuge = size_t(2) << 20;

}  // namespace

void HugeBuffer::Free::operator()(uint8_t* p) const { std::free(p); }

HugeBuffer::HugeBuffer(size_t bytes, bool zero) : size_(bytes) {
  if (bytes == 0) return;
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  if (rounded < bytes) throw std::bad_alloc();
  p_.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, rounded)));
  if (!p_) throw std::bad_alloc();
#if defined(__linux__)
  madvise(p_.get(), rounded, MADV_HUGEPAGE);  // advice only: nothing changes where it is not taken
#endif
  if (zero) std::memset(p_.get(), 0, bytes);
}

HugeBuffer::HugeBuffer(const HugeBuffer& o) : HugeBuffer(o.size_, false) {
  if (size_) std::memcpy(p_.get(), o.p_.get(), size_);
}

HugeBuffer& HugeBuffer::operator=(const HugeBuffer& o) {
  if (this != &o) *this = HugeBuffer(o);
  return *this;
}

}  // namespace slm
