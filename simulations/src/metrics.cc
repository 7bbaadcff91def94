// Staleness statistics and the run's JSON and CSV forms.
#include "weightsync/sim/metrics.h"

#include <cmath>
#include <sstream>

namespace weightsync::sim {

void StalenessRecorder::add(int staleness, std::int64_t count) {
  const auto index = static_cast<std::size_t>(std::max(staleness, 0));
  if (histogram_.size() <= index) histogram_.resize(index + 1, 0);
  histogram_[index] += count;
  count_ += count;
  sum_ += static_cast<double>(staleness) * static_cast<double>(count);
}

namespace {

// The smallest value whose cumulative count reaches ceil(q * n) (nearest rank).
int percentile(const std::vector<std::int64_t>& histogram, std::int64_t n, double q) {
  const auto rank =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(n))));
  std::int64_t seen = 0;
  for (std::size_t s = 0; s < histogram.size(); ++s) {
    seen += histogram[s];
    if (seen >= rank) return static_cast<int>(s);
  }
  return histogram.empty() ? 0 : static_cast<int>(histogram.size() - 1);
}

}  // namespace

StalenessStats StalenessRecorder::stats() const {
  StalenessStats s;
  s.count = count_;
  s.histogram = histogram_;
  if (count_ == 0) return s;
  s.mean = sum_ / static_cast<double>(count_);
  s.p50 = percentile(histogram_, count_, 0.50);
  s.p99 = percentile(histogram_, count_, 0.99);
  for (std::size_t i = histogram_.size(); i-- > 0;) {
    if (histogram_[i] > 0) {
      s.max = static_cast<int>(i);
      break;
    }
  }
  return s;
}

const std::vector<std::string>& wall_clock_fields() {
  static const std::vector<std::string> fields = {"wall_seconds", "cpu_seconds",
                                                  "cycles_per_second", "sim_to_wall_ratio"};
  return fields;
}

nlohmann::ordered_json to_json(const RunResult& r, bool include_wall) {
  nlohmann::ordered_json j;
  j["schema"] = "weightsync-sim-run/1";
  j["scenario_name"] = r.scenario.name;
  j["policy"] = r.policy;
  j["interval"] = r.interval;
  j["staleness_bound"] = r.staleness_bound ? nlohmann::ordered_json(*r.staleness_bound)
                                           : nlohmann::ordered_json(nullptr);
  j["stale_samples"] = r.scenario.policy.stale_samples;
  j["seed"] = r.seed;
  j["steps"] = r.steps;
  j["staleness"] = {{"count", r.staleness.count}, {"mean", r.staleness.mean},
                    {"p50", r.staleness.p50},     {"p99", r.staleness.p99},
                    {"max", r.staleness.max},     {"histogram", r.staleness.histogram}};
  j["samples_generated"] = r.samples_generated;
  j["samples_used"] = r.samples_used;
  j["tokens_used"] = r.tokens_used;
  j["tokens_per_second"] = r.tokens_per_second;
  j["samples_dropped"] = r.samples_dropped;
  j["samples_downweighted"] = r.samples_downweighted;
  j["samples_mixed"] = r.samples_mixed;
  j["mean_sample_weight"] = r.mean_sample_weight;
  j["sync_overhead_fraction"] = r.sync_overhead_fraction;
  j["trainer_idle_fraction"] = r.trainer_idle_fraction;
  j["sampler_idle_fraction"] = r.sampler_idle_fraction;
  j["steps_per_hour"] = r.steps_per_hour;
  j["simulated_seconds"] = r.simulated_seconds;
  j["train_seconds"] = r.train_seconds;
  j["sync_seconds"] = r.sync_seconds;
  j["wait_seconds"] = r.wait_seconds;
  j["save_seconds"] = r.save_seconds;
  j["hotload_seconds"] = r.hotload_seconds;
  j["warmup_seconds"] = r.warmup_seconds;
  j["bytes_base"] = r.bytes_base;
  j["bytes_delta"] = r.bytes_delta;
  j["snapshots_base"] = r.snapshots_base;
  j["snapshots_delta"] = r.snapshots_delta;
  j["syncs"] = r.syncs;
  j["failed_syncs"] = r.failed_syncs;
  j["failed_sync_seconds"] = r.failed_sync_seconds;
  j["resyncs"] = r.resyncs;
  j["save_retries"] = r.save_retries;
  j["warmup_failures"] = r.warmup_failures;
  j["recoveries"] = r.recoveries;
  j["time_to_recover_mean_s"] = r.time_to_recover_mean_s;
  j["time_to_recover_max_s"] = r.time_to_recover_max_s;
  j["verified_syncs"] = r.verified_syncs;
  j["verification_failures"] = r.verification_failures;
  nlohmann::ordered_json faults = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : r.faults_injected) faults[kind] = count;
  j["faults_injected"] = faults;
  j["http_requests"] = r.http_requests;
  j["events"] = r.events;
  j["scenario"] = to_json(r.scenario);
  if (include_wall) {
    j["wall_seconds"] = r.wall_seconds;
    j["cpu_seconds"] = r.cpu_seconds;
    j["cycles_per_second"] = r.cycles_per_second;
    j["sim_to_wall_ratio"] = r.sim_to_wall_ratio;
  }
  return j;
}

std::string csv_header() {
  return "scenario,policy,interval,staleness_bound,seed,steps,staleness_mean,staleness_p50,"
         "staleness_p99,staleness_max,samples_dropped,sync_overhead_fraction,"
         "trainer_idle_fraction,sampler_idle_fraction,steps_per_hour,bytes_base,bytes_delta,"
         "syncs,failed_syncs,recoveries,simulated_seconds,wall_seconds";
}

std::string csv_row(const RunResult& r) {
  std::ostringstream out;
  out.precision(10);
  out << r.scenario.name << ',' << r.policy << ',' << r.interval << ','
      << (r.staleness_bound ? std::to_string(*r.staleness_bound) : "") << ',' << r.seed << ','
      << r.steps << ',' << r.staleness.mean << ',' << r.staleness.p50 << ',' << r.staleness.p99
      << ',' << r.staleness.max << ',' << r.samples_dropped << ',' << r.sync_overhead_fraction
      << ',' << r.trainer_idle_fraction << ',' << r.sampler_idle_fraction << ',' << r.steps_per_hour
      << ',' << r.bytes_base << ',' << r.bytes_delta << ',' << r.syncs << ',' << r.failed_syncs
      << ',' << r.recoveries << ',' << r.simulated_seconds << ',' << r.wall_seconds;
  return out.str();
}

}  // namespace weightsync::sim
