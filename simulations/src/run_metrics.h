// RunMetrics: what one run measures as it goes: the RunResult's counters, the staleness of the
// samples used, and the runs of failed syncs (when one began, how long recovering took).
// Internal to the simulator. Thread-safety: none.
#pragma once

#include "weightsync/clock.h"
#include "weightsync/sim/metrics.h"

namespace weightsync::sim {

class RunMetrics {
 public:
  RunResult& result() { return result_; }

  // A sync attempt that ended with every replica serving the snapshot, at `now`: ends a run of
  // failed attempts, if one was going on.
  void sync_succeeded(Duration now);
  // A sync attempt begun at `start` that failed at `now`.
  void sync_failed(Duration start, Duration now);
  // A sample the trainer used, with its staleness and weight.
  void sample_used(int staleness, double weight);

  // Fills in what follows from the counters: staleness statistics, the mean sample weight and
  // the mean time to recover.
  void finish();

 private:
  RunResult result_;
  StalenessRecorder staleness_;
  double weight_sum_ = 0;
  bool failing_ = false;      // the last sync attempt failed
  Duration failing_since_{};  // start of the first failed attempt of the current run
  double recover_total_s_ = 0;
};

}  // namespace weightsync::sim
