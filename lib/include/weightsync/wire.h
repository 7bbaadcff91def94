// The JSON shapes of the deployment HTTP API (docs/SPEC.md section 5), shared by the client
// (DeploymentManager) and the fake server's router so the two cannot drift apart. This header
// has the client's half: encoding what it sends and decoding what it reads. The server's half
// (decoding requests, encoding answers) is internal to the fake.
//
// encode writes the exact field names of the API; decode_* checks types and required fields
// and throws WireError naming the field's path, what was expected and what was seen.
// Stateless functions; safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/errors.h"

namespace weightsync {

// A body did not have the shape the API defines. The message names the field. STOP: client and
// server disagree on the protocol (the DeploymentManager reports an answer of the wrong shape
// as an ApiError carrying the status and body).
class WireError : public Error {
 public:
  using Error::Error;
  Remedy remedy() const override { return Remedy::stop; }
};

inline constexpr std::string_view kChecksumFormat = "alder32";  // sic: the wire's spelling
inline constexpr std::string_view kModelHeader = "fireworks-model";
inline constexpr std::string_view kDeploymentHeader = "fireworks-deployment";
inline constexpr std::string_view kHotloadPath = "/hot_load/v1/models/hot_load";
inline constexpr std::string_view kCompletionsPath = "/inference/v1/completions";
inline constexpr std::string_view kAccountsPath = "/v1/accounts";
inline constexpr std::string_view kApiKeyHeader = "X-Api-Key";  // the control plane's key
inline constexpr std::string_view kAuthorizationHeader = "Authorization";
inline constexpr std::string_view kBearerPrefix = "Bearer ";  // then the API key

// Loading stages a replica reports in loading_state.stage (docs/SPEC.md section 5).
inline constexpr std::string_view kStageIdle = "idle";
inline constexpr std::string_view kStagePending = "pending";
inline constexpr std::string_view kStageDownloading = "downloading";
inline constexpr std::string_view kStagePreparing = "preparing";
inline constexpr std::string_view kStageLoading = "loading";
inline constexpr std::string_view kStageDone = "done";
inline constexpr std::string_view kStageError = "error";

// Deployment states (Deployment::state).
inline constexpr std::string_view kStateCreating = "CREATING";
inline constexpr std::string_view kStateReady = "READY";
inline constexpr std::string_view kStateUpdating = "UPDATING";
inline constexpr std::string_view kStateFailed = "FAILED";
inline constexpr std::string_view kStateDeleting = "DELETING";
inline constexpr std::string_view kStateDeleted = "DELETED";
// A deployment in one of these states will not become READY again.
constexpr bool is_terminal_state(std::string_view state) {
  return state == kStateFailed || state == kStateDeleting || state == kStateDeleted;
}

// Hotload transition types (hot_load_transition_type).
inline constexpr std::string_view kTransitionAsync = "ASYNC";
inline constexpr std::string_view kTransitionSync = "SYNC";

// "accounts/{account}/deployments/{id}"
std::string deployment_name(std::string_view account, std::string_view deployment_id);
// "/v1/accounts/{account}/deployments/{id}"
std::string deployment_path(std::string_view account, std::string_view deployment_id);

// ---- hotload ------------------------------------------------------------------------------

struct IncrementalSnapshotMetadata {
  std::string previous_snapshot_identity;
  std::string compression_format;
  std::string checksum_format{kChecksumFormat};
  bool operator==(const IncrementalSnapshotMetadata&) const = default;
};

struct HotloadRequest {
  std::string identity;
  std::optional<bool> reset_prompt_cache;
  std::optional<IncrementalSnapshotMetadata> incremental_snapshot_metadata;
  bool operator==(const HotloadRequest&) const = default;
};

std::string encode(const HotloadRequest& request);

struct LoadingState {
  std::string stage;  // one of the kStage* names above
  std::string target_snapshot_identity;
  bool operator==(const LoadingState&) const = default;
};

struct LoadedAdapter {
  std::string identity;
  std::string status;
  bool operator==(const LoadedAdapter&) const = default;
};

struct ReplicaStatus {
  std::string identity;  // the replica's own name
  std::string current_snapshot_identity;
  bool readiness = false;
  LoadingState loading_state;
  std::vector<LoadedAdapter> loaded_adapters;
  bool operator==(const ReplicaStatus&) const = default;
};

struct HotloadStatus {
  std::vector<ReplicaStatus> replicas;
  bool operator==(const HotloadStatus&) const = default;
};

// Requires a "replicas" list; missing optional fields of a replica take their defaults.
HotloadStatus decode_hotload_status(std::string_view body);

// ---- deployments --------------------------------------------------------------------------

// The body of POST /v1/accounts/{a}/deployments?deploymentId=X: every field the reference
// client sends (optional ones are sent only when set) plus the transition type.
struct DeploymentConfig {
  std::string base_model;
  int min_replica_count = 1;
  int max_replica_count = 1;
  bool enable_hot_load = true;
  std::optional<std::string> hot_load_trainer_job;      // accounts/{a}/rlorTrainerJobs/{id}
  std::optional<std::string> hot_load_bucket_type;      // e.g. "FW_HOSTED"
  std::optional<std::string> hot_load_transition_type;  // "ASYNC" (default) or "SYNC"
  std::optional<std::string> description;
  std::optional<bool> for_training;                  // SDK-managed training infrastructure
  std::optional<std::string> region;                 // sent as placement.region
  std::optional<std::string> deployment_shape;       // accounts/{a}/deploymentShapes/...
  std::optional<std::string> accelerator_type;       // without a shape, e.g. NVIDIA_H200_141GB
  std::vector<std::string> extra_args;               // sent when not empty
  std::map<std::string, std::string> extra_values;   // sent when not empty
  std::map<std::string, std::string> annotations;    // sent when not empty
  bool operator==(const DeploymentConfig&) const = default;
};

std::string encode(const DeploymentConfig& config);

struct Deployment {
  std::string name;   // accounts/{a}/deployments/{id}
  std::string state;  // one of the kState* names above
  std::string base_model;
  int min_replica_count = 1;
  int max_replica_count = 1;
  bool enable_hot_load = true;
  std::string hot_load_bucket_url;
  std::string hot_load_trainer_job;
  std::string hot_load_transition_type;
  std::string description;       // sent only when not empty, as the fields below
  std::string deployment_shape;
  std::string status_message;    // status.message: why it FAILED
  std::map<std::string, std::string> annotations;
  bool operator==(const Deployment&) const = default;
};

// The client quotes a deployment it read in an error (DeploymentManager: a FAILED deployment).
std::string encode(const Deployment& deployment);
Deployment decode_deployment(std::string_view body);

// A PATCH: only the fields that are set are sent, and update_mask names exactly those.
struct DeploymentUpdate {
  std::optional<std::string> hot_load_trainer_job;
  std::optional<std::string> hot_load_transition_type;
  std::optional<int> min_replica_count;
  std::optional<int> max_replica_count;
  bool operator==(const DeploymentUpdate&) const = default;
};

std::string encode(const DeploymentUpdate& update);
// Comma-separated snake_case field paths, as the reference client spells them, e.g.
// "hot_load_trainer_job,min_replica_count".
std::string update_mask(const DeploymentUpdate& update);

// ---- accounts -----------------------------------------------------------------------------

// GET /v1/accounts?pageSize=2 -> {"accounts":[{"name":"accounts/<id>"}]}
// Returns the account ids (the part after "accounts/").
std::vector<std::string> decode_account_list(std::string_view body);

// ---- completions (warmup) -----------------------------------------------------------------

struct CompletionRequest {
  std::string model;  // accounts/{a}/deployments/{id}
  std::vector<int> prompt;
  int max_tokens = 1;
  double temperature = 0.0;
  bool operator==(const CompletionRequest&) const = default;
};

std::string encode(const CompletionRequest& request);

// ---- errors -------------------------------------------------------------------------------

// The "message" of an error body ({"error":{"code":status,"message":message}}), or the raw
// body (truncated) when it is not one.
std::string error_message(std::string_view body);

}  // namespace weightsync
