// What the report's parts share: the summarised grid, and the writers of its plots and its page.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "weightsync/sim/calibration.h"
#include "weightsync/sim/report.h"
#include "weightsync/sim/sweep.h"

namespace weightsync::sim {

struct ReportData {
  ReportOptions options;
  Scenario scenario;  // as run: the steps override applied
  std::vector<std::uint64_t> seeds;
  // The scenario as given (with its own faults, if any): tables, plots, recommendation.
  std::vector<PolicySummary> main;
  // The same grid with faults (the scenario's, or the reference plan) and without any.
  std::vector<PolicySummary> faulty;
  std::vector<PolicySummary> clean;
  fake::FaultPlan faults;         // the plan behind `faulty`
  bool reference_faults = false;  // the scenario has none; `faults` is reference_fault_plan()
  Recommendation recommendation;
  std::vector<CalibrationCheck> calibration;  // empty: not run
};

// Computing a report is split so that a job array can share it out (report_shards.h): plan the
// grid, run it (all of it, or a shard's share), summarize the results, render the files.

// The options resolved: the scenario as run (loaded, steps applied), the seeds and the fault plan.
ReportData plan_report(const ReportOptions& options);
// The same with the scenario as run given (a shard's manifest holds it).
ReportData plan_report(const ReportOptions& options, const Scenario& scenario);

// One run of the grid.
struct ReportRun {
  Scenario scenario;  // policy and seed applied, faults or none
  std::string label;  // the policy's label
  bool faulty = false;
  std::string name() const;  // "faults / async k=2 / seed 3"
};
// Every policy x every seed without faults, then the same with the plan's faults.
std::vector<ReportRun> report_runs(const ReportData& plan);
// The outcome's result; throws (with the scenario and seed) for a run that failed or served
// bytes other than the trainer's.
const RunResult& checked_report_result(const ReportRun& run, const SweepOutcome& outcome);
// Fills clean, faulty, main and the recommendation from one result per run of report_runs(data),
// in that order.
void summarize_report(ReportData& data, const std::vector<RunResult>& results);
// Writes options.out_dir: README.md, the PNGs and data/.
void render_report(const ReportData& data);
// Writes `text` to `path` as is; throws std::runtime_error naming the path.
void write_text(const std::filesystem::path& path, const std::string& text);

// File names of the plots, relative to the report's folder.
inline constexpr const char* kStalenessPlot = "staleness_vs_interval.png";
inline constexpr const char* kThroughputPlot = "throughput_vs_interval.png";
inline constexpr const char* kBytesPlot = "bytes_vs_interval.png";
inline constexpr const char* kHistogramPlot = "staleness_histogram.png";
inline constexpr const char* kFaultPlot = "failed_sync_time.png";

// Minutes the trainer lost per 100 steps: inside failed syncs, and in all (faulty vs clean).
double failed_minutes_per_100_steps(const PolicySummary& faulty, int steps);
double extra_minutes_per_100_steps(const PolicySummary& faulty, const PolicySummary& clean,
                                   int steps);

// Writes out_dir/data/*.dat and out_dir/data/plots.gp, then runs gnuplot in out_dir.
void write_plots(const ReportData& data, const std::filesystem::path& out_dir);

// The report's README.md.
std::string report_markdown(const ReportData& data);

// "%.*f" without locale surprises.
std::string fixed(double value, int decimals);
// At least `digits` significant digits, never in exponent form: 1.11, 76.2, 16000.
std::string significant(double value, int digits);

}  // namespace weightsync::sim
