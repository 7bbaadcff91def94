// SyncChain: save, then sync, keeping the base/delta chain equal to what the deployment serves.
// Comments marked "hazard N" name the reference bug (docs/SPEC.md section 3) a line fixes.
#include "weightsync/sync_chain.h"

#include <stdexcept>

#include "weightsync/errors.h"
#include "weightsync/log.h"

namespace weightsync {

namespace {

bool is_known(CheckpointKind kind) {
  return kind == CheckpointKind::base || kind == CheckpointKind::delta ||
         kind == CheckpointKind::merged_base;
}

// "base", or the number of a value outside the enum (only a cast can make one).
std::string describe(CheckpointKind kind) {
  if (is_known(kind)) return std::string(to_string(kind));
  return "CheckpointKind(" + std::to_string(static_cast<int>(kind)) + ")";
}

}  // namespace

std::string served_everywhere(const HotloadStatus& status) {
  if (status.replicas.empty()) return "";
  const std::string& first = status.replicas.front().current_snapshot_identity;
  for (const auto& r : status.replicas) {
    if (!r.readiness || r.current_snapshot_identity != first) return "";
  }
  return first;
}

void SyncChain::require(bool ok, const std::string& message) const {
  if (!ok) throw InvalidArgument(owner_ + ": " + message);
}

void SyncChain::check_kind(CheckpointKind kind) const {
  require(is_known(kind),
          "checkpoint type: expected base, delta or merged_base, got " + describe(kind));
}

SyncChain::SyncChain(std::string owner, TrainingClient& trainer, SyncOptions options, Clock& clock)
    : owner_(std::move(owner)), trainer_(trainer), options_(std::move(options)), clock_(clock) {
  require(options_.hotload_timeout >= Duration::zero(),
          "hotload_timeout: expected >= 0 s, got " +
              std::to_string(to_seconds(options_.hotload_timeout)) + " s");
  require(options_.lora_rank >= 0,
          "lora_rank: expected >= 0, got " + std::to_string(options_.lora_rank));
  require(options_.warmup_max_retries >= 0,
          "warmup_max_retries: expected >= 0, got " + std::to_string(options_.warmup_max_retries));
  require(options_.hotload_ready_timeout >= Duration::zero(),
          "hotload_ready_timeout: expected >= 0 s, got " +
              std::to_string(to_seconds(options_.hotload_ready_timeout)) + " s");
  require(options_.hotload_ready_poll_interval > Duration::zero(),
          "hotload_ready_poll_interval: expected > 0 s, got " +
              std::to_string(to_seconds(options_.hotload_ready_poll_interval)) + " s");
  const CheckpointKind first = options_.first_checkpoint_type;
  require(first == CheckpointKind::base || first == CheckpointKind::delta,
          "first_checkpoint_type: expected base or delta, got " + describe(first));
  require(!options_.deployment_id || !options_.deployment_id->empty(),
          "deployment_id: expected a deployment id or none, got an empty string");
  require(!sync_enabled() || !options_.compression_format.empty(),
          "compression_format: expected a format such as 'arc_v2', got an empty string");
  if (options_.deploy_mgr && !options_.deployment_id) {
    log(LogLevel::warning, [&] {
      return owner_ + ": deploy_mgr is set but deployment_id is not: weight sync is disabled";
    });
  }
}

void SyncChain::reset() {
  chain_ = ChainState{};
  log(LogLevel::info, [&] { return owner_ + ": delta chain reset; the next save is a base"; });
}

void SyncChain::reset_after_restart() {
  reset();
  deployment_checked_ = false;
}

// A resumed trainer has a new session: its first delta would have no parent the deployment
// knows, so the chain restarts.
void SyncChain::follow_trainer_session() {
  const std::string session = trainer_.session_id();
  if (!session_id_.empty() && session != session_id_) {
    log(LogLevel::warning, [&] {
      return owner_ + ": trainer session changed from '" + session_id_ + "' to '" + session +
             "'; resetting the delta chain";
    });
    chain_ = ChainState{};
    ++session_changes_;  // the earlier session's entries no longer count for the chain
  }
  session_id_ = session;
}

const SyncChain::Saved* SyncChain::saved_this_session(const std::string& snapshot) const {
  const auto it = saved_.find(snapshot);
  return it != saved_.end() && it->second.session == session_changes_ ? &it->second : nullptr;
}

std::optional<CheckpointKind> SyncChain::saved_kind(const std::string& snapshot) const {
  const auto it = saved_.find(snapshot);
  if (it == saved_.end()) return std::nullopt;
  return it->second.kind;
}

// What every replica serves now ("" if they disagree or serve nothing), or nothing with `why`
// set when the deployment could not be read.
std::optional<std::string> SyncChain::read_served(std::string& why) {
  try {
    return served_everywhere(
        options_.deploy_mgr->hotload_status(*options_.deployment_id, options_.base_model));
  } catch (const Error& e) {
    why = std::string("could not read the deployment's state: ") + e.what();
    return std::nullopt;
  }
}

// Replicas that restarted or were re-attached no longer serve the chain's base; a delta sent to
// them could only fail. One status read before a delta turns that failure into a base save.
void SyncChain::verify_served_before_delta(std::optional<CheckpointKind> explicit_kind) {
  verified_parent_.clear();
  if (!sync_enabled() || !options_.verify_served_before_delta || explicit_kind) return;
  if (next_checkpoint_kind(std::nullopt, options_.lora_rank, chain_, options_.first_checkpoint_type,
                           true) != CheckpointKind::delta) {
    return;
  }
  std::string why;
  const std::optional<std::string> served = read_served(why);
  if (served == chain_.base_identity) {
    verified_parent_ = chain_.base_identity;
    return;
  }
  if (served) why = "replicas serve '" + *served + "'";
  log(LogLevel::warning, [&] {
    return owner_ + ": expected every replica to serve the chain's base '" + chain_.base_identity +
           "', " + why + "; the next save is a base";
  });
  chain_ = ChainState{};
}

// Invariant 3 at the last moment: unless this call already verified it, a delta goes out only
// if every replica serves its parent now (an explicit delta, or a split save and hotload, may
// find the replicas restarted since the save).
void SyncChain::verify_parent_served(const std::string& snapshot, const std::string& parent) {
  if (!options_.verify_served_before_delta || verified_parent_ == parent) return;
  std::string why;
  const std::optional<std::string> served = read_served(why);
  if (served == parent) return;
  if (served) why = "the replicas serve '" + *served + "'";
  throw HotloadFailed("delta '" + snapshot + "' applies over '" + parent + "', but " + why +
                      "; save a base instead");
}

void SyncChain::save(SyncRecord& record, const std::string& name,
                     std::optional<CheckpointKind> explicit_kind) {
  check_snapshot_name(name, owner_ + ": snapshot name");
  if (explicit_kind) check_kind(*explicit_kind);
  if (explicit_kind == CheckpointKind::merged_base && options_.lora_rank == 0) {
    throw InvalidArgument(owner_ +
                          ": checkpoint type 'merged_base' folds a LoRA adapter into "
                          "full weights: expected lora_rank > 0, got 0");
  }
  follow_trainer_session();
  verify_served_before_delta(explicit_kind);

  const CheckpointKind kind = next_checkpoint_kind(explicit_kind, options_.lora_rank, chain_,
                                                   options_.first_checkpoint_type, sync_enabled());
  const std::string parent = kind == CheckpointKind::delta ? chain_.last_saved_identity : "";
  const Duration start = clock_.now();
  SamplerSave saved;
  try {
    saved = trainer_.save_weights_for_sampler(name, kind);
  } catch (const std::exception& e) {
    record.timings.save = elapsed_since(start);
    record.error = "save of '" + name + "' as " + std::string(to_string(kind)) +
                   " failed: " + e.what() + "; the chain is unchanged, retry the save";
    throw SaveFailed(owner_ + ": " + record.error);
  }
  record.timings.save = elapsed_since(start);
  try {
    check_snapshot_name(saved.snapshot_name, "the trainer's snapshot name");
  } catch (const InvalidArgument& e) {
    record.error = std::string("save of '") + name + "' returned an unusable name: " + e.what();
    throw SaveFailed(owner_ + ": " + record.error);
  }
  record.snapshot_name = saved.snapshot_name;
  record.path = saved.path;
  record.kind = kind;
  record.promotable = is_promotable(kind, options_.lora_rank);
  record.saved = true;
  if (saved_this_session(saved.snapshot_name)) {
    log(LogLevel::warning, [&] {
      return owner_ + ": snapshot '" + saved.snapshot_name +
             "' was saved before in this session and is now overwritten";
    });
  }
  saved_[saved.snapshot_name] = Saved{kind, parent, session_changes_};
  chain_.base_saved = true;
  chain_.last_saved_identity = saved.snapshot_name;
}

void SyncChain::adopt(SyncRecord& record, const std::string& snapshot_name, CheckpointKind kind) {
  verified_parent_.clear();  // whatever was verified at save time may have changed since
  if (!sync_enabled()) {
    throw InvalidArgument(owner_ +
                          ": hotload needs deploy_mgr and deployment_id, got weight sync "
                          "disabled");
  }
  check_kind(kind);
  const Saved* known = saved_this_session(snapshot_name);
  if (!known) {
    if (kind == CheckpointKind::delta && options_.lora_rank == 0) {
      throw InvalidArgument(owner_ + ": delta '" + snapshot_name +
                            "' was not saved by this syncer in this trainer session, so its "
                            "parent is unknown; hotload a base instead");
    }
    saved_[snapshot_name] = Saved{kind, "", session_changes_};
  } else if (known->kind != kind) {
    throw InvalidArgument(owner_ + ": snapshot '" + snapshot_name + "' was saved as " +
                          std::string(to_string(known->kind)) + ", got checkpoint type " +
                          std::string(to_string(kind)) + "; pass the type used when saving");
  }
  record.snapshot_name = snapshot_name;
  record.kind = kind;
  record.promotable = is_promotable(kind, options_.lora_rank);
  record.saved = true;
}

// Hazard 3: the check is marked done only after it succeeded, so a failure is retried.
void SyncChain::ensure_deployment_checked() {
  if (deployment_checked_) return;
  DeploymentManager& mgr = *options_.deploy_mgr;
  HotloadStatus status = mgr.wait_for_hotload_ready(*options_.deployment_id, options_.base_model,
                                                    options_.hotload_ready_timeout,
                                                    options_.hotload_ready_poll_interval);
  const std::string served = served_everywhere(status);
  if (!served.empty() && served != chain_.base_identity) {
    log(LogLevel::info, [&] {
      return owner_ + ": deployment '" + *options_.deployment_id + "' serves '" + served +
             "', not from this chain; the first hotload is a full base";
    });
  }
  deployment_checked_ = true;
}

void SyncChain::abandon_chain(SyncRecord& record, const std::string& why) {
  // Hazards 1 and 2: whatever the replicas hold now, it is not known to be the trainer's last
  // snapshot, so the next save must be a base.
  chain_ = ChainState{};
  record.error = why;
  log(LogLevel::error, [&] {
    return owner_ + ": hotload of '" + record.snapshot_name + "' failed: " + why +
           "; the delta chain is reset, the next save is a base";
  });
}

void SyncChain::sync(SyncRecord& record) {
  const std::string& deployment = *options_.deployment_id;
  DeploymentManager& mgr = *options_.deploy_mgr;
  const Duration start = clock_.now();
  try {
    ensure_deployment_checked();
    const Saved* found = saved_this_session(record.snapshot_name);
    if (!found) {  // a caller's bug: save() or adopt() fills the record sync() takes
      throw std::out_of_range(owner_ + ": sync of '" + record.snapshot_name +
                              "', which was not saved or adopted in this trainer session");
    }
    const Saved& saved = *found;
    if (saved.kind == CheckpointKind::delta && options_.lora_rank == 0) {
      // Invariant 3: a delta is sent only over the snapshot it was computed from.
      if (saved.parent.empty() || saved.parent != chain_.base_identity) {
        throw HotloadFailed("delta '" + record.snapshot_name + "' was computed against '" +
                            saved.parent + "' but the deployment is known to serve '" +
                            chain_.base_identity + "'; save a base instead");
      }
      verify_parent_served(record.snapshot_name, saved.parent);
    }
    HotloadRequest request;
    request.identity = record.snapshot_name;
    if (options_.reset_prompt_cache) request.reset_prompt_cache = true;
    request.incremental_snapshot_metadata = incremental_metadata(
        saved.kind, options_.lora_rank, saved.parent, options_.compression_format);
    record.metadata = request.incremental_snapshot_metadata;
    mgr.hotload_and_wait(deployment, options_.base_model, request, options_.hotload_timeout);
  } catch (const Error& e) {
    record.timings.hotload = elapsed_since(start);
    abandon_chain(record, e.what());
    throw;
  }
  record.timings.hotload = elapsed_since(start);
  record.synced = true;
  chain_.base_identity = record.snapshot_name;

  if (!options_.warmup_after_hotload) return;
  const Duration warm_start = clock_.now();
  WarmupResult warm = mgr.warmup(deployment, options_.warmup_max_retries);
  record.timings.warmup = elapsed_since(warm_start);
  record.warmup_ran = true;
  record.warmup_ok = warm.ok;
  record.warmup_attempts = warm.attempts;
  if (!warm.ok) {
    // Hazard 4: the reference only logged this; the caller must see it.
    record.error = "warmup of '" + deployment + "' failed after " + std::to_string(warm.attempts) +
                   " attempts (last status " + std::to_string(warm.last_status) + ": " +
                   warm.last_error + "); the weights are loaded and the chain advanced";
    throw WarmupFailed(owner_ + ": " + record.error);
  }
}

}  // namespace weightsync
