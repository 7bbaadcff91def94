// Reading the standalone server's config document and building the fake world it describes.
#include "weightsync/fake/server_config.h"

#include "weightsync/errors.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/internal/json_fields.h"

namespace weightsync::fake {
namespace {

using internal::JsonFields;

std::string item(const JsonFields& parent, const std::string& key, std::size_t i) {
  return parent.at(key) + "[" + std::to_string(i) + "]";
}

TrainerOptions trainer_options(JsonFields& f) {
  TrainerOptions o;
  o.params = static_cast<std::size_t>(f.integer("modelParams", 1, 16 << 20).value_or(1 << 16));
  o.lora_rank = static_cast<int>(f.integer("loraRank", 0, 1024).value_or(0));
  o.changed_fraction =
      f.number("changedFraction", 0, 1, "a number in [0, 1]").value_or(o.changed_fraction);
  o.seed = f.unsigned_integer("seed").value_or(0);
  return o;
}

DeploymentTiming timing(JsonFields& f) {
  DeploymentTiming t;
  const auto secs = [&](const char* key, Duration fallback) {
    const auto s = f.number(key, 0, 86400, "seconds in [0, 86400]");
    return s ? seconds(*s) : fallback;
  };
  t.creation_time = secs("creationSeconds", t.creation_time);
  t.hotload_startup_delay = secs("hotloadStartupSeconds", t.hotload_startup_delay);
  t.load_pending = secs("loadPendingSeconds", t.load_pending);
  t.load_overhead = secs("loadOverheadSeconds", t.load_overhead);
  t.deletion_time = secs("deletionSeconds", t.deletion_time);
  t.trainer_startup = secs("trainerStartupSeconds", t.trainer_startup);
  t.token_interval = secs("tokenIntervalSeconds", t.token_interval);
  t.bandwidth_bytes_per_s =
      f.number("bandwidthBytesPerSecond", 1, 1e15, "bytes per second in [1, 1e15]")
          .value_or(t.bandwidth_bytes_per_s);
  return t;
}

}  // namespace

ServerConfig parse_server_config(std::string_view json_text) {
  const nlohmann::json doc = internal::parse_json<InvalidArgument>(json_text, "config");
  JsonFields top(doc, "");
  top.finish({"accounts", "trainers", "deployments", "timing", "replicasPerDeployment",
              "maxBodyBytes", "faultPlan"});
  ServerConfig config;
  const auto& accounts = top.array("accounts");
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    JsonFields f(accounts[i], item(top, "accounts", i));
    f.finish({"id", "apiKey"});
    config.accounts.push_back({f.required_text("id"), f.required_text("apiKey")});
  }
  const auto& trainers = top.array("trainers");
  for (std::size_t i = 0; i < trainers.size(); ++i) {
    JsonFields f(trainers[i], item(top, "trainers", i));
    f.finish({"account", "trainerId", "modelParams", "loraRank", "changedFraction", "seed"});
    ServerConfig::Trainer t;
    t.account = f.required_text("account");
    t.id = f.required_text("trainerId");
    t.options = trainer_options(f);
    config.trainers.push_back(std::move(t));
  }
  const auto& deployments = top.array("deployments");
  for (std::size_t i = 0; i < deployments.size(); ++i) {
    JsonFields f(deployments[i], item(top, "deployments", i));
    f.finish({"account", "id", "baseModel", "replicas", "hotLoadTrainerJob", "transitionType"});
    ServerConfig::DeploymentEntry d;
    d.account = f.required_text("account");
    d.id = f.required_text("id");
    d.config.base_model = f.required_text("baseModel");
    const int replicas = static_cast<int>(f.integer("replicas", 1, 64).value_or(1));
    d.config.min_replica_count = replicas;
    d.config.max_replica_count = replicas;
    d.config.hot_load_trainer_job = f.text("hotLoadTrainerJob");
    d.config.hot_load_transition_type = f.text("transitionType");
    config.deployments.push_back(std::move(d));
  }
  if (const nlohmann::json* t = top.child("timing")) {
    JsonFields f(*t, top.at("timing"));
    f.finish({"creationSeconds", "hotloadStartupSeconds", "loadPendingSeconds",
              "loadOverheadSeconds", "bandwidthBytesPerSecond", "deletionSeconds",
              "trainerStartupSeconds", "tokenIntervalSeconds"});
    config.timing = timing(f);
  }
  config.replicas_per_deployment =
      static_cast<int>(top.integer("replicasPerDeployment", 0, 64).value_or(0));
  config.max_body_bytes =
      static_cast<std::size_t>(top.integer("maxBodyBytes", 1024, 1 << 30).value_or(1 << 20));
  if (const nlohmann::json* plan = top.child("faultPlan")) {
    config.fault_plan = parse_fault_plan(plan->dump(), top.at("faultPlan"));
  }
  return config;
}

FakeCloudOptions cloud_options(const ServerConfig& config, FakeCloudOptions base) {
  base.timing = config.timing;
  base.replicas_per_deployment = config.replicas_per_deployment;
  base.max_body_bytes = config.max_body_bytes;
  return base;
}

void apply_server_config(FakeCloud& cloud, const ServerConfig& config) {
  const auto refused = [](const std::string& where, const std::exception& e) {
    return InvalidArgument(where + ": " + e.what());
  };
  for (std::size_t i = 0; i < config.accounts.size(); ++i) {
    try {
      cloud.create_account(config.accounts[i].id, config.accounts[i].api_key);
    } catch (const InvalidArgument& e) {
      throw refused("accounts[" + std::to_string(i) + "]", e);
    }
  }
  for (std::size_t i = 0; i < config.trainers.size(); ++i) {
    const auto& t = config.trainers[i];
    try {
      cloud.create_trainer(t.account, t.id, t.options);
    } catch (const InvalidArgument& e) {
      throw refused("trainers[" + std::to_string(i) + "]", e);
    }
  }
  for (std::size_t i = 0; i < config.deployments.size(); ++i) {
    const auto& d = config.deployments[i];
    try {
      cloud.create_deployment(d.account, d.id, d.config);
    } catch (const HttpError& e) {
      throw refused("deployments[" + std::to_string(i) + "]", e);
    } catch (const InvalidArgument& e) {
      throw refused("deployments[" + std::to_string(i) + "]", e);
    }
  }
  if (config.fault_plan) cloud.set_fault_plan(*config.fault_plan);
}

}  // namespace weightsync::fake
