// The test kit from the installed package (weightsync::fake): how a user's own test checks a
// save-and-hotload loop without a cluster. FakeCloud holds the trainer and a two-replica
// deployment with real bytes, InProcessTransport hands the library's requests to it, a
// ManualClock makes every wait instant, and a fault plan fails the first load. The loop must
// recover with a base and then send deltas, with every replica serving exactly the trainer's
// bytes after each sync; FakeServer then serves the same world over loopback HTTP.
#include <weightsync/clock.h>
#include <weightsync/deployment_manager.h>
#include <weightsync/errors.h>
#include <weightsync/fake/fake_cloud.h>
#include <weightsync/fake/fake_server.h>
#include <weightsync/fake/fault_plan.h>
#include <weightsync/fake/in_process_transport.h>
#include <weightsync/snapshot_chain.h>
#include <weightsync/transport.h>
#include <weightsync/weight_syncer.h>
#include <weightsync/wire.h>

#include <iostream>
#include <string>

namespace {

using namespace weightsync;

constexpr const char* kAccount = "acct";
constexpr const char* kKey = "key";
constexpr const char* kBaseModel = "accounts/fireworks/models/demo";

bool served_everywhere(fake::FakeCloud& cloud, const fake::FakeTrainingClient& trainer) {
  const auto replicas = cloud.replicas(kAccount, "policy");
  if (replicas.empty()) return false;
  for (const auto& r : replicas) {
    if (!r.served_bytes || *r.served_bytes != trainer.weights()) return false;
  }
  return true;
}

}  // namespace

int main() {
  ManualClock clock;
  fake::FakeCloudOptions cloud_options;
  cloud_options.replicas_per_deployment = 2;
  fake::FakeCloud cloud(clock, cloud_options);
  cloud.create_account(kAccount, kKey);
  fake::FakeTrainingClient& trainer = cloud.create_trainer(kAccount, "trainer", {});

  fake::InProcessTransport transport(cloud);
  DeploymentManagerOptions manager_options;
  manager_options.api_key = kKey;
  manager_options.account_id = kAccount;
  DeploymentManager manager(transport, clock, manager_options);
  DeploymentConfig config;
  config.base_model = kBaseModel;
  config.hot_load_trainer_job = trainer.job_name();
  manager.create_or_get_deployment("policy", config);
  manager.wait_for_deployment_ready("policy", seconds(60));

  cloud.set_fault_plan(fake::parse_fault_plan(R"({"faults":[{"fault":"load_error","count":1}]})"));
  WeightSyncerOptions sync_options;
  sync_options.deploy_mgr = &manager;
  sync_options.deployment_id = "policy";
  sync_options.base_model = kBaseModel;
  WeightSyncer syncer(trainer, sync_options, clock);

  std::string kinds;
  for (int step = 1; step <= 4; ++step) {
    trainer.step();
    try {
      syncer.save_and_hotload("step-" + std::to_string(step));
    } catch (const Error& e) {
      std::cout << "step " << step << ": " << e.what() << "\n";
      kinds += "failed ";
      continue;
    }
    if (!served_everywhere(cloud, trainer)) {
      std::cout << "step " << step << ": a replica does not serve the trainer's bytes\n";
      return 1;
    }
    kinds += std::string(to_string(syncer.last_sync().kind)) + " ";
  }

  fake::FakeServer server(cloud);
  server.start();
  RetryingHttpTransport http({server.base_url(), seconds(5), seconds(30)}, clock);
  DeploymentManager over_http(http, clock, manager_options);
  const std::string state = over_http.get_deployment("policy").state;
  server.stop();

  std::cout << kinds << "state over http " << state << "\n";
  return kinds == "failed base delta delta " && state == kStateReady ? 0 : 1;
}
