// The building blocks: distributions from the seeded generator, the sampler's timing and
// version stamps, staleness statistics, and the policy registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "weightsync/sim/distribution.h"
#include "weightsync/sim/metrics.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

TEST(Distribution, SameSeedSameDrawsAndDrawsStayInRange) {
  const Distribution pareto{DistributionKind::pareto, 100, 1.2, 1, 5000};
  fake::Random a(3), b(3);
  for (int i = 0; i < 1000; ++i) {
    const double x = pareto.sample(a);
    EXPECT_EQ(x, pareto.sample(b));
    EXPECT_GE(x, 100);
    EXPECT_LE(x, 5000);
  }
}

TEST(Distribution, MediansAndMeansMatchTheirParameters) {
  fake::Random random(11);
  auto median_of = [&](const Distribution& d) {
    std::vector<double> xs;
    for (int i = 0; i < 20001; ++i) xs.push_back(d.sample(random));
    std::nth_element(xs.begin(), xs.begin() + 10000, xs.end());
    return xs[10000];
  };
  EXPECT_NEAR(median_of(Distribution{DistributionKind::lognormal, 1200, 0.7}), 1200, 40);
  EXPECT_NEAR(median_of(Distribution{DistributionKind::normal, 30, 3}), 30, 0.2);
  EXPECT_NEAR(median_of(Distribution{DistributionKind::uniform, 2, 4}), 3, 0.05);
  // Pareto: median = scale * 2^(1/shape).
  EXPECT_NEAR(median_of(Distribution{DistributionKind::pareto, 100, 2}), 100 * std::sqrt(2.0), 4);
  EXPECT_EQ(Distribution::constant(5).sample(random), 5);
  EXPECT_NEAR((Distribution{DistributionKind::lognormal, 1, 1}).mean(), std::exp(0.5), 1e-12);
  EXPECT_TRUE(std::isinf((Distribution{DistributionKind::pareto, 1, 1}).mean()));
}

TEST(Distribution, ClampsToMinAndMax) {
  fake::Random random(1);
  const Distribution d{DistributionKind::normal, 0, 100, -1, 1};
  for (int i = 0; i < 100; ++i) {
    const double x = d.sample(random);
    EXPECT_GE(x, -1);
    EXPECT_LE(x, 1);
  }
}

SamplerOptions fixed_requests(int concurrency, double tokens, bool pause) {
  SamplerOptions o;
  o.generation_tokens = Distribution::constant(tokens);
  o.concurrency = concurrency;
  o.decode.seconds_per_token = 0.1;
  o.pause_during_load = pause;
  return o;
}

TEST(Sampler, RunsAtMostConcurrencyRequestsAndCountsBusySlots) {
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), fixed_requests(2, 10, true), 0);  // 1 s each
  sampler.admit_up_to(5);
  EXPECT_EQ(sampler.in_flight(), 2);
  while (clock.run_next()) {
  }
  EXPECT_EQ(clock.now(), seconds(3));
  EXPECT_EQ(sampler.finished().size(), 5u);
  EXPECT_DOUBLE_EQ(sampler.busy_slot_seconds(), 5.0);
}

TEST(Sampler, AsyncLoadPausesRequestsThatThenFinishMixedOnTheNewVersion) {
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), fixed_requests(1, 100, true), 3);  // 10 s
  sampler.admit_up_to(2);
  clock.sleep_for(seconds(4));
  sampler.load_started();
  clock.sleep_for(seconds(5));  // paused: nothing finishes, nothing starts
  EXPECT_TRUE(sampler.finished().empty());
  sampler.load_finished(4);
  while (sampler.finished().empty()) ASSERT_TRUE(clock.run_next());
  EXPECT_EQ(clock.now(), seconds(15));
  const Sample s = sampler.finished().front();
  EXPECT_EQ(s.version_start, 3);
  EXPECT_EQ(s.version_end, 4);
  EXPECT_TRUE(s.mixed());
  EXPECT_NEAR(sampler.busy_slot_seconds(), 10.0, 1e-9);
}

TEST(Sampler, SyncLoadDrainsRequestsOnTheOldWeightsAndHoldsNewOnes) {
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), fixed_requests(1, 100, false), 3);
  sampler.admit_up_to(2);
  clock.sleep_for(seconds(4));
  sampler.load_started();
  clock.sleep_for(seconds(8));
  ASSERT_EQ(sampler.finished().size(), 1u);
  EXPECT_EQ(sampler.finished().front().version_end, 3);
  EXPECT_EQ(sampler.in_flight(), 0);  // the second request waits for the load
  sampler.load_finished(4);
  while (sampler.finished().size() < 2) ASSERT_TRUE(clock.run_next());
  EXPECT_EQ(sampler.finished().back().version_start, 4);
  EXPECT_EQ(clock.now(), seconds(22));
}

TEST(StalenessRecorder, NearestRankPercentilesAndHistogram) {
  StalenessRecorder recorder;
  recorder.add(0, 90);
  recorder.add(1, 9);
  recorder.add(5, 1);
  const StalenessStats s = recorder.stats();
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, (9 + 5) / 100.0);
  EXPECT_EQ(s.p50, 0);
  EXPECT_EQ(s.p99, 1);
  EXPECT_EQ(s.max, 5);
  EXPECT_EQ(s.histogram, (std::vector<std::int64_t>{90, 9, 0, 0, 0, 1}));
}

TEST(PolicyRegistry, ListsEveryPolicyOnceAndRefusesUnknownNames) {
  std::vector<std::string> names;
  for (const auto& entry : policy_registry()) names.emplace_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"every_step", "every_n", "async", "split",
                                             "sampler_refresh"}));
  PolicySettings settings;
  settings.interval = 3;
  settings.staleness_bound = 2;
  EXPECT_EQ(make_policy("every_n", settings)->interval(), 3);
  EXPECT_EQ(make_policy("every_step", settings)->interval(), 1);
  EXPECT_TRUE(make_policy("async", settings)->overlaps_generation());
  EXPECT_EQ(make_policy("async", settings)->staleness_bound(), 2);
  EXPECT_FALSE(make_policy("split", settings)->staleness_bound());
  EXPECT_EQ(make_policy("sampler_refresh", settings)->interval(), 3);
  EXPECT_FALSE(make_policy("sampler_refresh", settings)->overlaps_generation());
  EXPECT_THROW(make_policy("never", settings), std::invalid_argument);
}

}  // namespace
}  // namespace weightsync::sim
