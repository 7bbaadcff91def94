// The report's grid, its summaries and the recommendation computed from them.
#include "weightsync/sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <tuple>

#include "report_parts.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/sweep.h"

namespace weightsync::sim {

namespace fs = std::filesystem;

const std::vector<ReportPolicy>& report_policies() {
  static const std::vector<ReportPolicy> policies = {
      {"every step", "every_step", 1, 1},
      {"every 2", "every_n", 2, 1},
      {"every 4", "every_n", 4, 1},
      {"every 8", "every_n", 8, 1},
      {"every 16", "every_n", 16, 1},
      {"async k=1", "async", 1, 1},
      {"async k=2", "async", 1, 2},
      {"async k=4", "async", 1, 4},
      {"refresh 1", "sampler_refresh", 1, 1},
      {"refresh 2", "sampler_refresh", 2, 1},
      {"refresh 4", "sampler_refresh", 4, 1},
      {"refresh 8", "sampler_refresh", 8, 1},
      {"refresh 16", "sampler_refresh", 16, 1},
  };
  return policies;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return fixed(value, 0);
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  return fixed(value, std::max(0, digits - 1 - magnitude));
}

PolicySummary summarize(const ReportPolicy& policy, const std::vector<RunResult>& runs) {
  PolicySummary s;
  s.policy = policy;
  s.seeds = static_cast<int>(runs.size());
  if (runs.empty()) return s;
  const double n = static_cast<double>(runs.size());
  double generated = 0;
  double dropped = 0;
  s.steps_per_hour_min = runs.front().steps_per_hour;
  s.steps_per_hour_max = runs.front().steps_per_hour;
  for (const RunResult& r : runs) {
    s.staleness_mean += r.staleness.mean / n;
    s.staleness_p99 = std::max(s.staleness_p99, r.staleness.p99);
    s.staleness_max = std::max(s.staleness_max, r.staleness.max);
    if (s.staleness_histogram.size() < r.staleness.histogram.size()) {
      s.staleness_histogram.resize(r.staleness.histogram.size(), 0);
    }
    for (std::size_t i = 0; i < r.staleness.histogram.size(); ++i) {
      s.staleness_histogram[i] += r.staleness.histogram[i];
    }
    s.steps_per_hour += r.steps_per_hour / n;
    s.steps_per_hour_min = std::min(s.steps_per_hour_min, r.steps_per_hour);
    s.steps_per_hour_max = std::max(s.steps_per_hour_max, r.steps_per_hour);
    s.tokens_per_second += r.tokens_per_second / n;
    s.mb_per_step += static_cast<double>(r.bytes_base + r.bytes_delta) / 1e6 /
                     std::max(1.0, static_cast<double>(r.steps)) / n;
    s.sync_overhead_pct += 100 * r.sync_overhead_fraction / n;
    s.trainer_idle_pct += 100 * r.trainer_idle_fraction / n;
    generated += static_cast<double>(r.samples_generated);
    dropped += static_cast<double>(r.samples_dropped);
    s.failed_syncs += static_cast<double>(r.failed_syncs) / n;
    s.recoveries += static_cast<double>(r.recoveries) / n;
    s.failed_sync_seconds += r.failed_sync_seconds / n;
    s.time_to_recover_mean_s += r.time_to_recover_mean_s / n;
    s.simulated_seconds += r.simulated_seconds / n;
  }
  s.dropped_pct = generated > 0 ? 100 * dropped / generated : 0;
  return s;
}

double failed_minutes_per_100_steps(const PolicySummary& faulty, int steps) {
  return faulty.failed_sync_seconds / 60 * 100 / std::max(1, steps);
}

double extra_minutes_per_100_steps(const PolicySummary& faulty, const PolicySummary& clean,
                                   int steps) {
  return (faulty.simulated_seconds - clean.simulated_seconds) / 60 * 100 / std::max(1, steps);
}

namespace {

std::string staleness_figures(const PolicySummary& s) {
  return "staleness mean " + fixed(s.staleness_mean, 2) + ", p99 " +
         std::to_string(s.staleness_p99) + ", max " + std::to_string(s.staleness_max);
}

std::string throughput(const PolicySummary& s) {
  return significant(s.steps_per_hour, 3) + " steps/hour";
}

const PolicySummary* find_label(const std::vector<PolicySummary>& summaries,
                                const std::string& label) {
  for (const auto& s : summaries) {
    if (s.policy.label == label) return &s;
  }
  return nullptr;
}

}  // namespace

Recommendation recommend(const std::vector<PolicySummary>& summaries, int budget) {
  Recommendation rec;
  std::vector<std::size_t> within;
  std::vector<std::size_t> over;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    (summaries[i].staleness_p99 <= budget ? within : over).push_back(i);
  }
  const auto faster = [&](std::size_t a, std::size_t b) {
    return summaries[a].steps_per_hour > summaries[b].steps_per_hour;
  };
  // Stable: a tie (sampler_refresh times like every_n) goes to the policy listed first.
  std::stable_sort(within.begin(), within.end(), faster);
  std::stable_sort(over.begin(), over.end(), faster);
  const std::string budget_text = "a staleness budget of **" + std::to_string(budget) +
                                  "** (p99 staleness of the samples trained on, worst seed)";
  if (within.empty()) {
    if (summaries.empty()) {
      rec.text = "No policy was run, so there is nothing to recommend.";
      return rec;
    }
    const auto least = std::min_element(summaries.begin(), summaries.end(),
                                        [](const PolicySummary& a, const PolicySummary& b) {
                                          return std::tie(a.staleness_p99, a.staleness_mean) <
                                                 std::tie(b.staleness_p99, b.staleness_mean);
                                        });
    rec.text = "No policy stays within " + budget_text + ". The least stale is **" +
               least->policy.label + "** (" + staleness_figures(*least) + ", " +
               throughput(*least) + "); a budget of " + std::to_string(least->staleness_p99) +
               " admits it.";
    return rec;
  }
  rec.chosen = within.front();
  const PolicySummary& best = summaries[within.front()];
  rec.policy_label = best.policy.label;
  std::string text = "With " + budget_text + ", **" + best.policy.label +
                     "** gives the most throughput: **" + throughput(best) + "**";
  const PolicySummary* every_step = find_label(summaries, "every step");
  if (every_step && every_step != &best && every_step->steps_per_hour > 0) {
    text += " (" + fixed(best.steps_per_hour / every_step->steps_per_hour, 2) + "x every step's " +
            significant(every_step->steps_per_hour, 3) + ")";
  }
  text += ", at " + staleness_figures(best) + ", moving " + significant(best.mb_per_step, 3) +
          " MB of snapshots per step.";
  if (within.size() > 1) {
    const PolicySummary& second = summaries[within[1]];
    text += " The next best within the budget is " + second.policy.label + " at " +
            throughput(second) + " (" +
            fixed(100 * (1 - second.steps_per_hour / best.steps_per_hour), 1) + "% fewer)";
    text += second.steps_per_hour_max >= best.steps_per_hour_min
                ? "; the two overlap across seeds, so they are equivalent here."
                : "; no seed of it reaches the slowest seed of " + best.policy.label + ".";
  }
  if (!over.empty()) {
    std::string names;
    for (std::size_t i : over) {
      names += (names.empty() ? "" : ", ") + summaries[i].policy.label + " (p99 " +
               std::to_string(summaries[i].staleness_p99) + ")";
    }
    text += " Over the budget: " + names + ".";
    const PolicySummary& fastest = summaries[over.front()];
    if (fastest.steps_per_hour > best.steps_per_hour) {
      text += " The fastest of them, " + fastest.policy.label + ", would add " +
              fixed(100 * (fastest.steps_per_hour / best.steps_per_hour - 1), 1) +
              "% steps per hour at p99 staleness " + std::to_string(fastest.staleness_p99) +
              (fastest.steps_per_hour_min <= best.steps_per_hour_max
                   ? ", within the seed-to-seed spread: the budget costs nothing measurable."
                   : ": raise the budget to " + std::to_string(fastest.staleness_p99) +
                         " only if the algorithm tolerates that staleness.");
    } else {
      text += " None of them is faster, so a larger budget buys nothing here.";
    }
  }
  rec.text = text;
  return rec;
}

fake::FaultPlan reference_fault_plan() {
  using fake::FaultKind;
  fake::FaultPlan f;
  set_fault_probability(f, FaultKind::save_failure, 0.01);
  set_fault_probability(f, FaultKind::hotload_rejected, 0.02)->status = 503;
  set_fault_probability(f, FaultKind::load_error, 0.02);
  set_fault_probability(f, FaultKind::load_stuck, 0.005);
  set_fault_probability(f, FaultKind::slow_download, 0.05)->factor = 4;
  set_fault_probability(f, FaultKind::warmup_unavailable, 0.05);
  return f;
}

ReportData plan_report(const ReportOptions& options) {
  if (options.staleness_budget < 0) {
    throw std::invalid_argument("report: the staleness budget must be at least 0, got " +
                                std::to_string(options.staleness_budget));
  }
  Scenario scenario = load_scenario(options.scenario_path);
  if (options.steps) {
    scenario = apply_overrides(scenario, ScenarioOverrides{{}, {}, {}, options.steps, {}});
  }
  return plan_report(options, scenario);
}

ReportData plan_report(const ReportOptions& options, const Scenario& scenario) {
  ReportData data;
  data.options = options;
  data.scenario = scenario;
  data.seeds = options.seeds.empty() ? std::vector<std::uint64_t>{1, 2, 3} : options.seeds;
  data.reference_faults = data.scenario.faults.faults.empty();
  data.faults = data.reference_faults ? reference_fault_plan() : data.scenario.faults;
  return data;
}

std::vector<ReportRun> report_runs(const ReportData& plan) {
  std::vector<ReportRun> runs;
  for (const bool faulty : {false, true}) {
    Scenario base = plan.scenario;
    base.faults = faulty ? plan.faults : fake::FaultPlan{};
    for (const ReportPolicy& p : report_policies()) {
      for (std::uint64_t seed : plan.seeds) {
        ScenarioOverrides o;
        o.policy = p.name;
        o.interval = p.interval;
        o.staleness_bound = p.staleness_bound;
        o.seed = seed;
        runs.push_back({apply_overrides(base, o), p.label, faulty});
      }
    }
  }
  return runs;
}

std::string ReportRun::name() const {
  return std::string(faulty ? "faults" : "clean") + " / " + label + " / seed " +
         std::to_string(scenario.seed);
}

const RunResult& checked_report_result(const ReportRun& run, const SweepOutcome& outcome) {
  if (!outcome.result) throw std::runtime_error(outcome.error);
  if (outcome.result->verification_failures > 0) {
    throw SimulationError(run.scenario,
                          "policy " + run.label +
                              " served bytes that differ from the trainer's snapshot in " +
                              std::to_string(outcome.result->verification_failures) + " syncs");
  }
  return *outcome.result;
}

void summarize_report(ReportData& data, const std::vector<RunResult>& results) {
  const std::size_t per_policy = data.seeds.size();
  const std::size_t per_grid = report_policies().size() * per_policy;
  if (results.size() != 2 * per_grid) {
    throw std::logic_error("summarize_report: expected " + std::to_string(2 * per_grid) +
                           " results, got " + std::to_string(results.size()));
  }
  data.clean.clear();
  data.faulty.clear();
  for (std::size_t grid = 0; grid < 2; ++grid) {
    auto& summaries = grid == 0 ? data.clean : data.faulty;
    for (std::size_t p = 0; p < report_policies().size(); ++p) {
      const auto first =
          results.begin() + static_cast<std::ptrdiff_t>(grid * per_grid + p * per_policy);
      summaries.push_back(summarize(
          report_policies()[p],
          std::vector<RunResult>(first, first + static_cast<std::ptrdiff_t>(per_policy))));
    }
  }
  data.main = data.reference_faults ? data.clean : data.faulty;
  data.recommendation = recommend(data.main, data.options.staleness_budget);
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

void render_report(const ReportData& data) {
  fs::create_directories(data.options.out_dir / "data");
  write_plots(data, data.options.out_dir);
  write_text(data.options.out_dir / "README.md", report_markdown(data));
}

Recommendation write_report(const ReportOptions& options,
                            const std::function<void(std::size_t, std::size_t)>& progress) {
  ReportData data = plan_report(options);
  const std::vector<ReportRun> runs = report_runs(data);
  std::vector<Scenario> scenarios;
  for (const auto& run : runs) scenarios.push_back(run.scenario);
  const auto outcomes = run_sweep(scenarios, options.jobs, progress);
  std::vector<RunResult> results;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    results.push_back(checked_report_result(runs[i], outcomes[i]));
  }
  summarize_report(data, results);
  if (!options.calibration_dir.empty()) data.calibration = run_calibration(options.calibration_dir);
  render_report(data);
  return data.recommendation;
}

}  // namespace weightsync::sim
