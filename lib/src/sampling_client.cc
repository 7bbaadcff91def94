// SamplingClient: one streamed completion request, read whole, parsed, checked for provenance.
#include "weightsync/sampling_client.h"

#include <nlohmann/json.hpp>

#include "weightsync/errors.h"
#include "weightsync/log.h"
#include "weightsync/sse_decoder.h"
#include "weightsync/wire.h"

namespace weightsync {
namespace {

using nlohmann::json;

std::string metric_text(const json& metrics, const char* key) {
  const auto it = metrics.find(key);
  if (it == metrics.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int metric_int(const json& metrics, const char* key) {
  const auto it = metrics.find(key);
  if (it == metrics.end()) return 0;
  if (it->is_number()) return it->get<int>();
  if (it->is_string()) return std::stoi(it->get<std::string>());
  return 0;
}

bool is_loading_status(int status) {
  return status == 404 || status == 425 || status == 503;
}

}  // namespace

std::optional<std::vector<Completion>> parse_completion_stream(const HttpResponse& response,
                                                               int n) {
  std::vector<Completion> out(static_cast<std::size_t>(n));
  std::vector<bool> finished(out.size(), false);
  bool done = false;
  json metrics = json::object();
  for (const SseEvent& sse : decode_sse(response.body)) {
    const std::string& payload = sse.data;
    if (payload == "[DONE]") {
      done = true;
      break;
    }
    const json event = json::parse(payload, nullptr, false);
    if (!event.is_object()) {
      throw ApiError(
          response.status, response.body,
          "completion stream: expected JSON events, got '" + payload.substr(0, 80) + "'");
    }
    if (const auto m = event.find("perf_metrics"); m != event.end() && m->is_object()) {
      metrics = *m;
    }
    const auto choices = event.find("choices");
    if (choices == event.end() || !choices->is_array()) continue;
    for (const json& choice : *choices) {
      const std::size_t index = choice.value("index", std::size_t{0});
      if (index >= out.size()) {
        throw ApiError(response.status, response.body,
                       "completion stream: expected choice indexes below " + std::to_string(n) +
                           ", got " + std::to_string(index));
      }
      Completion& c = out[index];
      if (const auto lp = choice.find("logprobs"); lp != choice.end() && lp->is_object()) {
        for (const json& entry : lp->value("content", json::array())) {
          c.logprobs.push_back(entry.value("logprob", 0.0));
        }
      }
      if (const auto fr = choice.find("finish_reason"); fr != choice.end() && fr->is_string()) {
        c.finish_reason = fr->get<std::string>();
        finished[index] = true;
      }
      if (const auto raw = choice.find("raw_output"); raw != choice.end() && raw->is_object()) {
        c.tokens = raw->value("completion_token_ids", std::vector<int>{});
      }
    }
  }
  if (!done) return std::nullopt;
  for (bool f : finished) {
    if (!f) return std::nullopt;
  }
  const std::string header_identity =
      header_value(response.headers, "x-weightsync-snapshot-identity");
  const bool reported = !header_value(response.headers, "x-weightsync-replica").empty() ||
                        metrics.contains("weightsync-snapshot-identity");
  for (Completion& c : out) {
    c.provenance_reported = reported;
    if (!reported) continue;
    c.replica = header_value(response.headers, "x-weightsync-replica");
    c.snapshot_identity = metrics.contains("weightsync-snapshot-identity")
                              ? metric_text(metrics, "weightsync-snapshot-identity")
                              : header_identity;
    c.last_snapshot_identity = metrics.contains("weightsync-last-snapshot-identity")
                                   ? metric_text(metrics, "weightsync-last-snapshot-identity")
                                   : c.snapshot_identity;
    c.snapshot_switches = metric_int(metrics, "weightsync-snapshot-switches");
  }
  return out;
}

SamplingClient::SamplingClient(Transport& transport, Clock& clock, std::string api_key,
                               std::string model, std::string snapshot_identity,
                               SamplingClientOptions options)
    : transport_(transport),
      clock_(clock),
      api_key_(std::move(api_key)),
      model_(std::move(model)),
      snapshot_identity_(std::move(snapshot_identity)),
      options_(options) {
  if (options_.retry_interval <= Duration::zero() ||
      options_.load_wait_timeout < Duration::zero()) {
    throw InvalidArgument("SamplingClient: expected retry_interval > 0 and load_wait_timeout >= 0");
  }
}

std::vector<Completion> SamplingClient::sample(const std::vector<int>& prompt,
                                               const SamplingParams& params) const {
  auto bad = [](const std::string& what) { throw InvalidArgument("SamplingClient: " + what); };
  if (prompt.empty()) bad("prompt: expected at least one token id, got none");
  if (params.n < 1) bad("n: expected >= 1, got " + std::to_string(params.n));
  if (params.max_tokens < 1)
    bad("max_tokens: expected >= 1, got " + std::to_string(params.max_tokens));
  if (params.temperature < 0)
    bad("temperature: expected >= 0, got " + std::to_string(params.temperature));
  if (params.top_p <= 0 || params.top_p > 1)
    bad("top_p: expected (0, 1], got " + std::to_string(params.top_p));
  if (params.top_k < 0) bad("top_k: expected >= 0 (0: off), got " + std::to_string(params.top_k));
  if (params.logprobs && (*params.logprobs < 0 || *params.logprobs > 5)) {
    bad("logprobs: expected 0-5 alternatives, got " + std::to_string(*params.logprobs));
  }
  json body = {{"model", model_},
               {"prompt", prompt},
               {"n", params.n},
               {"max_tokens", params.max_tokens},
               {"temperature", params.temperature},
               {"top_p", params.top_p},
               {"top_k", params.top_k},
               {"stream", true},
               {"raw_output", true},
               {"perf_metrics_in_response", true}};
  if (params.logprobs) body["logprobs"] = *params.logprobs;
  if (params.seed) body["seed"] = *params.seed;
  HttpRequest request{"POST",
                      std::string(kCompletionsPath),
                      {{"Content-Type", "application/json"},
                       {"X-Api-Key", api_key_},
                       {std::string(kAuthorizationHeader), std::string(kBearerPrefix) + api_key_}},
                      body.dump()};

  const Deadline deadline(clock_, options_.load_wait_timeout);
  for (;;) {
    HttpResponse r = transport_.exchange(request);
    std::string why;
    if (r.status == 200) {
      if (auto completions = parse_completion_stream(r, params.n)) {
        if (options_.reject_other_snapshots) {
          for (const Completion& c : *completions) {
            if (!c.provenance_reported) {
              throw SnapshotMismatch("SamplingClient: expected completions from snapshot '" +
                                     snapshot_identity_ +
                                     "', but the deployment does not report which snapshot "
                                     "generated them; turn reject_other_snapshots off for it");
            }
            if (c.snapshot_identity != snapshot_identity_ ||
                c.last_snapshot_identity != snapshot_identity_ || c.snapshot_switches != 0) {
              throw SnapshotMismatch("SamplingClient: expected completions from snapshot '" +
                                     snapshot_identity_ + "', got tokens from '" +
                                     c.snapshot_identity + "' to '" + c.last_snapshot_identity +
                                     "' (" + std::to_string(c.snapshot_switches) +
                                     " switches) on replica '" + c.replica +
                                     "'; retry, or refresh with create_sampling_client");
            }
          }
        }
        return std::move(*completions);
      }
      why = "the stream ended before [DONE]";
    } else if (is_loading_status(r.status)) {
      why = "HTTP " + std::to_string(r.status) + " (" + error_message(r.body) + ")";
    } else {
      throw ApiError(r.status, r.body,
                     "SamplingClient: completions from '" + model_ + "': expected HTTP 200, got " +
                         std::to_string(r.status) + " (" + error_message(r.body) + ")");
    }
    if (deadline.passed()) {
      throw Timeout("SamplingClient: completions from '" + model_ +
                    "': expected an answer within " +
                    std::to_string(to_seconds(options_.load_wait_timeout)) + " s, last: " + why +
                    "; the deployment is still loading or restarting, retry later");
    }
    log(LogLevel::info, [&] { return "SamplingClient: " + why + "; retrying"; });
    deadline.sleep(options_.retry_interval);
  }
}

}  // namespace weightsync
