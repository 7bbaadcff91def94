// Simulator throughput: sync cycles per second and simulated-to-wall time ratio for the default
// 8B scenario (every-step sync, the preset's 10,000 steps), one thread. Goals: at least 5,000
// cycles per second on one core and 100,000x faster than simulated time.
//
//   weightsync_bench_simulator [--steps=N] [--benchmark_out=FILE.json ...]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <iostream>

#include "bench_flags.h"
#include "weightsync/log.h"
#include "weightsync/sim/simulation.h"

namespace {

using namespace weightsync::sim;

void BM_SimulatorThroughput(benchmark::State& state, const Scenario& scenario) {
  double cycles = 0;
  double wall = 0;
  double cpu = 0;
  double simulated = 0;
  for (auto _ : state) {
    RunResult r;
    try {
      r = run_simulation(scenario);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());  // names the scenario and its seed
      return;
    }
    cycles += static_cast<double>(r.syncs + r.failed_syncs);
    wall += r.wall_seconds;
    cpu += r.cpu_seconds;
    simulated += r.simulated_seconds;
  }
  state.counters["cycles_per_second"] = cycles / wall;
  state.counters["cycles_per_cpu_second"] = cycles / cpu;
  state.counters["sim_to_wall_ratio"] = simulated / wall;
  state.counters["sim_to_cpu_ratio"] = simulated / cpu;
  state.counters["cycles_per_run"] = cycles / static_cast<double>(state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::int64_t> steps;
  Scenario scenario;
  try {
    steps = weightsync::bench::take_flag(argc, argv, "steps");
    scenario =
        load_scenario(std::filesystem::path(WEIGHTSYNC_SIM_SCENARIO_DIR) / "8b-dense-1node.json");
    ScenarioOverrides o;
    o.policy = "every_step";
    if (steps) o.steps = static_cast<int>(*steps);
    scenario = apply_overrides(scenario, o);
  } catch (const std::exception& e) {
    std::cerr << "weightsync_bench_simulator: " << e.what() << "\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  weightsync::set_log_sink([](weightsync::LogLevel, std::string_view) {});
  benchmark::RegisterBenchmark("BM_SimulatorThroughput/8b-dense-1node/every_step",
                               BM_SimulatorThroughput, scenario)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
