// Faults from the scenario reach the fake deployment through its hooks; the production library
// recovers, and every successful sync still serves exactly the trainer's bytes.
#include <gtest/gtest.h>

#include "sim_test_util.h"
#include "weightsync/log.h"
#include "weightsync/sim/simulation.h"

namespace weightsync::sim {
namespace {

using testing::closed_form_scenario;
using testing::long_tail_scenario;
using testing::seed_note;

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
  }
  void TearDown() override { set_log_sink({}); }
};

TEST_F(Faults, FailedSyncsAreCountedRecoveredAndNeverServeWrongBytes) {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    Scenario s = long_tail_scenario("every_step", 1, 1, seed);
    s.faults.save_failure = 0.05;
    s.faults.hotload_rejected = 0.1;
    s.faults.load_error = 0.1;
    s.faults.replica_restart = 0.05;
    s.faults.warmup_unavailable = 0.1;
    s.deployment.replicas = 2;
    SCOPED_TRACE(seed_note(s));
    const RunResult r = run_simulation(s);
    EXPECT_GT(r.failed_syncs, 0);
    EXPECT_GT(r.recoveries, 0);
    EXPECT_GT(r.time_to_recover_max_s, 0);
    EXPECT_EQ(r.syncs + r.failed_syncs, s.steps);
    EXPECT_EQ(r.verified_syncs, r.syncs);
    EXPECT_EQ(r.verification_failures, 0);
    // A failed sync resets the chain: the next save is a base.
    EXPECT_GT(r.snapshots_base, 0);
    EXPECT_GT(r.bytes_base, 0u);
    // Samples generated on older weights after a failure are stale.
    EXPECT_GT(r.staleness.max, 0);
    EXPECT_GT(r.faults_injected.at("load_error"), 0);
    EXPECT_GT(r.faults_injected.at("hotload_rejected"), 0);
  }
}

TEST_F(Faults, AStuckLoadCostsTheHotloadTimeout) {
  Scenario s = closed_form_scenario("every_step", 1, 30);
  s.faults.load_stuck = 0.2;
  s.deployment.hotload_timeout_s = 60;
  SCOPED_TRACE(seed_note(s));
  const RunResult r = run_simulation(s);
  ASSERT_GT(r.faults_injected.at("load_stuck"), 0);
  EXPECT_EQ(r.failed_syncs, r.faults_injected.at("load_stuck"));
  EXPECT_GE(r.hotload_seconds, 60.0 * static_cast<double>(r.failed_syncs));
  // Each failed attempt waited out the timeout: that is the time failed syncs cost.
  EXPECT_GE(r.failed_sync_seconds, 60.0 * static_cast<double>(r.failed_syncs));
  EXPECT_LE(r.failed_sync_seconds, r.sync_seconds);
  EXPECT_EQ(r.verification_failures, 0);
}

TEST_F(Faults, SlowDownloadsLengthenSyncs) {
  Scenario s = long_tail_scenario("every_step", 1, 1, 8);
  const RunResult fast = run_simulation(s);
  s.faults.slow_download = 1;
  s.faults.slow_download_factor = 5;
  SCOPED_TRACE(seed_note(s));
  const RunResult slow = run_simulation(s);
  EXPECT_EQ(slow.failed_syncs, 0);
  EXPECT_EQ(slow.failed_sync_seconds, 0);
  EXPECT_GT(slow.hotload_seconds, 3 * fast.hotload_seconds);
}

}  // namespace
}  // namespace weightsync::sim
