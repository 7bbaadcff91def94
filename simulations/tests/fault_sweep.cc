// Every injected fault is survivable: every preset, with its own fault plan (or the reference
// plan when it has none), under every policy and over 200 seeds, runs to its last step. Short
// runs keep this within a minute under the sanitizers; the seeds give the breadth.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "sim_test_util.h"
#include "weightsync/log.h"
#include "weightsync/sim/report.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

constexpr std::uint64_t kSeeds = 200;
constexpr int kSteps = 12;

class FaultSweep : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
  }
  void TearDown() override { set_log_sink({}); }
};

TEST_P(FaultSweep, NoRunEndsInError) {
  Scenario preset =
      load_scenario(std::filesystem::path(WEIGHTSYNC_SIM_SCENARIO_DIR) / GetParam());
  if (preset.faults.faults.empty()) preset.faults = reference_fault_plan();
  // The faults hit the sync path; a smaller batch (one sampler event per request) leaves it
  // as it is and keeps the 1T preset's 1,024-request steps from dominating the sweep.
  preset.trainer.batch_size = std::min(preset.trainer.batch_size, 64);
  preset.rollout.concurrency = std::min(preset.rollout.concurrency, 64);
  // Likewise the proxy's size: checksums cost time in proportion, faults do not depend on it.
  preset.model.proxy_params = std::min<std::uint64_t>(preset.model.proxy_params, 4096);
  // A stuck load is polled until the hotload timeout: a shorter timeout (still 1.25 full loads)
  // and a coarser poll take the same path with fewer polls, which keeps the sweep fast.
  const double base_load_s = to_seconds(preset.load_time(preset.base_bytes()));
  preset.deployment.poll_interval_s = std::max(preset.deployment.poll_interval_s, 2.0);
  preset.deployment.hotload_timeout_s =
      std::min(preset.deployment.hotload_timeout_s, std::max(60.0, 1.25 * base_load_s));
  std::int64_t failed = 0, recovered = 0, save_failures = 0, retries = 0;
  for (const auto& entry : policy_registry()) {
    for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
      ScenarioOverrides o;
      o.policy = std::string(entry.name);
      o.interval = entry.name == "every_step" ? 1 : 2;
      o.staleness_bound = 1;
      o.steps = kSteps;
      o.seed = seed;
      const Scenario s = apply_overrides(preset, o);
      SCOPED_TRACE(testing::seed_note(s));
      RunResult r;
      try {
        r = run_simulation(s);
      } catch (const std::exception& e) {
        FAIL() << e.what();
      }
      EXPECT_EQ(r.verification_failures, 0);
      EXPECT_EQ(r.verified_syncs, r.syncs);
      EXPECT_EQ(r.staleness.count, static_cast<std::int64_t>(kSteps) * s.trainer.batch_size);
      failed += r.failed_syncs;
      recovered += r.recoveries;
      retries += r.save_retries;
      auto it = r.faults_injected.find("save_failure");
      if (it != r.faults_injected.end()) save_failures += it->second;
    }
  }
  // The sweep did meet faults, failed saves among them, and came back from them.
  EXPECT_GT(failed, 0);
  EXPECT_GT(recovered, 0);
  EXPECT_GT(save_failures, 0);
  EXPECT_GT(retries, 0);
}

INSTANTIATE_TEST_SUITE_P(Presets, FaultSweep,
                         ::testing::Values("8b-dense-1node.json", "8b-dense-1node-faults.json",
                                           "235b-moe.json", "1t-moe.json"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           name = name.substr(0, name.find('.'));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace weightsync::sim
