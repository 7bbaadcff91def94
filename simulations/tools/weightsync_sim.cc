// weightsync-sim: run one scenario, sweep policies over it (or a job array task's share of a
// sweep, and merge the shares), replay a run from its JSON, or write the sync-policy report of
// a scenario.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "weightsync/log.h"
#include "weightsync/sim/calibration.h"
#include "weightsync/sim/report.h"
#include "weightsync/sim/report_shards.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/sweep.h"
#include "weightsync/sim/sweep_shards.h"
#include "weightsync/sim/sync_policy.h"

namespace {

using namespace weightsync::sim;
namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return;
  }
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

std::string run_json_text(const RunResult& result, bool include_wall) {
  return to_json(result, include_wall).dump(2) + "\n";
}

void print_summary(std::ostream& out, const RunResult& r) {
  out << "scenario " << r.scenario.name << ", policy " << r.policy << " (interval " << r.interval
      << (r.staleness_bound ? ", staleness bound " + std::to_string(*r.staleness_bound) : "")
      << "), seed " << r.seed << ", " << r.steps << " steps\n";
  out.precision(4);
  out << "  staleness mean " << r.staleness.mean << ", p50 " << r.staleness.p50 << ", p99 "
      << r.staleness.p99 << ", max " << r.staleness.max << "; dropped " << r.samples_dropped
      << ", mixed " << r.samples_mixed << "\n";
  out << "  sync overhead " << 100 * r.sync_overhead_fraction << "%, trainer idle "
      << 100 * r.trainer_idle_fraction << "%, sampler idle " << 100 * r.sampler_idle_fraction
      << "%, " << r.steps_per_hour << " steps/hour\n";
  out << "  syncs " << r.syncs << ", failed " << r.failed_syncs << ", recoveries " << r.recoveries
      << ", bytes base " << r.bytes_base << ", delta " << r.bytes_delta << ", verified "
      << r.verified_syncs << "/" << r.syncs << "\n";
  out << "  simulated " << r.simulated_seconds << " s in " << r.wall_seconds << " s wall, "
      << r.cpu_seconds << " s CPU (" << r.cycles_per_second << " sync cycles/s, "
      << r.sim_to_wall_ratio << "x faster than simulated time)\n";
}

// "[#####.....]  12/40  ETA 00:01:23", redrawn in place; only on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled), start_(clock::now()) {}
  void update(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    const double eta =
        done ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total);
    const auto seconds = static_cast<long>(eta + 0.5);
    std::fprintf(stdout, "\r[%s%s] %zu/%zu  ETA %02ld:%02ld:%02ld",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), done,
                 total, seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if (done == total) std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  using clock = std::chrono::steady_clock;
  bool enabled_;
  clock::time_point start_;
};

int run_command(const std::string& scenario_path, const ScenarioOverrides& overrides,
                const std::string& json_out, bool no_wall) {
  const Scenario scenario = apply_overrides(load_scenario(scenario_path), overrides);
  const RunResult result = run_simulation(scenario);
  if (json_out != "-") print_summary(std::cout, result);
  if (!json_out.empty()) write_file(json_out, run_json_text(result, !no_wall));
  return 0;
}

// A summary row; without wall-clock figures its last column (wall_seconds) is left empty.
std::string summary_row(const RunResult& result, bool wall) {
  const std::string row = csv_row(result);
  return wall ? row : row.substr(0, row.rfind(',') + 1);
}

int sweep_command(const std::string& scenario_path, SweepSpec spec, std::optional<int> steps,
                  int jobs, const fs::path& out_dir,
                  std::optional<weightsync::fake::JobShard> shard, bool wall) {
  spec.base = load_scenario(scenario_path);
  if (steps) spec.base = apply_overrides(spec.base, ScenarioOverrides{{}, {}, {}, steps, {}});
  const std::vector<Scenario> grid = expand_sweep(spec);
  ShardManifest manifest;
  std::vector<Scenario> runs;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    manifest.grid.push_back(run_file_name(grid[i]));
    if (shard && !shard->owns(i)) continue;
    runs.push_back(grid[i]);
    positions.push_back(i);
  }
  fs::create_directories(out_dir);
  ProgressBar bar(isatty(STDOUT_FILENO) != 0);
  const auto outcomes =
      run_sweep(runs, jobs, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
  std::ostringstream csv;
  csv << csv_header() << "\n";
  int failures = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    if (!o.result) {
      ++failures;
      std::cerr << "run " << run_file_name(o.scenario) << " failed: " << o.error << "\n";
      continue;
    }
    write_file(out_dir / run_file_name(o.scenario), run_json_text(*o.result, wall));
    csv << summary_row(*o.result, wall) << "\n";
    manifest.rows.push_back(positions[i]);
  }
  write_file(out_dir / "summary.csv", csv.str());
  if (shard) {
    manifest.shard = *shard;
    manifest.wall = wall;
    write_file(out_dir / kShardManifestFile, encode_shard_manifest(manifest));
  }
  std::cout << outcomes.size() - static_cast<std::size_t>(failures) << " runs written to "
            << out_dir.string() << " (summary.csv";
  if (shard) std::cout << ", shard " << shard->text() << " of a grid of " << grid.size() << " runs";
  std::cout << ")";
  if (failures) std::cout << "; " << failures << " failed";
  std::cout << "\n";
  return failures ? 1 : 0;
}

// Joins shard directories into `out_dir`: for a sweep every run's JSON and the unsharded
// summary.csv, for a report the unsharded report.
int merge_command(const std::vector<std::string>& dirs, const fs::path& out_dir,
                  const std::string& gnuplot) {
  std::vector<fs::path> paths(dirs.begin(), dirs.end());
  for (const auto& dir : paths) {
    if (fs::exists(out_dir) && fs::exists(dir) && fs::equivalent(dir, out_dir)) {
      throw std::runtime_error("merge: --out '" + out_dir.string() +
                               "' is one of the shard directories; expected a new directory");
    }
  }
  if (!paths.empty() && is_report_shard(paths.front())) {
    const Recommendation rec = merge_report_shards(paths, out_dir, gnuplot);
    std::cout << "report of " << dirs.size() << " shards written to "
              << (out_dir / "README.md").string()
              << " (recommended: " << (rec.chosen ? rec.policy_label : "none within the budget")
              << ")\n";
    return 0;
  }
  const MergedSweep merged = merge_sweep_shards(paths);
  fs::create_directories(out_dir);
  for (const auto& file : merged.run_files) {
    fs::copy_file(file, out_dir / file.filename(), fs::copy_options::overwrite_existing);
  }
  write_file(out_dir / "summary.csv", merged.summary_csv);
  std::cout << merged.run_files.size() << " runs of " << dirs.size() << " shards merged into "
            << out_dir.string() << " (summary.csv)\n";
  return 0;
}

// Re-runs the scenario embedded in a run's JSON and compares everything but the wall clock.
int replay_command(const std::string& json_path, const std::string& json_out) {
  std::ifstream in(json_path);
  if (!in) throw std::runtime_error("replay: cannot read '" + json_path + "'");
  nlohmann::ordered_json recorded = nlohmann::ordered_json::parse(in);
  if (!recorded.contains("scenario")) {
    throw std::runtime_error("replay: '" + json_path +
                             "' has no \"scenario\" object; expected a weightsync-sim run JSON");
  }
  const Scenario scenario = parse_scenario(recorded["scenario"]);
  const RunResult result = run_simulation(scenario);
  if (!json_out.empty()) write_file(json_out, run_json_text(result, true));
  for (const auto& field : wall_clock_fields()) recorded.erase(field);
  const nlohmann::ordered_json replayed = to_json(result, false);
  if (recorded.dump() == replayed.dump()) {
    std::cout << "replay of " << json_path << " (seed " << scenario.seed
              << "): identical to the recorded run\n";
    return 0;
  }
  std::cout << "replay of " << json_path << " (seed " << scenario.seed
            << "): DIFFERS from the recorded run\n";
  for (const auto& [key, value] : replayed.items()) {
    if (!recorded.contains(key) || recorded[key] != value) {
      std::cout << "  " << key << ": recorded "
                << (recorded.contains(key) ? recorded[key].dump() : "(missing)") << ", replayed "
                << value.dump() << "\n";
    }
  }
  return 1;
}

int report_command(const ReportOptions& options,
                   const std::optional<weightsync::fake::JobShard>& shard) {
  ProgressBar bar(isatty(STDOUT_FILENO) != 0);
  if (shard) {
    const std::size_t runs = write_report_shard(
        options, *shard, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
    std::cout << runs << " runs of report shard " << shard->text() << " written to "
              << (options.out_dir / kReportShardFile).string()
              << "; join every shard's directory with `weightsync-sim merge`\n";
    return 0;
  }
  const Recommendation rec =
      write_report(options, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
  std::cout << "report written to " << (options.out_dir / "README.md").string() << " ("
            << (rec.chosen
                    ? "recommended within staleness budget " +
                          std::to_string(options.staleness_budget) + ": " + rec.policy_label
                    : "no policy fits staleness budget " + std::to_string(options.staleness_budget))
            << ")\n";
  return 0;
}

// Runs the calibration cases and prints published vs simulated; exit 1 if a check fails.
int calibrate_command(const std::string& dir, const std::string& markdown_out) {
  const std::vector<CalibrationCheck> checks = run_calibration(dir);
  std::cout << calibration_table(checks, false);
  if (!markdown_out.empty()) write_file(markdown_out, calibration_table(checks, true));
  const auto failed = std::count_if(checks.begin(), checks.end(),
                                    [](const CalibrationCheck& c) { return !c.ok(); });
  std::cout << checks.size() << " checks, " << failed << " failed\n";
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "weightsync-sim: deterministic simulation of RL weight-sync policies, with the "
      "production WeightSyncer driving a fake deployment on a virtual clock"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("--verbose", verbose, "Show the library's log messages (hidden by default)");

  std::string scenario_path;
  ScenarioOverrides overrides;
  std::string json_out;
  bool no_wall = false;
  auto* run = app.add_subcommand("run", "Run one scenario");
  run->add_option("--scenario", scenario_path, "Scenario JSON file")->required();
  run->add_option("--policy", overrides.policy, "Sync policy (see `policies`)");
  run->add_option("--interval", overrides.interval, "Sync every N steps");
  run->add_option("--staleness", overrides.staleness_bound, "Staleness bound k (async)");
  run->add_option("--steps", overrides.steps, "Training steps");
  run->add_option("--seed", overrides.seed, "Seed");
  run->add_option("--json", json_out, "Write the run's JSON here ('-': stdout)");
  run->add_flag("--no-wall", no_wall,
                "Leave the wall-clock fields out of the JSON (byte-comparable output)");

  SweepSpec spec;
  std::optional<int> sweep_steps;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string out_dir;
  auto* sweep = app.add_subcommand("sweep", "Run a grid of policies x intervals x seeds");
  sweep->add_option("--scenario", scenario_path, "Scenario JSON file")->required();
  sweep->add_option("--policies", spec.policies, "Policies")->delimiter(',');
  sweep->add_option("--intervals", spec.intervals, "Sync intervals")->delimiter(',');
  sweep->add_option("--staleness", spec.staleness_bounds, "Staleness bounds (async)")
      ->delimiter(',');
  sweep->add_option("--seeds", spec.seeds, "Seeds")->delimiter(',');
  sweep->add_option("--steps", sweep_steps, "Training steps (overrides the scenario)");
  sweep->add_option("--jobs", jobs, "Runs in parallel (threads)")->check(CLI::Range(1, 1024));
  sweep->add_option("--out", out_dir, "Directory for one JSON per run and summary.csv")->required();
  std::string shard_text;
  sweep->add_option("--shard", shard_text,
                    "K/N: run only task K's share of the grid (every N-th run from run K, K "
                    "from 0), for job arrays; join the N outputs with `merge`");
  bool sweep_no_wall = false;
  sweep->add_flag("--no-wall", sweep_no_wall,
                  "Leave the wall-clock figures out (byte-comparable JSON and summary.csv)");

  std::vector<std::string> merge_dirs;
  std::string merge_out;
  auto* merge = app.add_subcommand(
      "merge",
      "Join the --out directories of every shard of a sweep into one summary.csv, or of every "
      "shard of a report into its README.md, PNGs and data/");
  merge->add_option("dirs", merge_dirs, "The shard directories")->required();
  merge
      ->add_option("--out", merge_out,
                   "Directory for every run's JSON and summary.csv (or the report)")
      ->required();
  std::string merge_gnuplot = "gnuplot";
  merge->add_option("--gnuplot", merge_gnuplot,
                    "The gnuplot program, for report shards (default gnuplot)");

  std::string replay_json;
  std::string replay_out;
  auto* replay = app.add_subcommand("replay", "Re-run a run from its JSON and compare");
  replay->add_option("--json", replay_json, "A run's JSON (from run --json or sweep)")->required();
  replay->add_option("--out", replay_out, "Also write the replayed run's JSON here");

  ReportOptions report_options;
  report_options.jobs = jobs;
  std::string report_scenario;
  std::string report_out;
  auto* report = app.add_subcommand(
      "report",
      "Run every policy (every step, every 2/4/8/16, async k=1/2/4, sampler refresh 1/2/4/8/16) "
      "over a scenario with and without faults and write DIR/README.md with tables, gnuplot PNGs "
      "and a recommendation");
  report->add_option("--scenario", report_scenario, "Scenario JSON file")->required();
  report->add_option("--out", report_out, "Directory for README.md, the PNGs and data/")
      ->required();
  report
      ->add_option("--budget", report_options.staleness_budget,
                   "Staleness budget K: the recommendation keeps p99 staleness <= K (default 2)")
      ->check(CLI::Range(0, 1000000));
  report->add_option("--steps", report_options.steps, "Training steps (overrides the scenario)");
  report->add_option("--seeds", report_options.seeds, "Seeds (default 1,2,3)")->delimiter(',');
  report->add_option("--jobs", report_options.jobs, "Runs in parallel (threads)")
      ->check(CLI::Range(1, 1024));
  report->add_option("--gnuplot", report_options.gnuplot, "The gnuplot program (default gnuplot)");
  std::string report_shard_text;
  report->add_option("--shard", report_shard_text,
                     "K/N: run only task K's share of the grid (every N-th run from run K, K "
                     "from 0) and write DIR/report-shard.json; `merge` renders the report from "
                     "all N");

  std::string calibration_dir = WEIGHTSYNC_SIM_CALIBRATION_DIR;
  std::string calibration_md;
  auto* calibrate = app.add_subcommand(
      "calibrate",
      "Run the calibration cases (published measurements) and print published vs "
      "simulated side by side; exit 1 if one is outside its tolerance");
  calibrate->add_option("--dir", calibration_dir, "Directory of case files (default: the suite)");
  calibrate->add_option("--markdown", calibration_md, "Also write the table as Markdown here");

  auto* policies = app.add_subcommand("policies", "List the sync policies");

  CLI11_PARSE(app, argc, argv);
  if (!verbose) weightsync::set_log_sink([](weightsync::LogLevel, std::string_view) {});
  try {
    if (*run) return run_command(scenario_path, overrides, json_out, no_wall);
    if (*sweep) {
      std::optional<weightsync::fake::JobShard> shard;
      if (!shard_text.empty()) shard = weightsync::fake::parse_job_shard(shard_text, "--shard");
      return sweep_command(scenario_path, spec, sweep_steps, jobs, out_dir, shard, !sweep_no_wall);
    }
    if (*merge) return merge_command(merge_dirs, merge_out, merge_gnuplot);
    if (*replay) return replay_command(replay_json, replay_out);
    if (*report) {
      report_options.scenario_path = report_scenario;
      report_options.out_dir = report_out;
      report_options.calibration_dir = WEIGHTSYNC_SIM_CALIBRATION_DIR;
      std::optional<weightsync::fake::JobShard> shard;
      if (!report_shard_text.empty()) {
        shard = weightsync::fake::parse_job_shard(report_shard_text, "--shard");
      }
      return report_command(report_options, shard);
    }
    if (*calibrate) return calibrate_command(calibration_dir, calibration_md);
    if (*policies) {
      for (const auto& entry : policy_registry()) {
        std::cout << entry.name << "\t" << entry.summary << "\n";
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "weightsync-sim: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
