// Measures the delta codec on synthetic bf16 weights: size and speed of each format against a
// memcpy of the same buffer, at the change fractions a training step produces.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/synthetic_weights.h"

namespace {

using weightsync::fake::Bytes;
using weightsync::fake::DeltaFormat;

template <typename F>
double best_ms(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
    best = dt.count() < best ? dt.count() : best;
  }
  return best;
}

}  // namespace

int main() {
  constexpr std::size_t kParams = 1u << 20;
  constexpr int kReps = 5;
  const double fractions[] = {0.001, 0.01, 0.05};
  weightsync::fake::Random random(42);
  const Bytes parent = weightsync::fake::random_bf16_weights(kParams, random);
  Bytes copy(parent.size());
  const double memcpy_ms =
      best_ms(kReps, [&] { std::memcpy(copy.data(), parent.data(), parent.size()); });
  std::printf("weights: %zu bf16 params (%zu bytes); memcpy %.3f ms\n", kParams, parent.size(),
              memcpy_ms);
  std::printf("%-8s %-7s %12s %8s %10s %10s\n", "changed", "format", "bytes", "ratio", "encode_ms",
              "apply_ms");
  for (const double fraction : fractions) {
    Bytes next = parent;
    weightsync::fake::perturb_bf16_weights(next, fraction, random);
    for (const DeltaFormat format : {DeltaFormat::sparse_xor, DeltaFormat::zstd_xor}) {
      Bytes delta;
      const double enc_ms =
          best_ms(kReps, [&] { delta = weightsync::fake::encode_delta(parent, next, format); });
      Bytes rebuilt;
      const double app_ms =
          best_ms(kReps, [&] { rebuilt = weightsync::fake::apply_delta(parent, delta); });
      if (rebuilt != next) {
        std::fprintf(stderr, "round trip failed\n");
        return 1;
      }
      std::printf("%-8.3g %-7s %12zu %7.1fx %10.3f %10.3f\n", fraction * 100,
                  format == DeltaFormat::sparse_xor ? "sparse" : "zstd", delta.size(),
                  static_cast<double>(parent.size()) / static_cast<double>(delta.size()), enc_ms,
                  app_ms);
    }
  }
  return 0;
}
