// LibrarySession: the sync policy's SyncSession over the production library: the WeightSyncer
// (and the ServiceClient, made on the first sampler refresh) against the run's world. It retries
// failed saves as a training loop would and books every call's timings, successes and failures
// in the run's metrics. Internal to the simulator. Thread-safety: none.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "run_metrics.h"
#include "sim_world.h"
#include "weightsync/service_client.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/sim/sync_policy.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::sim {

class LibrarySession final : public SyncSession {
 public:
  LibrarySession(const Scenario& scenario, SimWorld& world, RunMetrics& metrics);

  // The first sync, of the initial weights as a base: it must not fail.
  void initial_sync();

  bool save_and_hotload(int step) override;
  std::optional<std::string> save_only(int step) override;
  bool wait_for_hotload_ready() override;
  bool hotload(const std::string& snapshot) override;
  bool refresh_sampler(int step) override;
  // save_and_hotload under a name of its own (a catch-up sync).
  bool save_and_hotload_named(const std::string& name);

 private:
  // Books one library call: its timings, and when it ends an attempt, success or failure.
  void record_sync_call(Duration start, bool attempt_ends);
  void verify_served(const std::string& snapshot);
  // The record of the last sync call: the service client's once it refreshed, else the syncer's.
  const SyncRecord& last_record() const {
    return service_ ? service_->last_sync() : syncer_->last_sync();
  }

  const Scenario& scenario_;
  SimWorld& world_;
  RunMetrics& metrics_;
  std::unique_ptr<WeightSyncer> syncer_;
  std::unique_ptr<ServiceClient> service_;  // sampler_refresh only, made on its first use
  Duration attempt_start_{};                // start of the attempt a split save_only opened
};

}  // namespace weightsync::sim
