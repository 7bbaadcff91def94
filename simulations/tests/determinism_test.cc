// Same scenario and seed, same JSON byte for byte (wall-clock fields aside); a replay of a
// run's JSON reproduces it; another seed gives another run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sim_test_util.h"
#include "weightsync/log.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/sweep.h"

namespace weightsync::sim {
namespace {

using testing::long_tail_scenario;
using testing::seed_note;
namespace fs = std::filesystem;

class Determinism : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
    dir_ = testing::fresh_test_dir("weightsync-sim-test");
  }
  void TearDown() override {
    set_log_sink({});
    fs::remove_all(dir_);
  }
  static int sh(const std::string& command) { return std::system(command.c_str()); }
  fs::path dir_;
};

TEST_F(Determinism, SameScenarioAndSeedGiveByteIdenticalJson) {
  for (const char* policy : {"every_n", "async", "split"}) {
    Scenario s = long_tail_scenario(policy, 2, 1, 42);
    set_fault_probability(s.faults, fake::FaultKind::load_error, 0.1);
    set_fault_probability(s.faults, fake::FaultKind::hotload_rejected, 0.1);
    SCOPED_TRACE(seed_note(s));
    const std::string a = to_json(run_simulation(s), false).dump(2);
    const std::string b = to_json(run_simulation(s), false).dump(2);
    EXPECT_EQ(a, b);
    s.seed = 43;
    EXPECT_NE(a, to_json(run_simulation(s), false).dump(2));
  }
}

TEST_F(Determinism, ThreadedSweepGivesTheSameRunsAsSequentialOnes) {
  SweepSpec spec;
  spec.base = long_tail_scenario("every_n", 1, 1, 1);
  spec.base.steps = 40;
  spec.policies = {"every_step", "every_n", "async"};
  spec.intervals = {1, 2};
  spec.staleness_bounds = {1, 2};
  spec.seeds = {1, 2};
  const std::vector<Scenario> runs = expand_sweep(spec);
  // every_step: 2 seeds; every_n: 2 intervals x 2 seeds; async: 2 x 2 bounds x 2 seeds.
  ASSERT_EQ(runs.size(), 2u + 4u + 8u);
  const auto parallel = run_sweep(runs, 2, nullptr);
  ASSERT_EQ(parallel.size(), runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    SCOPED_TRACE(seed_note(runs[i]));
    ASSERT_TRUE(parallel[i].result) << parallel[i].error;
    EXPECT_EQ(to_json(*parallel[i].result, false).dump(),
              to_json(run_simulation(runs[i]), false).dump());
  }
}

TEST_F(Determinism, ProgramWritesByteIdenticalJsonAndReplaysIt) {
  const std::string program = WEIGHTSYNC_SIM_PROGRAM;
  const std::string scenario = std::string(WEIGHTSYNC_SIM_SCENARIO_DIR) + "/8b-dense-1node.json";
  const std::string common = program + " run --scenario " + scenario +
                             " --policy async --staleness 2 --steps 60 --seed 9 ";
  ASSERT_EQ(sh(common + "--no-wall --json " + (dir_ / "a.json").string() + " > /dev/null"), 0);
  ASSERT_EQ(sh(common + "--no-wall --json " + (dir_ / "b.json").string() + " > /dev/null"), 0);
  EXPECT_EQ(testing::read_file(dir_ / "a.json"), testing::read_file(dir_ / "b.json"));
  EXPECT_EQ(testing::read_file(dir_ / "a.json").find("wall_seconds"), std::string::npos);

  ASSERT_EQ(sh(common + "--json " + (dir_ / "full.json").string() + " > /dev/null"), 0);
  EXPECT_NE(testing::read_file(dir_ / "full.json").find("\"wall_seconds\""), std::string::npos);
  EXPECT_EQ(sh(program + " replay --json " + (dir_ / "full.json").string() + " > " +
               (dir_ / "replay.txt").string()),
            0);
  EXPECT_NE(testing::read_file(dir_ / "replay.txt").find("identical"), std::string::npos);

  // A tampered result is caught.
  std::string tampered = testing::read_file(dir_ / "full.json");
  const auto at = tampered.find("\"syncs\": ");
  ASSERT_NE(at, std::string::npos);
  tampered.insert(at + 9, "1");
  std::ofstream(dir_ / "tampered.json") << tampered;
  EXPECT_NE(sh(program + " replay --json " + (dir_ / "tampered.json").string() + " > /dev/null"),
            0);
}

TEST_F(Determinism, ProgramSweepWritesOneJsonPerRunAndASummary) {
  const std::string program = WEIGHTSYNC_SIM_PROGRAM;
  const std::string scenario = std::string(WEIGHTSYNC_SIM_SCENARIO_DIR) + "/8b-dense-1node.json";
  ASSERT_EQ(sh(program + " sweep --scenario " + scenario +
               " --policies every_n,async --intervals 1,2 --staleness 1 --seeds 3,4 --steps 20"
               " --jobs 2 --out " +
               dir_.string() + " > /dev/null"),
            0);
  int runs = 0;
  for (const auto& entry : fs::directory_iterator(dir_))
    runs += entry.path().extension() == ".json";
  EXPECT_EQ(runs, 8);
  const std::string csv = testing::read_file(dir_ / "summary.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);
  EXPECT_EQ(csv.rfind("scenario,policy,interval,staleness_bound,seed", 0), 0u);
  EXPECT_TRUE(fs::exists(dir_ / "async-i2-k1-s4.json"));
}

TEST_F(Determinism, ProgramRefusesABadScenarioWithTheField) {
  std::ofstream(dir_ / "bad.json") << R"({"rollout": {"concurrency": 0}})";
  const std::string program = WEIGHTSYNC_SIM_PROGRAM;
  EXPECT_EQ(sh(program + " run --scenario " + (dir_ / "bad.json").string() + " 2> " +
               (dir_ / "err.txt").string()),
            2 << 8);
  EXPECT_NE(testing::read_file(dir_ / "err.txt").find("scenario.rollout.concurrency: "),
            std::string::npos);
}

}  // namespace
}  // namespace weightsync::sim
