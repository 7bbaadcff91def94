// Sync policies: when the training loop saves and hotloads, and whether generation overlaps
// training. Each policy is a small class in its own file (src/policies/), registered by one line
// in src/policies/registry.cc. Policies act only through SyncSession, which calls the
// production WeightSyncer or ServiceClient: the simulation has no sync logic of its own.
//
// Thread-safety: none; a policy belongs to one run.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace weightsync::sim {

// The sync actions a policy may take after a training step; each records its own metrics.
class SyncSession {
 public:
  virtual ~SyncSession() = default;
  // WeightSyncer::save_and_hotload of the weights after `step`. True when every replica serves
  // them (a warmup that fails afterwards still counts: the weights are served).
  virtual bool save_and_hotload(int step) = 0;
  // WeightSyncer::save_only: the snapshot name, or nothing when the save failed.
  virtual std::optional<std::string> save_only(int step) = 0;
  // WeightSyncer::wait_for_hotload_ready; false when the hotload manager is not up in time.
  virtual bool wait_for_hotload_ready() = 0;
  // WeightSyncer::hotload of a snapshot save_only returned, with the kind it was saved as.
  virtual bool hotload(const std::string& snapshot) = 0;
  // ServiceClient::save_weights_for_sampler of the weights after `step`, then
  // create_sampling_client (the client reuses the run's trainer job and deployment). True when
  // every replica serves them.
  virtual bool refresh_sampler(int step) = 0;
};

enum class StaleSamples { drop, downweight };

struct PolicySettings {
  int interval = 1;         // sync every `interval` steps (every_n, async, split)
  int staleness_bound = 1;  // async: the largest staleness a sample is used with at full weight
  StaleSamples stale_samples = StaleSamples::drop;
  double downweight_factor = 0.5;  // weight multiplier per step beyond the bound
};

class SyncPolicy {
 public:
  explicit SyncPolicy(PolicySettings settings) : settings_(settings) {}
  virtual ~SyncPolicy() = default;

  virtual std::string_view name() const = 0;
  // False: each step's batch is generated after the previous step and its sync, on the weights
  // served then (synchronous RL; the sampler is drained whenever weights change). True:
  // generation runs continuously and overlaps training and syncs (asynchronous RL).
  virtual bool overlaps_generation() const { return false; }
  // The largest staleness a sample may be used with at full weight; nothing: no bound.
  virtual std::optional<int> staleness_bound() const { return std::nullopt; }
  // The sync interval this policy uses (reported with the run).
  virtual int interval() const { return settings_.interval; }
  // Called after training step `step` (1-based) finished.
  virtual void after_step(int step, SyncSession& session) = 0;
  // Called when training step `step` starts, its batch taken: what it does overlaps the step's
  // training (the trainer computes while the replicas load); only time beyond the step's
  // training time delays the trainer.
  virtual void during_step(int step, SyncSession& session) {
    (void)step;
    (void)session;
  }

  const PolicySettings& settings() const { return settings_; }

 private:
  PolicySettings settings_;
};

using PolicyFactory = std::unique_ptr<SyncPolicy> (*)(const PolicySettings&);

struct PolicyEntry {
  std::string_view name;
  std::string_view summary;
  PolicyFactory make;
};

// Every policy, in registration order.
std::span<const PolicyEntry> policy_registry();
// The entry named `name`, or null.
const PolicyEntry* find_policy(std::string_view name);
// Throws std::invalid_argument naming the known policies when `name` is unknown.
std::unique_ptr<SyncPolicy> make_policy(std::string_view name, const PolicySettings& settings);

}  // namespace weightsync::sim
