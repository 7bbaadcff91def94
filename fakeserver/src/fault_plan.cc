// Parsing a fault plan: which fields each kind takes, which triggers it allows, and messages
// that name the field; and printing the fault log.
#include "weightsync/fake/fault_plan.h"

#include <array>
#include <cstdio>

#include "weightsync/internal/json_fields.h"

namespace weightsync::fake {
namespace {

using internal::JsonFields;

constexpr std::array<std::pair<FaultKind, std::string_view>, 21> kKindNames = {{
    {FaultKind::hotload_rejected, "hotload_rejected"},
    {FaultKind::hotload_timeout, "hotload_timeout"},
    {FaultKind::load_error, "load_error"},
    {FaultKind::load_stuck, "load_stuck"},
    {FaultKind::replica_restart, "replica_restart"},
    {FaultKind::manager_not_ready, "manager_not_ready"},
    {FaultKind::stale_bucket, "stale_bucket"},
    {FaultKind::stale_cache, "stale_cache"},
    {FaultKind::session_change, "session_change"},
    {FaultKind::reattach, "reattach"},
    {FaultKind::delta_parent_mismatch, "delta_parent_mismatch"},
    {FaultKind::warmup_unavailable, "warmup_unavailable"},
    {FaultKind::slow_download, "slow_download"},
    {FaultKind::partial_rollout, "partial_rollout"},
    {FaultKind::prompt_cache_not_reset, "prompt_cache_not_reset"},
    {FaultKind::latency, "latency"},
    {FaultKind::connection_reset, "connection_reset"},
    {FaultKind::truncated_body, "truncated_body"},
    {FaultKind::deployment_failed, "deployment_failed"},
    {FaultKind::trainer_failed, "trainer_failed"},
    {FaultKind::save_failure, "save_failure"},
}};

// Faults that are events in the fake world, so they can also happen at a time ("atSeconds").
bool can_be_timed(FaultKind kind) {
  switch (kind) {
    case FaultKind::replica_restart:
    case FaultKind::manager_not_ready:
    case FaultKind::stale_bucket:
    case FaultKind::stale_cache:
    case FaultKind::session_change:
    case FaultKind::reattach:
    case FaultKind::deployment_failed:
    case FaultKind::trainer_failed:
      return true;
    default:
      return false;
  }
}

bool is_transport(FaultKind kind) {
  return kind == FaultKind::latency || kind == FaultKind::connection_reset ||
         kind == FaultKind::truncated_body;
}

// The parameters each kind accepts beyond the trigger and filter fields.
std::vector<std::string> parameters(FaultKind kind) {
  switch (kind) {
    case FaultKind::hotload_rejected:
    case FaultKind::warmup_unavailable:
      return {"status"};
    case FaultKind::hotload_timeout:
      return {"delaySeconds", "accepted"};
    case FaultKind::load_error:
    case FaultKind::partial_rollout:
    case FaultKind::deployment_failed:
      return {"message"};
    case FaultKind::trainer_failed:
      return {"trainer", "message"};
    case FaultKind::replica_restart:
      return {"afterFraction"};
    case FaultKind::manager_not_ready:
      return {"durationSeconds"};
    case FaultKind::stale_bucket:
      return {"mode"};
    case FaultKind::stale_cache:
      return {"enabled"};
    case FaultKind::session_change:
    case FaultKind::reattach:
    case FaultKind::save_failure:
      return {"trainer"};
    case FaultKind::slow_download:
      return {"factor"};
    case FaultKind::latency:
      return {"delaySeconds"};
    case FaultKind::connection_reset:
      return {"processed"};
    case FaultKind::load_stuck:
    case FaultKind::delta_parent_mismatch:
    case FaultKind::prompt_cache_not_reset:
    case FaultKind::truncated_body:
      return {};
  }
  return {};
}

bool has_shape(std::string_view name, std::string_view collection) {
  const std::string prefix = "accounts/";
  if (name.substr(0, prefix.size()) != prefix) return false;
  const auto rest = name.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return false;
  const auto tail = rest.substr(slash + 1);
  const std::string middle = std::string(collection) + "/";
  return tail.size() > middle.size() && tail.substr(0, middle.size()) == middle &&
         tail.substr(middle.size()).find('/') == std::string_view::npos;
}

Duration seconds_field(JsonFields& f, const std::string& key, Duration fallback) {
  const auto s = f.number(key, 0, 86400 * 365.0, "seconds in [0, 31536000]");
  return s ? seconds(*s) : fallback;
}

FaultSpec parse_fault(const nlohmann::json& value, const std::string& path) {
  JsonFields f(value, path);
  FaultSpec spec;
  const std::string kind_name = f.required_text("fault");
  try {
    spec.kind = parse_fault_kind(kind_name);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(f.at("fault") + ": " + e.what());
  }
  std::vector<std::string> accepted = {"fault",     "count",      "after",   "probability", "limit",
                                       "atSeconds", "deployment", "replica", "method",      "path"};
  for (auto& p : parameters(spec.kind)) accepted.push_back(std::move(p));
  f.finish(accepted);

  // ---- trigger ----
  if (auto c = f.integer("count", 1, 1'000'000)) spec.count = static_cast<int>(*c);
  spec.probability = f.number("probability", 0, 1, "a number in [0, 1]");
  if (auto at = f.number("atSeconds", 0, 86400 * 365.0, "seconds in [0, 31536000]")) {
    spec.at = seconds(*at);
  }
  const int triggers =
      int{spec.count.has_value()} + int{spec.probability.has_value()} + int{spec.at.has_value()};
  if (triggers != 1) {
    throw InvalidArgument(path + ": expected exactly one trigger of count, probability or " +
                          "atSeconds, got " + std::to_string(triggers));
  }
  if (auto a = f.integer("after", 0, 1'000'000)) {
    if (!spec.count) throw InvalidArgument(f.at("after") + ": only allowed with count");
    spec.after = static_cast<int>(*a);
  }
  if (auto l = f.integer("limit", 1, 1'000'000)) {
    if (!spec.probability) throw InvalidArgument(f.at("limit") + ": only allowed with probability");
    spec.limit = static_cast<int>(*l);
  }
  if (spec.at && !can_be_timed(spec.kind)) {
    throw InvalidArgument(f.at("atSeconds") + ": " + kind_name +
                          " happens to a request or a load, not at a time; expected count or "
                          "probability");
  }

  // ---- filters ----
  spec.deployment = f.text("deployment");
  if (spec.deployment && !has_shape(*spec.deployment, "deployments")) {
    JsonFields::fail(f.at("deployment"), "'accounts/{account}/deployments/{id}'",
                     *f.child("deployment"));
  }
  if (auto r = f.integer("replica", 0, 1000)) spec.replica = static_cast<int>(*r);
  spec.method = f.text("method");
  spec.path = f.text("path");
  if ((spec.method || spec.path) && !is_transport(spec.kind)) {
    throw InvalidArgument(f.at(spec.method ? "method" : "path") +
                          ": only transport faults (latency, connection_reset, truncated_body) "
                          "filter by request");
  }
  if (spec.path && spec.path->front() != '/') {
    JsonFields::fail(f.at("path"), "a path prefix starting with '/'", *f.child("path"));
  }
  if (spec.replica && is_transport(spec.kind)) {
    throw InvalidArgument(f.at("replica") + ": transport faults filter by method and path");
  }

  // ---- parameters ----
  if (auto s = f.integer("status", 400, 599)) spec.status = static_cast<int>(*s);
  spec.delay =
      seconds_field(f, "delaySeconds", spec.kind == FaultKind::latency ? seconds(1) : seconds(30));
  spec.duration = seconds_field(f, "durationSeconds", seconds(30));
  spec.accepted = f.boolean("accepted").value_or(true);
  spec.processed = f.boolean("processed").value_or(true);
  spec.factor = f.number("factor", 1, 1e6, "a number in [1, 1000000]").value_or(10);
  spec.after_fraction = f.number("afterFraction", 0, 1, "a number in [0, 1]").value_or(0.5);
  if (auto mode = f.text("mode")) {
    if (*mode != "missing" && *mode != "recreate") {
      JsonFields::fail(f.at("mode"), "'missing' or 'recreate'", *f.child("mode"));
    }
    spec.recreate = *mode == "recreate";
  }
  spec.enabled = f.boolean("enabled").value_or(true);
  spec.message = f.text("message").value_or("");
  if (spec.kind == FaultKind::trainer_failed && !spec.at) {
    throw InvalidArgument(path + ": trainer_failed happens at a time; expected atSeconds, got " +
                          (spec.count ? "count" : "probability"));
  }
  if (spec.kind == FaultKind::trainer_failed && spec.deployment) {
    throw InvalidArgument(f.at("deployment") + ": trainer_failed acts on a trainer job; expected "
                                               "trainer, not deployment");
  }
  if (spec.kind == FaultKind::save_failure && (spec.deployment || spec.replica)) {
    throw InvalidArgument(f.at(spec.deployment ? "deployment" : "replica") +
                          ": save_failure happens to a trainer's save; expected trainer, not " +
                          (spec.deployment ? "deployment" : "replica"));
  }
  if (spec.kind == FaultKind::save_failure) {
    if (auto trainer = f.text("trainer")) {
      if (!has_shape(*trainer, "rlorTrainerJobs")) {
        JsonFields::fail(f.at("trainer"), "'accounts/{account}/rlorTrainerJobs/{id}'",
                         *f.child("trainer"));
      }
      spec.trainer = *trainer;
    }
  }
  if (spec.kind == FaultKind::session_change || spec.kind == FaultKind::reattach ||
      spec.kind == FaultKind::trainer_failed) {
    spec.trainer = f.required_text("trainer");
    if (!has_shape(spec.trainer, "rlorTrainerJobs")) {
      JsonFields::fail(f.at("trainer"), "'accounts/{account}/rlorTrainerJobs/{id}'",
                       *f.child("trainer"));
    }
  }

  // ---- what each kind needs ----
  if ((spec.kind == FaultKind::reattach || spec.at) && !spec.deployment &&
      spec.kind != FaultKind::stale_cache && spec.kind != FaultKind::session_change &&
      spec.kind != FaultKind::trainer_failed) {
    f.missing("deployment", "'accounts/{account}/deployments/{id}' (" + kind_name +
                                (spec.at ? " at a time" : "") + " acts on one deployment)");
  }
  if (spec.kind == FaultKind::partial_rollout && !spec.replica) {
    f.missing("replica", "the index of the replica whose loads fail");
  }
  if (spec.kind == FaultKind::stale_bucket && spec.at && !spec.recreate) {
    throw InvalidArgument(f.at("mode") +
                          ": at a time only 'recreate' is possible ('missing' hits one hotload)");
  }
  return spec;
}

std::string seconds_text(Duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", to_seconds(d));
  return text;
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

FaultKind parse_fault_kind(std::string_view name) {
  std::string known;
  for (const auto& [kind, text] : kKindNames) {
    if (text == name) return kind;
    known += (known.empty() ? "" : ", ") + std::string(text);
  }
  throw InvalidArgument("expected one of " + known + ", got '" + std::string(name) + "'");
}

FaultPlan parse_fault_plan(std::string_view json_text, std::string_view where) {
  const nlohmann::json doc = internal::parse_json<InvalidArgument>(
      json_text, where.empty() ? "fault plan" : std::string(where));
  JsonFields top(doc, std::string(where));
  top.finish({"seed", "faults"});
  FaultPlan plan;
  plan.seed = top.unsigned_integer("seed");
  const nlohmann::json& faults = top.array("faults");
  for (std::size_t i = 0; i < faults.size(); ++i) {
    plan.faults.push_back(parse_fault(faults[i], top.at("faults") + "[" + std::to_string(i) + "]"));
  }
  return plan;
}

std::string encode_fault_plan(const FaultPlan& plan) {
  nlohmann::ordered_json faults = nlohmann::ordered_json::array();
  for (const FaultSpec& spec : plan.faults) {
    nlohmann::ordered_json e;
    e["fault"] = std::string(to_string(spec.kind));
    if (spec.count) {
      e["count"] = *spec.count;
      if (spec.after > 0) e["after"] = spec.after;
    }
    if (spec.probability) e["probability"] = *spec.probability;
    if (spec.limit) e["limit"] = *spec.limit;
    if (spec.at) e["atSeconds"] = to_seconds(*spec.at);
    if (spec.deployment) e["deployment"] = *spec.deployment;
    if (spec.replica) e["replica"] = *spec.replica;
    if (spec.method) e["method"] = *spec.method;
    if (spec.path) e["path"] = *spec.path;
    const Duration default_delay = spec.kind == FaultKind::latency ? seconds(1) : seconds(30);
    for (const std::string& p : parameters(spec.kind)) {
      if (p == "status" && spec.status != 503) e[p] = spec.status;
      if (p == "delaySeconds" && spec.delay != default_delay) e[p] = to_seconds(spec.delay);
      if (p == "durationSeconds" && spec.duration != seconds(30)) e[p] = to_seconds(spec.duration);
      if (p == "accepted" && !spec.accepted) e[p] = false;
      if (p == "processed" && !spec.processed) e[p] = false;
      if (p == "factor" && spec.factor != 10) e[p] = spec.factor;
      if (p == "afterFraction" && spec.after_fraction != 0.5) e[p] = spec.after_fraction;
      if (p == "mode" && spec.recreate) e[p] = "recreate";
      if (p == "enabled" && !spec.enabled) e[p] = false;
      if (p == "trainer" && !spec.trainer.empty()) e[p] = spec.trainer;
      if (p == "message" && !spec.message.empty()) e[p] = spec.message;
    }
    faults.push_back(std::move(e));
  }
  nlohmann::ordered_json doc;
  if (plan.seed) doc["seed"] = *plan.seed;
  doc["faults"] = std::move(faults);
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string format_fault_log(const std::vector<FaultEvent>& events, std::uint64_t seed) {
  std::string out = "fault log (seed " + std::to_string(seed) + ", " +
                    std::to_string(events.size()) + " faults)\n";
  for (const auto& e : events) {
    out += "#" + std::to_string(e.sequence) + " t=" + seconds_text(e.at) + "s " + e.fault + " " +
           e.trigger + " faults[" + std::to_string(e.entry) + "] " + e.target + ": " + e.detail +
           "\n";
  }
  return out;
}

std::string encode_fault_log(const std::vector<FaultEvent>& events, std::uint64_t seed) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : events) {
    list.push_back({{"sequence", e.sequence},
                    {"atSeconds", to_seconds(e.at)},
                    {"fault", e.fault},
                    {"trigger", e.trigger},
                    {"entry", e.entry},
                    {"target", e.target},
                    {"detail", e.detail}});
  }
  return nlohmann::json{{"seed", seed}, {"events", list}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace weightsync::fake
