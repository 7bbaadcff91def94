// SyncChain: the one implementation of the base/delta chain against a deployment (docs/SPEC.md
// sections 3 and 4): which kind each save takes, the status read before a delta, the checks
// before a delta is sent, the wait for the hotload manager, the hotload itself, warmup, and
// resetting the chain when anything fails. The WeightSyncer and the ServiceClient both drive
// it; neither keeps chain rules of its own.
//
// Thread-safety: none. One SyncChain belongs to one training loop thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/snapshot_chain.h"
#include "weightsync/training_client.h"
#include "weightsync/wire.h"

namespace weightsync {

// The WeightSyncer's constructor fields (the reference's, with its defaults) plus the checks
// the reference lacks.
struct SyncOptions {
  DeploymentManager* deploy_mgr = nullptr;     // none -> no weight sync
  std::optional<std::string> deployment_id;    // none -> no weight sync
  std::string base_model;                      // the fireworks-model header of sync calls
  Duration hotload_timeout = seconds(600);     // for hotload_and_wait
  CheckpointKind first_checkpoint_type = CheckpointKind::base;  // base or delta
  std::string compression_format = "arc_v2";
  bool warmup_after_hotload = true;
  int warmup_max_retries = 10;
  bool reset_prompt_cache = true;
  int lora_rank = 0;  // > 0: every checkpoint is a base, no delta chain
  // Not in the reference: the first hotload waits this long for the hotload manager.
  Duration hotload_ready_timeout = seconds(300);
  Duration hotload_ready_poll_interval = seconds(5);
  // Not in the reference: before saving a delta, ask the deployment whether every replica still
  // serves the chain's base (a restart or re-attach loses it); if not, save a base instead. An
  // explicit delta, or one hotloaded after save_only, is checked again just before it is sent
  // and refused (HotloadFailed, chain reset) if its parent is no longer served.
  bool verify_served_before_delta = true;
};

// Measured on the syncer's Clock.
struct SyncTimings {
  Duration save{0};
  Duration hotload{0};  // hotload and wait, including the one-time wait for the hotload manager
  Duration warmup{0};
  Duration total{0};
};

// What one save and/or hotload did.
struct SyncRecord {
  std::string snapshot_name;
  std::string path;  // where the trainer wrote it (set by a save)
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

// The snapshot every replica is ready and serving, or "" (none, replicas disagree, not ready).
std::string served_everywhere(const HotloadStatus& status);

class SyncChain {
 public:
  // `owner` starts every message ("WeightSyncer", "ServiceClient"). Throws InvalidArgument for
  // a negative timeout, retry count or rank, a non-positive poll interval, a
  // first_checkpoint_type other than base or delta, or an empty compression_format while
  // syncing.
  SyncChain(std::string owner, TrainingClient& trainer, SyncOptions options, Clock& clock);

  // Saves a sampler snapshot of the kind the chain rules pick (or `checkpoint_type`), filling
  // `record`. Throws SaveFailed (chain unchanged) or InvalidArgument.
  void save(SyncRecord& record, const std::string& name,
            std::optional<CheckpointKind> checkpoint_type);
  // Makes a snapshot this chain did not save (or saved as `checkpoint_type`) the one `record`
  // syncs. A delta of unknown parent, or a kind other than the saved one: InvalidArgument.
  void adopt(SyncRecord& record, const std::string& snapshot_name, CheckpointKind checkpoint_type);
  // Hotloads record.snapshot_name and waits, then warms up if asked. Throws HotloadFailed or
  // HotloadTimeout, Timeout (the hotload manager never came up), ApiError, TransportError (all
  // with the chain reset) or WarmupFailed (chain advanced).
  void sync(SyncRecord& record);

  // The next save is a base.
  void reset();
  // As reset(), and the next sync waits for the hotload manager again (replicas restarted).
  void reset_after_restart();

  bool sync_enabled() const { return options_.deploy_mgr && options_.deployment_id; }
  const ChainState& state() const { return chain_; }
  const SyncOptions& options() const { return options_; }
  bool deployment_checked() const { return deployment_checked_; }
  // The kind `snapshot` was last saved (or adopted) as, in this trainer session or an earlier
  // one; none if this chain never had it. Only this session's deltas can be synced (an
  // earlier session's parents are unknown); an earlier session's base still can be.
  std::optional<CheckpointKind> saved_kind(const std::string& snapshot) const;
  Clock& clock() const { return clock_; }
  const std::string& owner() const { return owner_; }

 private:
  struct Saved {
    CheckpointKind kind;
    std::string parent;  // the snapshot a delta was computed from; "" for a full save
    int session = 0;     // the trainer session it was saved in: session_changes_ at the time
  };

  void require(bool ok, const std::string& message) const;
  void check_kind(CheckpointKind kind) const;
  Duration elapsed_since(Duration start) const { return clock_.now() - start; }
  void ensure_deployment_checked();
  void follow_trainer_session();
  std::optional<std::string> read_served(std::string& why);
  void verify_served_before_delta(std::optional<CheckpointKind> explicit_kind);
  void verify_parent_served(const std::string& snapshot, const std::string& parent);
  void abandon_chain(SyncRecord& record, const std::string& why);
  // The snapshot's entry if it was saved or adopted in the current trainer session, else null.
  const Saved* saved_this_session(const std::string& snapshot) const;

  std::string owner_;
  TrainingClient& trainer_;
  SyncOptions options_;
  Clock& clock_;
  ChainState chain_;
  std::string session_id_;  // the trainer session the chain belongs to
  int session_changes_ = 0;  // trainer session changes seen so far
  // Every snapshot saved or adopted, with its kind, delta parent and session. The chain rules
  // look only at the current session's: a new session forgets the parents, not the kinds.
  std::map<std::string, Saved> saved_;
  bool deployment_checked_ = false;
  // The parent a status read in this call showed every replica serving; spares a second read.
  std::string verified_parent_;
};

}  // namespace weightsync
