// Strict reading of a completions request: the fields the reference sampler sends, each range
// checked, everything else refused by name.
#include <limits>

#include "weightsync/errors.h"
#include "weightsync/fake/sampling.h"
#include "weightsync/internal/json_fields.h"

namespace weightsync::fake {
namespace {

using internal::JsonFields;

constexpr std::string_view kWhere = "completion request";

std::vector<int> read_prompt(JsonFields& fields) {
  const nlohmann::json* prompt = fields.child("prompt");
  if (!prompt) fields.missing("prompt", "a list of token ids or a string");
  std::vector<int> tokens;
  if (prompt->is_string()) {
    // A text prompt is taken one token per byte: the fake has no tokenizer.
    for (const unsigned char c : prompt->get_ref<const std::string&>()) tokens.push_back(c);
  } else if (prompt->is_array()) {
    for (std::size_t i = 0; i < prompt->size(); ++i) {
      const nlohmann::json& t = (*prompt)[i];
      const auto max = std::numeric_limits<int>::max();
      if (!t.is_number_integer() || t.get<std::int64_t>() < 0 ||
          (t.is_number_unsigned() && t.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) ||
          t.get<std::int64_t>() > max) {
        JsonFields::fail(fields.at("prompt") + "[" + std::to_string(i) + "]",
                         "a token id (an integer in [0, " + std::to_string(max) + "])", t);
      }
      tokens.push_back(t.get<int>());
    }
  } else {
    JsonFields::fail(fields.at("prompt"), "a list of token ids or a string", *prompt);
  }
  if (tokens.empty()) JsonFields::fail(fields.at("prompt"), "at least one token", *prompt);
  return tokens;
}

// `logprobs`: true (no alternatives), false, or the number of alternatives per token.
std::optional<int> read_logprobs(JsonFields& fields) {
  const nlohmann::json* v = fields.child("logprobs");
  if (!v) return std::nullopt;
  const std::string expected =
      "true, false or an integer in [0, " + std::to_string(kMaxTopLogprobs) + "]";
  if (v->is_boolean()) return v->get<bool>() ? std::optional<int>(0) : std::nullopt;
  if (!v->is_number_integer()) JsonFields::fail(fields.at("logprobs"), expected, *v);
  const auto count = v->get<std::int64_t>();
  if (v->is_number_unsigned() ? v->get<std::uint64_t>() > kMaxTopLogprobs
                              : count < 0 || count > kMaxTopLogprobs) {
    JsonFields::fail(fields.at("logprobs"), expected, *v);
  }
  return static_cast<int>(count);
}

// Fields the reference may send that the fake does not implement: a clear refusal rather than
// an answer that silently ignores them.
void refuse_unsupported(JsonFields& fields) {
  if (const auto echo = fields.boolean("echo"); echo && *echo) {
    throw InvalidArgument(fields.at("echo") +
                          ": expected false or absent, got true (the fake does not echo prompts)");
  }
  if (const nlohmann::json* stop = fields.child("stop")) {
    if (!(stop->is_array() && stop->empty())) {
      JsonFields::fail(fields.at("stop"),
                       "null or [] (the fake has no stop sequences; it stops at token " +
                           std::to_string(kEndOfSequence) + " or max_tokens)",
                       *stop);
    }
  }
}

}  // namespace

SamplingRequest parse_sampling_request(std::string_view body) {
  const nlohmann::json document = internal::parse_json<InvalidArgument>(body, kWhere);
  JsonFields fields(document, std::string(kWhere));
  SamplingRequest r;
  r.model = fields.required_text("model");
  r.prompt = read_prompt(fields);
  r.n = static_cast<int>(fields.integer("n", 1, kMaxChoices).value_or(1));
  r.max_tokens =
      static_cast<int>(fields.integer("max_tokens", 0, kMaxCompletionTokens).value_or(16));
  r.temperature = fields.number("temperature", 0, 2, "a number in [0, 2]").value_or(1.0);
  if (const auto top_p = fields.number("top_p", 0, 1, "a number in (0, 1]")) {
    if (*top_p <= 0) JsonFields::fail(fields.at("top_p"), "a number in (0, 1]", *top_p);
    r.top_p = *top_p;
  }
  r.top_k = static_cast<int>(fields.integer("top_k", -1, 1 << 20).value_or(0));
  r.seed = fields.unsigned_integer("seed");
  r.stream = fields.boolean("stream").value_or(false);
  r.perf_metrics_in_response = fields.boolean("perf_metrics_in_response").value_or(false);
  r.raw_output = fields.boolean("raw_output").value_or(false);
  r.return_token_ids = fields.boolean("return_token_ids").value_or(false);
  r.logprobs = read_logprobs(fields);
  refuse_unsupported(fields);
  fields.finish({"model", "prompt", "n", "max_tokens", "temperature", "top_p", "top_k", "seed",
                 "stream", "perf_metrics_in_response", "raw_output", "return_token_ids", "logprobs",
                 "echo", "stop"});
  return r;
}

}  // namespace weightsync::fake
