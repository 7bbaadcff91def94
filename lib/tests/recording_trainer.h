// RecordingTrainer: a TrainingClient double that records every save (with the parent a real
// trainer would diff a delta against) and fails on command.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/training_client.h"

namespace weightsync::testing {

struct RecordedSave {
  std::string name;
  CheckpointKind kind;
  std::string snapshot_name;
  // For a delta: the previous sampler snapshot of this session, what the bytes are diffed
  // against. Empty for a full save or a delta with no predecessor.
  std::string diffed_against;
};

class RecordingTrainer final : public TrainingClient {
 public:
  explicit RecordingTrainer(Clock* clock = nullptr, Duration save_duration = Duration::zero())
      : clock_(clock), save_duration_(save_duration) {}

  SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind kind) override {
    if (clock_) clock_->sleep_for(save_duration_);
    if (failures_left > 0) {
      --failures_left;
      throw std::runtime_error("bucket write failed: quota exceeded");
    }
    const std::string snapshot = session_scoped_name(name, session_);
    saves.push_back(
        RecordedSave{name, kind, snapshot, kind == CheckpointKind::delta ? last_in_session_ : ""});
    last_in_session_ = snapshot;
    return SamplerSave{"gs://bucket/" + snapshot, snapshot};
  }
  std::string save_state(const std::string& name) override {
    return "gs://bucket/dcp/" + session_scoped_name(name, session_);
  }
  std::string session_id() const override { return session_; }

  // A resume: the trainer gets a new session and forgets its previous sampler snapshot.
  void resume(std::string session) {
    session_ = std::move(session);
    last_in_session_.clear();
  }

  std::vector<RecordedSave> saves;
  int failures_left = 0;  // the next N saves throw

 private:
  Clock* clock_;
  Duration save_duration_;
  std::string session_ = "0123abcd";
  std::string last_in_session_;
};

}  // namespace weightsync::testing
