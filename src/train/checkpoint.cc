// Checkpoints: the step, the trainable tensors and the optimiser moments, written atomically (a temporary
// file, fsync, rename, fsync of the folder) so a kill at any moment leaves the previous or the new one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

constexpr uint64_t kMagic = 0x31544b43'4d4c53ull;  // "SLMCKT1"

void put(std::string& b, const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
void put_vec(std::string& b, const std::vector<float>& v) {
  const uint64_t n = v.size();
  put(b, &n, 8), put(b, v.data(), n * 4);
}
void get(std::ifstream& f, void* p, size_t n, const std::string& path) {
  f.read(static_cast<char*>(p), std::streamsize(n));
  if (!f) fail("[train] checkpoint '{}' is truncated", path);
}
void get_vec(std::ifstream& f, std::vector<float>& v, const std::string& path) {
  uint64_t n = 0;
  get(f, &n, 8, path);
  if (n != v.size()) fail("[train] checkpoint '{}' does not match this model ({} vs {} values)", path, n, v.size());
  get(f, v.data(), n * 4, path);
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("[train] cannot write '{}': {}", tmp, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      fail("[train] cannot write '{}': {}", tmp, std::strerror(e));
    }
    done += size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("[train] cannot write '{}': {}", tmp, std::strerror(errno));
  std::filesystem::rename(tmp, path);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  fsync_path(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
}

void save_checkpoint(const std::string& path, int step, Net<float>& net, AdamW& opt) {
  const auto params = net.trainable();
  const int64_t t = opt.steps();
  const uint64_t n = params.size(), has_m = opt.m().size() == params.size();
  std::string b;
  put(b, &kMagic, 8), put(b, &step, 4), put(b, &t, 8), put(b, &n, 8), put(b, &has_m, 8);
  for (size_t i = 0; i < params.size(); ++i) {
    put_vec(b, params[i]->w);
    if (has_m) put_vec(b, opt.m()[i]), put_vec(b, opt.v()[i]);
  }
  write_file_atomic(path, b);
}

int load_checkpoint(const std::string& path, Net<float>& net, AdamW& opt) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("[train] cannot open checkpoint '{}'", path);
  uint64_t magic = 0, n = 0, has_m = 0;
  int step = 0;
  int64_t t = 0;
  get(f, &magic, 8, path);
  if (magic != kMagic) fail("[train] '{}' is not a checkpoint", path);
  get(f, &step, 4, path), get(f, &t, 8, path), get(f, &n, 8, path), get(f, &has_m, 8, path);
  const auto params = net.trainable();
  if (n != params.size()) fail("[train] checkpoint '{}' holds {} tensors, the model trains {}", path, n, params.size());
  if (step < 0 || t < 0) fail("[train] checkpoint '{}' is corrupt (step {})", path, step);
  opt.m().resize(has_m ? n : 0), opt.v().resize(has_m ? n : 0);
  for (size_t i = 0; i < params.size(); ++i) {
    get_vec(f, params[i]->w, path);
    if (has_m) {
      opt.m()[i].resize(params[i]->w.size()), opt.v()[i].resize(params[i]->w.size());
      get_vec(f, opt.m()[i], path), get_vec(f, opt.v()[i], path);
    }
  }
  opt.set_steps(t);
  return step;
}

}  // namespace slm::train
