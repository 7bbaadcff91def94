// FakeTrainingClient: the library's TrainingClient over synthetic bf16 weights that evolve like
// RL updates, writing real snapshot bytes (full or XOR deltas) into its bucket, with sessions,
// DCP checkpoints, resume, LoRA adapters and injectable save failures.
//
// Thread-safety: none; one training loop drives it (FakeCloud's router calls it under its lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/fake/bucket_store.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/random.h"
#include "weightsync/snapshot_chain.h"
#include "weightsync/training_client.h"

namespace weightsync::fake {

struct TrainerOptions {
  std::size_t params = std::size_t{1} << 20;  // bf16 parameters of the full model
  double changed_fraction = 0.01;             // of the trained weights, per step()
  int lora_rank = 0;                          // > 0: LoRA; snapshots are adapters, always full
  // Adapter parameters per unit of rank; 0 means params / 256 (at least 1).
  std::size_t lora_params_per_rank = 0;
  // The full weights of how many recent saves to keep for snapshot_weights() (the parent of the
  // next delta is always kept); 0 keeps all. Long simulations bound their memory with it.
  std::size_t keep_snapshot_weights = 0;
  // Seeds the weights, the updates and the session ids. FakeCloud replaces 0 with a seed drawn
  // from its own generator, so all of a run's randomness comes from the cloud's one seed.
  std::uint64_t seed = 0;
};

// What one sampler save wrote (docs/SPEC.md section 3).
struct SnapshotRecord {
  std::string name;  // session-scoped identity
  std::string path;  // bucket URL + "/" + name
  CheckpointKind kind = CheckpointKind::base;
  std::string parent;  // the snapshot a delta was computed from; empty for full saves
  std::string session_id;
  std::uint64_t step = 0;
  std::uint64_t full_size = 0;    // bytes of the reconstructed weights
  std::uint64_t stored_size = 0;  // bytes written to the bucket
  std::uint32_t checksum = 0;     // Adler-32 of the reconstructed weights
  bool promotable = false;
  bool lora = false;
};

class FakeTrainingClient final : public TrainingClient {
 public:
  // `job_name` is "accounts/{a}/rlorTrainerJobs/{id}"; `bucket_url` must exist in `store`.
  FakeTrainingClient(BucketStore& store, std::string job_name, std::string bucket_url,
                     TrainerOptions options);

  // Throws SaveFailed (injected failure; a delta with no earlier sampler snapshot in this
  // session) or InvalidArgument (bad name; merged_base without LoRA). Nothing changes on throw.
  SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind kind) override;
  // Returns the checkpoint's path: bucket URL + "/dcp/" + session-scoped name.
  std::string save_state(const std::string& name) override;
  std::string session_id() const override { return session_id_; }

  // One optimizer step: changed_fraction of the trained weights move by a few ULPs.
  void step(int steps = 1);
  // Restores weights and step from a save_state path; the session stays.
  void load_state(const std::string& path);
  // A new client resuming from a checkpoint: load_state, then a new session with no previous
  // sampler snapshot. Returns the new session id.
  std::string resume(const std::string& path);
  // A new session on the current weights, as after a resume from an up-to-date checkpoint (the
  // session-change fault). Returns the new session id.
  std::string restart_session();
  bool has_checkpoint(const std::string& path) const { return checkpoints_.count(path) > 0; }
  // The next `count` sampler saves throw SaveFailed.
  void fail_next_saves(int count) { failing_saves_ = count; }

  const std::string& job_name() const { return job_name_; }
  const std::string& bucket_url() const { return bucket_url_; }
  const TrainerOptions& options() const { return options_; }
  std::uint64_t step_count() const { return step_; }
  // The trained weights now: the adapter in LoRA mode, else the full model.
  const Bytes& weights() const { return weights_; }
  std::uint32_t checksum() const;
  // The full model with the adapter folded in (LoRA mode; the model itself otherwise).
  Bytes merged_weights() const;
  // Every sampler save in order, overwritten names included.
  const std::vector<SnapshotRecord>& snapshots() const { return snapshots_; }
  // The latest save under `name` (session-scoped), or null; valid until the next save.
  const SnapshotRecord* find_snapshot(const std::string& name) const;
  // The full reconstructed weights of that save, or null (also when keep_snapshot_weights
  // dropped them).
  std::shared_ptr<const Bytes> snapshot_weights(const std::string& name) const;
  // True if some save of this trainer still held under its name has exactly these bytes.
  bool is_saved_weights(const Bytes& bytes) const;

 private:
  struct Checkpoint {
    Bytes weights;
    std::uint64_t step = 0;
  };
  std::string new_session_id();
  Bytes full_bytes_for(CheckpointKind kind) const;
  void forget_old_weights(const std::string& saved);

  BucketStore& store_;
  std::string job_name_;
  std::string bucket_url_;
  TrainerOptions options_;
  Random random_;
  Bytes base_model_;  // LoRA: the frozen model the adapter is folded into
  Bytes weights_;
  std::uint64_t step_ = 0;
  std::string session_id_;
  int failing_saves_ = 0;
  std::vector<SnapshotRecord> snapshots_;
  std::map<std::string, std::shared_ptr<const Bytes>> snapshot_weights_;
  std::deque<std::string> weights_order_;  // snapshot_weights_ keys, oldest save first
  // The previous sampler snapshot of this session: what a delta is computed against.
  std::optional<std::string> last_sampler_;
  std::map<std::string, Checkpoint> checkpoints_;
};

}  // namespace weightsync::fake
