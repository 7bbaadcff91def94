// JSON encoding and strict decoding of the deployment API's bodies, the client's half
// (docs/SPEC.md section 5). The server's half is lib/internal/src/server_wire.cc.
#include "weightsync/wire.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "weightsync/internal/wire_json.h"

namespace weightsync {
namespace {

using json = nlohmann::json;
using internal::put_opt;
using internal::to_text;
using internal::WireFields;

std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 200;
  if (body.size() <= kMax) return std::string(body);
  return std::string(body.substr(0, kMax)) + "...";
}

}  // namespace

std::string deployment_name(std::string_view account, std::string_view deployment_id) {
  return "accounts/" + std::string(account) + "/deployments/" + std::string(deployment_id);
}

std::string deployment_path(std::string_view account, std::string_view deployment_id) {
  return "/v1/" + deployment_name(account, deployment_id);
}

// ---- hotload ------------------------------------------------------------------------------

std::string encode(const HotloadRequest& request) {
  json o = {{"identity", request.identity}};
  put_opt(o, "reset_prompt_cache", request.reset_prompt_cache);
  if (const auto& m = request.incremental_snapshot_metadata) {
    o["incremental_snapshot_metadata"] = {
        {"previous_snapshot_identity", m->previous_snapshot_identity},
        {"compression_format", m->compression_format},
        {"checksum_format", m->checksum_format}};
  }
  return to_text(o);
}

HotloadStatus decode_hotload_status(std::string_view body) {
  const json o = internal::parse_body(body, "hotload status");
  WireFields top(o, "hotload status");
  if (!top.child("replicas")) top.missing("replicas", "a JSON array");
  const json& list = top.array("replicas");
  HotloadStatus status;
  for (std::size_t i = 0; i < list.size(); ++i) {
    WireFields item(list[i], internal::index_path(top.at("replicas"), i));
    ReplicaStatus r;
    r.identity = item.text("identity", true).value_or("");
    r.current_snapshot_identity = item.text("current_snapshot_identity", true).value_or("");
    r.readiness = item.boolean("readiness").value_or(false);
    if (const json* ls = item.child("loading_state")) {
      WireFields state(*ls, item.at("loading_state"));
      r.loading_state.stage = state.text("stage", true).value_or("");
      r.loading_state.target_snapshot_identity =
          state.text("target_snapshot_identity", true).value_or("");
    }
    const json& adapters = item.array("loaded_adapters");
    for (std::size_t j = 0; j < adapters.size(); ++j) {
      WireFields adapter(adapters[j], internal::index_path(item.at("loaded_adapters"), j));
      r.loaded_adapters.push_back(
          {adapter.text("identity", true).value_or(""), adapter.text("status", true).value_or("")});
    }
    status.replicas.push_back(std::move(r));
  }
  return status;
}

// ---- deployments --------------------------------------------------------------------------

std::string encode(const DeploymentConfig& config) {
  json o = {{"baseModel", config.base_model},
            {"minReplicaCount", config.min_replica_count},
            {"maxReplicaCount", config.max_replica_count},
            {"enableHotLoad", config.enable_hot_load}};
  put_opt(o, "description", config.description);
  put_opt(o, "forTraining", config.for_training);
  if (config.region) o["placement"] = {{"region", *config.region}};
  put_opt(o, "hotLoadBucketType", config.hot_load_bucket_type);
  put_opt(o, "hotLoadTrainerJob", config.hot_load_trainer_job);
  put_opt(o, "hotLoadTransitionType", config.hot_load_transition_type);
  put_opt(o, "deploymentShape", config.deployment_shape);
  put_opt(o, "acceleratorType", config.accelerator_type);
  if (!config.extra_args.empty()) o["extraArgs"] = config.extra_args;
  if (!config.extra_values.empty()) o["extraValues"] = config.extra_values;
  if (!config.annotations.empty()) o["annotations"] = config.annotations;
  return to_text(o);
}

std::string encode(const Deployment& d) {
  json o = {{"name", d.name},
            {"state", d.state},
            {"baseModel", d.base_model},
            {"minReplicaCount", d.min_replica_count},
            {"maxReplicaCount", d.max_replica_count},
            {"enableHotLoad", d.enable_hot_load},
            {"hotLoadBucketUrl", d.hot_load_bucket_url},
            {"hotLoadTrainerJob", d.hot_load_trainer_job},
            {"hotLoadTransitionType", d.hot_load_transition_type}};
  if (!d.description.empty()) o["description"] = d.description;
  if (!d.deployment_shape.empty()) o["deploymentShape"] = d.deployment_shape;
  if (!d.status_message.empty()) o["status"] = {{"message", d.status_message}};
  if (!d.annotations.empty()) o["annotations"] = d.annotations;
  return to_text(o);
}

Deployment decode_deployment(std::string_view body) {
  const json o = internal::parse_body(body, "deployment");
  WireFields f(o, "deployment");
  Deployment d;
  d.name = f.required_text("name", true);
  d.state = f.required_text("state", true);
  d.base_model = f.text("baseModel", true).value_or("");
  d.min_replica_count = f.int32("minReplicaCount").value_or(1);
  d.max_replica_count = f.int32("maxReplicaCount").value_or(d.min_replica_count);
  d.enable_hot_load = f.boolean("enableHotLoad").value_or(false);
  d.hot_load_bucket_url = f.text("hotLoadBucketUrl", true).value_or("");
  d.hot_load_trainer_job = f.text("hotLoadTrainerJob", true).value_or("");
  d.hot_load_transition_type = f.text("hotLoadTransitionType", true).value_or("");
  d.description = f.text("description", true).value_or("");
  d.deployment_shape = f.text("deploymentShape", true).value_or("");
  if (const json* status = f.child("status")) {
    WireFields s(*status, f.at("status"));
    d.status_message = s.text("message", true).value_or("");
  }
  d.annotations = f.string_map("annotations");
  return d;
}

std::string encode(const DeploymentUpdate& u) {
  json o = json::object();
  put_opt(o, "hotLoadTrainerJob", u.hot_load_trainer_job);
  put_opt(o, "hotLoadTransitionType", u.hot_load_transition_type);
  put_opt(o, "minReplicaCount", u.min_replica_count);
  put_opt(o, "maxReplicaCount", u.max_replica_count);
  return to_text(o);
}

std::string update_mask(const DeploymentUpdate& u) {
  const bool set[] = {u.hot_load_trainer_job.has_value(), u.hot_load_transition_type.has_value(),
                      u.min_replica_count.has_value(), u.max_replica_count.has_value()};
  static_assert(std::size(set) == std::size(internal::kUpdatable));
  std::string mask;
  for (std::size_t i = 0; i < std::size(internal::kUpdatable); ++i) {
    if (!set[i]) continue;
    if (!mask.empty()) mask += ',';
    mask += internal::kUpdatable[i].snake;
  }
  return mask;
}

// ---- accounts -----------------------------------------------------------------------------

std::vector<std::string> decode_account_list(std::string_view body) {
  const json o = internal::parse_body(body, "account list");
  WireFields top(o, "account list");
  const json& list = top.array("accounts");  // the API omits an empty repeated field
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < list.size(); ++i) {
    WireFields account(list[i], internal::index_path(top.at("accounts"), i));
    std::string name = account.required_text("name", true);
    constexpr std::string_view prefix = "accounts/";
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) {
      WireFields::fail(account.at("name"), "'accounts/<id>'", json(name));
    }
    ids.push_back(name.substr(prefix.size()));
  }
  return ids;
}

// ---- completions --------------------------------------------------------------------------

std::string encode(const CompletionRequest& r) {
  return to_text(json{{"model", r.model},
                      {"prompt", r.prompt},
                      {"max_tokens", r.max_tokens},
                      {"temperature", r.temperature}});
}

// ---- errors -------------------------------------------------------------------------------

std::string error_message(std::string_view body) {
  const json v = json::parse(body, nullptr, false);
  auto string_at = [](const json& o, const char* key) -> const std::string* {
    const auto it = o.find(key);
    return it != o.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  if (v.is_object()) {
    if (const auto e = v.find("error"); e != v.end()) {
      if (e->is_object()) {
        if (const std::string* m = string_at(*e, "message")) return *m;
      }
      if (e->is_string()) return e->get<std::string>();
    }
    if (const std::string* m = string_at(v, "message")) return *m;
    if (const std::string* d = string_at(v, "detail")) return *d;
  }
  return excerpt(body);
}

}  // namespace weightsync
