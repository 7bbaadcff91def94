// The reference chain logic, ported line for line in spirit: see reference_syncer.h.
#include "reference_syncer.h"

#include "weightsync/errors.h"
#include "weightsync/snapshot_chain.h"

namespace weightsync::props {

ReferenceSyncer::ReferenceSyncer(TrainingClient& trainer, DeploymentManager& deployments,
                                 std::string deployment_id, std::string base_model,
                                 Duration hotload_timeout, int lora_rank)
    : trainer_(trainer),
      deployments_(deployments),
      deployment_id_(std::move(deployment_id)),
      base_model_(std::move(base_model)),
      hotload_timeout_(hotload_timeout),
      lora_rank_(lora_rank) {}

CheckpointKind ReferenceSyncer::next_kind() const {
  if (lora_rank_ > 0) return CheckpointKind::base;
  // Hazard 1: "a base was saved", not "a base is served".
  return base_saved_ ? CheckpointKind::delta : CheckpointKind::base;
}

std::optional<std::string> ReferenceSyncer::save_only(const std::string& name) {
  try {
    const std::string snapshot = trainer_.save_weights_for_sampler(name, next_kind()).snapshot_name;
    base_saved_ = true;
    return snapshot;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string ReferenceSyncer::save_and_hotload(const std::string& name,
                                              std::optional<CheckpointKind> explicit_kind) {
  const CheckpointKind kind = explicit_kind.value_or(next_kind());
  const std::string snapshot = trainer_.save_weights_for_sampler(name, kind).snapshot_name;
  base_saved_ = true;
  if (!hotload(snapshot, kind)) {
    throw HotloadFailed("reference: hotload of '" + snapshot + "' failed");
  }
  return snapshot;
}

bool ReferenceSyncer::hotload(const std::string& snapshot_name, CheckpointKind kind) {
  if (!deployment_checked_) {
    deployment_checked_ = true;  // hazard 3: marked done before it runs
    try {
      deployments_.wait_for_hotload_ready(deployment_id_, base_model_, seconds(300), seconds(5));
    } catch (const Error&) {
      // The reference logs and carries on.
    }
  }
  HotloadRequest request;
  request.identity = snapshot_name;
  request.reset_prompt_cache = true;
  // Hazard 2: the parent named is the last *served* snapshot, whatever the trainer diffed
  // against.
  if (kind == CheckpointKind::delta && lora_rank_ == 0 && !base_identity_.empty()) {
    request.incremental_snapshot_metadata =
        IncrementalSnapshotMetadata{base_identity_, "arc_v2", std::string(kChecksumFormat)};
  }
  try {
    deployments_.hotload_and_wait(deployment_id_, base_model_, request, hotload_timeout_);
  } catch (const Error&) {
    return false;
  }
  base_identity_ = snapshot_name;
  return true;
}

void ReferenceSyncer::reset_delta_chain() {
  base_saved_ = false;
  base_identity_.clear();
}

}  // namespace weightsync::props
