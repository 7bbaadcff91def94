// Delta codec throughput in model bytes per second, beside memcpy of the same buffer and zstd of
// the full snapshot, at the change fractions an RL step produces (0.1%, 1%, 5%).
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <cstring>
#include <map>

#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/synthetic_weights.h"

namespace {

using weightsync::fake::Bytes;
using weightsync::fake::DeltaFormat;

constexpr std::size_t kParams = std::size_t{1} << 20;  // 1 Mi bf16 parameters = 2 MiB

// One parent and one perturbed copy per change fraction (in tenths of a percent).
struct Pair {
  Bytes parent;
  Bytes next;
};

const Pair& pair_for(std::int64_t tenths_of_percent) {
  static std::map<std::int64_t, Pair> pairs;
  auto it = pairs.find(tenths_of_percent);
  if (it == pairs.end()) {
    weightsync::fake::Random random(42);
    Pair p;
    p.parent = weightsync::fake::random_bf16_weights(kParams, random);
    p.next = p.parent;
    weightsync::fake::perturb_bf16_weights(p.next, static_cast<double>(tenths_of_percent) / 1000,
                                           random);
    it = pairs.emplace(tenths_of_percent, std::move(p)).first;
  }
  return it->second;
}

void set_model_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
}

void BM_Memcpy(benchmark::State& state) {
  const Pair& p = pair_for(10);
  Bytes out(p.parent.size());
  for (auto _ : state) {
    std::memcpy(out.data(), p.parent.data(), p.parent.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_model_bytes(state, p.parent.size());
}
BENCHMARK(BM_Memcpy);

void BM_EncodeDelta(benchmark::State& state, DeltaFormat format) {
  const Pair& p = pair_for(state.range(0));
  Bytes delta;
  for (auto _ : state) {
    delta = weightsync::fake::encode_delta(p.parent, p.next, format);
    benchmark::DoNotOptimize(delta.data());
  }
  set_model_bytes(state, p.parent.size());
  state.counters["compression_ratio"] =
      static_cast<double>(p.parent.size()) / static_cast<double>(delta.size());
  state.counters["delta_bytes"] = static_cast<double>(delta.size());
}
BENCHMARK_CAPTURE(BM_EncodeDelta, sparse, DeltaFormat::sparse_xor)->Arg(1)->Arg(10)->Arg(50);
BENCHMARK_CAPTURE(BM_EncodeDelta, zstd, DeltaFormat::zstd_xor)->Arg(1)->Arg(10)->Arg(50);

void BM_ApplyDelta(benchmark::State& state, DeltaFormat format) {
  const Pair& p = pair_for(state.range(0));
  const Bytes delta = weightsync::fake::encode_delta(p.parent, p.next, format);
  for (auto _ : state) {
    Bytes rebuilt = weightsync::fake::apply_delta(p.parent, delta);
    benchmark::DoNotOptimize(rebuilt.data());
  }
  set_model_bytes(state, p.parent.size());
  state.counters["compression_ratio"] =
      static_cast<double>(p.parent.size()) / static_cast<double>(delta.size());
}
BENCHMARK_CAPTURE(BM_ApplyDelta, sparse, DeltaFormat::sparse_xor)->Arg(1)->Arg(10)->Arg(50);
BENCHMARK_CAPTURE(BM_ApplyDelta, zstd, DeltaFormat::zstd_xor)->Arg(1)->Arg(10)->Arg(50);

// What a full snapshot costs to compress: the alternative to sending deltas at all.
void BM_ZstdFullSnapshot(benchmark::State& state) {
  const Pair& p = pair_for(10);
  Bytes out(ZSTD_compressBound(p.next.size()));
  std::size_t size = 0;
  for (auto _ : state) {
    size = ZSTD_compress(out.data(), out.size(), p.next.data(), p.next.size(), 1);
    if (ZSTD_isError(size)) {
      state.SkipWithError(ZSTD_getErrorName(size));
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_model_bytes(state, p.next.size());
  state.counters["compression_ratio"] =
      static_cast<double>(p.next.size()) / static_cast<double>(size);
}
BENCHMARK(BM_ZstdFullSnapshot);

}  // namespace

BENCHMARK_MAIN();
