// Sweeps: the cartesian product of policies, intervals, staleness bounds and seeds over one
// scenario, run in parallel on threads (each run is an independent world). For more than one
// machine, split the grid over a job array (sweep_shards.h): runs share nothing.
//
// Thread-safety: run_sweep is called from one thread; it calls `progress` from one thread at a
// time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/sim/metrics.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {

struct SweepSpec {
  Scenario base;
  std::vector<std::string> policies;  // empty: the scenario's policy
  std::vector<int> intervals;         // empty: the scenario's interval
  std::vector<int> staleness_bounds;  // empty: the scenario's bound
  std::vector<std::uint64_t> seeds;   // empty: the scenario's seed
};

// The distinct runs, in a fixed order (policy, interval, bound, seed). The interval does not
// vary every_step and the bound varies only async, so duplicates collapse. Each scenario is
// validated (throws ScenarioError).
std::vector<Scenario> expand_sweep(const SweepSpec& spec);

struct SweepOutcome {
  Scenario scenario;
  std::optional<RunResult> result;  // nothing: the run threw
  std::string error;                // its message (with the seed)
};

// Runs every scenario on `jobs` threads (at least 1). `progress(done, total)` follows each
// finished run. Outcomes come back in the order of `runs`.
std::vector<SweepOutcome> run_sweep(const std::vector<Scenario>& runs, int jobs,
                                    const std::function<void(std::size_t, std::size_t)>& progress);

// A file name for the run's JSON: "{policy}-i{interval}-k{bound}-s{seed}.json".
std::string run_file_name(const Scenario& scenario);

}  // namespace weightsync::sim
