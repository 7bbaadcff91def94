// Policies against closed-form results with constant times: staleness and sync overhead of
// synchronous every-N sync, staleness 0 for every-step, and the async staleness bound.
#include <gtest/gtest.h>

#include "sim_test_util.h"
#include "weightsync/log.h"
#include "weightsync/sim/simulation.h"

namespace weightsync::sim {
namespace {

using testing::closed_form_scenario;
using testing::kClosedFormStep;
using testing::kClosedFormSync;
using testing::long_tail_scenario;
using testing::seed_note;

class ClosedForm : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
  }
  void TearDown() override { set_log_sink({}); }
};

TEST_F(ClosedForm, EveryStepSyncUsesOnlyFreshSamples) {
  const Scenario s = closed_form_scenario("every_step", 1, 40);
  SCOPED_TRACE(seed_note(s));
  const RunResult r = run_simulation(s);
  EXPECT_EQ(r.staleness.count, 40 * 8);
  EXPECT_EQ(r.staleness.max, 0);
  EXPECT_DOUBLE_EQ(r.staleness.mean, 0.0);
  EXPECT_EQ(r.syncs, 40);
  EXPECT_EQ(r.failed_syncs, 0);
  EXPECT_EQ(r.verified_syncs, 40);
  EXPECT_NEAR(r.sync_overhead_fraction, kClosedFormSync / (kClosedFormStep + kClosedFormSync),
              1e-12);
}

TEST_F(ClosedForm, EveryNHasMeanStalenessNMinusOneOverTwoAndOverheadTsyncOverNTstepPlusTsync) {
  for (int n : {2, 3, 4, 8}) {
    const Scenario s = closed_form_scenario("every_n", n, 12 * n);
    SCOPED_TRACE("N=" + std::to_string(n) + " " + seed_note(s));
    const RunResult r = run_simulation(s);
    ASSERT_EQ(s.steps % n, 0);
    EXPECT_NEAR(r.staleness.mean, (n - 1) / 2.0, 1e-12);
    EXPECT_EQ(r.staleness.max, n - 1);
    ASSERT_EQ(r.staleness.histogram.size(), static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
      EXPECT_EQ(r.staleness.histogram[static_cast<std::size_t>(k)], s.steps / n * 8);
    }
    EXPECT_NEAR(r.sync_overhead_fraction, kClosedFormSync / (n * kClosedFormStep + kClosedFormSync),
                1e-12);
    EXPECT_EQ(r.syncs, s.steps / n);
    // Generation (1 s per step) is the only time the trainer waits.
    EXPECT_NEAR(r.simulated_seconds,
                s.steps * (kClosedFormStep + 1.0) + s.steps / n * kClosedFormSync, 1e-9);
    EXPECT_NEAR(r.train_seconds + r.sync_seconds + r.wait_seconds, r.simulated_seconds, 1e-9);
    EXPECT_NEAR(r.trainer_idle_fraction, s.steps * 1.0 / r.simulated_seconds, 1e-12);
  }
}

TEST_F(ClosedForm, SplitHidesTheHotloadBehindTheNextStepForOneMoreVersionOfStaleness) {
  const int n = 2, steps = 20;
  const Scenario split = closed_form_scenario("split", n, steps);
  SCOPED_TRACE(seed_note(split));
  const RunResult r = run_simulation(split);
  // Saves after steps 2, 4, ..., 20; each is loaded while the next step trains (the last one
  // has no next step).
  EXPECT_EQ(r.snapshots_base + r.snapshots_delta, steps / n);
  EXPECT_EQ(r.syncs, steps / n - 1);
  EXPECT_EQ(r.failed_syncs, 0);
  EXPECT_EQ(r.verified_syncs, r.syncs);
  // The batch of step s was generated on the snapshot of step n * floor((s - 2) / n), loaded
  // during step s - 1 at the latest.
  double staleness = 0;
  for (int s = 1; s <= steps; ++s) {
    const int version = s >= 2 ? n * ((s - 2) / n) : 0;
    staleness += (s - 1) - version;
  }
  EXPECT_DOUBLE_EQ(r.staleness.mean, staleness / steps);
  // Each step waits 1 s for its batch and trains 10 s; the trainer pays the saves (1 s each),
  // not the 2.5 s hotloads hidden in the 10 s steps.
  EXPECT_NEAR(r.simulated_seconds, steps * (kClosedFormStep + 1.0) + steps / n * 1.0, 1e-6);
  EXPECT_NEAR(r.sync_seconds, steps / n * 1.0, 1e-6);
}

// The service-client refresh syncs on the same steps as every_n, so the samples are as old;
// only its first refresh is a full base (its chain starts fresh), so the clock may differ.
TEST_F(ClosedForm, SamplerRefreshSyncsLikeEveryN) {
  const Scenario refresh = closed_form_scenario("sampler_refresh", 2, 20);
  const Scenario every_n = closed_form_scenario("every_n", 2, 20);
  SCOPED_TRACE(seed_note(refresh));
  const RunResult a = run_simulation(refresh);
  const RunResult b = run_simulation(every_n);
  EXPECT_EQ(a.policy, "sampler_refresh");
  EXPECT_EQ(a.syncs, 10);
  EXPECT_EQ(a.failed_syncs, 0);
  EXPECT_EQ(a.verified_syncs, 10);
  EXPECT_DOUBLE_EQ(a.staleness.mean, b.staleness.mean);
  EXPECT_GE(a.simulated_seconds, b.simulated_seconds - 1e-9);
}

TEST_F(ClosedForm, AsyncNeverUsesASampleOlderThanItsBound) {
  for (int bound : {0, 1, 2, 4}) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      const Scenario s = long_tail_scenario("async", 1, bound, seed);
      SCOPED_TRACE("k=" + std::to_string(bound) + " " + seed_note(s));
      const RunResult r = run_simulation(s);
      EXPECT_LE(r.staleness.max, bound);
      EXPECT_LE(r.staleness.histogram.size(), static_cast<std::size_t>(bound + 1));
      EXPECT_EQ(r.samples_used, s.steps * s.trainer.batch_size);
      EXPECT_EQ(r.verification_failures, 0);
      EXPECT_EQ(r.samples_downweighted, 0);
    }
  }
}

TEST_F(ClosedForm, AsyncDownweightKeepsStaleSamplesAtReducedWeight) {
  Scenario s = long_tail_scenario("async", 1, 1, 5);
  s.policy.stale_samples = "downweight";
  SCOPED_TRACE(seed_note(s));
  const RunResult r = run_simulation(s);
  EXPECT_EQ(r.samples_dropped, 0);
  EXPECT_GT(r.samples_downweighted, 0);
  EXPECT_GT(r.staleness.max, 1);
  EXPECT_LT(r.mean_sample_weight, 1.0);
}

TEST_F(ClosedForm, AsyncOverlapsGenerationWithTrainingAndMixesVersionsOnlyUnderAsyncLoads) {
  Scenario s = long_tail_scenario("async", 1, 2, 11);
  SCOPED_TRACE(seed_note(s));
  const RunResult overlapped = run_simulation(s);
  const RunResult synchronous = run_simulation(long_tail_scenario("every_step", 1, 2, 11));
  EXPECT_LT(overlapped.trainer_idle_fraction, synchronous.trainer_idle_fraction);
  EXPECT_GT(overlapped.steps_per_hour, synchronous.steps_per_hour);
  EXPECT_GT(overlapped.samples_mixed, 0);
  EXPECT_EQ(synchronous.samples_mixed, 0);

  s.deployment.transition = "SYNC";
  const RunResult drained = run_simulation(s);
  EXPECT_EQ(drained.samples_mixed, 0);
  EXPECT_LE(drained.staleness.max, 2);
}

TEST_F(ClosedForm, DeltasCarryTheScenarioSizesAndEverySyncIsVerifiedByChecksum) {
  const Scenario s = long_tail_scenario("every_n", 4, 1, 3);
  SCOPED_TRACE(seed_note(s));
  const RunResult r = run_simulation(s);
  EXPECT_EQ(r.snapshots_base, 0);
  EXPECT_EQ(r.snapshots_delta, s.steps / 4);
  EXPECT_EQ(r.bytes_delta, static_cast<std::uint64_t>(r.snapshots_delta) * s.delta_bytes(4));
  EXPECT_EQ(r.verified_syncs, r.syncs);
  EXPECT_EQ(r.verification_failures, 0);
}

}  // namespace
}  // namespace weightsync::sim
