// One replica of a fake deployment: what it serves (identity, real bytes, checksum), its
// hotload manager's readiness, and the load in flight, whose stage is a function of the clock
// (docs/DESIGN.md section 4, "Time without threads"). A finished load is applied when first
// observed, and only whole: a load that fails leaves the replica serving what it served before.
//
// Thread-safety: none (guarded by FakeCloud's lock).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/fake/bucket_store.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/load_plan.h"
#include "weightsync/fake/prompt_cache.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

struct FaultHooks;  // the fake's internal fault points (src/fault_hooks.h)

// How long things take in the fake cloud (deployments, their replicas, trainer jobs).
struct DeploymentTiming {
  Duration creation_time = seconds(2);          // CREATING -> READY
  Duration hotload_startup_delay = seconds(3);  // replica (re)start -> hotload manager ready
  Duration load_pending = seconds(0.2);         // queueing before the download starts
  Duration load_overhead = seconds(1);          // after the download: loading into memory
  double bandwidth_bytes_per_s = 100e6;         // download speed from the bucket
  Duration deletion_time = seconds(0);          // DELETE -> gone (DELETING meanwhile)
  Duration trainer_startup = seconds(2);        // a REST-created trainer job: CREATING -> RUNNING
  Duration token_interval = seconds(0.005);     // a streamed completion's pace per token
};

// What a replica is asked to load.
struct LoadOrder {
  std::string identity;
  std::optional<StoredObject> object;  // nothing: not in the deployment's bucket
  std::string bucket_url;
  std::optional<IncrementalSnapshotMetadata> metadata;
  bool reset_prompt_cache = false;
};

// How a finished load ended, for the deployment's tallies.
struct LoadOutcome {
  bool ok = false;
  std::uint64_t bytes = 0;  // stored bytes downloaded by a successful load
};

class Replica {
 public:
  Replica(std::string name, Duration manager_ready_at);

  const std::string& name() const { return name_; }
  // The status's `identity`: stable while the replica runs, new after every restart (a new
  // pod), so a client can tell that a restart happened.
  std::string pod_identity() const { return name_ + "-pod-" + std::to_string(restarts_); }
  bool manager_ready(Duration now) const { return now >= manager_ready_at_; }
  bool loading() const { return load_.has_value(); }
  // The target of the load in flight, or "".
  const std::string& loading_identity() const;
  std::string stage(Duration now) const;
  const std::string& stage_target() const;
  // Ready to serve: hotload manager up and no load in flight.
  bool readiness(Duration now) const { return manager_ready(now) && !load_; }

  // Plans and starts a load (replacing any in flight); `hooks.on_load_start` may bend the plan.
  void start_load(LoadOrder order, Duration now, const DeploymentTiming& timing,
                  const std::string& deployment, int index, const FaultHooks& hooks);
  // Applies the load in flight if its time has come; returns how it ended, if it did.
  std::optional<LoadOutcome> advance(Duration now, const std::string& deployment, int index,
                                     const FaultHooks& hooks);
  // Back to the base model: loads, adapters and prompt cache lost, manager down for a while.
  void restart(Duration now, Duration startup_delay);
  // The hotload manager is down until `until` (no restart: loads and weights stay).
  void hold_manager_until(Duration until) {
    manager_ready_at_ = std::max(manager_ready_at_, until);
  }
  // Forget the chain: the next delta needs a full snapshot first.
  void reset_ledger() { chain_identity_.clear(); }

  ReplicaStatus status(Duration now) const;
  // "" while serving the base model.
  const std::string& served_identity() const { return served_identity_; }
  std::uint32_t served_checksum() const { return served_checksum_; }
  std::shared_ptr<const Bytes> served_bytes() const { return served_bytes_; }
  // The snapshot a delta may build on ("" after a ledger reset or restart).
  const std::string& chain_identity() const { return chain_identity_; }
  const std::string& last_error() const { return last_error_; }
  const std::vector<LoadedAdapter>& loaded_adapters() const { return loaded_adapters_; }
  PromptCache& prompt_cache() { return prompt_cache_; }
  const PromptCache& prompt_cache() const { return prompt_cache_; }
  int restarts() const { return restarts_; }

 private:
  struct Load {
    LoadOrder order;
    Duration pending_end{};
    Duration download_end{};
    Duration end{};
    std::optional<std::string> fail_with;
    bool stuck = false;
    bool corrupt_parent = false;
  };
  // The bytes to serve for a finished load, or the reason it fails.
  // What a finished load serves, with its Adler-32 (known from the checks, not recomputed).
  struct Served {
    std::shared_ptr<const Bytes> bytes;
    std::uint32_t checksum = 0;
  };
  std::variant<Served, std::string> outcome(const Load& load) const;
  void serve(const Load& load, Served served);

  std::string name_;
  Duration manager_ready_at_;
  std::optional<Load> load_;
  std::string stage_{kStageIdle};
  std::string stage_target_;
  std::string last_error_;
  std::string served_identity_;
  std::shared_ptr<const Bytes> served_bytes_;
  std::uint32_t served_checksum_;
  std::string chain_identity_;
  std::vector<LoadedAdapter> loaded_adapters_;
  PromptCache prompt_cache_;
  int restarts_ = 0;
};

}  // namespace weightsync::fake
