// Large zeroed buffers on 2 MiB boundaries, advised as transparent huge pages (Linux) before the first
// touch: for memory the hot loops stream through every token (weights repacked at load, the KV cache),
// where 4 KiB pages cost a TLB miss every 4 KiB. Without transparent huge pages it is plain memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace slm {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  // Zeroed unless the caller writes every byte itself (zero = false); throws std::bad_alloc when it cannot
  // be had.
  explicit HugeBuffer(size_t bytes, bool zero = true);
  HugeBuffer(const HugeBuffer& o);
  HugeBuffer& operator=(const HugeBuffer& o);
  HugeBuffer(HugeBuffer&&) noexcept = default;
  HugeBuffer& operator=(HugeBuffer&&) noexcept = default;

  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], Free> p_;
  size_t size_ = 0;
};

}  // namespace slm
