// Strict reading of a trainer-job create body and the job's JSON answer.
#include "trainer_job_wire.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "weightsync/internal/json_fields.h"

namespace weightsync::fake::detail {
namespace {

using internal::JsonFields;
using nlohmann::json;

// The fake's trainers hold this many bf16 parameters (the REST body does not say).
constexpr std::size_t kRestTrainerParams = std::size_t{1} << 16;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The protobuf Duration text the API takes: digits, optionally '.' and 1-9 digits, then 's'
// ("1800s", "0.5s").
bool is_duration_text(std::string_view text) {
  if (text.size() < 2 || text.back() != 's') return false;
  text.remove_suffix(1);
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), is_digit)) return false;
  if (dot == std::string_view::npos) return true;
  const std::string_view fraction = text.substr(dot + 1);
  return !fraction.empty() && fraction.size() <= 9 &&
         std::all_of(fraction.begin(), fraction.end(), is_digit);
}

void strings_only(const json& list, const std::string& path) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      JsonFields::fail(path + "[" + std::to_string(i) + "]", "a string", list[i]);
    }
  }
}

// Checks the trainingConfig object; returns its LoRA rank.
int training_config(const json& value) {
  JsonFields f(value, "trainingConfig");
  f.finish({"baseModel", "loraRank", "learningRate", "maxContextLength", "customImageTag",
            "acceleratorType", "acceleratorCount", "region", "extraArgs"});
  f.required_text("baseModel");
  const auto lora_rank = f.integer("loraRank", 0, 1024);
  f.number("learningRate", 0, 1e6, "a number in [0, 1000000]");
  f.integer("maxContextLength", 1, 1 << 24);
  f.text("customImageTag");
  f.text("acceleratorType");
  f.integer("acceleratorCount", 1, 1024);
  f.text("region");
  strings_only(f.array("extraArgs"), f.at("extraArgs"));
  return static_cast<int>(lora_rank.value_or(0));
}

}  // namespace

TrainerJobRequest decode_trainer_job_request(std::string_view body) {
  const json doc = internal::parse_json<InvalidArgument>(body, "trainer job");
  JsonFields f(doc, "");
  f.finish({"serviceMode", "keepAlive", "dataset", "trainingConfig", "trainerReplicaCount",
            "nodeCount", "displayName", "hotLoadDeploymentId", "forwardOnly", "purpose",
            "preemptible", "managedBy", "inactivityTimeout", "disableInactivityCleanup"});
  TrainerJobRequest r;
  f.boolean("serviceMode");
  f.boolean("keepAlive");
  f.text("dataset", true);
  const json* config = f.child("trainingConfig");
  if (!config) f.missing("trainingConfig", "an object with baseModel");
  r.options.lora_rank = training_config(*config);
  r.options.params = kRestTrainerParams;
  r.job.training_config = config->dump(-1, ' ', false, json::error_handler_t::replace);
  f.integer("trainerReplicaCount", 1, 64);
  f.integer("nodeCount", 1, 64);
  if (auto name = f.text("displayName")) {
    if (name->size() >= 64) {
      JsonFields::fail(f.at("displayName"), "fewer than 64 characters", doc.at("displayName"));
    }
    r.job.display_name = *name;
  }
  r.hot_load_deployment_id = f.text("hotLoadDeploymentId");
  f.boolean("forwardOnly");
  f.text("purpose");
  f.boolean("preemptible");
  f.text("managedBy");
  if (auto timeout = f.text("inactivityTimeout")) {
    if (!is_duration_text(*timeout)) {
      JsonFields::fail(f.at("inactivityTimeout"), "a duration such as '1800s'",
                       doc.at("inactivityTimeout"));
    }
  }
  f.boolean("disableInactivityCleanup");
  return r;
}

std::string encode_trainer_job(const TrainerEntry& entry, Duration now) {
  const std::string_view state = entry.state(now);
  json status = {{"code", "OK"}, {"message", ""}};
  if (state == kJobFailed) status = {{"code", "INTERNAL"}, {"message", entry.job.failure}};
  if (state == kJobDeleted) status = {{"code", "OK"}, {"message", "the trainer job was deleted"}};
  json body = {{"name", entry.client->job_name()},
               {"displayName", entry.job.display_name},
               {"state", state},
               {"status", status},
               {"serviceMode", true},
               {"trainingConfig", json::parse(entry.job.training_config)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace weightsync::fake::detail
