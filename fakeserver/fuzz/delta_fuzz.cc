// Fuzzes the delta decoder: read_delta_header and apply_delta on arbitrary bytes must either
// succeed or throw DeltaError (never read or write out of bounds, never another exception), and
// encode_delta followed by apply_delta must rebuild the new weights exactly.
#include <cstdint>
#include <span>

#include "weightsync/fake/delta_codec.h"

using weightsync::fake::Bytes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  // 1. The input as a delta over a fixed parent of 512 bytes.
  static const Bytes parent = [] {
    Bytes p(512);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 31 + 7);
    return p;
  }();
  try {
    weightsync::fake::read_delta_header(input);
    const Bytes rebuilt = weightsync::fake::apply_delta(parent, input);
    if (rebuilt.size() != parent.size()) __builtin_trap();
  } catch (const weightsync::fake::DeltaError&) {
  }
  // 2. The input's halves as parent and next: both formats round-trip exactly.
  const std::size_t half = size / 2;
  const auto old_weights = input.subspan(0, half);
  const auto new_weights = input.subspan(half, half);
  for (const auto format :
       {weightsync::fake::DeltaFormat::sparse_xor, weightsync::fake::DeltaFormat::zstd_xor}) {
    const Bytes delta = weightsync::fake::encode_delta(old_weights, new_weights, format);
    const Bytes rebuilt = weightsync::fake::apply_delta(old_weights, delta);
    if (!std::equal(rebuilt.begin(), rebuilt.end(), new_weights.begin(), new_weights.end())) {
      __builtin_trap();
    }
  }
  return 0;
}
