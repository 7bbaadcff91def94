// The standalone fake server's configuration file (weightsync-fakeserver --config FILE):
// accounts and API keys, trainers, deployments, replicas, timing and bandwidth, and a fault
// plan, as one JSON document. Parsing errors name the field and what was expected; README.md
// shows a complete example.
//
// Stateless functions; safe from any thread (apply_server_config: as FakeCloud).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_training_client.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/replica.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

struct ServerConfig {
  struct Account {
    std::string id;
    std::string api_key;
  };
  struct Trainer {
    std::string account;
    std::string id;
    TrainerOptions options;
  };
  struct DeploymentEntry {
    std::string account;
    std::string id;
    DeploymentConfig config;
  };
  std::vector<Account> accounts;
  std::vector<Trainer> trainers;
  std::vector<DeploymentEntry> deployments;
  DeploymentTiming timing;
  int replicas_per_deployment = 0;
  std::size_t max_body_bytes = 1 << 20;
  std::optional<FaultPlan> fault_plan;
};

// Throws InvalidArgument naming the field ("deployments[0].replicas: expected ...").
ServerConfig parse_server_config(std::string_view json_text);
// The cloud options the config implies (timing, replicas, body limit) on top of `base`.
FakeCloudOptions cloud_options(const ServerConfig& config, FakeCloudOptions base);
// Creates the accounts, trainers and deployments and installs the fault plan. Throws
// InvalidArgument naming the entry that the cloud refused (e.g. a deployment's unknown trainer).
void apply_server_config(FakeCloud& cloud, const ServerConfig& config);

}  // namespace weightsync::fake
