// One simulated RL run: a fake trainer and fake deployment (weightsync::fake) holding real proxy
// bytes, driven by the production WeightSyncer and DeploymentManager through the in-process
// transport, on a VirtualClock; the rollout side is the Sampler; a SyncPolicy decides when to
// sync. Sizes and durations follow the scenario's real model.
//
// Thread-safety: run_simulation builds its own world, so runs on different threads are
// independent (the library's log sink is shared: install a thread-safe one).
#pragma once

#include <stdexcept>
#include <string>

#include "weightsync/sim/metrics.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {

// Command-line style overrides of a scenario (unset fields keep the scenario's values).
struct ScenarioOverrides {
  std::optional<std::string> policy;
  std::optional<int> interval;
  std::optional<int> staleness_bound;
  std::optional<int> steps;
  std::optional<std::uint64_t> seed;
};

// Applies the overrides and validates the result (throws ScenarioError naming the field).
Scenario apply_overrides(Scenario scenario, const ScenarioOverrides& overrides);

// A run that could not go on: the simulated world stalled (no event can make progress), the
// replicas stayed behind through every catch-up sync, or the fake refused the setup. The message
// starts with the scenario's name and seed.
class SimulationError : public std::runtime_error {
 public:
  SimulationError(const Scenario& scenario, const std::string& message);
};

// Runs the scenario to its last step. Throws SimulationError.
RunResult run_simulation(const Scenario& scenario);

}  // namespace weightsync::sim
