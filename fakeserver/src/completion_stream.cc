// One completion request generated token by token; each token uses the weights its replica
// serves when it is generated, so a hotload finishing mid-stream shows in the tokens and in
// the provenance.
#include <algorithm>

#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/sampling.h"
#include "weightsync/fake/sse.h"

namespace weightsync::fake {
namespace {

nlohmann::json utf8_bytes(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (const unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

double unit(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace

CompletionStream::CompletionStream(SamplingRequest request, StreamStart start)
    : request_(std::move(request)), start_(std::move(start)) {
  concurrent_at_start_ = ++*start_.in_flight;
  provenance_.replica = start_.replica;
  provenance_.first_identity = provenance_.last_identity = start_.identity;
  provenance_.first_checksum = provenance_.last_checksum = checksum_ = start_.checksum;
  const std::uint64_t context = prompt_context(request_.prompt);
  for (int i = 0; i < request_.n; ++i) {
    std::uint64_t seed = start_.seed ^ (static_cast<std::uint64_t>(i) << 48);
    choices_.push_back(Choice{
        Random(splitmix64(seed) ^ context), context, {}, {}, nlohmann::json::array(), "", false});
    if (request_.max_tokens == 0) choices_.back().finish_reason = "length";
  }
  last_token_at_ = start_.start;
}

CompletionStream::~CompletionStream() {
  --*start_.in_flight;
}

bool CompletionStream::generating() const {
  return step_ < request_.max_tokens &&
         std::any_of(choices_.begin(), choices_.end(),
                     [](const Choice& c) { return c.finish_reason.empty(); });
}

Duration CompletionStream::next_due() const {
  if (primed_) return start_.start;
  const int step = generating() ? step_ : std::max(step_ - 1, 0);
  return start_.start + step * start_.token_interval;
}

bool CompletionStream::observe_replica(CloudModel& model) {
  model.advance_faults();
  const auto found = model.deployments().find(start_.deployment);
  if (found == model.deployments().end()) return false;
  FakeDeployment& d = *found->second;
  d.advance(model.now(), model.active_hooks());
  const auto& replicas = d.replicas();
  const auto replica = std::find_if(replicas.begin(), replicas.end(),
                                    [&](const Replica& r) { return r.name() == start_.replica; });
  if (replica == replicas.end() || replica->restarts() != start_.replica_restarts) return false;
  if (step_ > 0 && (replica->served_checksum() != checksum_ ||
                    replica->served_identity() != provenance_.last_identity)) {
    ++provenance_.switches;
  }
  checksum_ = replica->served_checksum();
  if (step_ == 0) {
    provenance_.first_identity = replica->served_identity();
    provenance_.first_checksum = checksum_;
  }
  provenance_.last_identity = replica->served_identity();
  provenance_.last_checksum = checksum_;
  return true;
}

nlohmann::json CompletionStream::logprob_entry(const TokenDraw& draw) const {
  const std::string text = token_text(draw.token);
  nlohmann::json top = nlohmann::json::array();
  for (const auto& [token, logprob] : draw.top) {
    top.push_back({{"token", token_text(token)},
                   {"token_id", token},
                   {"logprob", logprob},
                   {"bytes", utf8_bytes(token_text(token))}});
  }
  return {{"token", text},
          {"token_id", draw.token},
          {"logprob", draw.logprob},
          {"sampling_logprob", draw.sampling_logprob},
          {"bytes", utf8_bytes(text)},
          {"top_logprobs", top}};
}

nlohmann::json CompletionStream::choice_raw_output(const Choice& choice) const {
  return {{"prompt_token_ids", request_.prompt},
          {"completion_token_ids", choice.tokens},
          {"completion", choice.text}};
}

// One choice's piece of a streamed chunk: `token` < 0 for a finishing event without a token.
nlohmann::json CompletionStream::choice_event(std::size_t index, int token,
                                              const nlohmann::json& logprob) const {
  const Choice& c = choices_[index];
  nlohmann::json event = {{"index", index},
                          {"text", token >= 0 ? token_text(token) : ""},
                          {"logprobs", nullptr},
                          {"finish_reason", nullptr}};
  if (request_.logprobs && !logprob.is_null()) {
    event["logprobs"] = {{"content", nlohmann::json::array({logprob})}};
  }
  if (request_.return_token_ids) {
    event["token_ids"] = token >= 0 ? nlohmann::json::array({token}) : nlohmann::json::array();
    if (c.tokens.size() <= 1) event["prompt_token_ids"] = request_.prompt;
  }
  if (!c.finish_reason.empty()) {
    event["finish_reason"] = c.finish_reason;
    if (request_.raw_output) event["raw_output"] = choice_raw_output(c);
  }
  return event;
}

nlohmann::json CompletionStream::step() {
  nlohmann::json events = nlohmann::json::array();
  const int alternatives = request_.logprobs.value_or(0);
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    if (!c.finish_reason.empty()) continue;
    const TokenDraw draw =
        draw_token(checksum_, c.context, request_, unit(c.draws.next()), alternatives);
    c.tokens.push_back(draw.token);
    c.context = extend_context(c.context, draw.token);
    c.text += token_text(draw.token);
    const nlohmann::json entry = logprob_entry(draw);
    c.logprobs.push_back(entry);
    if (draw.token == kEndOfSequence) {
      c.finish_reason = "stop";
    } else if (step_ + 1 == request_.max_tokens) {
      c.finish_reason = "length";
    }
    c.reported = !c.finish_reason.empty();
    events.push_back(choice_event(i, draw.token, entry));
  }
  ++step_;
  return events;
}

nlohmann::json CompletionStream::usage() const {
  std::size_t completion_tokens = 0;
  for (const auto& c : choices_) completion_tokens += c.tokens.size();
  return {{"prompt_tokens", request_.prompt.size()},
          {"completion_tokens", completion_tokens},
          {"total_tokens", request_.prompt.size() + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", start_.cached_tokens}}}};
}

nlohmann::json CompletionStream::perf_metrics() const {
  return {{"prompt-tokens", request_.prompt.size()},
          {"cached-prompt-tokens", start_.cached_tokens},
          {"num-concurrent-requests", concurrent_at_start_},
          {"prefill-queue-duration", 0.0},
          {"generation-queue-duration", 0.0},
          {"server-time-to-first-token", 0.0},
          {"server-processing-time", to_seconds(last_token_at_ - start_.start)},
          {"weightsync-replica", provenance_.replica},
          {"weightsync-snapshot-identity", provenance_.first_identity},
          {"weightsync-snapshot-checksum", provenance_.first_checksum},
          {"weightsync-last-snapshot-identity", provenance_.last_identity},
          {"weightsync-last-snapshot-checksum", provenance_.last_checksum},
          {"weightsync-snapshot-switches", provenance_.switches},
          {"weightsync-seed", start_.seed}};
}

nlohmann::json CompletionStream::chunk(nlohmann::json choices) const {
  return {{"id", start_.id},
          {"object", "text_completion"},
          {"created", static_cast<std::int64_t>(to_seconds(start_.start))},
          {"model", request_.model},
          {"choices", std::move(choices)}};
}

std::optional<std::string> CompletionStream::next(CloudModel& model) {
  if (primed_) {
    std::optional<std::string> piece = std::move(primed_);
    primed_.reset();
    return piece;
  }
  if (ended()) return std::nullopt;
  if ((cut_after_ && step_ >= *cut_after_) || !observe_replica(model)) {
    ended_ = cut_ = true;
    return std::nullopt;
  }
  std::string piece;
  if (generating()) {
    last_token_at_ = model.now();
    for (auto& event : step()) piece += sse_event(chunk(nlohmann::json::array({event})));
    if (generating()) return piece;
  }
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    if (choices_[i].reported) continue;
    choices_[i].reported = true;
    piece += sse_event(chunk(nlohmann::json::array({choice_event(i, -1, nullptr)})));
  }
  nlohmann::json last = chunk(nlohmann::json::array());
  last["usage"] = usage();
  if (request_.perf_metrics_in_response) last["perf_metrics"] = perf_metrics();
  piece += sse_event(last);
  piece += kSseDone;
  ended_ = true;
  return piece;
}

nlohmann::json CompletionStream::whole() {
  while (generating()) step();
  last_token_at_ = start_.start;
  nlohmann::json choices = nlohmann::json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    nlohmann::json choice = {
        {"index", i}, {"text", c.text}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}};
    if (request_.logprobs) choice["logprobs"] = {{"content", c.logprobs}};
    if (request_.raw_output) choice["raw_output"] = choice_raw_output(c);
    if (request_.return_token_ids) {
      choice["token_ids"] = c.tokens;
      choice["prompt_token_ids"] = request_.prompt;
    }
    choices.push_back(std::move(choice));
  }
  nlohmann::json body = chunk(std::move(choices));
  body["usage"] = usage();
  if (request_.perf_metrics_in_response) body["perf_metrics"] = perf_metrics();
  ended_ = true;
  return body;
}

std::vector<std::pair<std::string, std::string>> CompletionStream::head_headers() const {
  return {{"prompt-tokens", std::to_string(request_.prompt.size())},
          {"cached-prompt-tokens", std::to_string(start_.cached_tokens)},
          {"num-concurrent-requests", std::to_string(concurrent_at_start_)},
          {"prefill-queue-duration", "0"},
          {"generation-queue-duration", "0"},
          {"server-time-to-first-token", "0"},
          {"x-weightsync-replica", provenance_.replica},
          {"x-weightsync-snapshot-identity", provenance_.first_identity},
          {"x-weightsync-snapshot-checksum", std::to_string(provenance_.first_checksum)},
          {"x-served-snapshot", provenance_.first_identity}};
}

}  // namespace weightsync::fake
