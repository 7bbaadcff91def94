// A deliberately faithful port of the reference WeightSyncer's chain logic, hazards included
// (docs/SPEC.md section 3, hazards 1 and 2). It exists only so the property tests can prove they
// catch those hazards; nothing outside property_tests/ may use it.
#pragma once

#include <optional>
#include <string>

#include "weightsync/deployment_manager.h"
#include "weightsync/training_client.h"

namespace weightsync::props {

class ReferenceSyncer {
 public:
  ReferenceSyncer(TrainingClient& trainer, DeploymentManager& deployments,
                  std::string deployment_id, std::string base_model, Duration hotload_timeout,
                  int lora_rank);

  // As the reference: choose the kind from base_saved, save, set base_saved, then hotload;
  // throws on failure.
  std::string save_and_hotload(const std::string& name,
                               std::optional<CheckpointKind> explicit_kind = std::nullopt);
  // As the reference: metadata only when a base identity is known; base_identity advances only
  // after success; failure returns false and changes nothing else.
  bool hotload(const std::string& snapshot_name, CheckpointKind kind);
  // As the reference's save_only: same kind choice, sets base_saved; empty on failure.
  std::optional<std::string> save_only(const std::string& name);
  void reset_delta_chain();
  const std::string& base_identity() const { return base_identity_; }

 private:
  CheckpointKind next_kind() const;

  TrainingClient& trainer_;
  DeploymentManager& deployments_;
  std::string deployment_id_;
  std::string base_model_;
  Duration hotload_timeout_;
  int lora_rank_;
  bool deployment_checked_ = false;
  bool base_saved_ = false;
  std::string base_identity_;
};

}  // namespace weightsync::props
