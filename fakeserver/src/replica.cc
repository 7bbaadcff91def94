// The hotload state machine of one replica, driven by the clock alone.
#include "weightsync/fake/replica.h"

#include "fault_hooks.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/log.h"

namespace weightsync::fake {
namespace {

const std::shared_ptr<const Bytes>& base_model_bytes() {
  // The base model is represented by no bytes: it matches no trainer snapshot.
  static const auto empty = std::make_shared<const Bytes>();
  return empty;
}

Duration transfer_time(std::size_t bytes, double bandwidth_bytes_per_s) {
  if (bandwidth_bytes_per_s <= 0) return Duration::zero();
  return seconds(static_cast<double>(bytes) / bandwidth_bytes_per_s);
}

}  // namespace

Replica::Replica(std::string name, Duration manager_ready_at)
    : name_(std::move(name)),
      manager_ready_at_(manager_ready_at),
      served_bytes_(base_model_bytes()),
      served_checksum_(adler32(*base_model_bytes())) {}

const std::string& Replica::loading_identity() const {
  static const std::string none;
  return load_ ? load_->order.identity : none;
}

std::string Replica::stage(Duration now) const {
  if (!load_) return stage_;
  if (now < load_->pending_end) return std::string(kStagePending);
  if (now < load_->download_end) return std::string(kStageDownloading);
  return std::string(kStageLoading);
}

const std::string& Replica::stage_target() const {
  return load_ ? load_->order.identity : stage_target_;
}

void Replica::start_load(LoadOrder order, Duration now, const DeploymentTiming& timing,
                         const std::string& deployment, int index, const FaultHooks& hooks) {
  const std::size_t size = order.object ? order.object->bytes->size() : 0;
  const Duration download = transfer_time(size, timing.bandwidth_bytes_per_s);
  LoadPlan plan{
      deployment,
      index,
      order.identity,
      order.object ? timing.load_pending + download + timing.load_overhead : timing.load_pending,
      std::nullopt,
      false,
      order.metadata.has_value(),
      false,
      std::nullopt};
  if (hooks.on_load_start) hooks.on_load_start(plan);
  Load load;
  load.order = std::move(order);
  load.end = now + plan.duration;
  load.pending_end = std::min(now + timing.load_pending, load.end);
  load.download_end = std::min(load.pending_end + download, load.end);
  load.fail_with = std::move(plan.fail_with);
  load.stuck = plan.stuck;
  load.corrupt_parent = plan.corrupt_parent;
  load_ = std::move(load);
}

std::variant<Replica::Served, std::string> Replica::outcome(const Load& load) const {
  const LoadOrder& order = load.order;
  if (load.fail_with) return *load.fail_with;
  if (!order.object) {
    return "snapshot " + order.identity + " not found in bucket " + order.bucket_url;
  }
  const StoredObject& object = *order.object;
  if (!order.metadata) {
    // Like the real server, a snapshot without incremental metadata is loaded as full weights,
    // even when it holds a delta: the replica then serves bytes that match no trainer snapshot.
    const std::uint32_t sum = adler32(*object.bytes);
    if (!object.delta_encoded && sum != object.checksum) {
      return "snapshot " + order.identity + " is corrupt: its Adler-32 does not match";
    }
    return Served{object.bytes, sum};
  }
  const auto& previous = order.metadata->previous_snapshot_identity;
  if (object.lora) {
    return "snapshot " + order.identity + " is a LoRA adapter; incremental metadata is not allowed";
  }
  if (!object.delta_encoded) {
    return "snapshot " + order.identity +
           " holds full weights but the hotload carried incremental metadata";
  }
  if (previous != chain_identity_) {
    return "delta " + order.identity + " builds on " + previous + " but replica " + name_ +
           " serves " + (chain_identity_.empty() ? "no chain snapshot" : chain_identity_);
  }
  if (object.parent != previous) {
    return "delta " + order.identity + " was computed from " + object.parent +
           " but the hotload names " + previous + " as its previous snapshot";
  }
  try {
    // apply_delta checks the rebuilt bytes against the delta's own Adler-32; the snapshot's
    // recorded checksum must be that same one.
    if (read_delta_header(*object.bytes).checksum != object.checksum) {
      return "delta " + order.identity + " carries a checksum other than the snapshot's";
    }
    std::shared_ptr<const Bytes> rebuilt;
    if (load.corrupt_parent && !served_bytes_->empty()) {
      // An injected fault: the replica's bytes are not the parent it names (one bit differs).
      Bytes parent = *served_bytes_;
      parent[parent.size() / 2] ^= 1;
      rebuilt = std::make_shared<const Bytes>(apply_delta(parent, *object.bytes));
    } else {
      rebuilt = std::make_shared<const Bytes>(apply_delta(*served_bytes_, *object.bytes));
    }
    return Served{std::move(rebuilt), object.checksum};
  } catch (const DeltaError& e) {
    return "delta " + order.identity + " could not be applied: " + e.what();
  }
}

void Replica::serve(const Load& load, Served served) {
  const StoredObject& object = *load.order.object;
  served_identity_ = load.order.identity;
  served_checksum_ = served.checksum;
  served_bytes_ = std::move(served.bytes);
  chain_identity_ = served_identity_;
  if (object.lora) {
    std::erase_if(loaded_adapters_,
                  [&](const LoadedAdapter& a) { return a.identity == served_identity_; });
    loaded_adapters_.push_back(LoadedAdapter{served_identity_, "LOADED"});
  }
}

std::optional<LoadOutcome> Replica::advance(Duration now, const std::string& deployment, int index,
                                            const FaultHooks& hooks) {
  if (!load_ || load_->stuck || now < load_->end) return std::nullopt;
  const Load load = std::move(*load_);
  load_.reset();
  stage_target_ = load.order.identity;
  auto result = outcome(load);
  if (auto* why = std::get_if<std::string>(&result)) {
    stage_ = kStageError;
    last_error_ = *why;
    log(LogLevel::info, [&] { return "fake replica " + name_ + ": load failed: " + *why; });
    return LoadOutcome{false, 0};
  }
  serve(load, std::get<Served>(std::move(result)));
  stage_ = kStageDone;
  last_error_.clear();
  if (load.order.reset_prompt_cache &&
      (!hooks.on_prompt_cache_reset || hooks.on_prompt_cache_reset(deployment, index))) {
    prompt_cache_.clear();
  }
  return LoadOutcome{true, load.order.object->bytes->size()};
}

void Replica::restart(Duration now, Duration startup_delay) {
  load_.reset();
  stage_ = kStageIdle;
  stage_target_.clear();
  last_error_.clear();
  served_identity_.clear();
  served_bytes_ = base_model_bytes();
  served_checksum_ = adler32(*served_bytes_);
  chain_identity_.clear();
  loaded_adapters_.clear();
  prompt_cache_.clear();
  manager_ready_at_ = now + startup_delay;
  ++restarts_;
}

ReplicaStatus Replica::status(Duration now) const {
  ReplicaStatus s;
  s.identity = pod_identity();
  s.current_snapshot_identity = served_identity_;
  s.readiness = readiness(now);
  s.loading_state = LoadingState{stage(now), stage_target()};
  s.loaded_adapters = loaded_adapters_;
  return s;
}

}  // namespace weightsync::fake
