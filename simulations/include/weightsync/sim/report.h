// The sync-policy report: one scenario run under a fixed grid of policies (every step, every
// 2/4/8/16, async k = 1/2/4, the service client's sampler refresh every 1/2/4/8/16) and seeds, with and without faults, summarised as a markdown page
// with gnuplot plots and a recommendation computed from the numbers: the policy with the most
// steps per hour whose p99 staleness stays within the user's budget.
//
// Everything written is a pure function of the scenario, the grid and the seeds (no wall-clock
// figure), so a report regenerated from the same inputs is byte-identical.
// Thread-safety: write_report runs its grid on `jobs` threads of its own; call it from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/sim/metrics.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {

// One policy of the report's grid.
struct ReportPolicy {
  std::string label;  // "every step", "every 4", "async k=2"
  std::string name;   // the registry's policy name
  int interval = 1;
  int staleness_bound = 1;  // async only
  bool asynchronous() const { return name == "async"; }
  bool sampler_refresh() const { return name == "sampler_refresh"; }
};

// every step; every 2, 4, 8, 16; async k = 1, 2, 4 (syncing every step); the service client's
// sampler refresh every 1, 2, 4, 8, 16 steps.
const std::vector<ReportPolicy>& report_policies();

// One policy's runs over the seeds: means, except where the worst seed is the honest figure.
struct PolicySummary {
  ReportPolicy policy;
  int seeds = 0;
  double staleness_mean = 0;
  int staleness_p99 = 0;                          // the worst seed's
  int staleness_max = 0;                          // the worst seed's
  std::vector<std::int64_t> staleness_histogram;  // summed over seeds
  double steps_per_hour = 0;
  double steps_per_hour_min = 0;  // the slowest seed
  double steps_per_hour_max = 0;  // the fastest seed
  double tokens_per_second = 0;   // prompt and generated tokens trained on per simulated second
  double mb_per_step = 0;         // snapshot bytes saved per training step, 1 MB = 1e6 bytes
  double sync_overhead_pct = 0;
  double trainer_idle_pct = 0;
  double dropped_pct = 0;  // samples dropped / generated
  double failed_syncs = 0;
  double recoveries = 0;
  double failed_sync_seconds = 0;
  double time_to_recover_mean_s = 0;
  double simulated_seconds = 0;
};

// Summarises the runs of one policy (all of the same scenario and policy, different seeds).
PolicySummary summarize(const ReportPolicy& policy, const std::vector<RunResult>& runs);

struct Recommendation {
  std::optional<std::size_t> chosen;  // index into the summaries; nothing: none fits the budget
  std::string policy_label;           // the chosen policy's label, or empty
  std::string text;                   // markdown, every figure taken from the summaries
};

// The policy with the most steps per hour whose p99 staleness is at most `budget`. Without one,
// says so and names the least stale policy instead.
Recommendation recommend(const std::vector<PolicySummary>& summaries, int budget);

// The fault plan a report applies when the scenario has none: the probabilities of the
// 8b-dense-1node-faults preset, so the "time lost to failed syncs" section always has data.
fake::FaultPlan reference_fault_plan();

struct ReportOptions {
  std::filesystem::path scenario_path;  // as the user gave it: quoted in the report
  std::filesystem::path out_dir;
  int staleness_budget = 2;
  std::optional<int> steps;          // nothing: the scenario's
  std::vector<std::uint64_t> seeds;  // empty: 1, 2, 3
  int jobs = 1;
  std::string gnuplot = "gnuplot";  // the program that draws the PNGs
  // The calibration suite whose status the report shows ("": the section says it was not run).
  std::filesystem::path calibration_dir;
};

// Runs the grid, writes out_dir/README.md, the PNGs and out_dir/data/ (the numbers behind every
// table and plot, and the gnuplot script). `progress(done, total)` follows each finished run.
// Returns the recommendation. Throws ScenarioError for a bad scenario, std::runtime_error (with
// the scenario and seed) for a run that fails or serves wrong bytes, or when gnuplot fails.
Recommendation write_report(const ReportOptions& options,
                            const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace weightsync::sim
