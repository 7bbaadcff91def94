// Faults from the scenario reach the fake deployment as its fault plan; the production library
// recovers, and every successful sync still serves exactly the trainer's bytes.
#include <gtest/gtest.h>

#include "sim_test_util.h"
#include "weightsync/fake/fault_plan.h"
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
    set_fault_probability(s.faults, fake::FaultKind::save_failure, 0.05);
    set_fault_probability(s.faults, fake::FaultKind::hotload_rejected, 0.1);
    set_fault_probability(s.faults, fake::FaultKind::load_error, 0.1);
    set_fault_probability(s.faults, fake::FaultKind::replica_restart, 0.05);
    set_fault_probability(s.faults, fake::FaultKind::warmup_unavailable, 0.1);
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

// A failed save is retried by every pattern's training loop, the service client's sampler
// refresh included: with only save faults on, refresh N and every N make the same saves, draw
// the same faults, retry the same saves and fail the same syncs (the refresh once retried none,
// so every failed save was a failed sync).
TEST_F(Faults, TheSamplerRefreshRetriesAFailedSaveAsEveryNDoes) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Scenario every_n = long_tail_scenario("every_n", 2, 1, seed);
    set_fault_probability(every_n.faults, fake::FaultKind::save_failure, 0.3);
    Scenario refresh = every_n;
    refresh.policy.name = "sampler_refresh";
    SCOPED_TRACE(seed_note(refresh));
    const RunResult a = run_simulation(every_n);
    const RunResult b = run_simulation(refresh);
    ASSERT_GT(a.save_retries, 0);
    EXPECT_EQ(b.save_retries, a.save_retries);
    EXPECT_EQ(b.failed_syncs, a.failed_syncs);
    EXPECT_EQ(b.syncs, a.syncs);
    EXPECT_EQ(b.faults_injected.at("save_failure"), a.faults_injected.at("save_failure"));
    EXPECT_EQ(b.verification_failures, 0);
    // Every save's time is booked, also when the hotload that follows starts a record of its
    // own; the refresh saves no less (its first refresh is a base where every_n sends a delta).
    EXPECT_GE(b.save_seconds, a.save_seconds);
  }
}

TEST_F(Faults, AStuckLoadCostsTheHotloadTimeout) {
  Scenario s = closed_form_scenario("every_step", 1, 30);
  set_fault_probability(s.faults, fake::FaultKind::load_stuck, 0.2);
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
  set_fault_probability(s.faults, fake::FaultKind::slow_download, 1)->factor = 5;
  SCOPED_TRACE(seed_note(s));
  const RunResult slow = run_simulation(s);
  EXPECT_EQ(slow.failed_syncs, 0);
  EXPECT_EQ(slow.failed_sync_seconds, 0);
  EXPECT_GT(slow.hotload_seconds, 3 * fast.hotload_seconds);
}

// The scenario's faults may be written as a fault plan document: the same plan runs the same,
// and a plan the per-kind form cannot say (a scripted entry) is kept as a document.
TEST_F(Faults, TheScenariosFaultsAreAFaultPlanInEitherForm) {
  Scenario s = long_tail_scenario("every_step", 1, 1, 5);
  set_fault_probability(s.faults, fake::FaultKind::load_error, 0.1);
  set_fault_probability(s.faults, fake::FaultKind::save_failure, 0.05);
  SCOPED_TRACE(seed_note(s));
  nlohmann::ordered_json doc = to_json(s);
  EXPECT_EQ(doc["faults"]["load_error"], 0.1);
  doc["faults"] = nlohmann::ordered_json::parse(fake::encode_fault_plan(s.faults));
  const Scenario from_doc = parse_scenario(doc);
  EXPECT_EQ(to_json(run_simulation(s), false).dump(),
            to_json(run_simulation(from_doc), false).dump());

  fake::FaultSpec scripted;
  scripted.kind = fake::FaultKind::hotload_rejected;
  scripted.count = 2;
  scripted.status = 500;
  s.faults.faults.push_back(scripted);
  const nlohmann::ordered_json written = to_json(s);
  ASSERT_TRUE(written["faults"].contains("faults")) << written["faults"].dump();
  EXPECT_EQ(fake::encode_fault_plan(parse_scenario(written).faults),
            fake::encode_fault_plan(s.faults));
  EXPECT_EQ(run_simulation(s).faults_injected.at("hotload_rejected"), 2);
}

// A run that cannot go on says so with its own error type, naming the scenario and seed: the
// deployment fails, so an asynchronous loop bounded to staleness 1 can never catch up.
TEST_F(Faults, ARunThatCannotGoOnThrowsSimulationErrorNamingTheSeed) {
  Scenario s = closed_form_scenario("async", 1, 10);
  s.policy.staleness_bound = 1;
  s.policy.stale_samples = "drop";
  fake::FaultSpec failed;
  failed.kind = fake::FaultKind::deployment_failed;
  failed.at = seconds(0);
  failed.deployment = "accounts/sim/deployments/sim-deployment";
  s.faults.faults.push_back(failed);
  try {
    run_simulation(s);
    ADD_FAILURE() << "a run whose deployment failed went on";
  } catch (const SimulationError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("scenario '" + s.name + "' seed " +
                                              std::to_string(s.seed) + ": ",
                                          0),
              0u)
        << e.what();
  }
}

}  // namespace
}  // namespace weightsync::sim
