// JSON encoding and strict decoding of the deployment API's bodies (docs/SPEC.md section 5).
#include "weightsync/wire.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

namespace weightsync {
namespace {

using json = nlohmann::json;

std::string type_of(const json& v) {
  return v.type_name();
}

// Serializes without throwing on invalid UTF-8 in a string (replaced by U+FFFD): a name or an
// error message quoting bad input must not turn into an exception of the JSON library.
std::string to_text(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 200;
  if (body.size() <= kMax) return std::string(body);
  return std::string(body.substr(0, kMax)) + "...";
}

json parse_object(std::string_view body, std::string_view what) {
  json v = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) {
    throw WireError(std::string(what) + ": expected a JSON object, got text that is not JSON: '" +
                    excerpt(body) + "'");
  }
  if (!v.is_object()) {
    throw WireError(std::string(what) + ": expected a JSON object, got " + type_of(v));
  }
  return v;
}

void expect_object(const json& v, std::string_view where) {
  if (!v.is_object()) {
    throw WireError(std::string(where) + ": expected an object, got " + type_of(v));
  }
}

const json* find(const json& o, std::string_view field) {
  auto it = o.find(std::string(field));
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string field_path(std::string_view where, std::string_view field) {
  return std::string(where) + "." + std::string(field);
}

std::optional<std::string> opt_string(const json& o, std::string_view field,
                                      std::string_view where) {
  const json* v = find(o, field);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    throw WireError(field_path(where, field) + ": expected a string, got " + type_of(*v));
  }
  return v->get<std::string>();
}

std::string req_string(const json& o, std::string_view field, std::string_view where) {
  auto v = opt_string(o, field, where);
  if (!v) throw WireError(field_path(where, field) + ": required string is missing");
  return *v;
}

std::optional<bool> opt_bool(const json& o, std::string_view field, std::string_view where) {
  const json* v = find(o, field);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    throw WireError(field_path(where, field) + ": expected a boolean, got " + type_of(*v));
  }
  return v->get<bool>();
}

std::optional<int> opt_int(const json& o, std::string_view field, std::string_view where) {
  const json* v = find(o, field);
  if (!v) return std::nullopt;
  // The API's JSON (protobuf-style) may send int32 as a number or a decimal string.
  if (v->is_number_integer()) {
    auto n = v->get<std::int64_t>();
    if (n >= INT32_MIN && n <= INT32_MAX) return static_cast<int>(n);
  } else if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    try {
      std::size_t used = 0;
      int n = std::stoi(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  throw WireError(field_path(where, field) + ": expected a 32-bit integer, got " +
                  (v->is_string() ? "'" + v->get<std::string>() + "'" : type_of(*v)));
}

double req_number(const json& o, std::string_view field, std::string_view where, double dflt) {
  const json* v = find(o, field);
  if (!v) return dflt;
  if (!v->is_number()) {
    throw WireError(field_path(where, field) + ": expected a number, got " + type_of(*v));
  }
  return v->get<double>();
}

void reject_unknown(const json& o, std::initializer_list<std::string_view> known,
                    std::string_view where) {
  for (const auto& [key, value] : o.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (!ok) {
      throw WireError(std::string(where) + ": extra inputs are not permitted: field '" + key + "'");
    }
  }
}

template <typename T>
void put_opt(json& o, const char* field, const std::optional<T>& v) {
  if (v) o[field] = *v;
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

HotloadRequest decode_hotload_request(std::string_view body) {
  constexpr std::string_view where = "hotload request";
  json o = parse_object(body, where);
  reject_unknown(o, {"identity", "reset_prompt_cache", "incremental_snapshot_metadata"}, where);
  HotloadRequest r;
  r.identity = req_string(o, "identity", where);
  r.reset_prompt_cache = opt_bool(o, "reset_prompt_cache", where);
  if (const json* m = find(o, "incremental_snapshot_metadata")) {
    constexpr std::string_view mw = "hotload request.incremental_snapshot_metadata";
    expect_object(*m, mw);
    reject_unknown(*m, {"previous_snapshot_identity", "compression_format", "checksum_format"}, mw);
    IncrementalSnapshotMetadata meta;
    meta.previous_snapshot_identity = req_string(*m, "previous_snapshot_identity", mw);
    meta.compression_format = req_string(*m, "compression_format", mw);
    meta.checksum_format = req_string(*m, "checksum_format", mw);
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

HotloadStatus decode_hotload_status(std::string_view body) {
  constexpr std::string_view where = "hotload status";
  json o = parse_object(body, where);
  const json* list = find(o, "replicas");
  if (!list) throw WireError("hotload status.replicas: required list is missing");
  if (!list->is_array()) {
    throw WireError("hotload status.replicas: expected a list, got " + type_of(*list));
  }
  HotloadStatus status;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string rw = "hotload status.replicas[" + std::to_string(i) + "]";
    const json& item = (*list)[i];
    expect_object(item, rw);
    ReplicaStatus r;
    r.identity = opt_string(item, "identity", rw).value_or("");
    r.current_snapshot_identity = opt_string(item, "current_snapshot_identity", rw).value_or("");
    r.readiness = opt_bool(item, "readiness", rw).value_or(false);
    if (const json* ls = find(item, "loading_state")) {
      const std::string lw = rw + ".loading_state";
      expect_object(*ls, lw);
      r.loading_state.stage = opt_string(*ls, "stage", lw).value_or("");
      r.loading_state.target_snapshot_identity =
          opt_string(*ls, "target_snapshot_identity", lw).value_or("");
    }
    if (const json* adapters = find(item, "loaded_adapters")) {
      if (!adapters->is_array()) {
        throw WireError(rw + ".loaded_adapters: expected a list, got " + type_of(*adapters));
      }
      for (std::size_t j = 0; j < adapters->size(); ++j) {
        const std::string aw = rw + ".loaded_adapters[" + std::to_string(j) + "]";
        expect_object((*adapters)[j], aw);
        r.loaded_adapters.push_back({opt_string((*adapters)[j], "identity", aw).value_or(""),
                                     opt_string((*adapters)[j], "status", aw).value_or("")});
      }
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

namespace {

std::map<std::string, std::string> string_map(const json& o, std::string_view field,
                                              std::string_view where) {
  std::map<std::string, std::string> out;
  const json* v = find(o, field);
  if (!v) return out;
  const std::string path = field_path(where, field);
  if (!v->is_object()) throw WireError(path + ": expected an object, got " + type_of(*v));
  for (const auto& [key, value] : v->items()) {
    if (!value.is_string()) {
      throw WireError(path + "." + key + ": expected a string, got " + type_of(value));
    }
    out[key] = value.get<std::string>();
  }
  return out;
}

std::vector<std::string> string_list(const json& o, std::string_view field,
                                     std::string_view where) {
  std::vector<std::string> out;
  const json* v = find(o, field);
  if (!v) return out;
  const std::string path = field_path(where, field);
  if (!v->is_array()) throw WireError(path + ": expected a list, got " + type_of(*v));
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      throw WireError(path + "[" + std::to_string(i) + "]: expected a string, got " +
                      type_of((*v)[i]));
    }
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

}  // namespace

DeploymentConfig decode_deployment_config(std::string_view body) {
  constexpr std::string_view where = "deployment";
  json o = parse_object(body, where);
  reject_unknown(o,
                 {"baseModel", "description", "minReplicaCount", "maxReplicaCount", "enableHotLoad",
                  "forTraining", "placement", "hotLoadBucketType", "hotLoadTrainerJob",
                  "hotLoadTransitionType", "deploymentShape", "acceleratorType", "extraArgs",
                  "extraValues", "annotations"},
                 where);
  DeploymentConfig c;
  c.base_model = req_string(o, "baseModel", where);
  c.min_replica_count = opt_int(o, "minReplicaCount", where).value_or(1);
  c.max_replica_count = opt_int(o, "maxReplicaCount", where).value_or(c.min_replica_count);
  c.enable_hot_load = opt_bool(o, "enableHotLoad", where).value_or(false);
  c.hot_load_trainer_job = opt_string(o, "hotLoadTrainerJob", where);
  c.hot_load_bucket_type = opt_string(o, "hotLoadBucketType", where);
  c.hot_load_transition_type = opt_string(o, "hotLoadTransitionType", where);
  c.description = opt_string(o, "description", where);
  c.for_training = opt_bool(o, "forTraining", where);
  if (const json* placement = find(o, "placement")) {
    constexpr std::string_view pw = "deployment.placement";
    expect_object(*placement, pw);
    reject_unknown(*placement, {"region"}, pw);
    c.region = opt_string(*placement, "region", pw);
  }
  c.deployment_shape = opt_string(o, "deploymentShape", where);
  c.accelerator_type = opt_string(o, "acceleratorType", where);
  c.extra_args = string_list(o, "extraArgs", where);
  c.extra_values = string_map(o, "extraValues", where);
  c.annotations = string_map(o, "annotations", where);
  return c;
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
  constexpr std::string_view where = "deployment";
  json o = parse_object(body, where);
  Deployment d;
  d.name = req_string(o, "name", where);
  d.state = req_string(o, "state", where);
  d.base_model = opt_string(o, "baseModel", where).value_or("");
  d.min_replica_count = opt_int(o, "minReplicaCount", where).value_or(1);
  d.max_replica_count = opt_int(o, "maxReplicaCount", where).value_or(d.min_replica_count);
  d.enable_hot_load = opt_bool(o, "enableHotLoad", where).value_or(false);
  d.hot_load_bucket_url = opt_string(o, "hotLoadBucketUrl", where).value_or("");
  d.hot_load_trainer_job = opt_string(o, "hotLoadTrainerJob", where).value_or("");
  d.hot_load_transition_type = opt_string(o, "hotLoadTransitionType", where).value_or("");
  d.description = opt_string(o, "description", where).value_or("");
  d.deployment_shape = opt_string(o, "deploymentShape", where).value_or("");
  if (const json* status = find(o, "status")) {
    expect_object(*status, "deployment.status");
    d.status_message = opt_string(*status, "message", "deployment.status").value_or("");
  }
  d.annotations = string_map(o, "annotations", where);
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

namespace {

// The updatable fields: the body's camelCase name and the mask's snake_case path.
struct UpdatableField {
  std::string_view camel;
  std::string_view snake;
};
constexpr UpdatableField kUpdatable[] = {
    {"hotLoadTrainerJob", "hot_load_trainer_job"},
    {"hotLoadTransitionType", "hot_load_transition_type"},
    {"minReplicaCount", "min_replica_count"},
    {"maxReplicaCount", "max_replica_count"},
};

}  // namespace

std::string update_mask(const DeploymentUpdate& u) {
  const bool set[] = {u.hot_load_trainer_job.has_value(), u.hot_load_transition_type.has_value(),
                      u.min_replica_count.has_value(), u.max_replica_count.has_value()};
  std::string mask;
  for (std::size_t i = 0; i < std::size(kUpdatable); ++i) {
    if (!set[i]) continue;
    if (!mask.empty()) mask += ',';
    mask += kUpdatable[i].snake;
  }
  return mask;
}

DeploymentUpdate decode_deployment_update(std::string_view body,
                                          std::optional<std::string_view> mask) {
  constexpr std::string_view where = "deployment update";
  json o = parse_object(body, where);
  reject_unknown(o, {"hotLoadTrainerJob", "hotLoadTransitionType", "minReplicaCount",
                     "maxReplicaCount"},
                 where);
  std::vector<std::string> fields;  // camelCase names to read
  if (!mask) {
    for (const auto& f : kUpdatable) {
      if (find(o, f.camel)) fields.emplace_back(f.camel);
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
      const auto* known = std::find_if(std::begin(kUpdatable), std::end(kUpdatable),
                                       [&](const UpdatableField& f) {
                                         return f.camel == name || f.snake == name;
                                       });
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
      if (!v) throw WireError(field_path(where, field) + ": named in updateMask but missing");
      return *v;
    };
    if (field == "hotLoadTrainerJob") {
      u.hot_load_trainer_job = need(opt_string(o, field, where));
    } else if (field == "hotLoadTransitionType") {
      u.hot_load_transition_type = need(opt_string(o, field, where));
    } else if (field == "minReplicaCount") {
      u.min_replica_count = need(opt_int(o, field, where));
    } else {
      u.max_replica_count = need(opt_int(o, field, where));
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

std::vector<std::string> decode_account_list(std::string_view body) {
  constexpr std::string_view where = "account list";
  json o = parse_object(body, where);
  const json* list = find(o, "accounts");
  if (!list) return {};  // the API omits an empty repeated field
  if (!list->is_array()) {
    throw WireError("account list.accounts: expected a list, got " + type_of(*list));
  }
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string aw = "account list.accounts[" + std::to_string(i) + "]";
    expect_object((*list)[i], aw);
    std::string name = req_string((*list)[i], "name", aw);
    constexpr std::string_view prefix = "accounts/";
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) {
      throw WireError(aw + ".name: expected 'accounts/<id>', got '" + name + "'");
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

CompletionRequest decode_completion_request(std::string_view body) {
  constexpr std::string_view where = "completion request";
  json o = parse_object(body, where);
  CompletionRequest r;
  r.model = req_string(o, "model", where);
  const json* prompt = find(o, "prompt");
  if (!prompt) throw WireError("completion request.prompt: required list is missing");
  if (!prompt->is_array()) {
    throw WireError("completion request.prompt: expected a list of token ids, got " +
                    type_of(*prompt));
  }
  for (const auto& t : *prompt) {
    if (!t.is_number_integer()) {
      throw WireError("completion request.prompt: expected integer token ids, got " + type_of(t));
    }
    r.prompt.push_back(t.get<int>());
  }
  r.max_tokens = opt_int(o, "max_tokens", where).value_or(16);
  r.temperature = req_number(o, "temperature", where, 1.0);
  return r;
}

// ---- errors -------------------------------------------------------------------------------

std::string encode_error(int status, std::string_view message) {
  return to_text(json{{"error", {{"code", status}, {"message", std::string(message)}}}});
}

std::string error_message(std::string_view body) {
  json v = json::parse(body, nullptr, false);
  if (v.is_object()) {
    if (const json* e = find(v, "error")) {
      if (e->is_object()) {
        if (const json* m = find(*e, "message"); m && m->is_string()) return m->get<std::string>();
      }
      if (e->is_string()) return e->get<std::string>();
    }
    if (const json* m = find(v, "message"); m && m->is_string()) return m->get<std::string>();
    if (const json* d = find(v, "detail"); d && d->is_string()) return d->get<std::string>();
  }
  return excerpt(body);
}

}  // namespace weightsync
