// Staleness and cost per sync policy: every preset scenario under every policy of the report's
// grid (every step; every 2, 4, 8, 16; async k = 1, 2, 4; sampler refresh every 1, 2, 4, 8,
// 16), one simulated run each through run_simulation (the production library against the fake
// deployment on a virtual clock). The counters are the simulation's outputs; the time is what the
// simulator took to produce them.
//
//   weightsync_bench_policies [--steps=N] [--seed=N] [--benchmark_out=FILE.json ...]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "bench_flags.h"
#include "weightsync/log.h"
#include "weightsync/sim/report.h"
#include "weightsync/sim/simulation.h"

namespace {

using namespace weightsync::sim;

// Steps per preset: enough syncs at interval 16 for stable figures, and the whole program in
// well under a minute of CPU.
struct Preset {
  const char* name;
  int steps;
};
constexpr Preset kPresets[] = {
    {"8b-dense-1node", 2000},
    {"8b-dense-1node-faults", 2000},
    {"235b-moe", 1000},
    {"1t-moe", 500},
};

void run_policy(benchmark::State& state, const Scenario& scenario) {
  RunResult r;
  for (auto _ : state) {
    try {
      r = run_simulation(scenario);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());  // names the scenario and its seed
      return;
    }
  }
  if (r.verification_failures > 0) {
    const std::string message = "scenario '" + scenario.name + "' seed " +
                                std::to_string(scenario.seed) + ": " +
                                std::to_string(r.verification_failures) +
                                " syncs served bytes other than the trainer's snapshot";
    state.SkipWithError(message.c_str());
    return;
  }
  const double steps = static_cast<double>(r.steps);
  state.counters["staleness_mean"] = r.staleness.mean;
  state.counters["staleness_p99"] = r.staleness.p99;
  state.counters["staleness_max"] = r.staleness.max;
  state.counters["sync_overhead_pct"] = 100 * r.sync_overhead_fraction;
  state.counters["trainer_idle_pct"] = 100 * r.trainer_idle_fraction;
  state.counters["steps_per_hour"] = r.steps_per_hour;
  state.counters["mb_per_step"] = static_cast<double>(r.bytes_base + r.bytes_delta) / 1e6 / steps;
  state.counters["failed_syncs"] = static_cast<double>(r.failed_syncs);
  state.counters["recoveries"] = static_cast<double>(r.recoveries);
  state.counters["steps"] = steps;
  state.counters["seed"] = static_cast<double>(r.seed);
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::int64_t> steps;
  std::optional<std::int64_t> seed;
  try {
    steps = weightsync::bench::take_flag(argc, argv, "steps");
    seed = weightsync::bench::take_flag(argc, argv, "seed");
  } catch (const std::exception& e) {
    std::cerr << "weightsync_bench_policies: " << e.what() << "\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  weightsync::set_log_sink([](weightsync::LogLevel, std::string_view) {});

  const std::filesystem::path dir = WEIGHTSYNC_SIM_SCENARIO_DIR;
  for (const Preset& preset : kPresets) {
    Scenario base;
    try {
      base = load_scenario(dir / (std::string(preset.name) + ".json"));
    } catch (const std::exception& e) {
      std::cerr << "weightsync_bench_policies: " << e.what() << "\n";
      return 2;
    }
    for (const ReportPolicy& p : report_policies()) {
      ScenarioOverrides o;
      o.policy = p.name;
      o.interval = p.interval;
      o.staleness_bound = p.staleness_bound;
      o.steps = static_cast<int>(steps.value_or(preset.steps));
      if (seed) o.seed = static_cast<std::uint64_t>(*seed);
      const Scenario scenario = apply_overrides(base, o);
      std::string label = p.label;
      for (char& c : label) c = c == ' ' ? '_' : c;
      benchmark::RegisterBenchmark(("BM_Policy/" + std::string(preset.name) + "/" + label).c_str(),
                                   run_policy, scenario)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
