// Saves that take the simulated model's time and record what they wrote.
#include "timed_trainer.h"

namespace weightsync::sim {

SamplerSave TimedTrainingClient::save_weights_for_sampler(const std::string& name,
                                                          CheckpointKind kind) {
  // A delta spans the steps since the previous sampler save of this session, as the fake
  // trainer diffs against exactly that snapshot.
  const std::uint64_t bytes = kind == CheckpointKind::delta
                                  ? scenario_.delta_bytes(version_ - last_saved_version_)
                                  : scenario_.base_bytes();
  clock_.sleep_for(scenario_.save_time(bytes));
  // The fault plan's trainer-side opportunity: a save_failure makes this save throw.
  cloud_.save_fault(inner_.job_name());
  SamplerSave saved = inner_.save_weights_for_sampler(name, kind);
  last_saved_version_ = version_;
  book_.add(saved.snapshot_name, SnapshotEntry{version_, bytes, kind});
  if (kind == CheckpointKind::delta) {
    bytes_delta_ += bytes;
    ++snapshots_delta_;
  } else {
    bytes_base_ += bytes;
    ++snapshots_base_;
  }
  return saved;
}

void TimedTrainingClient::reset_counters() {
  bytes_base_ = bytes_delta_ = 0;
  snapshots_base_ = snapshots_delta_ = 0;
}

}  // namespace weightsync::sim
