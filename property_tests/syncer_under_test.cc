// The syncers behind SyncerUnderTest.
#include "syncer_under_test.h"

#include "reference_syncer.h"
#include "weightsync/service_client.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::props {
namespace {

class ProductionSyncer final : public SyncerUnderTest {
 public:
  ProductionSyncer(TrainingClient& trainer, WeightSyncerOptions options, Clock& clock)
      : syncer_(trainer, std::move(options), clock) {}
  std::string save_and_hotload(const std::string& name,
                               std::optional<CheckpointKind> explicit_kind) override {
    return syncer_.save_and_hotload(name, explicit_kind);
  }
  std::optional<std::string> save_only(const std::string& name) override {
    return syncer_.save_only(name);
  }
  bool hotload(const std::string& snapshot, CheckpointKind kind) override {
    return syncer_.hotload(snapshot, kind);
  }
  void reset_delta_chain() override { syncer_.reset_delta_chain(); }
  std::string base_identity() const override { return syncer_.chain().base_identity; }

 private:
  WeightSyncer syncer_;
};

class ServiceSyncer final : public SyncerUnderTest {
 public:
  ServiceSyncer(DeploymentManager& manager, Transport& transport, const std::string& api_key,
                TrainingClient& trainer, ServiceClientConfig config)
      : service_(
            manager, transport, api_key,
            [&trainer](const std::string&) -> TrainingClient& { return trainer; },
            std::move(config)) {
    service_.provision();
  }
  std::string save_and_hotload(const std::string& name,
                               std::optional<CheckpointKind> explicit_kind) override {
    const SamplerSave saved = service_.save_weights_for_sampler(name, explicit_kind);
    return service_.create_sampling_client(saved.path).snapshot_identity();
  }
  std::optional<std::string> save_only(const std::string& name) override {
    try {
      return service_.save_weights_for_sampler(name).snapshot_name;
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  bool hotload(const std::string& snapshot, CheckpointKind) override {
    try {
      service_.create_sampling_client(snapshot);
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  void reset_delta_chain() override { service_.reset_chain(); }
  std::string base_identity() const override { return service_.chain().base_identity; }

 private:
  ServiceClient service_;
};

class ReferencePort final : public SyncerUnderTest {
 public:
  ReferencePort(TrainingClient& trainer, DeploymentManager& manager, const SyncerSettings& s)
      : syncer_(trainer, manager, s.deployment_id, s.base_model, s.hotload_timeout, s.lora_rank) {}
  std::string save_and_hotload(const std::string& name,
                               std::optional<CheckpointKind> explicit_kind) override {
    return syncer_.save_and_hotload(name, explicit_kind);
  }
  std::optional<std::string> save_only(const std::string& name) override {
    return syncer_.save_only(name);
  }
  bool hotload(const std::string& snapshot, CheckpointKind kind) override {
    return syncer_.hotload(snapshot, kind);
  }
  void reset_delta_chain() override { syncer_.reset_delta_chain(); }
  std::string base_identity() const override { return syncer_.base_identity(); }

 private:
  ReferenceSyncer syncer_;
};

}  // namespace

std::unique_ptr<SyncerUnderTest> make_production_syncer(TrainingClient& trainer,
                                                        DeploymentManager& manager, Clock& clock,
                                                        const SyncerSettings& s) {
  WeightSyncerOptions o;
  o.deploy_mgr = &manager;
  o.deployment_id = s.deployment_id;
  o.base_model = s.base_model;
  o.hotload_timeout = s.hotload_timeout;
  o.first_checkpoint_type = s.first_checkpoint_type;
  o.warmup_max_retries = s.warmup_max_retries;
  o.lora_rank = s.lora_rank;
  o.hotload_ready_timeout = seconds(60);
  o.hotload_ready_poll_interval = seconds(1);
  return std::make_unique<ProductionSyncer>(trainer, std::move(o), clock);
}

std::unique_ptr<SyncerUnderTest> make_service_syncer(
    TrainingClient& trainer, DeploymentManager& manager, Transport& transport,
    const std::string& api_key, const std::string& trainer_job_id, const SyncerSettings& s) {
  ServiceClientConfig c;
  c.base_model = s.base_model;
  c.lora_rank = s.lora_rank;
  c.trainer_job_id = trainer_job_id;
  c.deployment_id = s.deployment_id;
  c.hotload_timeout = s.hotload_timeout;
  c.warmup_max_retries = s.warmup_max_retries;
  c.poll_interval = seconds(1);
  c.deployment_timeout = seconds(60);
  return std::make_unique<ServiceSyncer>(manager, transport, api_key, trainer, std::move(c));
}

std::unique_ptr<SyncerUnderTest> make_reference_syncer(TrainingClient& trainer,
                                                       DeploymentManager& manager,
                                                       const SyncerSettings& s) {
  return std::make_unique<ReferencePort>(trainer, manager, s);
}

}  // namespace weightsync::props
