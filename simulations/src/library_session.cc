// The production library's calls as the sync policy makes them, booked in the run's metrics.
#include "library_session.h"

#include "weightsync/errors.h"
#include "weightsync/log.h"
#include "weightsync/sim/simulation.h"

namespace weightsync::sim {
namespace {

// A failed save is retried at once, as a training loop would (the library leaves the chain
// unchanged after a failed save); the attempt fails only when every try did.
constexpr int kSaveAttempts = 3;

// Calls `try_save` (true when its save went through) until a try saves or kSaveAttempts tried,
// booking each failed try's save time (from `record`, the record the call fills) and a retry.
template <class TrySave>
void save_with_retries(RunMetrics& metrics, const SyncRecord& record, TrySave&& try_save) {
  for (int attempt = 1;; ++attempt) {
    if (try_save() || attempt == kSaveAttempts) return;
    metrics.result().save_seconds += to_seconds(record.timings.save);
    ++metrics.result().save_retries;
  }
}

}  // namespace

LibrarySession::LibrarySession(const Scenario& scenario, SimWorld& world, RunMetrics& metrics)
    : scenario_(scenario), world_(world), metrics_(metrics) {
  WeightSyncerOptions options;
  options.deploy_mgr = &world.manager();
  options.deployment_id = kDeploymentId;
  options.base_model = world.base_model();
  options.hotload_timeout = seconds(scenario.deployment.hotload_timeout_s);
  options.reset_prompt_cache = scenario.deployment.reset_prompt_cache;
  syncer_ = std::make_unique<WeightSyncer>(world.trainer(), options, world.clock());
}

void LibrarySession::initial_sync() {
  world_.trainer().set_version(0);
  syncer_->save_and_hotload("step-0", CheckpointKind::base);
}

void LibrarySession::verify_served(const std::string& snapshot) {
  RunResult& r = metrics_.result();
  if (const auto mismatch = world_.served_mismatch(snapshot)) {
    ++r.verification_failures;
    log(LogLevel::error, SimulationError(scenario_, *mismatch).what());
    return;
  }
  ++r.verified_syncs;
}

void LibrarySession::record_sync_call(Duration start, bool attempt_ends) {
  const SyncRecord& last = last_record();
  RunResult& r = metrics_.result();
  r.save_seconds += to_seconds(last.timings.save);
  r.hotload_seconds += to_seconds(last.timings.hotload);
  r.warmup_seconds += to_seconds(last.timings.warmup);
  // The call is over: whatever the replicas still do (a stuck load), generation goes on with
  // what they serve.
  Sampler* sampler = world_.sampler();
  if (sampler && sampler->loading()) {
    sampler->load_finished(world_.served_version(false).value_or(sampler->served_version()));
  }
  if (!attempt_ends && last.saved && last.error.empty()) return;
  if (!last.synced) {
    metrics_.sync_failed(start, world_.clock().now());
    return;
  }
  const bool warmup =
      service_ ? service_->config().warmup_after_hotload : syncer_->options().warmup_after_hotload;
  if (warmup && !last.warmup_ok) ++r.warmup_failures;
  verify_served(last.snapshot_name);
  metrics_.sync_succeeded(world_.clock().now());
}

bool LibrarySession::save_and_hotload(int step) {
  return save_and_hotload_named("step-" + std::to_string(step));
}

bool LibrarySession::save_and_hotload_named(const std::string& name) {
  const Duration start = world_.clock().now();
  save_with_retries(metrics_, syncer_->last_sync(), [&] {
    try {
      syncer_->save_and_hotload(name);
    } catch (const Error&) {
      // SaveFailed, HotloadFailed, Timeout, ApiError, TransportError, WarmupFailed: the record
      // says which, and the library has already reset the chain where it had to.
    }
    return syncer_->last_sync().saved;
  });
  record_sync_call(start, true);
  return syncer_->last_sync().synced;
}

std::optional<std::string> LibrarySession::save_only(int step) {
  attempt_start_ = world_.clock().now();
  std::optional<std::string> name;
  save_with_retries(metrics_, syncer_->last_sync(), [&] {
    name = syncer_->save_only("step-" + std::to_string(step));
    return name.has_value();
  });
  record_sync_call(attempt_start_, !name.has_value());
  return name;
}

bool LibrarySession::wait_for_hotload_ready() {
  try {
    syncer_->wait_for_hotload_ready(seconds(scenario_.deployment.hotload_timeout_s),
                                    seconds(scenario_.deployment.poll_interval_s));
    return true;
  } catch (const Error&) {
    metrics_.sync_failed(attempt_start_, world_.clock().now());
    return false;
  }
}

bool LibrarySession::hotload(const std::string& snapshot) {
  const SnapshotEntry* entry = world_.book().find(snapshot);
  syncer_->hotload(snapshot, entry ? entry->kind : CheckpointKind::base);
  record_sync_call(attempt_start_, true);
  return syncer_->last_sync().synced;
}

bool LibrarySession::refresh_sampler(int step) {
  const Duration start = world_.clock().now();
  if (!service_) {
    ServiceClientConfig c;
    c.base_model = world_.base_model();
    c.trainer_job_id = kTrainerId;
    c.deployment_id = kDeploymentId;
    c.hotload_timeout = seconds(scenario_.deployment.hotload_timeout_s);
    c.reset_prompt_cache = scenario_.deployment.reset_prompt_cache;
    c.poll_interval = seconds(scenario_.deployment.poll_interval_s);
    c.deployment_timeout = seconds(300);
    service_ = std::make_unique<ServiceClient>(
        world_.manager(), world_.transport(), kApiKey,
        [this](const std::string&) -> TrainingClient& { return world_.trainer(); }, std::move(c));
  }
  // As save_and_hotload: a failed save is retried, and for any other failure the record says
  // what failed and the chain is already reset.
  std::optional<SamplerSave> saved;
  save_with_retries(metrics_, service_->last_sync(), [&] {
    try {
      saved = service_->save_weights_for_sampler("step-" + std::to_string(step));
    } catch (const Error&) {
    }
    return saved.has_value();
  });
  if (saved) {
    // A hotload starts a sync record of its own, without the save's time: book that time now.
    if (service_->chain().base_identity != saved->snapshot_name) {
      metrics_.result().save_seconds += to_seconds(service_->last_sync().timings.save);
    }
    try {
      service_->create_sampling_client(saved->path);
    } catch (const Error&) {
    }
  }
  record_sync_call(start, true);
  return service_->last_sync().synced;
}

}  // namespace weightsync::sim
