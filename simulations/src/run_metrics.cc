// Counting syncs, failures, recoveries and used samples.
#include "run_metrics.h"

#include <algorithm>

namespace weightsync::sim {

void RunMetrics::sync_succeeded(Duration now) {
  ++result_.syncs;
  if (!failing_) return;
  ++result_.recoveries;
  const double took = to_seconds(now - failing_since_);
  recover_total_s_ += took;
  result_.time_to_recover_max_s = std::max(result_.time_to_recover_max_s, took);
  failing_ = false;
}

void RunMetrics::sync_failed(Duration start, Duration now) {
  ++result_.failed_syncs;
  result_.failed_sync_seconds += to_seconds(now - start);
  if (!failing_) {
    failing_ = true;
    failing_since_ = start;
  }
}

void RunMetrics::sample_used(int staleness, double weight) {
  staleness_.add(staleness);
  weight_sum_ += weight;
}

void RunMetrics::finish() {
  RunResult& r = result_;
  r.staleness = staleness_.stats();
  r.mean_sample_weight = r.samples_used ? weight_sum_ / static_cast<double>(r.samples_used) : 1;
  r.time_to_recover_mean_s =
      r.recoveries ? recover_total_s_ / static_cast<double>(r.recoveries) : 0;
}

}  // namespace weightsync::sim
