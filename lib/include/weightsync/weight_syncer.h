// WeightSyncer: saves sampler snapshots and syncs them to a deployment, keeping the base/delta
// chain sound (a C++ port of the reference class, docs/SPEC.md section 4, with its six known
// hazards fixed — see docs/SPEC.md section 3). The chain rules live in SyncChain, which the
// ServiceClient drives too; this class is the older, user-driven API over it.
//
// Thread-safety: none. One WeightSyncer belongs to one training loop thread.
#pragma once

#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/snapshot_chain.h"
#include "weightsync/sync_chain.h"
#include "weightsync/training_client.h"
#include "weightsync/wire.h"

namespace weightsync {

// The constructor fields of the reference, with its defaults (sync_chain.h).
using WeightSyncerOptions = SyncOptions;

class WeightSyncer {
 public:
  // Throws InvalidArgument for a negative timeout, retry count or rank, a non-positive poll
  // interval, a first_checkpoint_type other than base or delta, or an empty
  // compression_format while syncing.
  explicit WeightSyncer(TrainingClient& policy_client, WeightSyncerOptions options = {},
                        Clock& clock = system_clock());

  // Saves (as `checkpoint_type`, or the kind the chain rules pick), then (when sync is enabled)
  // hotloads and waits, resets the prompt cache if asked and warms up. Returns the snapshot
  // name. Throws SaveFailed (chain unchanged), HotloadFailed/HotloadTimeout, Timeout, ApiError,
  // TransportError (chain reset), or WarmupFailed (weights loaded, chain advanced); errors.h
  // says what each asks of the caller.
  std::string save_and_hotload(const std::string& name,
                               std::optional<CheckpointKind> checkpoint_type = std::nullopt);
  // Saves only. Returns the snapshot name, or nothing on failure (logged); never throws.
  std::optional<std::string> save_only(
      const std::string& name, std::optional<CheckpointKind> checkpoint_type = std::nullopt);
  // Syncs a snapshot saved by this syncer; `checkpoint_type` must be the kind it was saved as.
  // True on success (weights served and warmup, if enabled, answered); never throws.
  bool hotload(const std::string& snapshot_name, CheckpointKind checkpoint_type);
  // The snapshot the deployment serves on every replica ("" if none, if replicas disagree, or
  // on error); logs readiness and loading stage.
  std::string check_deployment_state();
  // Blocks until the hotload manager reports replicas. Throws Timeout, or InvalidArgument when
  // sync is disabled or the timeout is negative.
  HotloadStatus wait_for_hotload_ready(Duration timeout = seconds(300),
                                       Duration poll_interval = seconds(5));
  // The next save is a base. Call after the deployment's bucket or the trainer session changed.
  void reset_delta_chain();

  bool sync_enabled() const { return chain_.sync_enabled(); }
  const ChainState& chain() const { return chain_.state(); }
  const WeightSyncerOptions& options() const { return chain_.options(); }
  const SyncRecord& last_sync() const { return last_; }
  const SyncTimings& last_timings() const { return last_.timings; }
  // True once the one-time deployment check (ready + served state) has succeeded.
  bool deployment_checked() const { return chain_.deployment_checked(); }

 private:
  Duration elapsed_since(Duration start) const { return chain_.clock().now() - start; }

  SyncChain chain_;
  SyncRecord last_;
};

}  // namespace weightsync
