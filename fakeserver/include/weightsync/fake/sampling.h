// Token-in/token-out sampling on a fake replica. The fake's "model" is a deterministic function
// of the bytes a replica serves (their Adler-32), the token context and the request's seed:
// two replicas serving the same snapshot generate the same tokens, a new snapshot different
// ones. A CompletionStream generates one completion request token by token, each token with the
// weights its replica serves at the moment it is generated, and records which snapshot
// identities produced it (sample provenance).
//
// Thread-safety: a CompletionStream belongs to one carrier thread; next() must run under
// FakeCloud's lock (FakeCloud::next_chunk takes it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/fake/random.h"

namespace weightsync::fake {

class CloudModel;

// Token ids the fake model generates: [0, kVocabulary); kEndOfSequence ends a completion.
inline constexpr int kVocabulary = 512;
inline constexpr int kEndOfSequence = 0;
inline constexpr int kMaxCompletionTokens = 4096;
inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 5;

// The body of POST /inference/v1/completions, read strictly (unknown fields are refused).
struct SamplingRequest {
  std::string model;  // accounts/{a}/deployments/{id}
  std::vector<int> prompt;
  int n = 1;
  int max_tokens = 16;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;  // 0 or -1: no top-k cut
  std::optional<std::uint64_t> seed;
  bool stream = false;
  bool perf_metrics_in_response = false;
  bool raw_output = false;
  bool return_token_ids = false;
  std::optional<int> logprobs;  // alternatives per token; absent: no logprobs
};

// Throws InvalidArgument naming the field, what was expected and what was seen.
SamplingRequest parse_sampling_request(std::string_view body);

// One generated token with its log-probabilities under the raw model (temperature 1, no
// cuts) and under the distribution it was drawn from (temperature, top-k, top-p).
struct TokenDraw {
  int token = 0;
  double logprob = 0;
  double sampling_logprob = 0;
  std::vector<std::pair<int, double>> top;  // best raw alternatives, most likely first
};

// Starts a context from the prompt and extends it by one token.
std::uint64_t prompt_context(const std::vector<int>& prompt);
std::uint64_t extend_context(std::uint64_t context, int token);
// Draws the next token of the model with `weights_checksum` after `context`, `uniform` in [0, 1).
TokenDraw draw_token(std::uint32_t weights_checksum, std::uint64_t context,
                     const SamplingRequest& request, double uniform, int top_alternatives);
// The text the fake detokenizes `token` to ("" for end of sequence).
std::string token_text(int token);

// Which weights generated a completion: the replica and the snapshot identity ("" for the
// base model) with its checksum at the first and the last generated token.
struct Provenance {
  std::string replica;
  std::string first_identity;
  std::uint32_t first_checksum = 0;
  std::string last_identity;
  std::uint32_t last_checksum = 0;
  int switches = 0;  // times the served weights changed between two tokens
};

// Where a stream starts: the replica the router chose, as it was at that moment.
struct StreamStart {
  std::string deployment;  // accounts/{a}/deployments/{id}
  std::string replica;
  int replica_restarts = 0;
  std::string identity;
  std::uint32_t checksum = 0;
  std::size_t cached_tokens = 0;
  Duration start{};
  Duration token_interval{};
  std::uint64_t seed = 0;
  std::string id;  // the completion id
  std::shared_ptr<std::atomic<int>> in_flight;
};

class CompletionStream {
 public:
  CompletionStream(SamplingRequest request, StreamStart start);
  ~CompletionStream();
  CompletionStream(const CompletionStream&) = delete;
  CompletionStream& operator=(const CompletionStream&) = delete;

  // When the next piece is due on the cloud's clock (a streamed token every token_interval).
  Duration next_due() const;
  // True once [DONE] was produced or the stream was cut.
  bool ended() const { return ended_ && !primed_; }
  // True if the stream ended without [DONE]: its replica restarted or went away, or a
  // truncation fault cut it.
  bool cut() const { return cut_; }
  // Ends the stream without [DONE] after `steps` tokens (a truncated-body fault).
  void cut_after(int steps) { cut_after_ = steps; }
  int steps() const { return request_.max_tokens; }

  // Generates the first piece at once, under the same lock as the routing, so the response
  // head and the first token name the same weights.
  void prime(CloudModel& model) { primed_ = next(model); }
  // Generates the next piece of the SSE body with what the replica serves now: one event per
  // unfinished choice, and after the last token the usage/perf_metrics event and [DONE].
  // Nothing once ended. Call under FakeCloud's lock.
  std::optional<std::string> next(CloudModel& model);
  // Generates every token at once, with the weights at the start, and answers the
  // non-streamed JSON body.
  nlohmann::json whole();
  // Headers known before the first token: metrics the SDK reads and the provenance so far.
  std::vector<std::pair<std::string, std::string>> head_headers() const;
  const Provenance& provenance() const { return provenance_; }

 private:
  struct Choice {
    Random draws;
    std::uint64_t context = 0;
    std::vector<int> tokens;
    std::string text;
    nlohmann::json logprobs = nlohmann::json::array();
    std::string finish_reason;  // "" while generating
    bool reported = false;      // its finishing event was produced
  };
  // Advances the deployment and finds the replica; false if it restarted or is gone.
  bool observe_replica(CloudModel& model);
  // Generates token `step_` of every unfinished choice; the events (or choices) it made.
  nlohmann::json step();
  bool generating() const;
  nlohmann::json choice_event(std::size_t index, int token, const nlohmann::json& logprob) const;
  nlohmann::json logprob_entry(const TokenDraw& draw) const;
  nlohmann::json choice_raw_output(const Choice& choice) const;
  nlohmann::json usage() const;
  nlohmann::json perf_metrics() const;
  nlohmann::json chunk(nlohmann::json choices) const;

  SamplingRequest request_;
  StreamStart start_;
  Provenance provenance_;
  std::uint32_t checksum_ = 0;  // of the weights generating now
  std::vector<Choice> choices_;
  int step_ = 0;
  int concurrent_at_start_ = 0;
  std::optional<std::string> primed_;
  std::optional<int> cut_after_;
  bool ended_ = false;
  bool cut_ = false;
  Duration last_token_at_{};
};

// What the cloud keeps for sampling: the generator for requests without a seed, streams in
// flight per deployment, and the stream the router just opened for its carrier to take.
struct SamplingState {
  explicit SamplingState(std::uint64_t seed) : seeds(seed) {}
  Random seeds;
  std::uint64_t served = 0;  // completions answered, for their ids
  std::map<std::string, std::shared_ptr<std::atomic<int>>> in_flight;
  std::shared_ptr<CompletionStream> opened;
};

}  // namespace weightsync::fake
