// A fake deployment: its configuration and lifecycle state (CREATING -> READY as a function of
// the clock), the bucket it reads, its replicas, and the operations the API performs on them
// (hotload, re-attach, ledger reset, completions). Errors are thrown as HttpError before
// anything changes.
//
// Thread-safety: none (guarded by FakeCloud's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/fake/bucket_store.h"
#include "weightsync/fake/replica.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

// Which replica answered a completion and how much of its prompt was cached.
struct CompletionServed {
  int replica = 0;
  std::string served_identity;
  std::uint32_t served_checksum = 0;
  std::size_t cached_tokens = 0;
};

// Replica loads that finished, for the metrics.
struct LoadTally {
  std::uint64_t done = 0;
  std::uint64_t error = 0;
  std::uint64_t bytes_loaded = 0;
  LoadTally& operator+=(const LoadTally& other) {
    done += other.done;
    error += other.error;
    bytes_loaded += other.bytes_loaded;
    return *this;
  }
};

class FakeDeployment {
 public:
  // `replica_count` > 0 fixes the number of replicas; 0 follows minReplicaCount (at least 1).
  FakeDeployment(std::string account, std::string id, DeploymentConfig config,
                 std::string bucket_url, DeploymentTiming timing, int replica_count, Duration now);

  const std::string& account() const { return account_; }
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  const DeploymentConfig& config() const { return config_; }
  const std::string& bucket_url() const { return bucket_url_; }
  std::string trainer_job() const { return config_.hot_load_trainer_job.value_or(""); }
  std::string transition_type() const;
  // CREATING, READY, UPDATING (replicas restarting after a PATCH), FAILED, DELETING, DELETED.
  std::string state(Duration now) const;
  // Created and serving: not CREATING, FAILED, DELETING or DELETED (UPDATING is ready).
  bool is_ready(Duration now) const {
    return now >= ready_at_ && !failed(now) && !deleting_until_;
  }
  bool failed(Duration now) const { return failed_at_ && now >= *failed_at_; }
  Duration ready_at() const { return ready_at_; }
  // The deployment enters FAILED at `at` (the fault plan's deployment_failed).
  void fail(std::string message, Duration at);
  // DELETE: every replica stops now; DELETING for `deletion_time`, then DELETED (a tombstone)
  // or, if `hard`, gone.
  void start_deletion(Duration now, Duration deletion_time, bool hard);
  bool deleting() const { return deleting_until_.has_value(); }
  bool gone(Duration now) const { return deleting_until_ && hard_delete_ && now >= *deleting_until_; }
  Deployment wire(Duration now) const;
  DeploymentTiming& timing() { return timing_; }
  const LoadTally& tally() const { return tally_; }

  // Applies every replica's load whose time has come.
  void advance(Duration now, const FaultHooks& hooks);
  // Replicas whose hotload manager is up; none listed until at least one is.
  HotloadStatus hotload_status(Duration now) const;
  // Starts loading `request.identity` on every replica not already loading or serving it.
  // 503 while the deployment or a replica's hotload manager is not ready.
  void hotload(const HotloadRequest& request, Duration now, BucketStore& store,
               const FaultHooks& hooks);
  // Points at another trainer job's bucket and restarts every replica (no-op if unchanged);
  // UPDATING until they are back.
  void reattach(const std::string& trainer_job, const std::string& bucket_url, Duration now);
  void set_transition_type(const std::string& type) { config_.hot_load_transition_type = type; }
  // maxReplicaCount 0 stops every replica; scaling up starts new ones on the base model.
  void set_replica_counts(std::optional<int> min_count, std::optional<int> max_count, Duration now);
  void reset_ledger();
  // Serves a completion on a ready replica: 503 if none is (or the deployment is not READY),
  // 425 under SYNC while any replica loads.
  CompletionServed complete(const CompletionRequest& request, Duration now,
                            const FaultHooks& hooks);
  void restart_replica(int index, Duration now);

  std::vector<Replica>& replicas() { return replicas_; }
  const std::vector<Replica>& replicas() const { return replicas_; }

 private:
  void resize_replicas(Duration now);
  // 404 if FAILED or deleted (for good), 503 while CREATING.
  void check_serving(Duration now) const;

  std::string account_;
  std::string id_;
  std::string name_;
  DeploymentConfig config_;
  std::string bucket_url_;
  DeploymentTiming timing_;
  int fixed_replica_count_;
  Duration ready_at_;
  Duration updating_until_{};
  std::optional<Duration> failed_at_;
  std::string failure_;
  std::optional<Duration> deleting_until_;
  bool hard_delete_ = false;
  std::vector<Replica> replicas_;
  LoadTally tally_;
  int next_replica_ = 0;  // round robin for completions
  int replica_serial_ = 0;
};

}  // namespace weightsync::fake
