// The delta format behind `delta` snapshots: the XOR of the new weights against the parent's,
// compressed, with the Adler-32 of the reconstructed weights so a delta applied on the wrong
// parent is detected instead of served.
//
// Layout (little-endian): "WSD1" | format byte | u64 full length | u32 adler32 | payload.
// Formats: zstd over the whole XOR buffer, or sparse runs of non-zero XOR bytes
// (varint gap, varint length, bytes). encode_delta writes sparse (the faster; see README.md);
// apply_delta reads both.
// Stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace weightsync::fake {

using Bytes = std::vector<std::uint8_t>;

// A delta that cannot be applied: truncated, corrupt, or meant for another parent.
class DeltaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DeltaFormat : std::uint8_t { zstd_xor = 1, sparse_xor = 2 };

// Adler-32 (RFC 1950, the value zlib gives) of `data`.
std::uint32_t adler32(std::span<const std::uint8_t> data);

struct DeltaHeader {
  DeltaFormat format = DeltaFormat::sparse_xor;
  std::uint64_t full_length = 0;
  std::uint32_t checksum = 0;  // Adler-32 of the reconstructed weights
};

inline constexpr std::size_t kDeltaHeaderSize = 4 + 1 + 8 + 4;

// The XOR of `next` against `parent`, sparse-encoded. Throws
// std::invalid_argument if the sizes differ.
Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next);
// The same, in one given format (for measurements and tests).
Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next,
                   DeltaFormat format);
// The same, with the Adler-32 of `next` already known to the caller (one pass fewer). A wrong
// value makes every apply_delta of the result fail.
Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next,
                   DeltaFormat format, std::uint32_t next_checksum);
// Reads and checks the header. Throws DeltaError when it is truncated or unknown.
DeltaHeader read_delta_header(std::span<const std::uint8_t> delta);
// Rebuilds the new weights from `parent`. Throws DeltaError for a truncated or corrupt delta, a
// parent of the wrong length, or a result whose Adler-32 differs from the header's (wrong
// parent). Never reads or writes out of bounds.
Bytes apply_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> delta);

}  // namespace weightsync::fake
