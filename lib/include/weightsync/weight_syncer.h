// WeightSyncer: saves sampler snapshots and syncs them to a deployment, keeping the base/delta
// chain sound (a C++ port of the reference class, docs/SPEC.md section 4, with its six known
// hazards fixed — see docs/SPEC.md section 3).
//
// Thread-safety: none. One WeightSyncer belongs to one training loop thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/snapshot_chain.h"
#include "weightsync/training_client.h"

namespace weightsync {

// The constructor fields of the reference, with its defaults.
struct WeightSyncerOptions {
  DeploymentManager* deploy_mgr = nullptr;     // none -> no weight sync
  std::optional<std::string> deployment_id;    // none -> no weight sync
  std::string base_model;                      // the fireworks-model header of sync calls
  double hotload_timeout = 600;                // seconds, for hotload_and_wait
  std::string first_checkpoint_type = "base";  // "base" or "delta"
  std::string compression_format = "arc_v2";
  bool warmup_after_hotload = true;
  int warmup_max_retries = 10;
  bool reset_prompt_cache = true;
  int lora_rank = 0;  // > 0: every checkpoint is a base, no delta chain
  // Not in the reference: the first hotload waits this long for the hotload manager.
  double hotload_ready_timeout = 300;      // seconds
  double hotload_ready_poll_interval = 5;  // seconds
  // Not in the reference: before saving a delta, ask the deployment whether every replica still
  // serves the chain's base (a restart or re-attach loses it); if not, save a base instead. An
  // explicit delta, or one hotloaded after save_only, is checked again just before it is sent
  // and refused (HotloadFailed, chain reset) if its parent is no longer served.
  bool verify_served_before_delta = true;
};

struct SyncTimings {
  double save_s = 0;
  double hotload_s = 0;
  double warmup_s = 0;
  double total_s = 0;
};

// What the last save_and_hotload / save_only / hotload call did.
struct SyncRecord {
  std::string snapshot_name;
  CheckpointKind kind = CheckpointKind::base;
  bool promotable = false;
  bool saved = false;
  bool synced = false;
  std::optional<IncrementalSnapshotMetadata> metadata;  // what the hotload carried
  bool warmup_ran = false;  // false when warmup_after_hotload is off or the sync failed
  bool warmup_ok = false;
  int warmup_attempts = 0;
  std::string error;  // why it failed, empty on success
  SyncTimings timings;
};

class WeightSyncer {
 public:
  // Throws InvalidArgument for a negative timeout, retry count or rank, an unknown
  // first_checkpoint_type, or an empty compression_format while syncing.
  explicit WeightSyncer(TrainingClient& policy_client, WeightSyncerOptions options = {},
                        Clock& clock = system_clock());

  // Saves, then (when sync is enabled) hotloads and waits, resets the prompt cache if asked and
  // warms up. Returns the snapshot name. Throws SaveFailed, HotloadFailed/Timeout (chain reset),
  // ApiError, TransportError, or WarmupFailed (weights loaded, chain advanced, warmup failed).
  std::string save_and_hotload(const std::string& name,
                               std::optional<std::string> checkpoint_type = std::nullopt);
  // Saves only. Returns the snapshot name, or nothing on failure (logged); never throws.
  std::optional<std::string> save_only(const std::string& name,
                                       std::optional<std::string> checkpoint_type = std::nullopt);
  // Syncs a snapshot saved by this syncer; `checkpoint_type` must be the kind it was saved as.
  // True on success (weights served and warmup, if enabled, answered); never throws.
  bool hotload(const std::string& snapshot_name, const std::string& checkpoint_type);
  // The snapshot the deployment serves on every replica ("" if none, if replicas disagree, or
  // on error); logs readiness and loading stage.
  std::string check_deployment_state();
  // Blocks until the hotload manager reports replicas. Throws Timeout, or InvalidArgument when
  // sync is disabled.
  HotloadStatus wait_for_hotload_ready(double timeout_s = 300, double poll_interval_s = 5);
  // The next save is a base. Call after the deployment's bucket or the trainer session changed.
  void reset_delta_chain();

  bool sync_enabled() const { return options_.deploy_mgr && options_.deployment_id; }
  const ChainState& chain() const { return chain_; }
  const WeightSyncerOptions& options() const { return options_; }
  const SyncRecord& last_sync() const { return last_; }
  const SyncTimings& last_timings() const { return last_.timings; }
  // True once the one-time deployment check (ready + served state) has succeeded.
  bool deployment_checked() const { return deployment_checked_; }

 private:
  struct Saved {
    CheckpointKind kind;
    std::string parent;  // the snapshot a delta was computed from; "" for a full save
  };

  Duration elapsed_since(Duration start) const { return clock_.now() - start; }
  void ensure_deployment_checked();
  void follow_trainer_session();
  std::optional<std::string> read_served(std::string& why);
  void verify_served_before_delta(std::optional<CheckpointKind> explicit_kind);
  void verify_parent_served(const std::string& snapshot, const std::string& parent);
  void save(SyncRecord& record, const std::string& name,
            const std::optional<std::string>& checkpoint_type);
  void sync(SyncRecord& record);
  void abandon_chain(SyncRecord& record, const std::string& why);

  TrainingClient& policy_client_;
  WeightSyncerOptions options_;
  Clock& clock_;
  CheckpointKind first_kind_;
  ChainState chain_;
  std::string session_id_;  // the trainer session the chain belongs to
  // Kind and delta parent of every snapshot this syncer saved in the current session.
  std::map<std::string, Saved> saved_;
  bool deployment_checked_ = false;
  // The parent a status read in this call showed every replica serving; spares a second read.
  std::string verified_parent_;
  SyncRecord last_;
};

}  // namespace weightsync
