// The system under test of the property tests: a fake cloud (trainers, bucket store, a
// deployment) on a ManualClock, the production DeploymentManager over the fake's router (in
// process or over loopback HTTP), a syncer (the production WeightSyncer or the reference port),
// switchable faults, and the checks of docs/SPEC.md section 7 against the fake's real bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/snapshot_chain.h"

namespace weightsync::props {

enum class SyncerKind { production, service, reference };

// Everything a run draws before its first command.
struct WorldConfig {
  int lora_rank = 0;
  CheckpointKind first_checkpoint_type = CheckpointKind::base;
  int replicas = 1;
  std::string transition_type = "ASYNC";
  double hotload_timeout_s = 30;
  int warmup_max_retries = 2;
  bool user_resets_on_reattach = true;
  bool over_http = false;
  std::uint64_t seed = 1;
};

std::ostream& operator<<(std::ostream& os, const WorldConfig& config);

// What one hotload POST carried and what the deployment served when it arrived.
struct SentHotload {
  HotloadRequest request;
  std::vector<std::string> served_at_post;  // per replica whose hotload manager was up
};

class SyncerUnderTest;

// How many invariant checks and operations all Worlds of this process ran: the suite reports
// them, so a run that checked nothing is visible.
struct WorldStats {
  std::uint64_t worlds = 0;
  std::uint64_t operations = 0;
  std::uint64_t invariant_checks = 0;
  std::uint64_t syncs_succeeded = 0;
  std::uint64_t syncs_failed = 0;
};
WorldStats& world_stats();

class World {
 public:
  // `faults` is the fault plan the world starts with (a replay); faults added while it runs are
  // appended to it.
  World(const WorldConfig& config, SyncerKind kind, fake::FaultPlan faults = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // ---- what a training loop does ----
  void trainer_step(int steps);
  void save_and_hotload(std::optional<CheckpointKind> explicit_kind);
  void save_only();
  void save_only_then_hotload();
  void reset_delta_chain();
  void resume_from_dcp();
  void reattach_to_new_trainer();

  // ---- what the world does ----
  void recreate_bucket();
  void restart_replica(int index);
  void reset_ledger();
  // Appends a count-triggered entry to the cloud's fault plan (fault_plan.h) and notes it.
  void add_fault(fake::FaultSpec spec, const std::string& what);
  void set_slow_downloads(bool slow);
  void set_stale_cache(bool stale);

  // Invariants 1-7 and 9 after the last operation; empty when all hold.
  std::vector<std::string> violations();
  // Invariant 8: with every fault off, at most `max_syncs` syncs restore invariant 2.
  std::vector<std::string> check_liveness(int max_syncs);

  const WorldConfig& config() const { return config_; }
  // One line per operation with its outcome: printed with a counterexample.
  const std::string& story() const { return story_; }
  void note(const std::string& line);
  // The fault plan as it ran, as a config `weightsync-fakeserver --config` reads:
  // {"faultPlan": {...}}. Printed with a counterexample.
  std::string replay_config();
  fake::FakeTrainingClient& trainer() { return *trainer_; }
  fake::FakeCloud& cloud() { return cloud_; }

 private:
  struct Operation;  // bookkeeping of the operation in progress
  void begin(const std::string& what);
  void sync_succeeded(const std::string& snapshot);
  void sync_failed(const std::string& why);
  void observe_new_snapshots(bool explicit_delta);
  std::string next_name();
  fake::FakeTrainingClient* owner_of(const std::string& snapshot);
  void check_served_weights(std::vector<std::string>& out);
  void check_synced_everywhere(const std::string& snapshot, std::vector<std::string>& out);
  void check_sent_hotloads(std::vector<std::string>& out);
  void check_saved_readable(std::vector<std::string>& out);
  void record_post(const HotloadRequest& request);

  WorldConfig config_;
  ManualClock clock_;
  fake::FakeCloud cloud_;
  std::unique_ptr<fake::FakeServer> server_;
  std::unique_ptr<Transport> wire_;       // in-process or HTTP
  std::unique_ptr<Transport> recording_;  // records hotload POSTs, injects lost answers
  std::unique_ptr<Transport> retrying_;   // the production retry stack
  std::unique_ptr<DeploymentManager> manager_;
  fake::FakeTrainingClient* trainer_ = nullptr;
  std::vector<fake::FakeTrainingClient*> trainers_;
  std::unique_ptr<TrainingClient> proxy_;
  std::unique_ptr<SyncerUnderTest> syncer_;
  int trainer_count_ = 0;
  int name_count_ = 0;
  std::string story_;

  // Model of what must hold, maintained from the operations.
  bool must_be_base_ = true;           // invariant 4: the next new snapshot must be full
  std::vector<SentHotload> sent_;      // hotloads of the current operation
  std::optional<std::string> synced_;  // invariant 2: the operation's successful sync
  std::string base_before_;            // invariant 7: base identity before the operation
  bool failed_ = false;
  std::map<std::string, std::uint64_t> ordinal_;               // snapshot -> order of its save
  std::map<int, std::pair<int, std::uint64_t>> served_order_;  // replica -> (restarts, ordinal)
  std::map<std::string, std::set<std::string>> readable_;  // bucket -> names that must read back
  std::size_t snapshots_seen_ = 0;                         // of the current trainer
  std::vector<std::string> pending_violations_;
};

}  // namespace weightsync::props
