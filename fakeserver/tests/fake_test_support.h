// Shared setup for the fake's tests: a FakeCloud on a ManualClock with one account, request
// builders for the API, and a log sink that collects warnings.
#pragma once

#include <string>
#include <vector>

#include "weightsync/fake/fake_cloud.h"
#include "weightsync/log.h"
#include "weightsync/wire.h"

namespace weightsync::fake::testing {

inline constexpr const char* kAccount = "acme";
inline constexpr const char* kKey = "acme-key";
inline constexpr const char* kOtherAccount = "rival";
inline constexpr const char* kOtherKey = "rival-key";
inline constexpr const char* kBaseModel = "accounts/fireworks/models/qwen3-8b";

// Timing with round numbers: READY at 2 s, hotload manager up at 5 s; a load spends 0.2 s
// pending, bytes / 1 MB/s downloading and 1 s loading.
inline DeploymentTiming test_timing() {
  DeploymentTiming t;
  t.creation_time = seconds(2);
  t.hotload_startup_delay = seconds(3);
  t.load_pending = seconds(0.2);
  t.load_overhead = seconds(1);
  t.bandwidth_bytes_per_s = 1e6;
  return t;
}

inline FakeCloudOptions test_options(int replicas = 1) {
  FakeCloudOptions o;
  o.seed = 99;
  o.timing = test_timing();
  o.replicas_per_deployment = replicas;
  o.max_body_bytes = 4096;
  return o;
}

inline TrainerOptions small_trainer(std::size_t params = 4096, int lora_rank = 0) {
  TrainerOptions t;
  t.params = params;
  t.lora_rank = lora_rank;
  t.seed = 1234;
  return t;
}

inline DeploymentConfig config_for(const std::string& trainer_job,
                                   std::optional<std::string> transition = std::nullopt) {
  DeploymentConfig c;
  c.base_model = kBaseModel;
  c.enable_hot_load = true;
  c.hot_load_trainer_job = trainer_job;
  c.hot_load_transition_type = std::move(transition);
  return c;
}

inline HttpRequest request(std::string method, std::string path, std::string body = "",
                           std::string key = kKey) {
  HttpRequest r{std::move(method), std::move(path), {}, std::move(body)};
  if (!key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
  return r;
}

// A control-plane request as the reference Python client sends it: the key in X-Api-Key only,
// and Content-Type on every request, with or without a body.
inline HttpRequest sdk_request(std::string method, std::string path, std::string body = "",
                               std::string key = kKey) {
  HttpRequest r{std::move(method), std::move(path), {}, std::move(body)};
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("X-Api-Key", key);
  return r;
}

inline HttpRequest hotload_request(const std::string& method, const std::string& deployment_id,
                                   const std::string& body, const std::string& key = kKey,
                                   const std::string& account = kAccount) {
  HttpRequest r = request(method, std::string(kHotloadPath), body, key);
  r.headers.emplace_back(std::string(kModelHeader), kBaseModel);
  r.headers.emplace_back(std::string(kDeploymentHeader), deployment_name(account, deployment_id));
  return r;
}

inline HotloadRequest full_hotload(const std::string& identity, bool reset_cache = false) {
  HotloadRequest h;
  h.identity = identity;
  if (reset_cache) h.reset_prompt_cache = true;
  return h;
}

inline HotloadRequest delta_hotload(const std::string& identity, const std::string& previous) {
  HotloadRequest h;
  h.identity = identity;
  h.incremental_snapshot_metadata = IncrementalSnapshotMetadata{previous, "arc_v2"};
  return h;
}

inline std::string completion_body(const std::string& deployment_id,
                                   std::vector<int> prompt = {1, 2, 3}) {
  CompletionRequest c;
  c.model = deployment_name(kAccount, deployment_id);
  c.prompt = std::move(prompt);
  return encode(c);
}

// Collects log messages at warning and above while alive.
class LogCapture {
 public:
  LogCapture() {
    set_log_sink([this](LogLevel level, std::string_view message) {
      if (level >= LogLevel::warning) messages_.emplace_back(message);
    });
  }
  ~LogCapture() { set_log_sink({}); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// A cloud at t=0 with two accounts and one trainer "t1" of the first.
class CloudFixture {
 public:
  explicit CloudFixture(int replicas = 1, TrainerOptions trainer_options = small_trainer())
      : cloud(clock, test_options(replicas)) {
    cloud.create_account(kAccount, kKey);
    cloud.create_account(kOtherAccount, kOtherKey);
    trainer = &cloud.create_trainer(kAccount, "t1", trainer_options);
  }
  // Creates deployment `id` on trainer t1 and advances until its hotload manager is up.
  void make_ready_deployment(const std::string& id,
                             std::optional<std::string> transition = std::nullopt) {
    cloud.create_deployment(kAccount, id, config_for(trainer->job_name(), transition));
    clock.advance(seconds(5));
  }
  HttpResponse post_hotload(const std::string& id, const HotloadRequest& h) {
    return cloud.handle(hotload_request("POST", id, encode(h)));
  }
  ReplicaView replica(const std::string& id, int index = 0) {
    return cloud.replicas(kAccount, id).at(static_cast<std::size_t>(index));
  }

  ManualClock clock;
  FakeCloud cloud;
  FakeTrainingClient* trainer = nullptr;
};

}  // namespace weightsync::fake::testing
