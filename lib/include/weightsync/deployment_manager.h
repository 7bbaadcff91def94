// DeploymentManager: the client of the deployment HTTP API (docs/SPEC.md section 5): account
// resolution, deployment lifecycle, hotload submit/status/wait, and warmup.
//
// It reaches the network only through a Transport and time only through a Clock.
// Thread-safety: one DeploymentManager per thread, or external locking; it caches the
// resolved account id.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync {

struct DeploymentManagerOptions {
  std::string api_key;
  // Empty: resolved once with GET /v1/accounts?pageSize=2 (the key must see exactly one).
  std::string account_id;
  Duration hotload_poll_interval = seconds(2);
  Duration deployment_poll_interval = seconds(5);
  Duration warmup_retry_interval = seconds(10);
  // The warmup prompt (token ids) and length.
  std::vector<int> warmup_prompt = {1, 2, 3, 4};
  int warmup_max_tokens = 1;
};

// What a warmup did: it never throws; the caller decides what a failure means.
struct WarmupResult {
  bool ok = false;
  int attempts = 0;
  int last_status = 0;     // HTTP status of the last attempt (0: no response)
  std::string last_error;  // the server's message or the transport error of the last attempt
};

class DeploymentManager {
 public:
  DeploymentManager(Transport& transport, Clock& clock, DeploymentManagerOptions options);

  // The account id (resolving it on first use). Throws ApiError if the key sees no account
  // or more than one.
  const std::string& account_id();
  Clock& clock() { return clock_; }

  // ---- lifecycle ----
  // Creates the deployment, or returns the existing one (a 409 on create is not an error).
  Deployment create_or_get_deployment(const std::string& deployment_id,
                                      const DeploymentConfig& config);
  Deployment get_deployment(const std::string& deployment_id);
  // Polls every `poll_interval` (none: deployment_poll_interval) until state is READY.
  // FAILED, DELETING or DELETED -> DeploymentFailed naming the state and the deployment's status
  // message; not READY in time -> Timeout naming the last state.
  Deployment wait_for_deployment_ready(const std::string& deployment_id, Duration timeout,
                                       std::optional<Duration> poll_interval = std::nullopt);
  Deployment update_deployment(const std::string& deployment_id, const DeploymentUpdate& update);
  // Points the deployment at another trainer job's bucket. The replicas restart and lose their
  // loaded weights: the caller's WeightSyncer must reset_delta_chain().
  Deployment reattach_trainer(const std::string& deployment_id, const std::string& trainer_job);
  void delete_deployment(const std::string& deployment_id);
  // Makes the deployment forget its served chain: the next snapshot must be full.
  void reset_ledger(const std::string& deployment_id);

  // ---- weight sync ----
  // POSTs the hotload. If the server rejects reset_prompt_cache as an unknown field (older
  // servers), resends once without it and logs a warning. Non-2xx -> ApiError.
  void hotload(const std::string& deployment_id, const std::string& base_model,
               const HotloadRequest& request);
  HotloadStatus hotload_status(const std::string& deployment_id, const std::string& base_model);
  // Polls until EVERY replica is ready and serves `identity`. A replica in stage `error` whose
  // target is `identity` fails at once (HotloadFailed); an error about another target is stale
  // and waited out. An empty replica list is waited out too. Not done in time ->
  // HotloadTimeout naming the expected and served snapshots, the last stage and readiness of
  // each replica.
  HotloadStatus wait_for_hotload(const std::string& deployment_id, const std::string& base_model,
                                 const std::string& identity, Duration timeout);
  // As hotload then wait_for_hotload, and if a replica sits idle without the snapshot for two
  // polls (it restarted mid-load), resubmits the same request (at most 3 times): safe, since
  // the deployment treats a resubmitted identity as the same load.
  HotloadStatus hotload_and_wait(const std::string& deployment_id, const std::string& base_model,
                                 const HotloadRequest& request, Duration timeout);
  // Polls until the hotload manager reports at least one replica (before that, a hotload can
  // crash the deployment). Not in time -> Timeout.
  HotloadStatus wait_for_hotload_ready(const std::string& deployment_id,
                                       const std::string& base_model, Duration timeout,
                                       Duration poll_interval);
  // Sends a small completion until one answers 200, at most max_retries + 1 tries.
  WarmupResult warmup(const std::string& deployment_id, int max_retries);

 private:
  HotloadStatus wait_for_hotload(const std::string& deployment_id, const std::string& base_model,
                                 const std::string& identity, Duration timeout,
                                 const HotloadRequest* resubmit);
  HttpResponse send(const std::string& method, const std::string& path, std::string body,
                    Headers extra_headers = {});
  HttpResponse expect_ok(const std::string& what, HttpResponse response);
  Headers hotload_headers(const std::string& deployment_id, const std::string& base_model);

  Transport& transport_;
  Clock& clock_;
  DeploymentManagerOptions options_;
};

}  // namespace weightsync
