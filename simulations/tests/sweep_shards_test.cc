// Sharded sweeps: N shards run as separate processes and merged give the unsharded sweep's
// summary.csv and run JSONs byte for byte; bad shard specs and bad merges are refused.
#include "weightsync/sim/sweep_shards.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "sim_test_util.h"
#include "weightsync/errors.h"
#include "weightsync/fake/job_shard.h"

namespace weightsync::sim {
namespace {

namespace fs = std::filesystem;
using testing::read_file;

class SweepShards : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::fresh_test_dir("weightsync-shard-test"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `args` of weightsync-sim with stdout and stderr into dir_/out.txt; the exit status.
  int sim(const std::string& args) {
    const std::string command = std::string(WEIGHTSYNC_SIM_PROGRAM) + " " + args + " > " +
                                (dir_ / "out.txt").string() + " 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output() { return read_file(dir_ / "out.txt"); }
  std::string sweep_args() const {
    return "sweep --scenario " + std::string(WEIGHTSYNC_SIM_SCENARIO_DIR) +
           "/8b-dense-1node.json --policies every_n,async --intervals 1,2 --staleness 1,2 "
           "--seeds 3,4 --steps 20 --jobs 1 --no-wall";
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Every shard of `count`, as concurrent processes, into dir_/s0 .. s{count-1}.
  void run_shards(int count) {
    ASSERT_TRUE(testing::run_shards_concurrently(WEIGHTSYNC_SIM_PROGRAM, sweep_args(), count, dir_,
                                                 kShardManifestFile));
  }

  fs::path dir_;
};

TEST_F(SweepShards, MergedShardsEqualTheUnshardedSweepByteForByte) {
  ASSERT_EQ(sim(sweep_args() + " --out " + path("full")), 0) << output();
  run_shards(3);
  ASSERT_EQ(
      sim("merge " + path("s2") + " " + path("s0") + " " + path("s1") + " --out " + path("merged")),
      0)
      << output();
  EXPECT_NE(output().find("12 runs of 3 shards merged"), std::string::npos) << output();
  const std::string summary = read_file(dir_ / "full" / "summary.csv");
  EXPECT_EQ(std::count(summary.begin(), summary.end(), '\n'), 13);
  EXPECT_EQ(read_file(dir_ / "merged" / "summary.csv"), summary);
  int runs = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "full")) {
    if (entry.path().extension() != ".json") continue;
    ++runs;
    EXPECT_EQ(read_file(dir_ / "merged" / entry.path().filename()), read_file(entry.path()))
        << entry.path().filename();
  }
  EXPECT_EQ(runs, 12);
  // Shard 1 of 3 holds runs 1, 4, 7 and 10 of the grid, and only those.
  const auto manifest =
      decode_shard_manifest(read_file(dir_ / "s1" / kShardManifestFile), "s1/shard.json");
  EXPECT_EQ(manifest.rows, (std::vector<std::size_t>{1, 4, 7, 10}));
  EXPECT_EQ(manifest.grid.size(), 12u);
}

TEST_F(SweepShards, MergeRefusesMissingOverlappingForeignAndIncompleteShards) {
  run_shards(3);
  EXPECT_EQ(sim("merge " + path("s0") + " " + path("s1") + " --out " + path("m")), 2);
  EXPECT_NE(output().find("merge: incomplete: shard(s) 2 of 3 missing"), std::string::npos)
      << output();
  EXPECT_EQ(sim("merge " + path("s0") + " " + path("s1") + " " + path("s1") + " " + path("s2") +
                " --out " + path("m")),
            2);
  EXPECT_NE(output().find("shards overlap"), std::string::npos) << output();
  EXPECT_NE(output().find("are both shard 1/3"), std::string::npos) << output();
  EXPECT_EQ(
      sim("merge " + path("s0") + " " + path("s1") + " " + path("s2") + " --out " + path("s1")), 2);
  EXPECT_NE(output().find("is one of the shard directories"), std::string::npos) << output();
  EXPECT_FALSE(fs::exists(dir_ / "m"));

  // A shard of another sweep (other seeds: another grid).
  std::string other = sweep_args();
  other.replace(other.find("--seeds 3,4"), 11, "--seeds 5,6");
  ASSERT_EQ(sim(other + " --shard 2/3 --out " + path("other")), 0) << output();
  EXPECT_EQ(
      sim("merge " + path("s0") + " " + path("s1") + " " + path("other") + " --out " + path("m")),
      2);
  EXPECT_NE(output().find("is not of the same sweep"), std::string::npos) << output();

  // A shard whose last run failed: its row and its manifest entry are missing.
  nlohmann::json manifest = nlohmann::json::parse(read_file(dir_ / "s2" / kShardManifestFile));
  manifest["rows"].erase(manifest["rows"].size() - 1);
  std::ofstream(dir_ / "s2" / kShardManifestFile) << manifest.dump();
  std::string csv = read_file(dir_ / "s2" / "summary.csv");
  csv.erase(csv.rfind('\n', csv.size() - 2) + 1);
  std::ofstream(dir_ / "s2" / "summary.csv") << csv;
  EXPECT_EQ(
      sim("merge " + path("s0") + " " + path("s1") + " " + path("s2") + " --out " + path("m")), 2);
  EXPECT_NE(output().find("merge: incomplete: run async-i2-k2-s4.json of shard 2/3"),
            std::string::npos)
      << output();
  EXPECT_FALSE(fs::exists(dir_ / "m" / "summary.csv"));
}

TEST_F(SweepShards, ProgramRefusesBadShardSpecsBeforeRunningAnything) {
  for (const auto& [spec, message] : std::vector<std::pair<std::string, std::string>>{
           {"3/2", "--shard: expected K in 0..1 in K/N (tasks count from 0), got '3/2'"},
           {"0/0", "--shard: expected N in 1..1000000 in K/N, got '0/0'"},
           {"two/4", "--shard: expected K/N (task K of N, from 0, e.g. 0/4), got 'two/4'"},
           {"1", "--shard: expected K/N (task K of N, from 0, e.g. 0/4), got '1'"}}) {
    EXPECT_EQ(sim(sweep_args() + " --shard " + spec + " --out " + path("never")), 2) << spec;
    EXPECT_NE(output().find(message), std::string::npos) << output();
  }
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}

TEST(JobShard, OwnsEveryNthItemFromItsIndex) {
  const fake::JobShard shard = fake::parse_job_shard("2/5", "shard");
  EXPECT_EQ(shard.text(), "2/5");
  std::vector<std::size_t> owned;
  for (std::size_t i = 0; i < 13; ++i) {
    if (shard.owns(i)) owned.push_back(i);
  }
  EXPECT_EQ(owned, (std::vector<std::size_t>{2, 7, 12}));
  EXPECT_THROW(fake::parse_job_shard("5/5", "shard"), InvalidArgument);
  EXPECT_THROW(fake::parse_job_shard("1/", "shard"), InvalidArgument);
  EXPECT_THROW(fake::parse_job_shard(" 1/2", "shard"), InvalidArgument);
}

}  // namespace
}  // namespace weightsync::sim
