// Request parsing, authentication and dispatch; JSON shapes come from the library's wire.h.
#include "weightsync/fake/router.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "completions.h"
#include "control_api.h"
#include "fault_hooks.h"
#include "http_support.h"
#include "trainer_job_wire.h"
#include "weightsync/errors.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/internal/server_wire.h"
#include "weightsync/wire.h"

namespace weightsync::fake {
namespace {

using detail::error_response;
using detail::json_response;
using detail::Target;

std::string required_header(const HttpRequest& request, std::string_view name,
                            std::string_view expected) {
  std::string value = header_value(request.headers, name);
  if (value.empty()) {
    throw HttpError(400,
                    "missing header " + std::string(name) + ": expected " + std::string(expected));
  }
  return value;
}

// The real service takes the key as `X-Api-Key` (the reference SDK's control plane), as
// `Authorization: Bearer` (its hotload and inference calls send both), or both, which must agree.
std::string authenticate(const CloudModel& model, const HttpRequest& request) {
  const std::string api_key = header_value(request.headers, kApiKeyHeader);
  const std::string auth = header_value(request.headers, kAuthorizationHeader);
  const std::string prefix(kBearerPrefix);
  std::string bearer;
  if (!auth.empty()) {
    if (auth.size() <= prefix.size() || auth.compare(0, prefix.size(), prefix) != 0) {
      throw HttpError(401, "Authorization: expected 'Bearer <api key>', got a value without it");
    }
    bearer = auth.substr(prefix.size());
  }
  if (api_key.empty() && bearer.empty()) {
    throw HttpError(401,
                    "missing credentials: expected header 'X-Api-Key: <api key>' or "
                    "'Authorization: Bearer <api key>'");
  }
  if (!api_key.empty() && !bearer.empty() && api_key != bearer) {
    throw HttpError(401, "X-Api-Key and Authorization: Bearer carry different keys; expected one key");
  }
  const auto account = model.account_for_key(api_key.empty() ? bearer : api_key);
  if (!account) throw HttpError(401, "unknown API key");
  return *account;
}

class Handler {
 public:
  Handler(CloudModel& model, const HttpRequest& request, std::string caller, Target target,
          std::string& route)
      : model_(model),
        request_(request),
        caller_(std::move(caller)),
        target_(std::move(target)),
        route_(route),
        now_(model.now()) {}

  HttpResponse route();

 private:
  using Method = HttpResponse (Handler::*)();
  // `label` names the route in the metrics ("/v1/accounts/{a}/deployments/{id}").
  HttpResponse dispatch(std::string_view label,
                        const std::vector<std::pair<std::string, Method>>& methods);
  const std::string& segment(std::size_t i) const { return target_.segments.at(i); }

  HttpResponse list_accounts();
  HttpResponse create_deployment();
  HttpResponse get_deployment();
  HttpResponse patch_deployment();
  HttpResponse delete_deployment();
  HttpResponse reset_ledger();
  HttpResponse post_hotload();
  HttpResponse get_hotload();
  HttpResponse completion();
  HttpResponse create_trainer_job();
  HttpResponse get_trainer_job();
  HttpResponse delete_trainer_job();
  HttpResponse resume_trainer_job();
  HttpResponse trainer_healthz();
  FakeDeployment& hotload_target();
  // Refuses query parameters other than `known` (a typo must not be silently ignored).
  void check_query(std::initializer_list<const char*> known) const;
  // A query flag: absent, "true" or "false".
  bool query_flag(const std::string& name) const;

  CloudModel& model_;
  const HttpRequest& request_;
  std::string caller_;
  Target target_;
  std::string& route_;
  Duration now_;
};

HttpResponse Handler::route() {
  const auto& s = target_.segments;
  const auto is = [&](std::size_t n,
                      std::initializer_list<std::pair<std::size_t, const char*>> fixed) {
    if (s.size() != n) return false;
    for (const auto& [i, text] : fixed) {
      if (s[i] != text) return false;
    }
    for (const auto& part : s) {
      if (part.empty()) return false;
    }
    return true;
  };
  if (target_.path == kAccountsPath) {
    return dispatch(kAccountsPath, {{"GET", &Handler::list_accounts}});
  }
  if (is(4, {{0, "v1"}, {1, "accounts"}, {3, "deployments"}})) {
    return dispatch("/v1/accounts/{a}/deployments", {{"POST", &Handler::create_deployment}});
  }
  if (is(5, {{0, "v1"}, {1, "accounts"}, {3, "deployments"}})) {
    return dispatch("/v1/accounts/{a}/deployments/{id}", {{"GET", &Handler::get_deployment},
                                                          {"PATCH", &Handler::patch_deployment},
                                                          {"DELETE", &Handler::delete_deployment}});
  }
  if (is(6, {{0, "v1"}, {1, "accounts"}, {3, "deployments"}, {5, "ledger"}})) {
    return dispatch("/v1/accounts/{a}/deployments/{id}/ledger",
                    {{"DELETE", &Handler::reset_ledger}});
  }
  if (is(4, {{0, "v1"}, {1, "accounts"}, {3, "rlorTrainerJobs"}})) {
    return dispatch("/v1/accounts/{a}/rlorTrainerJobs", {{"POST", &Handler::create_trainer_job}});
  }
  if (is(5, {{0, "v1"}, {1, "accounts"}, {3, "rlorTrainerJobs"}})) {
    const auto colon = s[4].find(':');
    if (colon == std::string::npos) {
      return dispatch("/v1/accounts/{a}/rlorTrainerJobs/{id}",
                      {{"GET", &Handler::get_trainer_job}, {"DELETE", &Handler::delete_trainer_job}});
    }
    if (s[4].substr(colon) == ":resume") {
      target_.segments[4].resize(colon);
      return dispatch("/v1/accounts/{a}/rlorTrainerJobs/{id}:resume",
                      {{"POST", &Handler::resume_trainer_job}});
    }
    throw HttpError(404, "no trainer job method '" + s[4].substr(colon + 1) +
                             "' in " + target_.path + ": expected ':resume'");
  }
  if (is(8, {{0, "training"}, {1, "v1"}, {2, "rlorTrainerJobs"}, {5, "api"}, {6, "v1"},
             {7, "healthz"}})) {
    return dispatch("/training/v1/rlorTrainerJobs/{a}/{id}/api/v1/healthz",
                    {{"GET", &Handler::trainer_healthz}});
  }
  if (target_.path == kHotloadPath) {
    return dispatch(kHotloadPath,
                    {{"POST", &Handler::post_hotload}, {"GET", &Handler::get_hotload}});
  }
  if (target_.path == kCompletionsPath) {
    return dispatch(kCompletionsPath, {{"POST", &Handler::completion}});
  }
  throw HttpError(404, "no route for " + request_.method + " " + target_.path);
}

HttpResponse Handler::dispatch(std::string_view label,
                               const std::vector<std::pair<std::string, Method>>& methods) {
  route_ = request_.method + " " + std::string(label);
  std::string allowed;
  for (const auto& [method, handler] : methods) {
    if (method == request_.method) return (this->*handler)();
    allowed += (allowed.empty() ? "" : ", ") + method;
  }
  HttpResponse response = error_response(405, "method " + request_.method + " not allowed on " +
                                                  target_.path + ": expected " + allowed);
  response.headers.emplace_back("Allow", allowed);
  return response;
}

HttpResponse Handler::list_accounts() {
  const auto page_size = target_.query.find("pageSize");
  if (page_size != target_.query.end()) {
    const std::string& text = page_size->second;
    if (text.empty() || text.size() > 6 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1) {
      throw HttpError(400, "pageSize: expected a positive integer, got '" + text + "'");
    }
  }
  return json_response(200, encode_account_list({caller_}));
}

HttpResponse Handler::create_deployment() {
  check_query({"deploymentId", "skipShapeValidation", "disableSpeculativeDecoding"});
  query_flag("skipShapeValidation");
  query_flag("disableSpeculativeDecoding");
  const auto id = target_.query.find("deploymentId");
  if (id == target_.query.end() || id->second.empty()) {
    throw HttpError(400, "missing query parameter deploymentId: expected ?deploymentId=<id>");
  }
  const DeploymentConfig config = decode_deployment_config(request_.body);
  FakeDeployment& d = model_.create_deployment(caller_, segment(2), id->second, config);
  return json_response(200, encode(d.wire(now_)));
}

HttpResponse Handler::get_deployment() {
  check_query({});
  return json_response(200, encode(model_.deployment(caller_, segment(2), segment(4)).wire(now_)));
}

HttpResponse Handler::patch_deployment() {
  check_query({"updateMask"});
  // The reference client's update() sends the mask in snake_case, its scale_to_zero() sends
  // none (then the fields present in the body are set).
  const auto mask = target_.query.find("updateMask");
  // Resolve first so an unknown deployment is a 404 whatever the body says.
  model_.deployment(caller_, segment(2), segment(4));
  const DeploymentUpdate update = decode_deployment_update(
      request_.body, mask == target_.query.end() ? std::nullopt
                                                 : std::optional<std::string_view>(mask->second));
  FakeDeployment& d = model_.update_deployment(caller_, segment(2), segment(4), update);
  return json_response(200, encode(d.wire(now_)));
}

HttpResponse Handler::delete_deployment() {
  // The reference client sends ?ignoreChecks=true&hard=true; the fake has no checks to skip.
  check_query({"ignoreChecks", "hard"});
  query_flag("ignoreChecks");
  const bool hard = query_flag("hard");
  return json_response(200,
                       encode(model_.delete_deployment(caller_, segment(2), segment(4), hard)));
}

HttpResponse Handler::reset_ledger() {
  model_.deployment(caller_, segment(2), segment(4)).reset_ledger();
  return json_response(200, "{}");
}

FakeDeployment& Handler::hotload_target() {
  const std::string name =
      required_header(request_, kDeploymentHeader, "accounts/{account}/deployments/{id}");
  const std::string model = required_header(request_, kModelHeader, "the deployment's base model");
  FakeDeployment& d = model_.deployment_by_name(caller_, name);
  if (model != d.config().base_model) {
    throw HttpError(400, "header " + std::string(kModelHeader) + ": expected '" +
                             d.config().base_model + "' (the base model of " + name + "), got '" +
                             model + "'");
  }
  if (!d.config().enable_hot_load) {
    throw HttpError(400, "deployment " + name + " was created with enableHotLoad false");
  }
  return d;
}

HttpResponse Handler::post_hotload() {
  FakeDeployment& d = hotload_target();
  const HotloadRequest hotload = decode_hotload_request(request_.body);
  if (hotload.identity.empty()) throw HttpError(400, "identity: expected a snapshot name, got ''");
  if (hotload.identity.find('/') != std::string::npos) {
    throw HttpError(
        400, "identity: a snapshot identity must not contain '/', got '" + hotload.identity + "'");
  }
  if (const auto& meta = hotload.incremental_snapshot_metadata) {
    if (meta->checksum_format != kChecksumFormat) {
      throw HttpError(400, "incremental_snapshot_metadata.checksum_format: expected '" +
                               std::string(kChecksumFormat) + "', got '" + meta->checksum_format +
                               "'");
    }
    if (meta->compression_format != "arc_v2") {
      throw HttpError(400,
                      "incremental_snapshot_metadata.compression_format: expected 'arc_v2', got '" +
                          meta->compression_format + "'");
    }
    if (meta->previous_snapshot_identity.find('/') != std::string::npos) {
      throw HttpError(400,
                      "incremental_snapshot_metadata.previous_snapshot_identity: must not contain "
                      "'/', got '" +
                          meta->previous_snapshot_identity + "'");
    }
  }
  const FaultHooks& hooks = model_.active_hooks();
  if (auto rejected = hooks.on_hotload(d.name(), hotload)) return std::move(*rejected);
  d.hotload(hotload, now_, model_.store(), hooks);
  return json_response(200, "{}");
}

HttpResponse Handler::get_hotload() {
  return json_response(200, encode(hotload_target().hotload_status(now_)));
}

HttpResponse Handler::completion() {
  return answer_completion(model_, caller_, request_);
}

void Handler::check_query(std::initializer_list<const char*> known) const {
  for (const auto& entry : target_.query) {
    const std::string& name = entry.first;
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string names;
    for (const char* k : known) names += (names.empty() ? "" : ", ") + std::string(k);
    throw HttpError(400, "query parameter '" + name + "': unknown; expected " +
                             (names.empty() ? std::string("none") : names));
  }
}

bool Handler::query_flag(const std::string& name) const {
  const auto found = target_.query.find(name);
  if (found == target_.query.end() || found->second == "false") return false;
  if (found->second == "true") return true;
  throw HttpError(400, "query parameter " + name + ": expected true or false, got '" +
                           found->second + "'");
}

HttpResponse Handler::create_trainer_job() {
  check_query({"rlorTrainerJobId", "deploymentId", "trainingShape", "skipValidations"});
  query_flag("skipValidations");
  const auto id = target_.query.find("rlorTrainerJobId");
  detail::TrainerJobRequest job = detail::decode_trainer_job_request(request_.body);
  // The deprecated per-deployment bucket: the body field, or the query parameter.
  auto deployment_id = job.hot_load_deployment_id;
  if (const auto q = target_.query.find("deploymentId"); q != target_.query.end()) {
    if (deployment_id && *deployment_id != q->second) {
      throw HttpError(400, "deploymentId: the query says '" + q->second +
                               "' but hotLoadDeploymentId says '" + *deployment_id + "'");
    }
    deployment_id = q->second;
  }
  std::optional<std::string> bucket;
  if (deployment_id) {
    if (deployment_id->empty() || deployment_id->find('/') != std::string::npos) {
      throw HttpError(400, "hotLoadDeploymentId: expected a deployment id, got '" +
                               *deployment_id + "'");
    }
    bucket = model_.options().bucket_prefix + "/" + segment(2) + "/deployments/" + *deployment_id;
  }
  TrainerEntry& entry =
      model_.create_trainer_job(caller_, segment(2), id == target_.query.end() ? "" : id->second,
                                job.options, std::move(bucket), std::move(job.job));
  return json_response(200, detail::encode_trainer_job(entry, now_));
}

HttpResponse Handler::get_trainer_job() {
  check_query({});
  return json_response(
      200, detail::encode_trainer_job(model_.trainer_job(caller_, segment(2), segment(4)), now_));
}

HttpResponse Handler::delete_trainer_job() {
  check_query({});
  model_.delete_trainer_job(caller_, segment(2), segment(4));
  return json_response(200, "{}");
}

HttpResponse Handler::resume_trainer_job() {
  check_query({});
  if (!request_.body.empty() && request_.body != "{}") {
    throw HttpError(400, "resume: expected an empty body or {}, got " +
                             std::to_string(request_.body.size()) + " bytes");
  }
  return json_response(200, detail::encode_trainer_job(
                                model_.resume_trainer_job(caller_, segment(2), segment(4)), now_));
}

HttpResponse Handler::trainer_healthz() {
  const TrainerEntry& entry = model_.trainer_job(caller_, segment(3), segment(4));
  const std::string_view state = entry.state(now_);
  if (state != kJobRunning) {
    throw HttpError(503, "trainer job " + entry.client->job_name() + " is " + std::string(state) +
                             ", not serving; expected " + std::string(kJobRunning));
  }
  return json_response(200, R"({"status":"ok"})");
}

// Runs `answer` and turns every exception into the JSON error response it stands for.
template <typename F>
HttpResponse guarded(F&& answer) {
  try {
    return answer();
  } catch (const HttpError& e) {
    return error_response(e.status(), e.what());
  } catch (const WireError& e) {
    return error_response(400, e.what());
  } catch (const InvalidArgument& e) {
    return error_response(400, e.what());
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error in the fake server: ") + e.what());
  }
}

HttpResponse answer(CloudModel& model, const HttpRequest& request, std::string& route) {
  std::string caller;
  Target target;
  HttpResponse refused = guarded([&] {
    caller = authenticate(model, request);
    if (request.body.size() > model.options().max_body_bytes) {
      throw HttpError(413, "request body of " + std::to_string(request.body.size()) +
                               " bytes exceeds the limit of " +
                               std::to_string(model.options().max_body_bytes));
    }
    target = detail::parse_target(request.path);
    return HttpResponse{};
  });
  if (refused.status != 0) return refused;
  route = "unmatched";
  // The fake's own control API and metrics are never subject to the fault plan.
  if (is_control_path(target.path)) {
    return guarded([&] { return answer_control(model, request, caller, target, route); });
  }
  const FaultHooks& hooks = model.active_hooks();
  HttpResponse response = guarded([&] {
    model.advance_faults();
    if (auto injected = hooks.on_request(request)) return std::move(*injected);
    return Handler(model, request, caller, std::move(target), route).route();
  });
  hooks.on_response(request, response);
  return response;
}

}  // namespace

HttpResponse Router::handle(const HttpRequest& request) {
  std::string route = "unauthenticated";
  HttpResponse response = answer(model_, request, route);
  auto& metrics = model_.metrics();
  ++metrics.requests[{route, response.status}];
  if (route == "POST " + std::string(kHotloadPath) &&
      (response.status < 200 || response.status >= 300)) {
    ++metrics.hotloads_rejected;
  }
  return response;
}

}  // namespace weightsync::fake
