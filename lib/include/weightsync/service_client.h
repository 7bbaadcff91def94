// ServiceClient: the service-client sampler refresh, the pattern new code should use
// (docs/SPEC.md section 8). Built from a provisioning config, it provisions lazily and once a
// trainer job (create, reuse or resume) and a deployment (create, or re-attach an existing one
// after checking its shape), then refreshes the sampler:
//
//   SamplerSave saved = service.save_weights_for_sampler("step-7");
//   SamplingClient sampler = service.create_sampling_client(saved.path);
//
// Saves and hotloads go through SyncChain, the same chain code as the WeightSyncer, so the
// base/delta decision, the status read before a delta and every hazard fix are shared. After a
// re-attach or a trainer resume the next refresh is a base without the caller doing anything.
//
// Thread-safety: none. One ServiceClient belongs to one training loop thread; the
// SamplingClients it returns may be used from other threads if the Transport allows it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/sampling_client.h"
#include "weightsync/snapshot_chain.h"
#include "weightsync/sync_chain.h"
#include "weightsync/trainer_jobs.h"
#include "weightsync/training_client.h"
#include "weightsync/transport.h"

namespace weightsync {

// The reference's provisioning config, with its defaults, where they mean something here.
struct ServiceClientConfig {
  std::string base_model;
  int lora_rank = 0;
  // Reuse this trainer job (resumed if FAILED or PAUSED); none: create one.
  std::optional<std::string> trainer_job_id;
  // The id a created trainer job gets; none: "weightsync-" and 8 random hex characters, drawn
  // once, so a retried provisioning reuses the job its first try created.
  std::optional<std::string> new_trainer_job_id;
  // Reuse this deployment if it exists (re-attached to the trainer), else create it with this
  // id; none: create one with a drawn id as above.
  std::optional<std::string> deployment_id;
  // Required to create a deployment; a reused one must have exactly this shape (if set).
  std::optional<std::string> deployment_shape;
  int replica_count = 1;
  Duration trainer_timeout = seconds(3600);
  Duration deployment_timeout = seconds(5400);
  Duration hotload_timeout = seconds(600);
  Duration reattach_settle_timeout = seconds(600);
  Duration reattach_poll_interval = seconds(5);
  Duration poll_interval = seconds(5);  // trainer job and deployment state polls
  // On close: delete the trainer job, if this client created it.
  bool cleanup_trainer_on_close = false;
  // On close, for a deployment this client created: "none", "scale_to_zero" or "delete".
  std::string cleanup_deployment_on_close = "none";
  // Passed to the chain (sync_chain.h): warmup, prompt cache reset, compression format.
  bool warmup_after_hotload = true;
  int warmup_max_retries = 10;
  bool reset_prompt_cache = true;
  std::string compression_format = "arc_v2";
  SamplingClientOptions sampling;
};

// What provisioning did (for logs and tests).
struct Provisioned {
  std::string trainer_job;  // accounts/{a}/rlorTrainerJobs/{id}
  std::string deployment_id;
  bool trainer_created = false;
  bool trainer_resumed = false;
  bool deployment_created = false;
  bool deployment_reattached = false;
};

class ServiceClient {
 public:
  // Gives the TrainingClient of a running trainer job (by its name); the reference stays valid
  // for the ServiceClient's lifetime.
  using ConnectTrainer = std::function<TrainingClient&(const std::string& job_name)>;

  // Refuses a config that cannot work (InvalidArgument naming the field): empty base_model,
  // lora_rank < 0, replica_count < 1, an id with '/' or empty, no deployment_shape when a
  // deployment is to be created, an unknown cleanup mode, a non-positive timeout or poll.
  ServiceClient(DeploymentManager& deployments, Transport& transport, std::string api_key,
                ConnectTrainer connect, ServiceClientConfig config);

  // Provisions the trainer job and the deployment, once; a failed try is retried by the next
  // call, reusing what the first made. Throws TrainerJobFailed, DeploymentFailed,
  // DeploymentShapeMismatch, ReattachNotSettled, Timeout (the trainer job or the deployment
  // was not up within its timeout), ApiError, InvalidArgument.
  const Provisioned& provision();
  // Saves a sampler snapshot of the kind the chain picks, or `checkpoint_type` as the reference
  // allows (provisioning first if needed). Throws SaveFailed (chain unchanged).
  SamplerSave save_weights_for_sampler(
      const std::string& name, std::optional<CheckpointKind> checkpoint_type = std::nullopt);
  // Hotloads the snapshot saved at `model_path` (a SamplerSave's path or snapshot name) unless
  // the deployment already serves it, and returns a client bound to it. Throws HotloadFailed /
  // HotloadTimeout (chain reset: the next save is a base), WarmupFailed, InvalidArgument for a
  // path this client did not save.
  SamplingClient create_sampling_client(const std::string& model_path);
  // Releases, in this order, what this client created and was told to clean up: the
  // deployment (scale to zero or delete), then the trainer job. Every step is tried; failures
  // are thrown together as one CleanupFailed naming each, and a second close redoes only those.
  // Idempotent once it succeeded.
  void close();
  // The next save is a base. Rarely needed: re-attaches and resumes this client sees are
  // handled by itself; call it after changing the deployment behind its back.
  void reset_chain();

  const ServiceClientConfig& config() const { return config_; }
  const std::optional<Provisioned>& provisioned() const { return provisioned_; }
  // The chain (empty state before provisioning).
  ChainState chain() const;
  const SyncRecord& last_sync() const { return last_; }
  TrainingClient& training_client();

 private:
  void provision_trainer();
  void wait_trainer_running(const std::string& id);
  void provision_deployment();
  std::string model_name() const;

  DeploymentManager& deployments_;
  Transport& transport_;
  std::string api_key_;
  ConnectTrainer connect_;
  ServiceClientConfig config_;
  Clock& clock_;
  std::string new_trainer_id_;
  std::string new_deployment_id_;
  std::unique_ptr<TrainerJobs> trainer_jobs_;
  Provisioned progress_;  // what provisioning has done so far, kept across failed tries
  bool trainer_ready_ = false;
  bool deployment_ready_ = false;
  std::optional<Provisioned> provisioned_;
  TrainingClient* trainer_ = nullptr;
  std::unique_ptr<SyncChain> chain_;
  std::map<std::string, std::string> paths_;  // path -> snapshot name
  SyncRecord last_;
  bool deployment_released_ = false;
  bool trainer_released_ = false;
  bool closed_ = false;
};

}  // namespace weightsync
