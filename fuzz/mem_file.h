// An in-memory file (memfd) holding the fuzz input, for readers that take a path.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

struct MemFile {
  int fd;
  MemFile(const uint8_t* data, size_t size) : fd(memfd_create("fuzz", 0)) {
    if (fd < 0 || (size && write(fd, data, size) != ssize_t(size))) __builtin_trap();
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};
