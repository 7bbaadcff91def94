// TimedTrainingClient: the fake trainer as the WeightSyncer sees it, with the save taking the
// simulated model's time (fixed cost + bytes / storage bandwidth) on the virtual clock, save
// failures from the cloud's fault plan (save_failure), and a record of every snapshot's policy
// version and simulated size. Internal to the simulator. Thread-safety: none.
#pragma once

#include "snapshot_book.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_training_client.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/training_client.h"

namespace weightsync::sim {

class TimedTrainingClient final : public TrainingClient {
 public:
  TimedTrainingClient(fake::FakeTrainingClient& inner, Clock& clock, const Scenario& scenario,
                      SnapshotBook& book, fake::FakeCloud& cloud)
      : inner_(inner), clock_(clock), scenario_(scenario), book_(book), cloud_(cloud) {}

  SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind kind) override;
  std::string save_state(const std::string& name) override { return inner_.save_state(name); }
  std::string session_id() const override { return inner_.session_id(); }

  // The policy version the trainer's weights are at (the number of finished steps).
  void set_version(int version) { version_ = version; }

  std::uint64_t bytes_base() const { return bytes_base_; }
  std::uint64_t bytes_delta() const { return bytes_delta_; }
  std::int64_t snapshots_base() const { return snapshots_base_; }
  std::int64_t snapshots_delta() const { return snapshots_delta_; }
  void reset_counters();

 private:
  fake::FakeTrainingClient& inner_;
  Clock& clock_;
  const Scenario& scenario_;
  SnapshotBook& book_;
  fake::FakeCloud& cloud_;
  int version_ = 0;
  int last_saved_version_ = 0;
  std::uint64_t bytes_base_ = 0;
  std::uint64_t bytes_delta_ = 0;
  std::int64_t snapshots_base_ = 0;
  std::int64_t snapshots_delta_ = 0;
};

}  // namespace weightsync::sim
