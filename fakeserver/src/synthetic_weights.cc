// bf16 weights as little-endian byte pairs; updates stay inside the exponent so values remain
// finite, as real optimizer steps do.
#include "weightsync/fake/synthetic_weights.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace weightsync::fake {
namespace {

std::uint16_t get_param(const Bytes& w, std::size_t i) {
  return static_cast<std::uint16_t>(w[2 * i] | (w[2 * i + 1] << 8));
}
void set_param(Bytes& w, std::size_t i, std::uint16_t v) {
  w[2 * i] = static_cast<std::uint8_t>(v & 0xff);
  w[2 * i + 1] = static_cast<std::uint8_t>(v >> 8);
}

}  // namespace

Bytes random_bf16_weights(std::size_t params, Random& random) {
  Bytes w(params * 2);
  for (std::size_t i = 0; i < params; ++i) {
    const auto sign = static_cast<std::uint16_t>(random.below(2) << 15);
    // Biased exponents 120..126 are magnitudes 2^-7 .. 2^-1.
    const auto exponent = static_cast<std::uint16_t>(random.between(120, 126) << 7);
    const auto mantissa = static_cast<std::uint16_t>(random.below(128));
    set_param(w, i, static_cast<std::uint16_t>(sign | exponent | mantissa));
  }
  return w;
}

std::size_t perturb_bf16_weights(Bytes& weights, double fraction, Random& random) {
  if (weights.size() % 2 != 0) {
    throw std::invalid_argument("bf16 weights must have an even byte count, got " +
                                std::to_string(weights.size()));
  }
  if (!(fraction >= 0 && fraction <= 1)) {
    throw std::invalid_argument("changed fraction must be in [0, 1], got " +
                                std::to_string(fraction));
  }
  const std::size_t params = weights.size() / 2;
  if (params == 0) return 0;
  const auto count = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(params)));
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = random.below(params);
    const std::uint16_t v = get_param(weights, i);
    const auto ulps = static_cast<int>(random.between(1, 3)) * (random.below(2) ? 1 : -1);
    // Stay within this exponent's 128 mantissa values so the value stays finite.
    int mantissa = (v & 0x7f) + ulps;
    if (mantissa < 0 || mantissa > 0x7f) mantissa = (v & 0x7f) - ulps;
    set_param(weights, i, static_cast<std::uint16_t>((v & 0xff80) | mantissa));
  }
  return count;
}

}  // namespace weightsync::fake
