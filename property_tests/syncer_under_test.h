// One face for the syncers the properties run against: the production WeightSyncer, the
// production ServiceClient (the service-client refresh over the same chain code) and the
// faithful port of the reference (reference_syncer.h). Both see the trainer through a proxy, so
// a re-attach can hand the loop a new trainer job as a user's code would.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_training_client.h"
#include "weightsync/snapshot_chain.h"

namespace weightsync::props {

// Forwards to whichever fake trainer the loop currently trains; each sampler save is first the
// fault plan's save_failure opportunity, as a save over the control API is.
class TrainerProxy final : public TrainingClient {
 public:
  TrainerProxy(fake::FakeTrainingClient*& current, fake::FakeCloud& cloud)
      : current_(current), cloud_(cloud) {}
  SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind kind) override {
    cloud_.save_fault(current_->job_name());
    return current_->save_weights_for_sampler(name, kind);
  }
  std::string save_state(const std::string& name) override { return current_->save_state(name); }
  std::string session_id() const override { return current_->session_id(); }

 private:
  fake::FakeTrainingClient*& current_;
  fake::FakeCloud& cloud_;
};

struct SyncerSettings {
  std::string deployment_id;
  std::string base_model;
  Duration hotload_timeout = seconds(30);
  CheckpointKind first_checkpoint_type = CheckpointKind::base;
  int warmup_max_retries = 2;
  int lora_rank = 0;
};

class SyncerUnderTest {
 public:
  virtual ~SyncerUnderTest() = default;
  // Throws on failure, as the seed's save_and_hotload.
  virtual std::string save_and_hotload(const std::string& name,
                                       std::optional<CheckpointKind> explicit_kind) = 0;
  virtual std::optional<std::string> save_only(const std::string& name) = 0;
  virtual bool hotload(const std::string& snapshot, CheckpointKind kind) = 0;
  virtual void reset_delta_chain() = 0;
  virtual std::string base_identity() const = 0;
};

std::unique_ptr<SyncerUnderTest> make_production_syncer(TrainingClient& trainer,
                                                        DeploymentManager& manager, Clock& clock,
                                                        const SyncerSettings& settings);
// A ServiceClient that reuses the world's trainer job and deployment (`trainer_job_id`, the
// job's id), provisioned at once; a save and hotload is save_weights_for_sampler then
// create_sampling_client.
std::unique_ptr<SyncerUnderTest> make_service_syncer(
    TrainingClient& trainer, DeploymentManager& manager, Transport& transport,
    const std::string& api_key, const std::string& trainer_job_id, const SyncerSettings& settings);
std::unique_ptr<SyncerUnderTest> make_reference_syncer(TrainingClient& trainer,
                                                       DeploymentManager& manager,
                                                       const SyncerSettings& settings);

}  // namespace weightsync::props
