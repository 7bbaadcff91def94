// The whole fake world behind the API: accounts and keys, trainers and their buckets,
// deployments, the bucket store, the clock and the fault hooks. Its operations validate first
// and throw HttpError (or InvalidArgument) before changing anything; the router maps the wire
// onto them and FakeCloud serializes access.
//
// Thread-safety: none; FakeCloud holds the one lock around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "weightsync/clock.h"
#include "weightsync/fake/bucket_store.h"
#include "weightsync/fake/fake_deployment.h"
#include "weightsync/fake/fake_training_client.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/load_plan.h"
#include "weightsync/fake/random.h"
#include "weightsync/fake/replica.h"
#include "weightsync/trainer_jobs.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

struct FakeCloudOptions {
  std::uint64_t seed = 1;                // derives every trainer seed not given explicitly
  DeploymentTiming timing;               // for new deployments
  int replicas_per_deployment = 0;       // > 0 overrides minReplicaCount
  std::size_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  std::optional<std::filesystem::path> state_dir;  // durable buckets when set
  std::string bucket_prefix = "gs://fake-bucket";
};

// A trainer job's lifecycle as the REST API shows it (rlorTrainerJobs, JOB_STATE_*).
struct TrainerJob {
  Duration running_at{};  // JOB_STATE_CREATING before, JOB_STATE_RUNNING from then on
  std::string failure;    // not empty: JOB_STATE_FAILED with this message
  bool deleted = false;   // JOB_STATE_DELETED: a tombstone; its bucket stays readable
  std::string display_name;
  std::string training_config = "{}";  // the trainingConfig object it was created with (JSON)
};

inline constexpr std::string_view kJobCreating = "JOB_STATE_CREATING";
inline constexpr std::string_view kJobRunning = "JOB_STATE_RUNNING";
inline constexpr std::string_view kJobFailed = "JOB_STATE_FAILED";
inline constexpr std::string_view kJobDeleted = "JOB_STATE_DELETED";

struct TrainerEntry {
  std::string account;
  std::string id;
  std::unique_ptr<FakeTrainingClient> client;
  TrainerJob job;
  std::string_view state(Duration now) const {
    if (job.deleted) return kJobDeleted;
    if (!job.failure.empty()) return kJobFailed;
    return now < job.running_at ? kJobCreating : kJobRunning;
  }
};

// "accounts/{a}/rlorTrainerJobs/{id}"
std::string trainer_job_name(std::string_view account, std::string_view trainer_id);

class FaultInjector;
struct FaultHooks;
struct SamplingState;

// Counters behind GET /metrics.
struct FakeMetrics {
  std::map<std::pair<std::string, int>, std::uint64_t> requests;  // (route, status) -> count
  std::uint64_t hotloads_rejected = 0;                            // hotload POSTs not 2xx
  LoadTally retired;                                  // loads of deployments since deleted
  std::map<std::string, std::uint64_t> faults_fired;  // by kind, of plans since replaced
  // FakeCloud's one lock as taken by API requests, in wall time (steady clock, whatever the
  // cloud's clock): how long requests waited for it and held it.
  std::uint64_t lock_acquisitions = 0;
  std::chrono::nanoseconds lock_waited{0};
  std::chrono::nanoseconds lock_held{0};
};

class CloudModel {
 public:
  CloudModel(Clock& clock, FakeCloudOptions options);
  ~CloudModel();
  CloudModel(const CloudModel&) = delete;
  CloudModel& operator=(const CloudModel&) = delete;

  Clock& clock() { return clock_; }
  Duration now() const { return clock_.now(); }
  const FakeCloudOptions& options() const { return options_; }
  BucketStore& store() { return store_; }
  // The fake's own hooks (src/fault_hooks.h), run before the fault plan.
  FaultHooks& hooks() { return *hooks_; }
  // What the model calls: the caller's hooks first, then the fault plan, if one is installed
  // (around the plan, at a load's start, the load model).
  const FaultHooks& active_hooks() const { return *active_hooks_; }
  // The caller's load model (FakeCloud::set_load_model).
  LoadModel& load_model() { return load_model_; }

  // ---- fault plan ----
  // Installs `plan` (replacing any, with a fresh log); its generator is seeded with the plan's
  // seed, or else one derived from the cloud's. Timed entries count from now.
  void set_fault_plan(FaultPlan plan);
  // Appends `spec` to the installed plan (installing an empty one first if none is) and returns
  // its index. A count entry's `after` grows by the opportunities that already went by, so the
  // plan replayed from its start fires it at the same opportunity (fault_injector.h).
  std::size_t add_fault(FaultSpec spec);
  // A trainer's sampler save (its job name): true if the plan's save_failure fires, and then the
  // trainer's next sampler save throws SaveFailed.
  bool save_fault(const std::string& job_name);
  // Uninstalls the plan; its log stays readable until the next one is installed.
  void clear_fault_plan();
  bool fault_plan_active() const { return faults_active_; }
  // The installed (or last) plan's injector; null if none was ever installed.
  const FaultInjector* fault_injector() const { return injector_.get(); }
  // Fires the plan's timed and scheduled faults due by now.
  void advance_faults();
  FakeMetrics& metrics() { return metrics_; }
  // Completions: the seed generator, streams in flight, the stream just opened (sampling.h).
  SamplingState& sampling() { return *sampling_; }

  // ---- accounts ----
  // Throws InvalidArgument for an empty or malformed id or key, or a key already in use.
  void create_account(const std::string& account, const std::string& api_key);
  // The account of an API key, or nothing.
  std::optional<std::string> account_for_key(const std::string& api_key) const;

  // ---- trainers ----
  // `seed` 0 in the options is replaced by one drawn from the cloud's generator; no bucket URL
  // means the trainer's own bucket "{prefix}/{account}/rlorTrainerJobs/{id}".
  FakeTrainingClient& create_trainer(const std::string& account, const std::string& trainer_id,
                                     TrainerOptions options, std::optional<std::string> bucket_url);
  // A job visible to `caller`: 400 if the name is malformed, 404 if unknown or another
  // account's.
  TrainerEntry& trainer(const std::string& caller, const std::string& job_name);
  FakeTrainingClient& trainer(const std::string& job_name);
  bool has_trainer(const std::string& job_name) const { return trainers_.count(job_name) > 0; }
  // ---- trainer jobs over the REST path ----
  // Creates a job visible to `caller` (an empty id draws one); it is CREATING for
  // timing.trainer_startup. 404 for another account, 400 for a bad id, 409 if it exists
  // (deleted jobs stay as tombstones).
  TrainerEntry& create_trainer_job(const std::string& caller, const std::string& account,
                                   std::string id, TrainerOptions options,
                                   std::optional<std::string> bucket_url, TrainerJob job);
  // 404 if unknown or another account's.
  TrainerEntry& trainer_job(const std::string& caller, const std::string& account,
                            const std::string& id);
  // Leaves a JOB_STATE_DELETED tombstone (deleting one again changes nothing).
  TrainerEntry& delete_trainer_job(const std::string& caller, const std::string& account,
                                   const std::string& id);
  // From JOB_STATE_FAILED: CREATING again, with a new session; any other state is 400.
  TrainerEntry& resume_trainer_job(const std::string& caller, const std::string& account,
                                   const std::string& id);
  // The job fails (the fault plan's trainer_failed); false if there is no such live job.
  bool fail_trainer_job(const std::string& job_name, const std::string& message);

  // ---- deployments ----
  FakeDeployment& create_deployment(const std::string& caller, const std::string& account,
                                    const std::string& id, const DeploymentConfig& config);
  // Advanced to now. 404 if unknown or another account's.
  FakeDeployment& deployment(const std::string& caller, const std::string& account,
                             const std::string& id);
  // From "accounts/{a}/deployments/{id}": 400 if malformed, else as above.
  FakeDeployment& deployment_by_name(const std::string& caller, const std::string& name);
  FakeDeployment& update_deployment(const std::string& caller, const std::string& account,
                                    const std::string& id, const DeploymentUpdate& update);
  // Stops every replica; the answer shows DELETING (or DELETED when timing.deletion_time is 0).
  // Afterwards a `hard` delete is gone (404), a soft one stays as a DELETED tombstone.
  Deployment delete_deployment(const std::string& caller, const std::string& account,
                               const std::string& id, bool hard);
  std::map<std::string, std::unique_ptr<FakeDeployment>>& deployments() { return deployments_; }

 private:
  void check_visible(const std::string& caller, const std::string& account,
                     const std::string& what) const;
  static void check_transition_type(const std::optional<std::string>& type);
  static void check_replica_counts(int min_count, int max_count);

  Clock& clock_;
  FakeCloudOptions options_;
  Random random_;
  BucketStore store_;
  std::unique_ptr<FaultHooks> hooks_;
  std::unique_ptr<FaultHooks> active_hooks_;
  LoadModel load_model_;
  std::unique_ptr<FaultInjector> injector_;
  bool faults_active_ = false;
  FakeMetrics metrics_;
  std::unique_ptr<SamplingState> sampling_;
  std::map<std::string, std::string> account_by_key_;
  std::set<std::string> accounts_;
  std::map<std::string, TrainerEntry> trainers_;                        // by job name
  std::map<std::string, std::unique_ptr<FakeDeployment>> deployments_;  // by deployment name
};

}  // namespace weightsync::fake
