// Expanding a sweep and running it on a pool of threads.
#include "weightsync/sim/sweep.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "weightsync/sim/simulation.h"

namespace weightsync::sim {

std::vector<Scenario> expand_sweep(const SweepSpec& spec) {
  const Scenario& base = spec.base;
  const auto policies =
      spec.policies.empty() ? std::vector<std::string>{base.policy.name} : spec.policies;
  const auto intervals =
      spec.intervals.empty() ? std::vector<int>{base.policy.interval} : spec.intervals;
  const auto bounds = spec.staleness_bounds.empty() ? std::vector<int>{base.policy.staleness_bound}
                                                    : spec.staleness_bounds;
  const auto seeds = spec.seeds.empty() ? std::vector<std::uint64_t>{base.seed} : spec.seeds;

  std::vector<Scenario> runs;
  std::set<std::tuple<std::string, int, int, std::uint64_t>> seen;
  for (const auto& policy : policies) {
    for (int interval : intervals) {
      for (int bound : bounds) {
        for (std::uint64_t seed : seeds) {
          ScenarioOverrides o;
          o.policy = policy;
          o.interval = policy == "every_step" ? base.policy.interval : interval;
          o.staleness_bound = policy == "async" ? bound : base.policy.staleness_bound;
          o.seed = seed;
          if (!seen.insert({policy, *o.interval, *o.staleness_bound, seed}).second) continue;
          runs.push_back(apply_overrides(base, o));
        }
      }
    }
  }
  return runs;
}

std::vector<SweepOutcome> run_sweep(const std::vector<Scenario>& runs, int jobs,
                                    const std::function<void(std::size_t, std::size_t)>& progress) {
  std::vector<SweepOutcome> outcomes(runs.size());
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex mutex;
  auto worker = [&] {
    for (std::size_t i = next++; i < runs.size(); i = next++) {
      SweepOutcome outcome{runs[i], std::nullopt, ""};
      try {
        outcome.result = run_simulation(runs[i]);
      } catch (const std::exception& e) {
        outcome.error = e.what();
      }
      std::lock_guard lock(mutex);
      outcomes[i] = std::move(outcome);
      ++done;
      if (progress) progress(done, runs.size());
    }
  };
  const int threads = std::clamp(jobs, 1, static_cast<int>(std::max<std::size_t>(runs.size(), 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();
  return outcomes;
}

std::string run_file_name(const Scenario& s) {
  return s.policy.name + "-i" + std::to_string(s.policy.interval) + "-k" +
         std::to_string(s.policy.staleness_bound) + "-s" + std::to_string(s.seed) + ".json";
}

}  // namespace weightsync::sim
