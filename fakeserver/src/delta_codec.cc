// XOR deltas, zstd or sparse runs, with an Adler-32 of the result; every read bounds-checked.
#include "weightsync/fake/delta_codec.h"

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace weightsync::fake {
namespace {

constexpr std::uint8_t kMagic[4] = {'W', 'S', 'D', '1'};
// Zero gaps shorter than this cost less inside a run than a new run's header does.
constexpr std::size_t kMergeGap = 3;
constexpr int kZstdLevel = 1;

void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_varint(Bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

std::uint64_t get_le(std::span<const std::uint8_t> in, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v |= std::uint64_t{in[at + static_cast<std::size_t>(i)]} << (8 * i);
  return v;
}

// Reads a varint at `pos`, advancing it; throws on truncation or more than 64 bits.
std::uint64_t get_varint(std::span<const std::uint8_t> in, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) throw DeltaError("delta is truncated inside a sparse run header");
    const std::uint8_t byte = in[pos++];
    if (shift == 63 && byte > 1) throw DeltaError("delta is corrupt: varint exceeds 64 bits");
    v |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return v;
  }
  throw DeltaError("delta is corrupt: varint longer than 10 bytes");
}

void write_header(Bytes& out, DeltaFormat format, std::uint64_t length, std::uint32_t checksum) {
  // Byte by byte: inserting the magic as a range into an empty vector trips GCC 12's
  // -Wstringop-overflow false positive once inlined.
  out.reserve(out.size() + kDeltaHeaderSize);
  for (const std::uint8_t byte : kMagic) out.push_back(byte);
  out.push_back(static_cast<std::uint8_t>(format));
  put_u64(out, length);
  put_u32(out, checksum);
}

Bytes xor_of(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  Bytes x(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) x[i] = static_cast<std::uint8_t>(a[i] ^ b[i]);
  return x;
}

void encode_zstd(Bytes& out, std::span<const std::uint8_t> parent,
                 std::span<const std::uint8_t> next) {
  const Bytes x = xor_of(parent, next);
  const std::size_t header = out.size();
  out.resize(header + ZSTD_compressBound(x.size()));
  const std::size_t n =
      ZSTD_compress(out.data() + header, out.size() - header, x.data(), x.size(), kZstdLevel);
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(header + n);
}

// The first index from `i` on where the two buffers differ, or their size. Most of a delta's
// buffer is unchanged, so this skips 16 equal bytes per step where SSE2 is there (8 elsewhere).
std::size_t first_difference(std::span<const std::uint8_t> parent,
                             std::span<const std::uint8_t> next, std::size_t i) {
  const std::size_t n = parent.size();
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(parent.data() + i));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(next.data() + i));
    const auto equal = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)));
    if (equal != 0xffffu) return i + static_cast<std::size_t>(std::countr_zero(~equal));
  }
#endif
  while (i + 8 <= n && std::memcmp(parent.data() + i, next.data() + i, 8) == 0) i += 8;
  while (i < n && parent[i] == next[i]) ++i;
  return i;
}

void encode_sparse(Bytes& out, std::span<const std::uint8_t> parent,
                   std::span<const std::uint8_t> next) {
  const std::size_t n = parent.size();
  std::size_t cursor = 0;  // end of the previous run
  std::size_t i = 0;
  while ((i = first_difference(parent, next, i)) < n) {
    const std::size_t start = i;
    std::size_t end = i + 1;  // one past the last non-zero XOR byte of this run
    for (std::size_t j = end; j < n && j - end < kMergeGap; ++j) {
      if (parent[j] != next[j]) end = j + 1;
    }
    put_varint(out, start - cursor);
    put_varint(out, end - start);
    for (std::size_t j = start; j < end; ++j) {
      out.push_back(static_cast<std::uint8_t>(parent[j] ^ next[j]));
    }
    cursor = end;
    i = end;
  }
}

void check_sizes(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next) {
  if (parent.size() != next.size()) {
    throw std::invalid_argument(
        "encode_delta: expected parent and new weights of equal size, got " +
        std::to_string(parent.size()) + " and " + std::to_string(next.size()) + " bytes");
  }
}

void apply_zstd(Bytes& out, std::span<const std::uint8_t> payload) {
  const unsigned long long declared = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    throw DeltaError("delta is corrupt: zstd frame header unreadable");
  }
  if (declared != out.size()) {
    throw DeltaError("delta is corrupt: zstd frame holds " + std::to_string(declared) +
                     " bytes, expected " + std::to_string(out.size()));
  }
  Bytes x(out.size());
  const std::size_t n = ZSTD_decompress(x.data(), x.size(), payload.data(), payload.size());
  if (ZSTD_isError(n)) {
    throw DeltaError(std::string("delta is corrupt or truncated: zstd says ") +
                     ZSTD_getErrorName(n));
  }
  if (n != out.size()) throw DeltaError("delta is truncated: zstd frame ended early");
  for (std::size_t i = 0; i < out.size(); ++i) out[i] ^= x[i];
}

void apply_sparse(Bytes& out, std::span<const std::uint8_t> payload) {
  std::size_t pos = 0;
  std::uint64_t cursor = 0;
  while (pos < payload.size()) {
    const std::uint64_t gap = get_varint(payload, pos);
    const std::uint64_t length = get_varint(payload, pos);
    if (length == 0) throw DeltaError("delta is corrupt: empty sparse run");
    if (gap > out.size() - cursor || length > out.size() - cursor - gap) {
      throw DeltaError("delta is corrupt: sparse run ends past the weights' " +
                       std::to_string(out.size()) + " bytes");
    }
    if (length > payload.size() - pos) throw DeltaError("delta is truncated inside a sparse run");
    const std::size_t start = static_cast<std::size_t>(cursor + gap);
    for (std::size_t j = 0; j < length; ++j) out[start + j] ^= payload[pos + j];
    pos += static_cast<std::size_t>(length);
    cursor = start + length;
  }
}

}  // namespace

std::uint32_t adler32(std::span<const std::uint8_t> data) {
  // a = 1 + the sum of the bytes, b = the sum of every prefix's a, both mod 65521 (RFC 1950).
  // The fake checksums whole proxy models several times per sync, so this is its hot loop:
  // SSE2 takes 16 bytes per step, the rest goes byte by byte. Tested against zlib's.
  constexpr std::uint64_t kMod = 65521;
  std::uint64_t a = 1;
  std::uint64_t b = 0;
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
#if defined(__SSE2__)
  // A chunk of n 16-byte blocks adds to b: (16 n) a + 16 * sum over blocks k of (n - k) S_k
  // - sum over columns j of j C_j, with S_k the sum of block k and C_j the sum of column j;
  // every byte's weight 16 (n - k) - j is its distance to the chunk's end. Column sums are
  // 16-bit lanes read as signed by madd, so a chunk holds at most 128 blocks (128 x 255 < 2^15).
  const __m128i zero = _mm_setzero_si128();
  const __m128i low_columns = _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7);
  const __m128i high_columns = _mm_setr_epi16(8, 9, 10, 11, 12, 13, 14, 15);
  while (left >= 16) {
    const std::size_t blocks = std::min<std::size_t>(left / 16, 128);
    __m128i sums = zero;      // two 64-bit lanes: the bytes so far in this chunk
    __m128i prefixes = zero;  // two 64-bit lanes: the sum of `sums` after each block
    __m128i low = zero;       // 16-bit column sums, columns 0-7 and 8-15
    __m128i high = zero;
    for (std::size_t k = 0; k < blocks; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      sums = _mm_add_epi64(sums, _mm_sad_epu8(v, zero));
      prefixes = _mm_add_epi64(prefixes, sums);
      low = _mm_add_epi16(low, _mm_unpacklo_epi8(v, zero));
      high = _mm_add_epi16(high, _mm_unpackhi_epi8(v, zero));
    }
    const __m128i weighted =
        _mm_add_epi32(_mm_madd_epi16(low, low_columns), _mm_madd_epi16(high, high_columns));
    alignas(16) std::uint64_t s[2];
    alignas(16) std::uint64_t t[2];
    alignas(16) std::uint32_t w[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), sums);
    _mm_store_si128(reinterpret_cast<__m128i*>(t), prefixes);
    _mm_store_si128(reinterpret_cast<__m128i*>(w), weighted);
    const std::uint64_t column_weights = std::uint64_t{w[0]} + w[1] + w[2] + w[3];
    b = (b + 16 * blocks * a + 16 * (t[0] + t[1]) - column_weights) % kMod;
    a = (a + s[0] + s[1]) % kMod;
    p += 16 * blocks;
    left -= 16 * blocks;
  }
#endif
  while (left > 0) {
    // 4,096 bytes keep b far below 2^64 between reductions.
    const std::size_t run = std::min<std::size_t>(left, 4096);
    for (std::size_t i = 0; i < run; ++i) {
      a += p[i];
      b += a;
    }
    a %= kMod;
    b %= kMod;
    p += run;
    left -= run;
  }
  return static_cast<std::uint32_t>((b << 16) | a);
}

Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next,
                   DeltaFormat format, std::uint32_t next_checksum) {
  check_sizes(parent, next);
  Bytes out;
  write_header(out, format, next.size(), next_checksum);
  if (format == DeltaFormat::zstd_xor) {
    encode_zstd(out, parent, next);
  } else {
    encode_sparse(out, parent, next);
  }
  return out;
}

Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next,
                   DeltaFormat format) {
  return encode_delta(parent, next, format, adler32(next));
}

Bytes encode_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> next) {
  // Sparse: faster both ways than zstd (apply ~3x) for 12-23% more bytes, which wins end to end
  // above ~3.5 MB/s of transfer bandwidth (measured, fakeserver/README.md).
  return encode_delta(parent, next, DeltaFormat::sparse_xor);
}

DeltaHeader read_delta_header(std::span<const std::uint8_t> delta) {
  if (delta.size() < kDeltaHeaderSize) {
    throw DeltaError("delta is truncated: " + std::to_string(delta.size()) +
                     " bytes, expected at least a " + std::to_string(kDeltaHeaderSize) +
                     "-byte header");
  }
  if (!std::equal(std::begin(kMagic), std::end(kMagic), delta.begin())) {
    throw DeltaError("not a delta: expected magic \"WSD1\"");
  }
  DeltaHeader header;
  const std::uint8_t format = delta[4];
  if (format != static_cast<std::uint8_t>(DeltaFormat::zstd_xor) &&
      format != static_cast<std::uint8_t>(DeltaFormat::sparse_xor)) {
    throw DeltaError("delta is corrupt: unknown format byte " + std::to_string(format) +
                     ", expected 1 (zstd) or 2 (sparse)");
  }
  header.format = static_cast<DeltaFormat>(format);
  header.full_length = get_le(delta, 5, 8);
  header.checksum = static_cast<std::uint32_t>(get_le(delta, 13, 4));
  return header;
}

Bytes apply_delta(std::span<const std::uint8_t> parent, std::span<const std::uint8_t> delta) {
  const DeltaHeader header = read_delta_header(delta);
  if (header.full_length != parent.size()) {
    throw DeltaError("delta is for weights of " + std::to_string(header.full_length) +
                     " bytes, but the parent has " + std::to_string(parent.size()));
  }
  Bytes out(parent.begin(), parent.end());
  const auto payload = delta.subspan(kDeltaHeaderSize);
  if (header.format == DeltaFormat::zstd_xor) {
    apply_zstd(out, payload);
  } else {
    apply_sparse(out, payload);
  }
  const std::uint32_t got = adler32(out);
  if (got != header.checksum) {
    throw DeltaError("delta applied to the wrong parent or corrupt: Adler-32 of the result is " +
                     std::to_string(got) + ", expected " + std::to_string(header.checksum));
  }
  return out;
}

}  // namespace weightsync::fake
