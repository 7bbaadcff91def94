// DeploymentManager: the deployment HTTP API over a Transport, polling on a Clock.
#include "weightsync/deployment_manager.h"

#include <algorithm>
#include <sstream>

#include "weightsync/errors.h"
#include "weightsync/log.h"

namespace weightsync {
namespace {

bool is_2xx(int status) {
  return status >= 200 && status < 300;
}

// Turns a body that does not match the API's shape into an ApiError naming the call.
template <typename Decode>
auto decode_or_throw(const std::string& what, const HttpResponse& response, Decode decode) {
  try {
    return decode(response.body);
  } catch (const WireError& e) {
    throw ApiError(response.status, response.body,
                   what + ": the server's answer does not have the API's shape (" + e.what() +
                       "); check that base_url points at a deployment API of a compatible "
                       "version");
  }
}

// Statuses a polling loop waits out: the server is busy or not up yet, not refusing us. A 404
// is not among them: a wrong deployment id should stop the loop now, not at its timeout.
bool transient(int status) {
  return is_retryable_status(status) || status == 425;
}

std::string describe_replicas(const HotloadStatus& status) {
  if (status.replicas.empty()) return "the hotload manager reports no replicas";
  std::ostringstream out;
  for (std::size_t i = 0; i < status.replicas.size(); ++i) {
    const auto& r = status.replicas[i];
    if (i) out << "; ";
    out << "replica '" << r.identity << "' serves '" << r.current_snapshot_identity << "', stage '"
        << r.loading_state.stage << "'";
    if (!r.loading_state.target_snapshot_identity.empty()) {
      out << " (target '" << r.loading_state.target_snapshot_identity << "')";
    }
    out << ", readiness " << (r.readiness ? "true" : "false");
  }
  return out.str();
}

// Polls a replica must look idle before a hotload is resubmitted, and how often at most.
constexpr int kStalledPollsBeforeResubmit = 2;
constexpr int kMaxResubmits = 3;

// Idle (or done with something else) while neither loading nor serving `identity`.
bool any_replica_stalled(const HotloadStatus& status, const std::string& identity) {
  return std::any_of(status.replicas.begin(), status.replicas.end(), [&](const ReplicaStatus& r) {
    const std::string& stage = r.loading_state.stage;
    const bool at_rest = stage.empty() || stage == kStageIdle || stage == kStageDone;
    return at_rest && r.current_snapshot_identity != identity &&
           r.loading_state.target_snapshot_identity != identity;
  });
}

bool serves_everywhere(const HotloadStatus& status, const std::string& identity) {
  return !status.replicas.empty() &&
         std::all_of(status.replicas.begin(), status.replicas.end(), [&](const ReplicaStatus& r) {
           return r.readiness && r.current_snapshot_identity == identity;
         });
}

}  // namespace

DeploymentManager::DeploymentManager(Transport& transport, Clock& clock,
                                     DeploymentManagerOptions options)
    : transport_(transport), clock_(clock), options_(std::move(options)) {
  if (options_.api_key.empty()) {
    throw InvalidArgument("DeploymentManager: expected an API key, got an empty one");
  }
  if (options_.hotload_poll_interval <= Duration::zero() ||
      options_.deployment_poll_interval <= Duration::zero() ||
      options_.warmup_retry_interval < Duration::zero()) {
    throw InvalidArgument(
        "DeploymentManager: poll intervals must be positive and the warmup "
        "retry interval non-negative");
  }
}

HttpResponse DeploymentManager::send(const std::string& method, const std::string& path,
                                     std::string body, Headers extra_headers) {
  // As the reference client: the key in X-Api-Key and a JSON Content-Type on every request,
  // with or without a body; the gateway calls (hotload, completions) add the Bearer header.
  HttpRequest request{method, path, std::move(extra_headers), std::move(body)};
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back(kApiKeyHeader, options_.api_key);
  log(LogLevel::debug, [&] { return method + " " + path; });
  return transport_.exchange(request);
}

HttpResponse DeploymentManager::expect_ok(const std::string& what, HttpResponse response) {
  if (is_2xx(response.status)) return response;
  std::string advice;
  if (response.status == 401 || response.status == 403) {
    advice = "; check the API key";
  } else if (response.status == 404) {
    advice = "; check the account and deployment id";
  } else if (is_retryable_status(response.status)) {
    advice = "; the server is busy or failing, retry later";
  }
  throw ApiError(response.status, response.body,
                 what + ": expected HTTP 2xx, got " + std::to_string(response.status) + " (" +
                     error_message(response.body) + ")" + advice);
}

const std::string& DeploymentManager::account_id() {
  if (!options_.account_id.empty()) return options_.account_id;
  const std::string what = "resolve account (GET /v1/accounts)";
  HttpResponse r = expect_ok(what, send("GET", std::string(kAccountsPath) + "?pageSize=2", ""));
  auto ids = decode_or_throw(what, r, decode_account_list);
  if (ids.size() != 1) {
    throw ApiError(r.status, r.body,
                   what + ": expected the API key to see exactly one account, got " +
                       std::to_string(ids.size()) + "; set DeploymentManagerOptions.account_id");
  }
  options_.account_id = ids.front();
  return options_.account_id;
}

Headers DeploymentManager::hotload_headers(const std::string& deployment_id,
                                           const std::string& base_model) {
  return {{std::string(kAuthorizationHeader), std::string(kBearerPrefix) + options_.api_key},
          {std::string(kModelHeader), base_model},
          {std::string(kDeploymentHeader), deployment_name(account_id(), deployment_id)}};
}

// ---- lifecycle ----------------------------------------------------------------------------

Deployment DeploymentManager::create_or_get_deployment(const std::string& deployment_id,
                                                       const DeploymentConfig& config) {
  const std::string path = std::string(kAccountsPath) + "/" + account_id() +
                           "/deployments?deploymentId=" + deployment_id;
  HttpResponse r = send("POST", path, encode(config));
  if (r.status == 409) {
    log(LogLevel::info, [&] { return "deployment '" + deployment_id + "' exists; using it"; });
    return get_deployment(deployment_id);
  }
  const std::string what = "create deployment '" + deployment_id + "'";
  return decode_or_throw(what, expect_ok(what, std::move(r)), decode_deployment);
}

Deployment DeploymentManager::get_deployment(const std::string& deployment_id) {
  const std::string what = "get deployment '" + deployment_id + "'";
  HttpResponse r = expect_ok(what, send("GET", deployment_path(account_id(), deployment_id), ""));
  return decode_or_throw(what, r, decode_deployment);
}

Deployment DeploymentManager::wait_for_deployment_ready(const std::string& deployment_id,
                                                        Duration timeout,
                                                        std::optional<Duration> poll_interval) {
  const Duration interval = poll_interval.value_or(options_.deployment_poll_interval);
  if (interval <= Duration::zero()) {
    throw InvalidArgument("wait_for_deployment_ready: expected a positive poll interval, got " +
                          std::to_string(to_seconds(interval)) + " s");
  }
  const Deadline deadline(clock_, timeout);
  for (;;) {
    Deployment d = get_deployment(deployment_id);
    if (d.state == kStateReady) return d;
    if (is_terminal_state(d.state)) {
      throw DeploymentFailed("deployment '" + deployment_id + "': expected state READY, got " +
                             d.state + " (" + d.status_message +
                             "); it will not serve, delete it and create another");
    }
    if (deadline.passed()) {
      throw Timeout("deployment '" + deployment_id + "': expected state READY within " +
                    std::to_string(to_seconds(timeout)) + " s, still " + d.state +
                    "; wait longer or check the deployment's events");
    }
    deadline.sleep(interval);
  }
}

Deployment DeploymentManager::update_deployment(const std::string& deployment_id,
                                                const DeploymentUpdate& update) {
  const std::string mask = update_mask(update);
  if (mask.empty()) {
    throw InvalidArgument("update deployment '" + deployment_id +
                          "': expected at least one field to change, got none");
  }
  const std::string what = "update deployment '" + deployment_id + "' (" + mask + ")";
  HttpResponse r = expect_ok(
      what, send("PATCH", deployment_path(account_id(), deployment_id) + "?updateMask=" + mask,
                 encode(update)));
  return decode_or_throw(what, r, decode_deployment);
}

Deployment DeploymentManager::reattach_trainer(const std::string& deployment_id,
                                               const std::string& trainer_job) {
  DeploymentUpdate update;
  update.hot_load_trainer_job = trainer_job;
  Deployment d = update_deployment(deployment_id, update);
  log(LogLevel::warning, [&] {
    return "deployment '" + deployment_id + "' re-attached to '" + trainer_job +
           "': replicas restart; reset the WeightSyncer's delta chain";
  });
  return d;
}

void DeploymentManager::delete_deployment(const std::string& deployment_id) {
  expect_ok("delete deployment '" + deployment_id + "'",
            send("DELETE",
                 deployment_path(account_id(), deployment_id) + "?ignoreChecks=true&hard=true",
                 ""));
}

void DeploymentManager::reset_ledger(const std::string& deployment_id) {
  expect_ok("reset ledger of deployment '" + deployment_id + "'",
            send("DELETE", deployment_path(account_id(), deployment_id) + "/ledger", ""));
}

// ---- weight sync --------------------------------------------------------------------------

void DeploymentManager::hotload(const std::string& deployment_id, const std::string& base_model,
                                const HotloadRequest& request) {
  const std::string what = "hotload '" + request.identity + "' onto '" + deployment_id + "'";
  HttpResponse r = send("POST", std::string(kHotloadPath), encode(request),
                        hotload_headers(deployment_id, base_model));
  if (r.status == 400 && request.reset_prompt_cache &&
      error_message(r.body).find("reset_prompt_cache") != std::string::npos) {
    log(LogLevel::warning, [&] {
      return what +
             ": the server does not accept reset_prompt_cache; resending without it (the prompt "
             "cache is not reset)";
    });
    HotloadRequest without = request;
    without.reset_prompt_cache.reset();
    r = send("POST", std::string(kHotloadPath), encode(without),
             hotload_headers(deployment_id, base_model));
  }
  expect_ok(what, std::move(r));
}

HotloadStatus DeploymentManager::hotload_status(const std::string& deployment_id,
                                                const std::string& base_model) {
  const std::string what = "hotload status of '" + deployment_id + "'";
  HttpResponse r = expect_ok(
      what, send("GET", std::string(kHotloadPath), "", hotload_headers(deployment_id, base_model)));
  return decode_or_throw(what, r, decode_hotload_status);
}

HotloadStatus DeploymentManager::wait_for_hotload(const std::string& deployment_id,
                                                  const std::string& base_model,
                                                  const std::string& identity, Duration timeout) {
  return wait_for_hotload(deployment_id, base_model, identity, timeout, nullptr);
}

HotloadStatus DeploymentManager::wait_for_hotload(const std::string& deployment_id,
                                                  const std::string& base_model,
                                                  const std::string& identity, Duration timeout,
                                                  const HotloadRequest* resubmit) {
  const Deadline deadline(clock_, timeout);
  HotloadStatus status;
  std::string last_error;
  int stalled_polls = 0;
  int resubmits = 0;
  for (;;) {
    try {
      status = hotload_status(deployment_id, base_model);
      last_error.clear();
      for (const auto& r : status.replicas) {
        if (r.loading_state.stage == kStageError &&
            r.loading_state.target_snapshot_identity == identity) {
          throw HotloadFailed(
              "hotload of '" + identity + "' onto '" + deployment_id + "' failed on replica '" +
              r.identity +
              "': expected it to load, got stage error; replicas: " + describe_replicas(status) +
              ". The replicas keep what they served; save a base and retry");
        }
      }
      if (serves_everywhere(status, identity)) return status;
      // A replica that restarted mid-load is idle, neither loading nor serving the snapshot: it
      // will not get there by itself. Resubmitting is safe (the deployment treats the same
      // identity as the same load) and gives it the load again.
      stalled_polls = any_replica_stalled(status, identity) ? stalled_polls + 1 : 0;
      if (resubmit && stalled_polls >= kStalledPollsBeforeResubmit && resubmits < kMaxResubmits) {
        ++resubmits;
        stalled_polls = 0;
        log(LogLevel::warning, [&] {
          return "hotload of '" + identity + "' onto '" + deployment_id +
                 "': a replica is idle without it (" + describe_replicas(status) +
                 "); resubmitting";
        });
        hotload(deployment_id, base_model, *resubmit);
      }
    } catch (const ApiError& e) {
      if (!transient(e.status())) throw;
      last_error = e.what();
    } catch (const TransportError& e) {
      last_error = e.what();
    }
    if (deadline.passed()) {
      throw HotloadTimeout("hotload of '" + identity + "' onto '" + deployment_id +
                           "' not done after " + std::to_string(to_seconds(deadline.waited())) +
                           " s: expected every replica ready and "
                           "serving '" +
                           identity + "', got: " + describe_replicas(status) +
                           (last_error.empty() ? "" : "; last poll failed: " + last_error) +
                           ". Raise hotload_timeout or check the deployment's bandwidth");
    }
    deadline.sleep(options_.hotload_poll_interval);
  }
}

HotloadStatus DeploymentManager::hotload_and_wait(const std::string& deployment_id,
                                                  const std::string& base_model,
                                                  const HotloadRequest& request, Duration timeout) {
  hotload(deployment_id, base_model, request);
  return wait_for_hotload(deployment_id, base_model, request.identity, timeout, &request);
}

HotloadStatus DeploymentManager::wait_for_hotload_ready(const std::string& deployment_id,
                                                        const std::string& base_model,
                                                        Duration timeout, Duration poll_interval) {
  if (poll_interval <= Duration::zero()) {
    throw InvalidArgument("wait_for_hotload_ready: expected a positive poll interval, got " +
                          std::to_string(to_seconds(poll_interval)) + " s");
  }
  const Deadline deadline(clock_, timeout);
  std::string last;
  for (;;) {
    try {
      HotloadStatus status = hotload_status(deployment_id, base_model);
      if (!status.replicas.empty()) return status;
      last = "the hotload manager reports no replicas yet";
    } catch (const ApiError& e) {
      if (!transient(e.status())) throw;
      last = e.what();
    } catch (const TransportError& e) {
      last = e.what();
    }
    if (deadline.passed()) {
      throw Timeout("deployment '" + deployment_id +
                    "': expected its hotload manager to report "
                    "replicas within " +
                    std::to_string(to_seconds(timeout)) + " s, got: " + last +
                    ". Do not hotload before it is up; wait longer");
    }
    deadline.sleep(poll_interval);
  }
}

WarmupResult DeploymentManager::warmup(const std::string& deployment_id, int max_retries) {
  WarmupResult result;
  CompletionRequest request;
  request.prompt = options_.warmup_prompt;
  request.max_tokens = options_.warmup_max_tokens;
  request.temperature = 0.0;
  for (int attempt = 0; attempt <= std::max(max_retries, 0); ++attempt) {
    if (attempt > 0) clock_.sleep_for(options_.warmup_retry_interval);
    ++result.attempts;
    try {
      request.model = deployment_name(account_id(), deployment_id);
      HttpResponse r =
          send("POST", std::string(kCompletionsPath), encode(request),
               {{std::string(kAuthorizationHeader), std::string(kBearerPrefix) + options_.api_key}});
      result.last_status = r.status;
      if (is_2xx(r.status)) {
        result.ok = true;
        result.last_error.clear();
        return result;
      }
      result.last_error = error_message(r.body);
    } catch (const Error& e) {
      result.last_status = 0;
      result.last_error = e.what();
    }
    log(LogLevel::info, [&] {
      return "warmup of '" + deployment_id + "' attempt " + std::to_string(result.attempts) +
             " failed: " + result.last_error;
    });
  }
  return result;
}

}  // namespace weightsync
