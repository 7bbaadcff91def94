// WeightSyncer: the older, user-driven API over SyncChain (which holds every chain rule and
// hazard fix); this file adds timings, the last record, and the reference's never-throwing
// save_only and hotload.
#include "weightsync/weight_syncer.h"

#include "weightsync/errors.h"
#include "weightsync/log.h"

namespace weightsync {

WeightSyncer::WeightSyncer(TrainingClient& policy_client, WeightSyncerOptions options, Clock& clock)
    : chain_("WeightSyncer", policy_client, std::move(options), clock) {}

void WeightSyncer::reset_delta_chain() {
  chain_.reset();
}

std::string WeightSyncer::save_and_hotload(const std::string& name,
                                           std::optional<CheckpointKind> checkpoint_type) {
  const Duration start = chain_.clock().now();
  last_ = SyncRecord{};
  try {
    chain_.save(last_, name, checkpoint_type);
    if (sync_enabled()) chain_.sync(last_);
  } catch (...) {
    last_.timings.total = elapsed_since(start);
    throw;
  }
  last_.timings.total = elapsed_since(start);
  return last_.snapshot_name;
}

std::optional<std::string> WeightSyncer::save_only(const std::string& name,
                                                   std::optional<CheckpointKind> checkpoint_type) {
  const Duration start = chain_.clock().now();
  last_ = SyncRecord{};
  try {
    chain_.save(last_, name, checkpoint_type);
  } catch (const std::exception& e) {
    last_.error = e.what();
    last_.timings.total = elapsed_since(start);
    log(LogLevel::error,
        [&] { return std::string("WeightSyncer: save_only failed: ") + e.what(); });
    return std::nullopt;
  }
  last_.timings.total = elapsed_since(start);
  return last_.snapshot_name;
}

bool WeightSyncer::hotload(const std::string& snapshot_name, CheckpointKind checkpoint_type) {
  const Duration start = chain_.clock().now();
  last_ = SyncRecord{};
  last_.snapshot_name = snapshot_name;
  try {
    chain_.adopt(last_, snapshot_name, checkpoint_type);
    chain_.sync(last_);
  } catch (const std::exception& e) {
    if (last_.error.empty()) last_.error = e.what();
    log(LogLevel::error, [&] { return std::string("WeightSyncer: hotload failed: ") + e.what(); });
    last_.timings.total = elapsed_since(start);
    return false;
  }
  last_.timings.total = elapsed_since(start);
  return true;
}

std::string WeightSyncer::check_deployment_state() {
  if (!sync_enabled()) {
    log(LogLevel::warning, "WeightSyncer: check_deployment_state: weight sync is disabled");
    return "";
  }
  const SyncOptions& o = chain_.options();
  try {
    HotloadStatus status = o.deploy_mgr->hotload_status(*o.deployment_id, o.base_model);
    for (const auto& r : status.replicas) {
      log(LogLevel::info, [&] {
        return "WeightSyncer: replica '" + r.identity + "' serves '" + r.current_snapshot_identity +
               "', readiness " + (r.readiness ? "true" : "false") + ", stage '" +
               r.loading_state.stage + "'";
      });
    }
    return served_everywhere(status);
  } catch (const Error& e) {
    log(LogLevel::warning,
        [&] { return std::string("WeightSyncer: check_deployment_state: ") + e.what(); });
    return "";
  }
}

HotloadStatus WeightSyncer::wait_for_hotload_ready(Duration timeout, Duration poll_interval) {
  if (!sync_enabled()) {
    throw InvalidArgument(
        "WeightSyncer: wait_for_hotload_ready needs deploy_mgr and "
        "deployment_id, got weight sync disabled");
  }
  if (timeout < Duration::zero()) {
    throw InvalidArgument("WeightSyncer: wait_for_hotload_ready: expected a timeout >= 0 s, got " +
                          std::to_string(to_seconds(timeout)) + " s");
  }
  const SyncOptions& o = chain_.options();
  return o.deploy_mgr->wait_for_hotload_ready(*o.deployment_id, o.base_model, timeout,
                                              poll_interval);
}

}  // namespace weightsync
