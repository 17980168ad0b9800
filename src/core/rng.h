// A small, seedable, platform-independent random generator (xoshiro256**) for tests, init and sampling.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace slm {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) {  // splitmix64 to fill the state
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      s = z ^ (z >> 31);
    }
  }
  uint64_t next_u64() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  // Uniform in [0, 1) with 24 bits.
  float uniform() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }
  double uniform_double() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  uint64_t below(uint64_t n) { return next_u64() % n; }
  // Standard normal via Box-Muller (double internally, deterministic across platforms with IEEE libm).
  float normal() {
    double u1 = uniform_double(), u2 = uniform_double();
    if (u1 < 1e-300) u1 = 1e-300;
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  std::vector<float> normal(size_t n, float scale = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = normal() * scale;
    return v;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace slm
