// The control API's routes and bodies (fakeserver/README.md documents them with curl examples).
#include "control_api.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "weightsync/errors.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/fault_injector.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/internal/json_fields.h"

namespace weightsync::fake {
namespace {

using detail::json_response;
using internal::JsonFields;
using nlohmann::json;

constexpr std::string_view kControlPrefix = "/_fake/v1/";
constexpr std::string_view kMetricsPath = "/metrics";
constexpr std::size_t kMaxModelParams = std::size_t{16} << 20;

json body_of(const HttpRequest& request) {
  if (request.body.empty()) return json::object();
  return internal::parse_json<InvalidArgument>(request.body, "request body");
}

HttpResponse ok(const json& body) {
  return json_response(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Full weights of a stored snapshot, rebuilt through its delta parents in the same bucket;
// nothing if an object on the way is missing or does not apply.
std::optional<Bytes> rebuild(const BucketStore& store, const std::string& url,
                             const std::string& name,
                             std::map<std::string, std::optional<Bytes>>& memo, int depth) {
  if (const auto known = memo.find(name); known != memo.end()) return known->second;
  std::optional<Bytes> result;
  const auto object = store.get(url, name);
  if (object && !object->delta_encoded) {
    result = *object->bytes;
  } else if (object && depth < 100000 && !object->parent.empty()) {
    if (const auto parent = rebuild(store, url, object->parent, memo, depth + 1)) {
      try {
        result = apply_delta(*parent, *object->bytes);
      } catch (const DeltaError&) {
        result.reset();
      }
    }
  }
  if (result && adler32(*result) != object->checksum) result.reset();
  return memo[name] = std::move(result);
}

std::string prometheus_label(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class Control {
 public:
  Control(CloudModel& model, const HttpRequest& request, const std::string& caller,
          const detail::Target& target, std::string& route)
      : model_(model), request_(request), caller_(caller), target_(target), route_(route) {}

  HttpResponse route();

 private:
  using Answer = std::function<HttpResponse()>;
  HttpResponse dispatch(std::string_view label,
                        const std::vector<std::pair<std::string, Answer>>& methods);
  const std::string& account() const;
  FakeTrainingClient& trainer(const std::string& id);

  HttpResponse create_trainer();
  HttpResponse trainer_verb(const std::string& id, const std::string& verb);
  HttpResponse step(FakeTrainingClient& t);
  HttpResponse save_sampler(FakeTrainingClient& t);
  HttpResponse save_state(FakeTrainingClient& t);
  HttpResponse resume(FakeTrainingClient& t);
  HttpResponse snapshots(const std::string& id);
  HttpResponse replicas(const std::string& id);
  HttpResponse put_faults();
  HttpResponse delete_faults();
  HttpResponse fault_log();
  HttpResponse metrics();

  CloudModel& model_;
  const HttpRequest& request_;
  const std::string& caller_;
  const detail::Target& target_;
  std::string& route_;
};

HttpResponse Control::route() {
  const auto& s = target_.segments;
  if (target_.path == kMetricsPath) {
    return dispatch(kMetricsPath, {{"GET", [this] { return metrics(); }}});
  }
  const auto fixed = [&](std::initializer_list<std::pair<std::size_t, const char*>> parts) {
    for (const auto& [i, text] : parts) {
      if (s.size() <= i || s[i] != text) return false;
    }
    return std::none_of(s.begin(), s.end(), [](const std::string& p) { return p.empty(); });
  };
  if (s.size() == 3 && fixed({{0, "_fake"}, {1, "v1"}, {2, "faults"}})) {
    return dispatch("/_fake/v1/faults", {{"PUT", [this] { return put_faults(); }},
                                         {"DELETE", [this] { return delete_faults(); }}});
  }
  if (s.size() == 4 && fixed({{0, "_fake"}, {1, "v1"}, {2, "faults"}, {3, "log"}})) {
    return dispatch("/_fake/v1/faults/log", {{"GET", [this] { return fault_log(); }}});
  }
  if (s.size() == 5 && fixed({{0, "_fake"}, {1, "v1"}, {2, "accounts"}, {4, "trainers"}})) {
    return dispatch("/_fake/v1/accounts/{a}/trainers",
                    {{"POST", [this] { return create_trainer(); }}});
  }
  if (s.size() == 6 && fixed({{0, "_fake"}, {1, "v1"}, {2, "accounts"}, {4, "trainers"}})) {
    const auto colon = s[5].find(':');
    if (colon != std::string::npos) {
      const std::string id = s[5].substr(0, colon);
      const std::string verb = s[5].substr(colon + 1);
      const bool known = verb == "step" || verb == "saveWeightsForSampler" || verb == "saveState" ||
                         verb == "resume";
      return dispatch("/_fake/v1/accounts/{a}/trainers/{id}:" + (known ? verb : "{verb}"),
                      {{"POST", [this, id, verb] { return trainer_verb(id, verb); }}});
    }
  }
  if (s.size() == 7 &&
      fixed({{0, "_fake"}, {1, "v1"}, {2, "accounts"}, {4, "trainers"}, {6, "snapshots"}})) {
    return dispatch("/_fake/v1/accounts/{a}/trainers/{id}/snapshots",
                    {{"GET", [this] { return snapshots(target_.segments[5]); }}});
  }
  if (s.size() == 7 &&
      fixed({{0, "_fake"}, {1, "v1"}, {2, "accounts"}, {4, "deployments"}, {6, "replicas"}})) {
    return dispatch("/_fake/v1/accounts/{a}/deployments/{id}/replicas",
                    {{"GET", [this] { return replicas(target_.segments[5]); }}});
  }
  throw HttpError(404, "no route for " + request_.method + " " + target_.path);
}

HttpResponse Control::dispatch(std::string_view label,
                               const std::vector<std::pair<std::string, Answer>>& methods) {
  route_ = request_.method + " " + std::string(label);
  std::string allowed;
  for (const auto& [method, answer] : methods) {
    if (method == request_.method) return answer();
    allowed += (allowed.empty() ? "" : ", ") + method;
  }
  HttpResponse response =
      detail::error_response(405, "method " + request_.method + " not allowed on " + target_.path +
                                      ": expected " + allowed);
  response.headers.emplace_back("Allow", allowed);
  return response;
}

const std::string& Control::account() const {
  const std::string& account = target_.segments.at(3);
  // Another account's resources are simply not there for this key.
  if (account != caller_) throw HttpError(404, "account " + account + " not found");
  return account;
}

FakeTrainingClient& Control::trainer(const std::string& id) {
  const std::string job = trainer_job_name(account(), id);
  if (!model_.has_trainer(job)) throw HttpError(404, "trainer job " + job + " not found");
  // A job created over the REST path trains only once it runs, as a real trainer would.
  const std::string_view state = model_.trainer(caller_, job).state(model_.now());
  if (state != kJobRunning) {
    throw HttpError(409, "trainer job " + job + " is " + std::string(state) + ", expected " +
                             std::string(kJobRunning));
  }
  return model_.trainer(job);
}

HttpResponse Control::create_trainer() {
  const std::string& a = account();
  const json body = body_of(request_);
  JsonFields f(body, "");
  f.finish(
      {"trainerId", "modelParams", "loraRank", "changedFraction", "bucketScope", "deploymentId"});
  const std::string id = f.required_text("trainerId");
  TrainerOptions options;
  options.params = static_cast<std::size_t>(
      f.integer("modelParams", 1, static_cast<std::int64_t>(kMaxModelParams)).value_or(1 << 16));
  options.lora_rank = static_cast<int>(f.integer("loraRank", 0, 1024).value_or(0));
  options.changed_fraction =
      f.number("changedFraction", 0, 1, "a number in [0, 1]").value_or(options.changed_fraction);
  const std::string scope = f.text("bucketScope").value_or("trainer");
  const auto deployment_id = f.text("deploymentId");
  std::optional<std::string> bucket;
  if (deployment_id &&
      (deployment_id->find('/') != std::string::npos || deployment_id->size() > 63)) {
    JsonFields::fail("deploymentId", "a deployment id (1-63 characters, no '/')",
                     body.at("deploymentId"));
  }
  if (scope == "deployment") {
    if (!deployment_id) f.missing("deploymentId", "the deployment whose bucket the trainer writes");
    bucket = model_.options().bucket_prefix + "/" + a + "/deployments/" + *deployment_id;
  } else if (scope != "trainer") {
    JsonFields::fail("bucketScope", "'trainer' or 'deployment'", body.at("bucketScope"));
  } else if (deployment_id) {
    throw InvalidArgument("deploymentId: only allowed with bucketScope 'deployment'");
  }
  const std::string job = trainer_job_name(a, id);
  if (model_.has_trainer(job)) throw HttpError(409, "trainer job " + job + " already exists");
  FakeTrainingClient& t = model_.create_trainer(a, id, options, bucket);
  return ok({{"name", t.job_name()}, {"sessionId", t.session_id()}, {"bucketUrl", t.bucket_url()}});
}

HttpResponse Control::trainer_verb(const std::string& id, const std::string& verb) {
  FakeTrainingClient& t = trainer(id);
  if (verb == "step") return step(t);
  if (verb == "saveWeightsForSampler") return save_sampler(t);
  if (verb == "saveState") return save_state(t);
  if (verb == "resume") return resume(t);
  throw HttpError(404, "no trainer method '" + verb +
                           "': expected step, saveWeightsForSampler, saveState or resume");
}

HttpResponse Control::step(FakeTrainingClient& t) {
  const json body = body_of(request_);
  JsonFields f(body, "");
  f.finish({"steps"});
  t.step(static_cast<int>(f.integer("steps", 1, 10000).value_or(1)));
  return ok({{"step", t.step_count()}, {"checksum", t.checksum()}});
}

HttpResponse Control::save_sampler(FakeTrainingClient& t) {
  const json body = body_of(request_);
  JsonFields f(body, "");
  f.finish({"name", "checkpointType"});
  const std::string name = f.required_text("name");
  CheckpointKind kind = CheckpointKind::base;
  if (const auto type = f.text("checkpointType")) {
    try {
      kind = parse_checkpoint_kind(*type);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string("checkpointType: ") + e.what());
    }
  }
  SamplerSave saved;
  model_.save_fault(t.job_name());
  try {
    saved = t.save_weights_for_sampler(name, kind);
  } catch (const SaveFailed& e) {
    throw HttpError(409, e.what());
  }
  const SnapshotRecord& r = *t.find_snapshot(saved.snapshot_name);
  return ok({{"path", saved.path},
             {"snapshotName", saved.snapshot_name},
             {"checkpointType", std::string(to_string(r.kind))},
             {"promotable", r.promotable},
             {"checksum", r.checksum},
             {"bytes", r.stored_size},
             {"fullBytes", r.full_size},
             {"parent", r.parent},
             {"sessionId", r.session_id},
             {"step", r.step}});
}

HttpResponse Control::save_state(FakeTrainingClient& t) {
  const json body = body_of(request_);
  JsonFields f(body, "");
  f.finish({"name"});
  const std::string path = t.save_state(f.required_text("name"));
  return ok({{"path", path}, {"checkpointName", path.substr(path.rfind('/') + 1)}});
}

HttpResponse Control::resume(FakeTrainingClient& t) {
  const json body = body_of(request_);
  JsonFields f(body, "");
  f.finish({"name"});
  const std::string name = f.required_text("name");
  const std::string dir = t.bucket_url() + "/dcp/";
  std::string path;
  for (const std::string& candidate : {dir + name, dir + name + "-" + t.session_id()}) {
    if (t.has_checkpoint(candidate)) {
      path = candidate;
      break;
    }
  }
  if (path.empty()) {
    throw HttpError(404, "no checkpoint '" + name + "' in trainer " + t.job_name() +
                             ": expected a checkpointName returned by :saveState");
  }
  const std::string session = t.resume(path);
  return ok({{"sessionId", session},
             {"path", path},
             {"step", t.step_count()},
             {"checksum", t.checksum()}});
}

HttpResponse Control::snapshots(const std::string& id) {
  const std::string& a = account();
  const std::string job = trainer_job_name(a, id);
  const bool live = model_.has_trainer(job);
  // A trainer lives in memory; its bucket may outlive it (a restart with --state-dir).
  const std::string url = live
                              ? model_.trainer(job).bucket_url()
                              : model_.options().bucket_prefix + "/" + a + "/rlorTrainerJobs/" + id;
  const BucketStore& store = model_.store();
  if (!live && !store.has_bucket(url)) throw HttpError(404, "trainer job " + job + " not found");
  std::vector<StoredObject> objects;
  for (const auto& name : store.object_names(url)) {
    if (auto object = store.get(url, name)) objects.push_back(std::move(*object));
  }
  std::sort(objects.begin(), objects.end(),
            [](const StoredObject& x, const StoredObject& y) { return x.sequence < y.sequence; });
  std::map<std::string, std::optional<Bytes>> memo;
  json list = json::array();
  for (const auto& o : objects) {
    json entry = {{"name", o.name},
                  {"path", url + "/" + o.name},
                  {"kind", std::string(to_string(o.kind))},
                  {"parent", o.parent},
                  {"checksum", o.checksum},
                  {"promotable", is_promotable(o.kind, o.lora ? 1 : 0)},
                  {"bytes", o.bytes->size()},
                  {"fullBytes", o.full_size},
                  {"verified", rebuild(store, url, o.name, memo, 0).has_value()}};
    if (live) {
      if (const SnapshotRecord* r = model_.trainer(job).find_snapshot(o.name)) {
        entry["step"] = r->step;
        entry["sessionId"] = r->session_id;
      }
    }
    list.push_back(std::move(entry));
  }
  json body = {{"trainer", job}, {"bucketUrl", url}, {"live", live}, {"snapshots", list}};
  if (live) {
    body["sessionId"] = model_.trainer(job).session_id();
    body["checksum"] = model_.trainer(job).checksum();
  }
  return ok(body);
}

HttpResponse Control::replicas(const std::string& id) {
  FakeDeployment& d = model_.deployment(caller_, account(), id);
  const Duration now = model_.now();
  json list = json::array();
  for (const Replica& r : d.replicas()) {
    list.push_back({{"name", r.name()},
                    {"servedIdentity", r.served_identity()},
                    {"servedChecksum", r.served_checksum()},
                    {"stage", r.stage(now)},
                    {"stageTarget", r.stage_target()},
                    {"lastError", r.last_error()},
                    {"ready", r.readiness(now)},
                    {"managerReady", r.manager_ready(now)},
                    {"chainIdentity", r.chain_identity()},
                    {"promptCacheEntries", r.prompt_cache().entries()},
                    {"promptCacheHits", r.prompt_cache().hits()},
                    {"restarts", r.restarts()}});
  }
  return ok({{"deployment", d.name()}, {"replicas", list}});
}

HttpResponse Control::put_faults() {
  FaultPlan plan = parse_fault_plan(request_.body);
  const std::size_t count = plan.faults.size();
  model_.set_fault_plan(std::move(plan));
  return ok({{"active", true}, {"faults", count}, {"seed", model_.fault_injector()->seed()}});
}

HttpResponse Control::delete_faults() {
  model_.clear_fault_plan();
  return ok({{"active", false}});
}

HttpResponse Control::fault_log() {
  model_.advance_faults();
  const FaultInjector* injector = model_.fault_injector();
  const std::vector<FaultEvent> none;
  const auto& events = injector ? injector->log() : none;
  const std::uint64_t seed = injector ? injector->seed() : 0;
  const auto format = target_.query.find("format");
  if (format != target_.query.end() && format->second == "text") {
    return HttpResponse{200, {{"Content-Type", "text/plain"}}, format_fault_log(events, seed)};
  }
  if (format != target_.query.end() && format->second != "json") {
    throw HttpError(400, "format: expected 'text' or 'json', got '" + format->second + "'");
  }
  json body = json::parse(encode_fault_log(events, seed));
  body["active"] = model_.fault_plan_active();
  return ok(body);
}

HttpResponse Control::metrics() {
  const FakeMetrics& m = model_.metrics();
  LoadTally loads = m.retired;
  for (const auto& [name, d] : model_.deployments()) loads += d->tally();
  std::map<std::string, std::uint64_t> faults = m.faults_fired;
  if (const FaultInjector* injector = model_.fault_injector()) {
    for (const auto& [kind, count] : injector->fired()) faults[kind] += count;
  }
  std::string out;
  const auto family = [&](const char* name, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  };
  family("weightsync_fake_requests_total", "Requests answered, by route and HTTP status.");
  for (const auto& [key, count] : m.requests) {
    out += "weightsync_fake_requests_total{route=\"" + prometheus_label(key.first) +
           "\",status=\"" + std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  family("weightsync_fake_hotloads_total",
         "Hotloads by outcome: POSTs rejected, replica loads done or ended in error.");
  out += "weightsync_fake_hotloads_total{outcome=\"rejected\"} " +
         std::to_string(m.hotloads_rejected) + "\n";
  out += "weightsync_fake_hotloads_total{outcome=\"done\"} " + std::to_string(loads.done) + "\n";
  out += "weightsync_fake_hotloads_total{outcome=\"error\"} " + std::to_string(loads.error) + "\n";
  family("weightsync_fake_bytes_loaded_total", "Stored bytes downloaded by successful loads.");
  out += "weightsync_fake_bytes_loaded_total " + std::to_string(loads.bytes_loaded) + "\n";
  family("weightsync_fake_faults_fired_total", "Faults of fault plans that fired, by kind.");
  for (const auto& [kind, count] : faults) {
    out += "weightsync_fake_faults_fired_total{fault=\"" + prometheus_label(kind) + "\"} " +
           std::to_string(count) + "\n";
  }
  const auto seconds_text = [](std::chrono::nanoseconds d) {
    return std::to_string(std::chrono::duration<double>(d).count());
  };
  family("weightsync_fake_lock_acquisitions_total",
         "API requests that took the fake's one lock (this one not yet counted).");
  out += "weightsync_fake_lock_acquisitions_total " + std::to_string(m.lock_acquisitions) + "\n";
  family("weightsync_fake_lock_wait_seconds_total",
         "Wall time API requests waited for the fake's one lock.");
  out += "weightsync_fake_lock_wait_seconds_total " + seconds_text(m.lock_waited) + "\n";
  family("weightsync_fake_lock_held_seconds_total",
         "Wall time API requests held the fake's one lock.");
  out += "weightsync_fake_lock_held_seconds_total " + seconds_text(m.lock_held) + "\n";
  return HttpResponse{200, {{"Content-Type", "text/plain; version=0.0.4"}}, out};
}

}  // namespace

bool is_control_path(const std::string& path) {
  return path == kMetricsPath || path.compare(0, kControlPrefix.size(), kControlPrefix) == 0;
}

HttpResponse answer_control(CloudModel& model, const HttpRequest& request,
                            const std::string& caller, const detail::Target& target,
                            std::string& route) {
  return Control(model, request, caller, target, route).route();
}

}  // namespace weightsync::fake
