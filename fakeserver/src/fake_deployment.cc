// Deployment-level rules: lifecycle, which replicas load, transitions and completion routing.
#include "weightsync/fake/fake_deployment.h"

#include <algorithm>

#include "fault_hooks.h"
#include "weightsync/fake/http_error.h"

namespace weightsync::fake {

FakeDeployment::FakeDeployment(std::string account, std::string id, DeploymentConfig config,
                               std::string bucket_url, DeploymentTiming timing, int replica_count,
                               Duration now)
    : account_(std::move(account)),
      id_(std::move(id)),
      name_(deployment_name(account_, id_)),
      config_(std::move(config)),
      bucket_url_(std::move(bucket_url)),
      timing_(timing),
      fixed_replica_count_(replica_count),
      ready_at_(now + timing.creation_time) {
  resize_replicas(ready_at_);
}

void FakeDeployment::resize_replicas(Duration start) {
  // minReplicaCount 0 still keeps one replica up (the fake is always under traffic); only
  // maxReplicaCount 0 scales to zero.
  int wanted =
      fixed_replica_count_ > 0 ? fixed_replica_count_ : std::max(1, config_.min_replica_count);
  if (config_.max_replica_count == 0) wanted = 0;
  while (static_cast<int>(replicas_.size()) > wanted) replicas_.pop_back();
  while (static_cast<int>(replicas_.size()) < wanted) {
    replicas_.emplace_back(id_ + "-replica-" + std::to_string(replica_serial_++),
                           start + timing_.hotload_startup_delay);
  }
}

std::string FakeDeployment::transition_type() const {
  return config_.hot_load_transition_type.value_or(std::string(kTransitionAsync));
}

std::string FakeDeployment::state(Duration now) const {
  std::string_view name = kStateReady;
  if (deleting_until_) {
    name = now < *deleting_until_ ? kStateDeleting : kStateDeleted;
  } else if (failed(now)) {
    name = kStateFailed;
  } else if (now < ready_at_) {
    name = kStateCreating;
  } else if (now < updating_until_) {
    name = kStateUpdating;
  }
  return std::string(name);
}

void FakeDeployment::check_serving(Duration now) const {
  // FAILED and deleted deployments will not serve again: not deployed, not worth a retry.
  if (failed(now) || deleting_until_) {
    throw HttpError(404, "deployment " + name_ + " is " + state(now) +
                             " and serves nothing (not deployed); expected READY");
  }
  if (!is_ready(now)) {
    throw HttpError(503, "deployment " + name_ + " is " + state(now) + ", expected READY; retry");
  }
}

void FakeDeployment::fail(std::string message, Duration at) {
  failed_at_ = at;
  failure_ = std::move(message);
}

void FakeDeployment::start_deletion(Duration now, Duration deletion_time, bool hard) {
  replicas_.clear();
  if (!deleting_until_) deleting_until_ = now + deletion_time;
  hard_delete_ = hard_delete_ || hard;
}

Deployment FakeDeployment::wire(Duration now) const {
  Deployment d;
  d.name = name_;
  d.state = state(now);
  d.base_model = config_.base_model;
  d.min_replica_count = config_.min_replica_count;
  d.max_replica_count = config_.max_replica_count;
  d.enable_hot_load = config_.enable_hot_load;
  d.hot_load_bucket_url = bucket_url_;
  d.hot_load_trainer_job = trainer_job();
  d.hot_load_transition_type = transition_type();
  d.description = config_.description.value_or("");
  d.deployment_shape = config_.deployment_shape.value_or("");
  d.annotations = config_.annotations;
  if (failed(now)) d.status_message = failure_;
  return d;
}

void FakeDeployment::advance(Duration now, const FaultHooks& hooks) {
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    const auto outcome = replicas_[i].advance(now, name_, static_cast<int>(i), hooks);
    if (!outcome) continue;
    if (outcome->ok) {
      ++tally_.done;
      tally_.bytes_loaded += outcome->bytes;
    } else {
      ++tally_.error;
    }
  }
}

HotloadStatus FakeDeployment::hotload_status(Duration now) const {
  HotloadStatus status;
  const bool any_up = std::any_of(replicas_.begin(), replicas_.end(),
                                  [&](const Replica& r) { return r.manager_ready(now); });
  if (!is_ready(now) || !any_up) return status;
  for (const auto& replica : replicas_) status.replicas.push_back(replica.status(now));
  return status;
}

void FakeDeployment::hotload(const HotloadRequest& request, Duration now, BucketStore& store,
                             const FaultHooks& hooks) {
  check_serving(now);
  for (const auto& replica : replicas_) {
    if (!replica.manager_ready(now)) {
      throw HttpError(503, "hotload manager of replica " + replica.name() +
                               " is not ready yet; wait for the hotload status to list replicas");
    }
  }
  if (replicas_.empty()) {
    throw HttpError(503, "deployment " + name_ + " has no replica to load onto (maxReplicaCount " +
                             std::to_string(config_.max_replica_count) + "); scale it up first");
  }
  // One read serves every replica, as one download would.
  const auto object = store.read(bucket_url_, request.identity);
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    Replica& replica = replicas_[i];
    // A resubmitted identity is the same load: never start it twice.
    if (replica.loading() && replica.loading_identity() == request.identity) continue;
    if (!replica.loading() && replica.served_identity() == request.identity) continue;
    replica.start_load(
        LoadOrder{request.identity, object, bucket_url_, request.incremental_snapshot_metadata,
                  request.reset_prompt_cache.value_or(false)},
        now, timing_, name_, static_cast<int>(i), hooks);
  }
}

void FakeDeployment::reattach(const std::string& trainer_job, const std::string& bucket_url,
                              Duration now) {
  if (trainer_job == this->trainer_job() && bucket_url == bucket_url_) return;
  config_.hot_load_trainer_job = trainer_job;
  bucket_url_ = bucket_url;
  for (auto& replica : replicas_) replica.restart(now, timing_.hotload_startup_delay);
  updating_until_ = std::max(updating_until_, now + timing_.hotload_startup_delay);
}

void FakeDeployment::set_replica_counts(std::optional<int> min_count, std::optional<int> max_count,
                                        Duration now) {
  const std::size_t before = replicas_.size();
  if (min_count) config_.min_replica_count = *min_count;
  if (max_count) config_.max_replica_count = *max_count;
  resize_replicas(now);
  if (replicas_.size() != before) {
    updating_until_ = std::max(updating_until_, now + timing_.hotload_startup_delay);
  }
}

void FakeDeployment::reset_ledger() {
  for (auto& replica : replicas_) replica.reset_ledger();
}

void FakeDeployment::restart_replica(int index, Duration now) {
  replicas_.at(static_cast<std::size_t>(index)).restart(now, timing_.hotload_startup_delay);
}

CompletionServed FakeDeployment::complete(const CompletionRequest& request, Duration now,
                                          const FaultHooks& hooks) {
  check_serving(now);
  if (replicas_.empty()) {
    throw HttpError(503, "deployment " + name_ + " has no replica serving (maxReplicaCount " +
                             std::to_string(config_.max_replica_count) + "); scale it up first");
  }
  const bool any_loading =
      std::any_of(replicas_.begin(), replicas_.end(), [](const Replica& r) { return r.loading(); });
  if (any_loading && transition_type() == kTransitionSync) {
    throw HttpError(425, "deployment " + name_ +
                             " is switching weights (SYNC transition); retry after the load");
  }
  const int count = static_cast<int>(replicas_.size());
  for (int k = 0; k < count; ++k) {
    const int index = (next_replica_ + k) % count;
    Replica& replica = replicas_[static_cast<std::size_t>(index)];
    if (!replica.readiness(now)) continue;
    if (hooks.on_completion) {
      if (const auto status = hooks.on_completion(name_)) {
        throw HttpError(*status, "completion on " + name_ + " rejected by an injected fault");
      }
    }
    next_replica_ = (index + 1) % count;
    return CompletionServed{index, replica.served_identity(), replica.served_checksum(),
                            replica.prompt_cache().record(request.prompt)};
  }
  throw HttpError(503, "no replica of " + name_ + " is serving: " +
                           (any_loading ? "weights are loading" : "replicas are starting") +
                           "; retry");
}

}  // namespace weightsync::fake
