// The delta codec rebuilds exactly what was encoded and refuses anything it cannot trust.
#include "weightsync/fake/delta_codec.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "weightsync/fake/synthetic_weights.h"

namespace weightsync::fake {
namespace {

TEST(Adler32, MatchesTheKnownValueOfWikipedia) {
  const std::string text = "Wikipedia";
  const Bytes bytes(text.begin(), text.end());
  EXPECT_EQ(adler32(bytes), 0x11E60398u);
  EXPECT_EQ(adler32({}), 1u);
}

std::uint32_t zlib_adler32(const Bytes& bytes) {
  return static_cast<std::uint32_t>(
      ::adler32(::adler32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(bytes.size())));
}

TEST(Adler32, EqualsZlibForEveryLengthAndAlignment) {
  // Lengths around the 16-byte blocks and the 2 KiB chunks of the vector path, at every offset
  // into a buffer, so that unaligned loads and the byte-by-byte tail are both exercised.
  Random random(23);
  Bytes buffer(20000);
  for (auto& b : buffer) b = static_cast<std::uint8_t>(random.below(256));
  for (const std::size_t length :
       {0, 1, 15, 16, 17, 31, 32, 255, 2047, 2048, 2049, 4111, 5552, 5553, 16384, 19983}) {
    for (std::size_t offset = 0; offset < 17; ++offset) {
      const Bytes slice(buffer.begin() + static_cast<std::ptrdiff_t>(offset),
                        buffer.begin() + static_cast<std::ptrdiff_t>(offset + length));
      EXPECT_EQ(adler32(slice), zlib_adler32(slice)) << "length " << length << " offset " << offset;
    }
  }
}

TEST(Adler32, EqualsZlibWhenEveryByteIsTheLargest) {
  // All 0xff makes every sum as large as it can be: the case that overflows a careless reduction.
  for (const std::size_t length : {std::size_t{2048}, std::size_t{65536}, std::size_t{3} << 20}) {
    const Bytes ones(length, 0xff);
    EXPECT_EQ(adler32(ones), zlib_adler32(ones)) << "length " << length;
  }
}

class DeltaRoundTrip : public ::testing::TestWithParam<DeltaFormat> {};

TEST_P(DeltaRoundTrip, RebuildsTheNewWeightsForRandomSizesAndChangeFractions) {
  Random random(7);
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t params = random.below(5000);
    const double fraction = static_cast<double>(random.below(1001)) / 1000.0;
    const Bytes parent = random_bf16_weights(params, random);
    Bytes next = parent;
    perturb_bf16_weights(next, fraction, random);
    const Bytes delta = encode_delta(parent, next, GetParam());
    EXPECT_EQ(read_delta_header(delta).format, GetParam());
    EXPECT_EQ(read_delta_header(delta).full_length, next.size());
    EXPECT_EQ(read_delta_header(delta).checksum, adler32(next));
    EXPECT_EQ(apply_delta(parent, delta), next) << "params " << params << " fraction " << fraction;
  }
}

TEST_P(DeltaRoundTrip, HandlesArbitraryBytesNotOnlyBf16) {
  Random random(11);
  Bytes parent(4099);
  for (auto& b : parent) b = static_cast<std::uint8_t>(random.below(256));
  Bytes next(parent.size());
  for (auto& b : next) b = static_cast<std::uint8_t>(random.below(256));
  EXPECT_EQ(apply_delta(parent, encode_delta(parent, next, GetParam())), next);
  EXPECT_EQ(apply_delta(parent, encode_delta(parent, parent, GetParam())), parent);
}

TEST_P(DeltaRoundTrip, RejectsEveryTruncation) {
  Random random(3);
  const Bytes parent = random_bf16_weights(2000, random);
  Bytes next = parent;
  perturb_bf16_weights(next, 0.05, random);
  const Bytes delta = encode_delta(parent, next, GetParam());
  for (std::size_t cut = 0; cut < delta.size(); ++cut) {
    const std::span<const std::uint8_t> truncated(delta.data(), cut);
    EXPECT_THROW(apply_delta(parent, truncated), DeltaError) << "cut at " << cut;
  }
}

TEST_P(DeltaRoundTrip, RejectsCorruptionOfAnyByte) {
  Random random(5);
  const Bytes parent = random_bf16_weights(1500, random);
  Bytes next = parent;
  perturb_bf16_weights(next, 0.02, random);
  const Bytes delta = encode_delta(parent, next, GetParam());
  for (std::size_t i = 0; i < delta.size(); ++i) {
    Bytes corrupt = delta;
    corrupt[i] ^= static_cast<std::uint8_t>(1 + random.below(255));
    EXPECT_THROW(apply_delta(parent, corrupt), DeltaError) << "byte " << i;
  }
}

TEST_P(DeltaRoundTrip, RejectsTheWrongParent) {
  Random random(9);
  const Bytes parent = random_bf16_weights(1000, random);
  Bytes next = parent;
  perturb_bf16_weights(next, 0.01, random);
  Bytes other = parent;
  perturb_bf16_weights(other, 0.01, random);
  const Bytes delta = encode_delta(parent, next, GetParam());
  EXPECT_THROW(apply_delta(other, delta), DeltaError);
  EXPECT_THROW(apply_delta(Bytes(parent.begin(), parent.end() - 2), delta), DeltaError);
}

INSTANTIATE_TEST_SUITE_P(Formats, DeltaRoundTrip,
                         ::testing::Values(DeltaFormat::sparse_xor, DeltaFormat::zstd_xor),
                         [](const ::testing::TestParamInfo<DeltaFormat>& p) {
                           return p.param == DeltaFormat::sparse_xor ? "sparse" : "zstd";
                         });

TEST(DeltaCodec, DefaultEncodingIsSparse) {
  Random random(1);
  const Bytes parent = random_bf16_weights(100, random);
  EXPECT_EQ(read_delta_header(encode_delta(parent, parent)).format, DeltaFormat::sparse_xor);
}

TEST(DeltaCodec, RejectsWeightsOfDifferentSizes) {
  const Bytes a(10), b(12);
  EXPECT_THROW(encode_delta(a, b), std::invalid_argument);
}

TEST(DeltaCodec, RejectsAnUnknownFormatAndMagic) {
  Random random(2);
  const Bytes parent = random_bf16_weights(10, random);
  Bytes delta = encode_delta(parent, parent);
  delta[4] = 9;
  EXPECT_THROW(read_delta_header(delta), DeltaError);
  delta[0] = 'X';
  EXPECT_THROW(read_delta_header(delta), DeltaError);
}

TEST(DeltaCodec, RejectsSparseRunsPointingPastTheEnd) {
  const Bytes parent(16, 0);
  Bytes delta = encode_delta(parent, parent, DeltaFormat::sparse_xor);
  // gap 1000 (varint e8 07), length 1, one byte: past the 16-byte weights.
  for (const int b : {0xe8, 0x07, 0x01, 0x05}) delta.push_back(static_cast<std::uint8_t>(b));
  EXPECT_THROW(apply_delta(parent, delta), DeltaError);
  Bytes overlong = encode_delta(parent, parent, DeltaFormat::sparse_xor);
  for (int i = 0; i < 11; ++i) overlong.push_back(0xff);
  EXPECT_THROW(apply_delta(parent, overlong), DeltaError);
}

TEST(DeltaCodec, AKnownChecksumGivesTheSameDeltaAndAWrongOneFailsEveryApply) {
  Random random(5);
  const Bytes parent = random_bf16_weights(4096, random);
  Bytes next = parent;
  perturb_bf16_weights(next, 0.01, random);
  EXPECT_EQ(encode_delta(parent, next, DeltaFormat::sparse_xor, adler32(next)),
            encode_delta(parent, next));
  const Bytes lying = encode_delta(parent, next, DeltaFormat::sparse_xor, adler32(next) ^ 1);
  EXPECT_THROW(apply_delta(parent, lying), DeltaError);
}

}  // namespace
}  // namespace weightsync::fake
