// What one simulated run measured, and its JSON form (schema: simulations/README.md).
// Everything but the wall-clock fields is a pure function of the scenario (seed included), so
// two runs of one scenario serialise byte for byte alike once those fields are left out.
//
// Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/sim/scenario.h"

namespace weightsync::sim {

struct StalenessStats {
  std::int64_t count = 0;
  double mean = 0;
  int p50 = 0;  // nearest-rank percentiles over the integer staleness of used samples
  int p99 = 0;
  int max = 0;
  std::vector<std::int64_t> histogram;  // histogram[s] = samples used at staleness s
};

// Integer staleness values, kept as a histogram: exact percentiles in O(max staleness).
class StalenessRecorder {
 public:
  void add(int staleness, std::int64_t count = 1);
  StalenessStats stats() const;

 private:
  std::vector<std::int64_t> histogram_;
  std::int64_t count_ = 0;
  double sum_ = 0;
};

struct RunResult {
  Scenario scenario;  // as run: overrides applied
  std::string policy;
  int interval = 1;
  std::optional<int> staleness_bound;  // async only
  int steps = 0;
  std::uint64_t seed = 0;

  StalenessStats staleness;
  std::int64_t samples_generated = 0;
  std::int64_t samples_used = 0;
  // Tokens (prompt + generated) of the samples used in training, and per simulated second.
  double tokens_used = 0;
  double tokens_per_second = 0;
  std::int64_t samples_dropped = 0;
  std::int64_t samples_downweighted = 0;
  std::int64_t samples_mixed = 0;  // used samples whose generation spanned a weight change
  double mean_sample_weight = 1;

  double sync_overhead_fraction = 0;  // sync / (train + sync) time of the trainer
  double trainer_idle_fraction = 0;   // trainer waiting for samples / total
  double sampler_idle_fraction = 0;   // idle request slots / (concurrency * total)
  double steps_per_hour = 0;
  double simulated_seconds = 0;
  double train_seconds = 0;
  double sync_seconds = 0;
  double wait_seconds = 0;
  double save_seconds = 0;
  double hotload_seconds = 0;
  double warmup_seconds = 0;

  std::uint64_t bytes_base = 0;   // simulated bytes of base snapshots saved
  std::uint64_t bytes_delta = 0;  // simulated bytes of delta snapshots saved
  std::int64_t snapshots_base = 0;
  std::int64_t snapshots_delta = 0;
  std::int64_t syncs = 0;  // sync attempts that ended with every replica serving the snapshot
  std::int64_t failed_syncs = 0;
  // The trainer's time inside sync attempts that failed (from the start of the attempt to the
  // call giving up): the time failed syncs cost directly, before any base re-sent after them.
  double failed_sync_seconds = 0;
  // async, drop: catch-up syncs made when the replicas fell more than the bound behind (after
  // failed syncs); included in syncs / failed_syncs.
  std::int64_t resyncs = 0;
  // Failed saves retried within the same attempt (a failed save is tried up to three times).
  std::int64_t save_retries = 0;
  std::int64_t warmup_failures = 0;
  std::int64_t recoveries = 0;  // successful syncs that ended a run of failed ones
  double time_to_recover_mean_s = 0;
  double time_to_recover_max_s = 0;
  std::int64_t verified_syncs = 0;         // served checksum == trainer's snapshot checksum
  std::int64_t verification_failures = 0;  // must stay 0: a chain bug if not
  std::map<std::string, std::int64_t> faults_injected;
  std::int64_t http_requests = 0;
  std::uint64_t events = 0;

  // Wall clock: the only nondeterministic fields.
  double wall_seconds = 0;
  double cpu_seconds = 0;        // CPU time of the thread that ran it (robust on a busy machine)
  double cycles_per_second = 0;  // sync attempts per wall second
  double sim_to_wall_ratio = 0;
};

// The names of the fields that depend on the machine, not the scenario.
const std::vector<std::string>& wall_clock_fields();

// Field order is fixed. With include_wall = false the wall-clock fields are left out, which is
// the form compared for determinism.
nlohmann::ordered_json to_json(const RunResult& result, bool include_wall = true);

// One CSV header and row per run for sweep summaries (the headline numbers only).
std::string csv_header();
std::string csv_row(const RunResult& result);

}  // namespace weightsync::sim
