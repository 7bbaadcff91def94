// The deployment API's server half: strict decoding of requests, encoding of answers.
#include "weightsync/internal/server_wire.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "weightsync/internal/wire_json.h"

namespace weightsync {
namespace {

using json = nlohmann::json;
using internal::kUpdatable;
using internal::to_text;
using internal::UpdatableField;
using internal::WireFields;

}  // namespace

// ---- hotload ------------------------------------------------------------------------------

HotloadRequest decode_hotload_request(std::string_view body) {
  const json o = internal::parse_body(body, "hotload request");
  WireFields f(o, "hotload request");
  f.finish({"identity", "reset_prompt_cache", "incremental_snapshot_metadata"});
  HotloadRequest r;
  r.identity = f.required_text("identity", true);
  r.reset_prompt_cache = f.boolean("reset_prompt_cache");
  if (const json* m = f.child("incremental_snapshot_metadata")) {
    WireFields meta_fields(*m, f.at("incremental_snapshot_metadata"));
    meta_fields.finish({"previous_snapshot_identity", "compression_format", "checksum_format"});
    IncrementalSnapshotMetadata meta;
    meta.previous_snapshot_identity = meta_fields.required_text("previous_snapshot_identity", true);
    meta.compression_format = meta_fields.required_text("compression_format", true);
    meta.checksum_format = meta_fields.required_text("checksum_format", true);
    r.incremental_snapshot_metadata = std::move(meta);
  }
  return r;
}

std::string encode(const HotloadStatus& status) {
  json replicas = json::array();
  for (const auto& r : status.replicas) {
    json adapters = json::array();
    for (const auto& a : r.loaded_adapters) {
      adapters.push_back({{"identity", a.identity}, {"status", a.status}});
    }
    replicas.push_back({{"identity", r.identity},
                        {"current_snapshot_identity", r.current_snapshot_identity},
                        {"readiness", r.readiness},
                        {"loading_state",
                         {{"stage", r.loading_state.stage},
                          {"target_snapshot_identity", r.loading_state.target_snapshot_identity}}},
                        {"loaded_adapters", adapters}});
  }
  return to_text(json{{"replicas", replicas}});
}

// ---- deployments --------------------------------------------------------------------------

DeploymentConfig decode_deployment_config(std::string_view body) {
  const json o = internal::parse_body(body, "deployment");
  WireFields f(o, "deployment");
  f.finish({"baseModel", "description", "minReplicaCount", "maxReplicaCount", "enableHotLoad",
            "forTraining", "placement", "hotLoadBucketType", "hotLoadTrainerJob",
            "hotLoadTransitionType", "deploymentShape", "acceleratorType", "extraArgs",
            "extraValues", "annotations"});
  DeploymentConfig c;
  c.base_model = f.required_text("baseModel", true);
  c.min_replica_count = f.int32("minReplicaCount").value_or(1);
  c.max_replica_count = f.int32("maxReplicaCount").value_or(c.min_replica_count);
  c.enable_hot_load = f.boolean("enableHotLoad").value_or(false);
  c.hot_load_trainer_job = f.text("hotLoadTrainerJob", true);
  c.hot_load_bucket_type = f.text("hotLoadBucketType", true);
  c.hot_load_transition_type = f.text("hotLoadTransitionType", true);
  c.description = f.text("description", true);
  c.for_training = f.boolean("forTraining");
  if (const json* placement = f.child("placement")) {
    WireFields p(*placement, f.at("placement"));
    p.finish({"region"});
    c.region = p.text("region", true);
  }
  c.deployment_shape = f.text("deploymentShape", true);
  c.accelerator_type = f.text("acceleratorType", true);
  c.extra_args = f.strings("extraArgs");
  c.extra_values = f.string_map("extraValues");
  c.annotations = f.string_map("annotations");
  return c;
}

DeploymentUpdate decode_deployment_update(std::string_view body,
                                          std::optional<std::string_view> mask) {
  const json o = internal::parse_body(body, "deployment update");
  WireFields f(o, "deployment update");
  std::vector<std::string> updatable;
  for (const auto& field : kUpdatable) updatable.emplace_back(field.camel);
  f.finish(updatable);
  std::vector<std::string> fields;  // camelCase names to read
  if (!mask) {
    for (const auto& name : updatable) {
      if (f.has(name) && !o.at(name).is_null()) fields.push_back(name);
    }
    if (fields.empty()) {
      throw WireError(
          "deployment update: expected at least one of hotLoadTrainerJob, "
          "hotLoadTransitionType, minReplicaCount, maxReplicaCount in the body (no updateMask), "
          "got none");
    }
  } else {
    if (mask->empty()) throw WireError("updateMask: expected at least one field path, got none");
    std::size_t start = 0;
    while (start <= mask->size()) {
      std::size_t end = mask->find(',', start);
      if (end == std::string_view::npos) end = mask->size();
      const std::string_view name = mask->substr(start, end - start);
      const auto* known = std::find_if(
          std::begin(kUpdatable), std::end(kUpdatable),
          [&](const UpdatableField& field) { return field.camel == name || field.snake == name; });
      if (known == std::end(kUpdatable)) {
        throw WireError(
            "updateMask: expected hot_load_trainer_job, hot_load_transition_type, "
            "min_replica_count or max_replica_count (or their camelCase), got '" +
            std::string(name) + "'");
      }
      fields.emplace_back(known->camel);
      start = end + 1;
    }
  }
  DeploymentUpdate u;
  for (const std::string& field : fields) {
    auto need = [&](auto v) {
      if (!v) f.missing(field, "a value, since updateMask names it");
      return *v;
    };
    if (field == "hotLoadTrainerJob") {
      u.hot_load_trainer_job = need(f.text(field, true));
    } else if (field == "hotLoadTransitionType") {
      u.hot_load_transition_type = need(f.text(field, true));
    } else if (field == "minReplicaCount") {
      u.min_replica_count = need(f.int32(field));
    } else {
      u.max_replica_count = need(f.int32(field));
    }
  }
  return u;
}

// ---- accounts -----------------------------------------------------------------------------

std::string encode_account_list(const std::vector<std::string>& account_ids) {
  json list = json::array();
  for (const auto& id : account_ids) list.push_back({{"name", "accounts/" + id}});
  return to_text(json{{"accounts", list}});
}

// ---- completions --------------------------------------------------------------------------

CompletionRequest decode_completion_request(std::string_view body) {
  const json o = internal::parse_body(body, "completion request");
  WireFields f(o, "completion request");
  CompletionRequest r;
  r.model = f.required_text("model", true);
  if (!f.child("prompt")) f.missing("prompt", "a JSON array of token ids");
  const json& prompt = f.array("prompt");
  for (std::size_t i = 0; i < prompt.size(); ++i) {
    if (!prompt[i].is_number_integer()) {
      WireFields::fail(internal::index_path(f.at("prompt"), i), "an integer token id", prompt[i]);
    }
    r.prompt.push_back(prompt[i].get<int>());
  }
  r.max_tokens = f.int32("max_tokens").value_or(16);
  r.temperature = f.number("temperature", std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::max(), "a number")
                      .value_or(1.0);
  return r;
}

// ---- errors -------------------------------------------------------------------------------

std::string encode_error(int status, std::string_view message) {
  return to_text(json{{"error", {{"code", status}, {"message", std::string(message)}}}});
}

}  // namespace weightsync
