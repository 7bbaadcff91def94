// ServiceClient: lazy provisioning of a trainer job and a deployment, the sampler refresh
// through the shared SyncChain, and cleanup of what it created.
#include "weightsync/service_client.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "weightsync/errors.h"
#include "weightsync/log.h"

namespace weightsync {
namespace {

constexpr const char* kOwner = "ServiceClient";

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidArgument(std::string(kOwner) + ": " + message);
}

void check_id(const std::optional<std::string>& id, const std::string& field) {
  if (!id) return;
  require(!id->empty() && id->find('/') == std::string::npos,
          field + ": expected an id without '/', got '" + *id + "'");
}

void check_positive(Duration d, const std::string& field) {
  require(d > Duration::zero(),
          field + ": expected a positive duration, got " + std::to_string(to_seconds(d)) + " s");
}

// "weightsync-" and 8 hex characters; drawn once per client, so a retry reuses the id.
std::string drawn_id() {
  std::random_device device;
  char text[9];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(device()));
  return std::string("weightsync-") + text;
}

std::set<std::string> replica_names(const HotloadStatus& status) {
  std::set<std::string> names;
  for (const auto& r : status.replicas) names.insert(r.identity);
  return names;
}

}  // namespace

ServiceClient::ServiceClient(DeploymentManager& deployments, Transport& transport,
                             std::string api_key, ConnectTrainer connect,
                             ServiceClientConfig config)
    : deployments_(deployments),
      transport_(transport),
      api_key_(std::move(api_key)),
      connect_(std::move(connect)),
      config_(std::move(config)),
      clock_(deployments.clock()) {
  require(!config_.base_model.empty(), "base_model: expected a model name, got an empty string");
  require(config_.lora_rank >= 0,
          "lora_rank: expected >= 0, got " + std::to_string(config_.lora_rank));
  require(config_.replica_count >= 1,
          "replica_count: expected >= 1, got " + std::to_string(config_.replica_count));
  check_id(config_.trainer_job_id, "trainer_job_id");
  check_id(config_.new_trainer_job_id, "new_trainer_job_id");
  check_id(config_.deployment_id, "deployment_id");
  require(config_.deployment_id || (config_.deployment_shape && !config_.deployment_shape->empty()),
          "deployment_shape: expected a shape to create a new deployment (no deployment_id to "
          "reuse), got none");
  const std::string& cleanup = config_.cleanup_deployment_on_close;
  require(cleanup == "none" || cleanup == "scale_to_zero" || cleanup == "delete",
          "cleanup_deployment_on_close: expected 'none', 'scale_to_zero' or 'delete', got '" +
              cleanup + "'");
  require(config_.hotload_timeout >= Duration::zero(),
          "hotload_timeout: expected >= 0 s, got " +
              std::to_string(to_seconds(config_.hotload_timeout)));
  check_positive(config_.trainer_timeout, "trainer_timeout");
  check_positive(config_.deployment_timeout, "deployment_timeout");
  check_positive(config_.reattach_settle_timeout, "reattach_settle_timeout");
  check_positive(config_.reattach_poll_interval, "reattach_poll_interval");
  check_positive(config_.poll_interval, "poll_interval");
  require(static_cast<bool>(connect_), "connect: expected a function giving the trainer's client");
  new_trainer_id_ = config_.new_trainer_job_id.value_or(drawn_id());
  new_deployment_id_ = config_.deployment_id.value_or(drawn_id());
}

std::string ServiceClient::model_name() const {
  return deployment_name(deployments_.account_id(), progress_.deployment_id);
}

ChainState ServiceClient::chain() const {
  return chain_ ? chain_->state() : ChainState{};
}

TrainingClient& ServiceClient::training_client() {
  provision();
  return *trainer_;
}

const Provisioned& ServiceClient::provision() {
  if (closed_) throw InvalidArgument("ServiceClient: expected an open client, got a closed one");
  if (provisioned_) return *provisioned_;
  if (!trainer_jobs_) {
    trainer_jobs_ = std::make_unique<TrainerJobs>(transport_, api_key_, deployments_.account_id());
  }
  if (!trainer_ready_) provision_trainer();
  if (!deployment_ready_) provision_deployment();
  SyncOptions sync;
  sync.deploy_mgr = &deployments_;
  sync.deployment_id = progress_.deployment_id;
  sync.base_model = config_.base_model;
  sync.hotload_timeout = config_.hotload_timeout;
  sync.compression_format = config_.compression_format;
  sync.warmup_after_hotload = config_.warmup_after_hotload;
  sync.warmup_max_retries = config_.warmup_max_retries;
  sync.reset_prompt_cache = config_.reset_prompt_cache;
  sync.lora_rank = config_.lora_rank;
  sync.hotload_ready_timeout = config_.deployment_timeout;
  sync.hotload_ready_poll_interval = config_.poll_interval;
  // A fresh chain: whatever the deployment served before (another trainer, an older session)
  // is not its base, so the first refresh is a full base.
  chain_ = std::make_unique<SyncChain>(kOwner, *trainer_, sync, clock_);
  provisioned_ = progress_;
  log(LogLevel::info, [&] {
    return std::string(kOwner) + ": trainer job '" + progress_.trainer_job + "' (" +
           (progress_.trainer_created   ? "created"
            : progress_.trainer_resumed ? "resumed"
                                        : "reused") +
           "), deployment '" + progress_.deployment_id + "' (" +
           (progress_.deployment_created      ? "created"
            : progress_.deployment_reattached ? "re-attached"
                                              : "reused") +
           ")";
  });
  return *provisioned_;
}

void ServiceClient::provision_trainer() {
  TrainerJobs& jobs = *trainer_jobs_;
  std::string id;
  TrainerJob job;
  if (config_.trainer_job_id) {
    id = *config_.trainer_job_id;
    job = jobs.get(id);
  } else {
    id = new_trainer_id_;
    job = jobs.create(id, config_.base_model, config_.lora_rank);
    progress_.trainer_created = true;
  }
  progress_.trainer_job = job.name;
  if (job.state == kJobStateFailed || job.state == kJobStatePaused) {
    log(LogLevel::warning, [&] {
      return std::string(kOwner) + ": trainer job '" + job.name + "' is " + job.state +
             "; resuming it (the next refresh is a full base)";
    });
    job = jobs.resume(id);
    progress_.trainer_resumed = true;
  }
  wait_trainer_running(id);
  trainer_ = &connect_(progress_.trainer_job);
  trainer_ready_ = true;
}

void ServiceClient::wait_trainer_running(const std::string& id) {
  TrainerJobs& jobs = *trainer_jobs_;
  const Deadline deadline(clock_, config_.trainer_timeout);
  std::string seen;
  for (;;) {
    const TrainerJob job = jobs.get(id);
    seen = job.state;
    if (job.state == kJobStateFailed || job.state == kJobStateCancelled ||
        job.state == kJobStateDeleted) {
      throw TrainerJobFailed(std::string(kOwner) + ": trainer job '" + job.name + "': expected " +
                             std::string(kJobStateRunning) + ", got " + job.state + " (" +
                             job.status_message +
                             "); resume it or start a new one, the next refresh is a full base");
    }
    if (job.state == kJobStateRunning) {
      if (jobs.healthy(id)) return;
      seen += " but its health check does not answer 200";
    }
    if (deadline.passed()) {
      throw Timeout(std::string(kOwner) + ": trainer job '" + jobs.job_name(id) +
                    "': expected running and healthy within " +
                    std::to_string(to_seconds(config_.trainer_timeout)) + " s, got " + seen +
                    "; raise trainer_timeout or check the job");
    }
    deadline.sleep(config_.poll_interval);
  }
}

void ServiceClient::provision_deployment() {
  const std::string& job = progress_.trainer_job;
  const std::string id = new_deployment_id_;
  progress_.deployment_id = id;
  std::optional<Deployment> existing;
  if (config_.deployment_id || progress_.deployment_created) {
    try {
      existing = deployments_.get_deployment(id);
    } catch (const ApiError& e) {
      if (e.status() != 404) throw;
    }
  }
  if (!existing || existing->state == kStateDeleted) {
    require(config_.deployment_shape && !config_.deployment_shape->empty(),
            "deployment_shape: expected a shape to create deployment '" + id +
                "' (it does not exist), got none");
    DeploymentConfig create;
    create.base_model = config_.base_model;
    create.min_replica_count = config_.replica_count;
    create.max_replica_count = config_.replica_count;
    create.enable_hot_load = true;
    create.hot_load_trainer_job = job;
    create.deployment_shape = config_.deployment_shape;
    create.for_training = true;
    deployments_.create_or_get_deployment(id, create);
    progress_.deployment_created = true;
    deployments_.wait_for_deployment_ready(id, config_.deployment_timeout, config_.poll_interval);
    deployment_ready_ = true;
    return;
  }
  const Deployment& d = *existing;
  if (is_terminal_state(d.state)) {
    throw DeploymentFailed(std::string(kOwner) + ": deployment '" + id + "': expected a live " +
                           "deployment to re-attach, got " + d.state + " (" + d.status_message +
                           "); delete it or pick another deployment_id");
  }
  if (config_.deployment_shape && d.deployment_shape != *config_.deployment_shape) {
    throw DeploymentShapeMismatch(std::string(kOwner) + ": deployment '" + id +
                                  "': expected shape '" + *config_.deployment_shape + "', got '" +
                                  d.deployment_shape +
                                  "'; nothing was changed, fix deployment_shape or pick another "
                                  "deployment_id");
  }
  DeploymentUpdate update;
  if (d.hot_load_trainer_job != job) update.hot_load_trainer_job = job;
  if (d.max_replica_count == 0) {  // scaled to zero by an earlier close
    update.min_replica_count = config_.replica_count;
    update.max_replica_count = config_.replica_count;
  }
  if (update_mask(update).empty()) {
    deployments_.wait_for_deployment_ready(id, config_.deployment_timeout, config_.poll_interval);
    deployment_ready_ = true;
    return;
  }
  std::set<std::string> before;
  try {
    before = replica_names(deployments_.hotload_status(id, config_.base_model));
  } catch (const Error&) {
    // No replicas to tell apart (scaled to zero, or not serving yet): any that report will do.
  }
  deployments_.update_deployment(id, update);
  progress_.deployment_reattached = update.hot_load_trainer_job.has_value();
  log(LogLevel::warning, [&] {
    return std::string(kOwner) + ": deployment '" + id + "' re-attached to '" + job + "' (was '" +
           d.hot_load_trainer_job +
           "'); its replicas restart, the next refresh is "
           "a full base";
  });
  // Settled: READY on the new trainer, hotload manager up, and no replica left from before.
  const Deadline deadline(clock_, config_.reattach_settle_timeout);
  std::string seen;
  for (;;) {
    const Deployment now = deployments_.get_deployment(id);
    if (is_terminal_state(now.state)) {
      throw DeploymentFailed(std::string(kOwner) + ": deployment '" + id +
                             "': expected READY after re-attach, got " + now.state + " (" +
                             now.status_message + "); delete it and let a new client create one");
    }
    seen = "state " + now.state + ", trainer '" + now.hot_load_trainer_job + "'";
    if (now.state == kStateReady && now.hot_load_trainer_job == job) {
      try {
        const std::set<std::string> names =
            replica_names(deployments_.hotload_status(id, config_.base_model));
        const bool fresh =
            !names.empty() && std::none_of(names.begin(), names.end(),
                                           [&](const auto& n) { return before.count(n) > 0; });
        if (fresh) {
          deployment_ready_ = true;
          return;
        }
        seen += ", " + std::to_string(names.size()) + " replicas reporting, not all restarted";
      } catch (const Error& e) {
        seen += std::string(", hotload status: ") + e.what();
      }
    }
    if (deadline.passed()) {
      throw ReattachNotSettled(
          std::string(kOwner) + ": deployment '" + id + "' re-attached to '" + job +
          "': expected READY with restarted replicas within " +
          std::to_string(to_seconds(config_.reattach_settle_timeout)) + " s, got " + seen +
          "; retry (the next call waits again) or raise reattach_settle_timeout");
    }
    deadline.sleep(config_.reattach_poll_interval);
  }
}

SamplerSave ServiceClient::save_weights_for_sampler(const std::string& name,
                                                    std::optional<CheckpointKind> checkpoint_type) {
  provision();
  last_ = SyncRecord{};
  chain_->save(last_, name, checkpoint_type);
  paths_[last_.path] = last_.snapshot_name;
  return SamplerSave{last_.path, last_.snapshot_name};
}

SamplingClient ServiceClient::create_sampling_client(const std::string& model_path) {
  provision();
  auto path = paths_.find(model_path);
  const std::string snapshot = path != paths_.end() ? path->second : model_path;
  // The chain keeps every snapshot this client saved, also those of an earlier trainer session.
  const std::optional<CheckpointKind> kind = chain_->saved_kind(snapshot);
  if (!kind) {
    throw InvalidArgument(std::string(kOwner) + ": create_sampling_client: expected a path " +
                          "returned by this client's save_weights_for_sampler, got '" + model_path +
                          "'");
  }
  if (chain_->state().base_identity != snapshot) {
    last_ = SyncRecord{};
    chain_->adopt(last_, snapshot, *kind);
    chain_->sync(last_);
  }
  return SamplingClient(transport_, clock_, api_key_, model_name(), snapshot, config_.sampling);
}

void ServiceClient::reset_chain() {
  provision();
  chain_->reset();
}

void ServiceClient::close() {
  if (closed_) return;
  std::string failures;
  auto attempt = [&](const std::string& what, auto&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + what + ": " + e.what();
    }
  };
  const std::string& mode = config_.cleanup_deployment_on_close;
  if (progress_.deployment_created && mode != "none" && !deployment_released_) {
    attempt(mode + " deployment '" + progress_.deployment_id + "'", [&] {
      if (mode == "delete") {
        deployments_.delete_deployment(progress_.deployment_id);
      } else {
        DeploymentUpdate zero;
        zero.min_replica_count = 0;
        zero.max_replica_count = 0;
        deployments_.update_deployment(progress_.deployment_id, zero);
      }
      deployment_released_ = true;
    });
  }
  if (progress_.trainer_created && config_.cleanup_trainer_on_close && !trainer_released_) {
    attempt("delete trainer job '" + progress_.trainer_job + "'", [&] {
      trainer_jobs_->remove(progress_.trainer_job.substr(progress_.trainer_job.rfind('/') + 1));
      trainer_released_ = true;
    });
  }
  if (!failures.empty()) {
    throw CleanupFailed(std::string(kOwner) + ": close: expected every cleanup to succeed, got " +
                        failures + "; the rest was released, retry close for these");
  }
  closed_ = true;
}

}  // namespace weightsync
