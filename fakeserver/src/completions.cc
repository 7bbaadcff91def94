// Completions: pick the replica, start the generation, and answer it whole or as a stream.
#include "completions.h"

#include "http_support.h"
#include "weightsync/fake/sampling.h"
#include "weightsync/fake/sse.h"

namespace weightsync::fake {

HttpResponse answer_completion(CloudModel& model, const std::string& caller,
                               const HttpRequest& request) {
  SamplingRequest sampling = parse_sampling_request(request.body);
  FakeDeployment& d = model.deployment_by_name(caller, sampling.model);
  const Duration now = model.now();
  CompletionRequest routed;
  routed.model = sampling.model;
  routed.prompt = sampling.prompt;
  routed.max_tokens = sampling.max_tokens;
  routed.temperature = sampling.temperature;
  const CompletionServed served = d.complete(routed, now, model.active_hooks());
  const Replica& replica = d.replicas()[static_cast<std::size_t>(served.replica)];

  SamplingState& state = model.sampling();
  auto& in_flight = state.in_flight[d.name()];
  if (!in_flight) in_flight = std::make_shared<std::atomic<int>>(0);
  const std::uint64_t seed = sampling.seed ? *sampling.seed : state.seeds.next();
  const std::string id = "cmpl-" + std::to_string(++state.served);
  const bool streamed = sampling.stream;
  auto stream = std::make_shared<CompletionStream>(
      std::move(sampling),
      StreamStart{d.name(), replica.name(), replica.restarts(), served.served_identity,
                  served.served_checksum, served.cached_tokens, now, d.timing().token_interval,
                  seed, id, in_flight});

  HttpResponse response;
  if (streamed) {
    response = HttpResponse{
        200, {{"Content-Type", std::string(kSseContentType)}, {"Cache-Control", "no-cache"}}, ""};
    stream->prime(model);
    state.opened = stream;
  } else {
    response = detail::json_response(
        200, stream->whole().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    response.headers.emplace_back("server-processing-time", "0");
  }
  for (auto& header : stream->head_headers()) response.headers.push_back(std::move(header));
  const std::string request_id = header_value(request.headers, "x-request-id");
  response.headers.emplace_back("x-request-id", request_id.empty() ? id : request_id);
  return response;
}

}  // namespace weightsync::fake
