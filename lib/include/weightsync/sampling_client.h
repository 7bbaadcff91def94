// SamplingClient: token-in/token-out completions from a deployment, bound to the snapshot a
// ServiceClient hotloaded (docs/SPEC.md section 8). It speaks the streamed wire of the
// reference's deployment sampler (POST /inference/v1/completions, stream: true, server-sent
// events) but reads the whole event stream before parsing it: a sample is returned complete,
// never token by token.
//
// Thread-safety: sample() may be called from several threads if the Transport allows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/transport.h"

namespace weightsync {

struct SamplingParams {
  int n = 1;
  int max_tokens = 16;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;                // 0: off
  std::optional<int> logprobs;  // alternatives per token (0-5); none: no logprobs asked
  std::optional<std::uint64_t> seed;
};

struct SamplingClientOptions {
  // Refuse (SnapshotMismatch) a completion that the deployment says came from another snapshot
  // than the bound one, that switched weights mid-generation, or whose provenance is missing.
  bool reject_other_snapshots = false;
  // 404 and 425 while a load is in progress, 503 while replicas restart, and a stream cut
  // before its end are retried every retry_interval until load_wait_timeout has passed.
  Duration retry_interval = seconds(5);
  Duration load_wait_timeout = seconds(600);
};

// One generated sequence.
struct Completion {
  std::vector<int> tokens;
  std::vector<double> logprobs;  // one per token when logprobs were asked, else empty
  std::string finish_reason;     // "stop" or "length"
  // Provenance, when the deployment reports it (the fake does): the snapshot that generated
  // the first and the last token, and how often the weights changed in between.
  bool provenance_reported = false;
  std::string snapshot_identity;
  std::string last_snapshot_identity;
  int snapshot_switches = 0;
  std::string replica;
};

class SamplingClient {
 public:
  // `model` is the deployment's name, accounts/{a}/deployments/{id}.
  SamplingClient(Transport& transport, Clock& clock, std::string api_key, std::string model,
                 std::string snapshot_identity, SamplingClientOptions options = {});

  // n completions of `prompt` (token ids). Throws InvalidArgument for bad parameters,
  // SnapshotMismatch (see options), ApiError for any other refusal, Timeout when the
  // deployment kept answering "loading" past load_wait_timeout.
  std::vector<Completion> sample(const std::vector<int>& prompt,
                                 const SamplingParams& params) const;

  const std::string& snapshot_identity() const { return snapshot_identity_; }
  const std::string& model() const { return model_; }

 private:
  Transport& transport_;
  Clock& clock_;
  std::string api_key_;
  std::string model_;
  std::string snapshot_identity_;
  SamplingClientOptions options_;
};

// Reads a whole text/event-stream completion body into completions (provenance from the
// response headers and the last event's perf_metrics). Nothing when the stream ended before
// its [DONE] or a choice never finished (a cut stream: retry the request).
std::optional<std::vector<Completion>> parse_completion_stream(const HttpResponse& response, int n);

}  // namespace weightsync
