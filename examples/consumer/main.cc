// The smallest outside program: builds the production stack (HTTP transport, deployment
// manager, syncer) from the installed package without touching the network, proving headers,
// library, its dependencies and the package config are complete.
#include <weightsync/deployment_manager.h>
#include <weightsync/transport.h>
#include <weightsync/weight_syncer.h>

#include <iostream>

namespace {

class NoTrainer final : public weightsync::TrainingClient {
 public:
  weightsync::SamplerSave save_weights_for_sampler(const std::string& name,
                                                   weightsync::CheckpointKind) override {
    return {"gs://bucket/" + name, weightsync::session_scoped_name(name, session_id())};
  }
  std::string save_state(const std::string& name) override { return "gs://bucket/dcp/" + name; }
  std::string session_id() const override { return "3fa09c1e"; }
};

}  // namespace

int main() {
  weightsync::RetryingHttpTransport transport({"http://127.0.0.1:9"}, weightsync::system_clock());
  weightsync::DeploymentManager manager(transport, weightsync::system_clock(),
                                        {.api_key = "key", .account_id = "acct"});
  NoTrainer trainer;
  weightsync::WeightSyncer syncer(trainer, {.deploy_mgr = &manager, .deployment_id = "dep"});
  const auto name = syncer.save_only("step-7");
  std::cout << name.value_or("<none>") << " " << weightsync::to_string(syncer.last_sync().kind)
            << " sync_enabled=" << syncer.sync_enabled() << "\n";
  return name == "step-7-3fa09c1e" && syncer.sync_enabled() ? 0 : 1;
}
