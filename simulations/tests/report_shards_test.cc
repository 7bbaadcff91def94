// Sharded reports: N report shards run as separate processes and merged give every file the
// unsharded `weightsync-sim report` writes (README.md, PNGs, data/) byte for byte; bad merges are
// refused with what is wrong and write nothing.
#include "weightsync/sim/report_shards.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "sim_test_util.h"

namespace weightsync::sim {
namespace {

namespace fs = std::filesystem;
using testing::read_file;

// Every regular file under `root`, by its path relative to `root`, with its bytes.
std::map<std::string, std::string> files_under(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), root).string()] = read_file(entry.path());
    }
  }
  return files;
}

class ReportShards : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::fresh_test_dir("weightsync-report-shard-test");
    Scenario s = testing::long_tail_scenario("every_step", 1, 1, 1);
    std::ofstream(dir_ / "scenario.json") << to_json(s).dump(2);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `args` of weightsync-sim in `cwd` (relative to dir_), output into dir_/out.txt; the
  // exit status.
  int sim(const std::string& args, const std::string& cwd = ".") {
    fs::create_directories(dir_ / cwd);
    const std::string command = "cd " + (dir_ / cwd).string() + " && " +
                                std::string(WEIGHTSYNC_SIM_PROGRAM) + " " + args + " > " +
                                (dir_ / "out.txt").string() + " 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output() { return read_file(dir_ / "out.txt"); }
  std::string report_args(const std::string& seeds = "1,2") const {
    return "report --scenario " + (dir_ / "scenario.json").string() + " --seeds " + seeds +
           " --steps 16 --budget 3 --jobs 1";
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Every shard of `count`, as concurrent processes, into dir_/s0 .. s{count-1}.
  void run_shards(int count) {
    ASSERT_TRUE(testing::run_shards_concurrently(WEIGHTSYNC_SIM_PROGRAM, report_args(), count, dir_,
                                                 kReportShardFile));
  }

  // `merge` of the given shard directories into dir_/m: the exit status; nothing may be written.
  int refused_merge(const std::vector<std::string>& shards) {
    std::string args = "merge";
    for (const auto& s : shards) args += " " + path(s);
    const int status = sim(args + " --out " + path("m"));
    EXPECT_FALSE(fs::exists(dir_ / "m")) << output();
    return status;
  }
  fs::path dir_;
};

TEST_F(ReportShards, MergedShardsEqualTheUnshardedReportByteForByte) {
  // Both write to "report" from their own folder, so the command line each page quotes is the
  // same.
  ASSERT_EQ(sim(report_args() + " --out report", "full"), 0) << output();
  run_shards(3);
  ASSERT_EQ(sim("merge ../s2 ../s0 ../s1 --out report", "merged"), 0) << output();
  EXPECT_NE(output().find("report of 3 shards written to report/README.md"), std::string::npos)
      << output();
  const auto full = files_under(dir_ / "full" / "report");
  const auto merged = files_under(dir_ / "merged" / "report");
  for (const char* file :
       {"README.md", "staleness_vs_interval.png", "throughput_vs_interval.png",
        "bytes_vs_interval.png", "staleness_histogram.png", "failed_sync_time.png", "data/sync.dat",
        "data/refresh.dat", "data/async.dat", "data/histogram.dat", "data/faults.dat",
        "data/plots.gp"}) {
    EXPECT_TRUE(full.count(file)) << file;
  }
  EXPECT_EQ(full.size(), 12u);
  ASSERT_EQ(merged.size(), full.size());
  for (const auto& [name, bytes] : full) {
    ASSERT_TRUE(merged.count(name)) << name;
    EXPECT_TRUE(merged.at(name) == bytes) << name << " differs";
  }
  // The page carries the calibration suite's status, which only shard 0 ran.
  EXPECT_NE(full.at("README.md").find("judged figures within their tolerance"), std::string::npos);

  // 13 policies x 2 seeds, without and with faults: shard 1 of 3 holds runs 1, 4, ..., 49.
  const auto shard1 = nlohmann::json::parse(read_file(dir_ / "s1" / kReportShardFile));
  EXPECT_EQ(shard1.at("runs"), 52);
  ASSERT_EQ(shard1.at("results").size(), 17u);
  for (std::size_t i = 0; i < 17; ++i) EXPECT_EQ(shard1["results"][i]["run"], 1 + 3 * i);
  EXPECT_FALSE(shard1.contains("calibration"));
  EXPECT_TRUE(nlohmann::json::parse(read_file(dir_ / "s0" / kReportShardFile))
                  .at("calibration")
                  .is_array());
  EXPECT_FALSE(fs::exists(dir_ / "s1" / "README.md"));
}

TEST_F(ReportShards, MergeRefusesMissingOverlappingForeignAndBrokenShards) {
  run_shards(3);
  EXPECT_EQ(refused_merge({"s0", "s1"}), 2);
  EXPECT_NE(output().find("merge: incomplete: shard(s) 2 of 3 missing; got 2 of 3"),
            std::string::npos)
      << output();

  EXPECT_EQ(refused_merge({"s0", "s1", "s1", "s2"}), 2);
  EXPECT_NE(output().find("merge: shards overlap: '" + path("s1") + "' and '" + path("s1") +
                          "' are both shard 1/3"),
            std::string::npos)
      << output();

  // A shard of another report (other seeds).
  ASSERT_EQ(sim(report_args("1,3") + " --shard 2/3 --out " + path("other")), 0) << output();
  EXPECT_EQ(refused_merge({"s0", "s1", "other"}), 2);
  EXPECT_NE(output().find("is not of the same report as '" + path("s0") + "'"), std::string::npos)
      << output();

  // A directory that is no report shard (a sweep shard, or anything else).
  fs::create_directories(dir_ / "plain");
  EXPECT_EQ(refused_merge({"s0", "s1", "plain"}), 2);
  EXPECT_NE(output().find("'" + path("plain") +
                          "' has no report-shard.json; expected the --out "
                          "directory of `weightsync-sim report --shard K/N`"),
            std::string::npos)
      << output();

  // A shard whose last run is missing from its file.
  const fs::path s2 = dir_ / "s2" / kReportShardFile;
  const std::string intact = read_file(s2);
  auto doc = nlohmann::json::parse(intact);
  doc["results"].erase(doc["results"].size() - 1);
  std::ofstream(s2) << doc.dump();
  EXPECT_EQ(refused_merge({"s0", "s1", "s2"}), 2);
  EXPECT_NE(output().find("merge: incomplete: run 50 (faults / refresh 16 / seed 1) of shard 2/3"),
            std::string::npos)
      << output();

  // A run placed in another shard's share.
  doc = nlohmann::json::parse(intact);
  doc["results"][0]["run"] = 0;
  std::ofstream(s2) << doc.dump();
  EXPECT_EQ(refused_merge({"s0", "s1", "s2"}), 2);
  EXPECT_NE(output().find("results: run 0 is not shard 2/3's in a grid of 52"), std::string::npos)
      << output();

  // A cut file.
  std::ofstream(s2) << intact.substr(0, intact.size() / 2);
  EXPECT_EQ(refused_merge({"s0", "s1", "s2"}), 2);
  EXPECT_NE(output().find("merge: '" + s2.string() + "' is not a report shard: "),
            std::string::npos)
      << output();

  // Restored, the same shards merge.
  std::ofstream(s2) << intact;
  EXPECT_EQ(
      sim("merge " + path("s0") + " " + path("s1") + " " + path("s2") + " --out " + path("m")), 0)
      << output();
  EXPECT_TRUE(fs::exists(dir_ / "m" / "README.md"));
}

TEST_F(ReportShards, ProgramRefusesABadShardSpecBeforeRunningAnything) {
  EXPECT_EQ(sim(report_args() + " --shard 3/3 --out " + path("never")), 2);
  EXPECT_NE(output().find("--shard: expected K in 0..2 in K/N (tasks count from 0), got '3/3'"),
            std::string::npos)
      << output();
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}

}  // namespace
}  // namespace weightsync::sim
