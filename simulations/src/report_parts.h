// What the report's parts share: the summarised grid, and the writers of its plots and its page.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "weightsync/sim/calibration.h"
#include "weightsync/sim/report.h"

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
