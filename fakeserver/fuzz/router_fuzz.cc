// Fuzzes the router, the one place that parses the wire: every input is a few HTTP requests
// against a fresh fake cloud (an account, a trainer with saved snapshots, a ready deployment).
// The router must answer every request (never throw, never crash), with a JSON error for 4xx.
// A streamed completion's body must be SSE events of JSON ending with [DONE]. The SSE writer
// gets each body as a value: what the decoder reads back must be exactly the line written, and
// the decoder must take the raw input itself without failing.
//
// Input: requests separated by '\0'; each is "METHOD PATH\n" then "Name: value" header lines,
// an empty line, and the body. Requests without an Authorization header get the valid key, so
// the fuzzer reaches past authentication; the clock advances between requests.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weightsync/clock.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/fake/sse.h"
#include "weightsync/transport.h"

namespace {

using namespace weightsync;

HttpRequest parse_request(std::string_view text) {
  HttpRequest request;
  const auto line_end = text.find('\n');
  const std::string_view first = text.substr(0, line_end);
  const auto space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  if (space != std::string_view::npos) request.path = std::string(first.substr(space + 1));
  text = line_end == std::string_view::npos ? std::string_view() : text.substr(line_end + 1);
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty()) break;
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(line.substr(colon + 2)));
  }
  request.body = std::string(text);
  if (header_value(request.headers, "Authorization").empty()) {
    request.headers.emplace_back("Authorization", "Bearer fuzz-key");
  }
  return request;
}

// Every event of a streamed answer is JSON, and [DONE] is the last one.
void check_event_stream(const HttpResponse& response) {
  if (header_value(response.headers, "Content-Type") != fake::kSseContentType) return;
  const auto events = fake::decode_sse(response.body);
  if (events.empty() || events.back().data != "[DONE]") __builtin_trap();
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    if (!nlohmann::json::accept(events[i].data)) __builtin_trap();
  }
}

// The writer puts any value on one `data:` line that the decoder reads back unchanged.
void check_sse_writer(const std::string& text) {
  const std::string written = fake::sse_event(nlohmann::json(text));
  const auto events = fake::decode_sse(written);
  if (events.size() != 1 || events[0].data != written.substr(6, written.size() - 8)) {
    __builtin_trap();
  }
  fake::SseDecoder decoder;
  decoder.feed(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ManualClock clock;
  fake::FakeCloudOptions options;
  options.seed = 7;
  options.max_body_bytes = 1 << 16;
  options.timing.bandwidth_bytes_per_s = 1e6;
  fake::FakeCloud cloud(clock, options);
  cloud.create_account("fuzz", "fuzz-key");
  cloud.create_account("other", "other-key");
  fake::TrainerOptions trainer_options;
  trainer_options.params = 256;
  auto& trainer = cloud.create_trainer("fuzz", "t1", trainer_options);
  trainer.save_weights_for_sampler("a", CheckpointKind::base);
  trainer.step();
  trainer.save_weights_for_sampler("b", CheckpointKind::delta);
  DeploymentConfig config;
  config.base_model = "m";
  config.hot_load_trainer_job = trainer.job_name();
  cloud.create_deployment("fuzz", "d", config);
  clock.advance(seconds(10));

  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 8 && !input.empty(); ++i) {
    const auto end = input.find('\0');
    const HttpRequest request = parse_request(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    const HttpResponse response = cloud.handle(request);
    if (response.status < 100 || response.status > 599) __builtin_trap();
    if (response.status >= 400 && response.status < 500 &&
        response.body.find("\"error\"") == std::string::npos) {
      __builtin_trap();  // every refusal carries a JSON error body
    }
    check_event_stream(response);
    check_sse_writer(request.body);
    clock.advance(seconds(static_cast<double>(request.body.size() % 7)));
    // Inspecting the model applies finished loads: it must not throw, except that a fuzzed
    // DELETE may have removed the deployment (found by the fuzzer in the harness itself).
    try {
      cloud.replicas("fuzz", "d");
    } catch (const fake::HttpError& e) {
      if (e.status() != 404) __builtin_trap();
    }
  }
  return 0;
}
