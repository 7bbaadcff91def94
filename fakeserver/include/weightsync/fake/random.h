// The fake world's one source of randomness: xoshiro256** seeded through splitmix64, with our
// own range mapping, so a seed replays the same run on every toolchain (standard-library
// distributions differ between implementations).
//
// Thread-safety: none; each owner keeps its own generator.
#pragma once

#include <cstdint>

namespace weightsync::fake {

// splitmix64: expands one 64-bit seed into the generator's state.
std::uint64_t splitmix64(std::uint64_t& state);

class Random {
 public:
  explicit Random(std::uint64_t seed);
  // The next 64 raw bits (xoshiro256**).
  std::uint64_t next();
  // Uniform in [0, bound) by rejection (no modulo bias); bound must be > 0.
  std::uint64_t below(std::uint64_t bound);
  // Uniform in [lo, hi], both inclusive; requires lo <= hi.
  std::int64_t between(std::int64_t lo, std::int64_t hi);
  // True with probability p (53-bit resolution); p <= 0 never, p >= 1 always.
  bool chance(double p);

 private:
  std::uint64_t s_[4];
};

}  // namespace weightsync::fake
