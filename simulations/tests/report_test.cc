// The sync-policy report: the recommendation follows the numbers and the budget, and the report
// command writes a page with PNG plots that is byte-identical when regenerated.
#include "weightsync/sim/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim_test_util.h"
#include "weightsync/log.h"
#include "weightsync/sim/calibration.h"

namespace weightsync::sim {
namespace {

namespace fs = std::filesystem;
using testing::long_tail_scenario;
using testing::seed_note;

PolicySummary summary(const std::string& label, double steps_per_hour, int p99) {
  PolicySummary s;
  s.policy.label = label;
  s.steps_per_hour = steps_per_hour;
  s.steps_per_hour_min = steps_per_hour * 0.99;
  s.steps_per_hour_max = steps_per_hour * 1.01;
  s.staleness_p99 = p99;
  s.staleness_max = p99;
  s.staleness_mean = p99 / 2.0;
  return s;
}

std::vector<PolicySummary> grid() {
  return {summary("every step", 10, 0), summary("every 4", 11, 3), summary("async k=1", 30, 1),
          summary("async k=2", 40, 2), summary("async k=4", 50, 4)};
}

TEST(Recommendation, PicksTheFastestPolicyWithinTheBudget) {
  const Recommendation rec = recommend(grid(), 2);
  ASSERT_TRUE(rec.chosen.has_value());
  EXPECT_EQ(rec.policy_label, "async k=2");
  EXPECT_NE(rec.text.find("**async k=2**"), std::string::npos) << rec.text;
  EXPECT_NE(rec.text.find("40.0 steps/hour"), std::string::npos) << rec.text;
  EXPECT_NE(rec.text.find("4.00x every step's 10.0"), std::string::npos) << rec.text;
  // The faster policy over the budget is named with what it would add.
  EXPECT_NE(rec.text.find("async k=4, would add 25.0%"), std::string::npos) << rec.text;
}

TEST(Recommendation, FollowsTheBudget) {
  EXPECT_EQ(recommend(grid(), 4).policy_label, "async k=4");
  EXPECT_EQ(recommend(grid(), 1).policy_label, "async k=1");
  EXPECT_EQ(recommend(grid(), 0).policy_label, "every step");
}

TEST(Recommendation, ATieGoesToThePolicyListedFirst) {
  // The sampler refresh times like every N at the same interval; the grid lists every N first.
  const std::vector<PolicySummary> tied = {summary("every 2", 20, 1), summary("refresh 2", 20, 1)};
  EXPECT_EQ(recommend(tied, 2).policy_label, "every 2");
  const std::vector<PolicySummary> swapped = {tied[1], tied[0]};
  EXPECT_EQ(recommend(swapped, 2).policy_label, "refresh 2");
}

TEST(Recommendation, TheGridRunsTheSamplerRefreshAtEveryNsIntervals) {
  std::vector<int> every_n = {1};  // every step
  std::vector<int> refresh;
  for (const ReportPolicy& p : report_policies()) {
    if (p.name == "every_n") every_n.push_back(p.interval);
    if (p.name == "sampler_refresh") {
      refresh.push_back(p.interval);
      EXPECT_TRUE(p.sampler_refresh());
      EXPECT_FALSE(p.asynchronous());
      EXPECT_EQ(p.label, "refresh " + std::to_string(p.interval));
    }
  }
  EXPECT_EQ(refresh, every_n);
}

TEST(Recommendation, SaysSoWhenNoPolicyFits) {
  std::vector<PolicySummary> all_stale = {summary("every 4", 11, 3), summary("async k=4", 50, 4)};
  const Recommendation rec = recommend(all_stale, 2);
  EXPECT_FALSE(rec.chosen.has_value());
  EXPECT_TRUE(rec.policy_label.empty());
  EXPECT_NE(rec.text.find("No policy stays within"), std::string::npos) << rec.text;
  EXPECT_NE(rec.text.find("**every 4**"), std::string::npos) << rec.text;
}

TEST(Recommendation, SummaryTakesTheWorstSeedsStaleness) {
  RunResult a;
  a.steps = 10;
  a.staleness.mean = 1;
  a.staleness.p99 = 2;
  a.staleness.max = 3;
  a.staleness.histogram = {1, 2};
  a.steps_per_hour = 10;
  a.bytes_delta = 10'000'000;
  RunResult b = a;
  b.staleness.mean = 2;
  b.staleness.p99 = 5;
  b.staleness.histogram = {1, 0, 4};
  b.steps_per_hour = 20;
  const PolicySummary s = summarize(report_policies().front(), {a, b});
  EXPECT_EQ(s.staleness_p99, 5);
  EXPECT_EQ(s.staleness_max, 3);
  EXPECT_DOUBLE_EQ(s.staleness_mean, 1.5);
  EXPECT_DOUBLE_EQ(s.steps_per_hour, 15);
  EXPECT_DOUBLE_EQ(s.steps_per_hour_min, 10);
  EXPECT_DOUBLE_EQ(s.mb_per_step, 1);
  EXPECT_EQ(s.staleness_histogram, (std::vector<std::int64_t>{2, 2, 4}));
}

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
    dir_ = testing::fresh_test_dir("weightsync_report_test");
    scenario_ = long_tail_scenario("every_step", 1, 1, 1);
    scenario_.steps = 48;
    std::ofstream(dir_ / "scenario.json") << to_json(scenario_).dump(2);
  }
  void TearDown() override {
    set_log_sink({});
    fs::remove_all(dir_);
  }
  ReportOptions options(const std::string& out) const {
    ReportOptions o;
    o.scenario_path = dir_ / "scenario.json";
    o.out_dir = dir_ / out;
    o.seeds = {1, 2};
    o.jobs = 2;
    return o;
  }
  fs::path dir_;
  Scenario scenario_;
};

TEST_F(ReportCommand, ShowsTheCalibrationStatusOfItsCases) {
  // At a constant 50 tokens/s a closed-loop load has an inter-token latency of exactly 20 ms.
  fs::create_directories(dir_ / "cases");
  std::ofstream(dir_ / "cases" / "constant.json") << R"case({
    "name": "constant-speed", "source": "closed form", "scenario": {"rollout":
      {"generation_tokens": 100, "tokens_per_second_per_request": 50}},
    "runs": {"c4": {"kind": "itl", "concurrency": 4}},
    "checks": [{"figure": "ITL (ms)", "run": "c4", "metric": "itl_ms", "published": 20,
                "tolerance": 0.001},
               {"figure": "ITL, off by half (ms)", "run": "c4", "metric": "itl_ms",
                "published": 40, "tolerance": 0.1, "known_gap": "on purpose"}]})case";
  const auto checks = run_calibration(dir_ / "cases");
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_NEAR(checks[0].simulated, 20, 1e-6);
  EXPECT_EQ(checks[0].status(), "pass");
  EXPECT_EQ(checks[1].status(), "known gap");
  ReportOptions o = options("c");
  o.calibration_dir = dir_ / "cases";
  write_report(o, nullptr);
  const std::string page = testing::read_file(dir_ / "c" / "README.md");
  EXPECT_NE(page.find("## Calibration"), std::string::npos);
  EXPECT_NE(page.find("1 of 2 judged figures within their tolerance, 1 outside it as declared "
                      "known gaps"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("| constant-speed | ITL (ms) | 20.0 | 20.0 | +0.0% |"), std::string::npos)
      << page;
}

TEST_F(ReportCommand, AMalformedCalibrationCaseIsRefusedInTheSharedReadersWords) {
  const std::string good_run = R"j("runs": {"c4": {"kind": "itl", "concurrency": 4}})j";
  const std::string scenario =
      R"j("scenario": {"rollout": {"generation_tokens": 100,
          "tokens_per_second_per_request": 50}})j";
  const std::string check =
      R"j({"figure": "ITL (ms)", "run": "c4", "metric": "itl_ms", "published": 20})j";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"j({"name": "x", )j" + scenario + ", " + good_run + R"j(, "checks": [)j" + check + "]}",
       "source: missing; expected where the figures are published"},
      {R"j({"name": "x", "source": "s", "extra": 1, )j" + scenario + ", " + good_run +
           R"j(, "checks": [)j" + check + "]}",
       "extra: unknown field (extra inputs are not permitted)"},
      {R"j({"name": "x", "source": "s", )j" + scenario +
           R"j(, "runs": {"c4": {"kind": "itl", "concurrency": 0}}, "checks": [)j" + check + "]}",
       "runs.c4.concurrency: expected an integer in [1, 1000000], got 0"},
      {R"j({"name": "x", "source": "s", )j" + scenario + ", " + good_run +
           R"j(, "checks": [{"figure": "f", "run": "c9", "metric": "itl_ms", "published": 20}]})j",
       "checks[0]: expected a check of runs named in runs, got \"c9\""},
      {R"j({"name": "x", "source": "s", )j" + scenario + ", " + good_run +
           R"j(, "checks": [{"figure": "f", "run": "c4", "metric": "itl", "published": 20}]})j",
       "checks[0].metric: expected one of 'itl_ms', 'seconds_per_step', 'train_seconds_per_step', "
       "'wait_seconds_per_step', 'tokens_per_second'"},
      {R"j({"name": "x", "source": "s", )j", "case: expected a JSON document, got a parse error"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    const fs::path file = dir_ / "bad.json";
    std::ofstream(file) << text;
    try {
      run_calibration_case(file);
      ADD_FAILURE() << "accepted";
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("calibration case '" + file.string() + "': ", 0), 0u) << message;
      EXPECT_NE(message.find(expected), std::string::npos) << message;
    }
  }
}

TEST_F(ReportCommand, WritesAPageWithPlotsAndTheComputedRecommendation) {
  SCOPED_TRACE(seed_note(scenario_) + " and seed 2");
  const Recommendation rec = write_report(options("a"), nullptr);
  const std::string page = testing::read_file(dir_ / "a" / "README.md");
  for (const char* png :
       {"staleness_vs_interval.png", "throughput_vs_interval.png", "bytes_vs_interval.png",
        "staleness_histogram.png", "failed_sync_time.png"}) {
    const std::string bytes = testing::read_file(dir_ / "a" / png);
    ASSERT_GT(bytes.size(), 8u) << png;
    EXPECT_EQ(bytes.substr(1, 3), "PNG") << png;
    EXPECT_NE(page.find(std::string("](") + png + ")"), std::string::npos) << png;
  }
  const auto recommendation = page.find("## Recommendation");
  ASSERT_NE(recommendation, std::string::npos);
  EXPECT_EQ(page.substr(recommendation + 19), rec.text + "\n");
  EXPECT_NE(page.find("reference fault plan"), std::string::npos);
  for (const auto& p : report_policies()) EXPECT_NE(page.find("| " + p.label), std::string::npos);
  // The sampler refresh has its own table row per interval and its own line in the plots.
  EXPECT_NE(page.find("| refresh 4 |"), std::string::npos) << page;
  for (const char* table : {"refresh.dat", "sync.dat"}) {
    std::istringstream rows(testing::read_file(dir_ / "a" / "data" / table));
    std::vector<int> intervals;
    for (std::string line; std::getline(rows, line);) {
      if (!line.empty() && line[0] != '#') intervals.push_back(std::stoi(line));
    }
    EXPECT_EQ(intervals, (std::vector<int>{1, 2, 4, 8, 16})) << table;
  }
  const std::string script = testing::read_file(dir_ / "a" / "data" / "plots.gp");
  EXPECT_NE(script.find("'data/refresh.dat' using 1:5"), std::string::npos) << script;
  EXPECT_NE(script.find("title 'refresh 16'"), std::string::npos) << script;
}

TEST_F(ReportCommand, RegeneratingGivesTheSameFiles) {
  SCOPED_TRACE(seed_note(scenario_) + " and seed 2");
  write_report(options("a"), nullptr);
  write_report(options("b"), nullptr);
  for (const char* file : {"data/sync.dat", "data/refresh.dat", "data/async.dat",
                           "data/histogram.dat", "data/faults.dat", "data/plots.gp"}) {
    EXPECT_EQ(testing::read_file(dir_ / "a" / file), testing::read_file(dir_ / "b" / file)) << file;
  }
  // The pages differ only in the --out they quote.
  std::string a = testing::read_file(dir_ / "a" / "README.md");
  const std::string b = testing::read_file(dir_ / "b" / "README.md");
  const std::string out_a = (dir_ / "a").string();
  a.replace(a.find(out_a), out_a.size(), (dir_ / "b").string());
  EXPECT_EQ(a, b);
}

TEST_F(ReportCommand, AMissingGnuplotIsReportedWithWhatToInstall) {
  ReportOptions o = options("a");
  o.gnuplot = "weightsync-no-such-gnuplot";
  try {
    write_report(o, nullptr);
    FAIL() << "expected the report to fail without gnuplot";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot-nox"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weightsync::sim
