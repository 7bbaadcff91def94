// Token-in/token-out sampling: the stream as the reference sampler reads it, the token
// semantics (deterministic in the served bytes, prompt and seed), and sample provenance,
// including a replica switching weights in the middle of a stream.
#include "weightsync/fake/sampling.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_test_support.h"
#include "sampling_test_support.h"
#include "weightsync/fake/sse.h"

namespace weightsync::fake {
namespace {

using namespace testing;
using nlohmann::json;

// With the headers the reference sends on an inference request.
HttpRequest sampler_request(const json& body) {
  HttpRequest r{"POST", std::string(kCompletionsPath), {}, body.dump()};
  r.headers = {{"Content-Type", "application/json"},
               {"X-Api-Key", kKey},
               {"Authorization", std::string("Bearer ") + kKey},
               {"x-request-id", "lr-0123"}};
  return r;
}

// A stream read the way the reference sampler reads it: text and logprob entries accumulated
// in order, the last finish_reason, raw_output, usage and perf_metrics seen, [DONE] or not.
struct Assembled {
  std::map<int, std::string> text;
  std::map<int, json> logprobs;
  std::map<int, std::string> finish_reason;
  std::map<int, json> raw_output;
  json usage;
  json perf_metrics;
  bool done = false;
  bool after_done = false;  // anything after [DONE]
  int events = 0;
};

Assembled assemble(const std::string& body) {
  Assembled a;
  for (const SseEvent& event : decode_sse(body)) {
    if (a.done) a.after_done = true;
    if (event.data.rfind("[DONE]", 0) == 0) {
      a.done = true;
      continue;
    }
    ++a.events;
    const json chunk = json::parse(event.data);
    for (const json& choice : chunk.at("choices")) {
      const int i = choice.at("index").get<int>();
      a.text[i] += choice.value("text", "");
      if (choice.contains("logprobs") && choice["logprobs"].is_object()) {
        for (const json& entry : choice["logprobs"]["content"]) a.logprobs[i].push_back(entry);
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        a.finish_reason[i] = choice["finish_reason"];
      }
      if (choice.contains("raw_output")) a.raw_output[i] = choice["raw_output"];
    }
    if (chunk.contains("usage")) a.usage = chunk["usage"];
    if (chunk.contains("perf_metrics")) a.perf_metrics = chunk["perf_metrics"];
  }
  return a;
}

std::vector<int> tokens_of(const Assembled& a, int choice = 0) {
  return a.raw_output.at(choice).at("completion_token_ids").get<std::vector<int>>();
}

class SamplingTest : public ::testing::Test, public CloudFixture {
 protected:
  explicit SamplingTest(int replicas = 1) : CloudFixture(replicas) {}

  void SetUp() override {
    make_ready_deployment("d");
    first = trainer->save_weights_for_sampler("s1", CheckpointKind::base).snapshot_name;
    ASSERT_EQ(post_hotload("d", full_hotload(first)).status, 200);
    clock.advance(seconds(2));
    ASSERT_EQ(replica("d").served_identity, first);
  }

  // Saves a new base snapshot after a step and starts loading it on "d".
  std::string hotload_next(const std::string& name) {
    trainer->step();
    const std::string next =
        trainer->save_weights_for_sampler(name, CheckpointKind::base).snapshot_name;
    EXPECT_EQ(post_hotload("d", full_hotload(next)).status, 200);
    return next;
  }

  void set_slow_tokens(Duration interval) {
    DeploymentTiming timing = test_timing();
    timing.token_interval = interval;
    cloud.set_deployment_timing(kAccount, "d", timing);
  }

  Assembled stream(const json& body) {
    const HttpResponse r = cloud.handle(sampler_request(body));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(header_value(r.headers, "Content-Type"), kSseContentType);
    return assemble(r.body);
  }

  std::string first;
};

TEST_F(SamplingTest, AStreamIsWhatTheReferenceSamplerAssembles) {
  const HttpResponse r =
      cloud.handle(sampler_request(sampler_body("d", {5, 6, 7}, 12, {{"logprobs", true}})));
  ASSERT_EQ(r.status, 200) << r.body;
  // The metric headers ServerMetrics reads, and the request id echoed.
  EXPECT_EQ(header_value(r.headers, "prompt-tokens"), "3");
  EXPECT_EQ(header_value(r.headers, "num-concurrent-requests"), "1");
  for (const char* name : {"cached-prompt-tokens", "server-time-to-first-token",
                           "prefill-queue-duration", "generation-queue-duration"}) {
    EXPECT_FALSE(header_value(r.headers, name).empty()) << name;
  }
  EXPECT_EQ(header_value(r.headers, "x-request-id"), "lr-0123");
  ASSERT_TRUE(r.body.ends_with(kSseDone));

  const Assembled a = assemble(r.body);
  EXPECT_TRUE(a.done);
  EXPECT_FALSE(a.after_done);
  const std::vector<int> tokens = tokens_of(a);
  ASSERT_FALSE(tokens.empty());
  ASSERT_LE(tokens.size(), 12u);
  EXPECT_EQ(a.finish_reason.at(0), tokens.back() == kEndOfSequence ? "stop" : "length");
  // One event per token, then the usage/perf_metrics event.
  EXPECT_EQ(a.events, static_cast<int>(tokens.size()) + 1);
  std::string text;
  for (const int t : tokens) text += token_text(t);
  EXPECT_EQ(a.text.at(0), text);
  EXPECT_EQ(a.raw_output.at(0)["prompt_token_ids"], json({5, 6, 7}));
  ASSERT_EQ(a.logprobs.at(0).size(), tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const json& entry = a.logprobs.at(0)[i];
    EXPECT_EQ(entry["token_id"], tokens[i]);
    EXPECT_LT(entry["logprob"].get<double>(), 0);
    // Full-distribution sampling: the behaviour policy is the raw model.
    EXPECT_NEAR(entry["sampling_logprob"].get<double>(), entry["logprob"].get<double>(), 1e-9);
  }
  EXPECT_EQ(a.usage["prompt_tokens"], 3);
  EXPECT_EQ(a.usage["completion_tokens"], tokens.size());
  EXPECT_EQ(a.perf_metrics["prompt-tokens"], 3);
  EXPECT_EQ(a.perf_metrics["weightsync-snapshot-identity"], first);
  EXPECT_EQ(a.perf_metrics["weightsync-last-snapshot-identity"], first);
  EXPECT_EQ(a.perf_metrics["weightsync-snapshot-checksum"], trainer->checksum());
  EXPECT_EQ(a.perf_metrics["weightsync-snapshot-switches"], 0);
  EXPECT_EQ(a.perf_metrics["weightsync-replica"], replica("d").name);
  EXPECT_EQ(header_value(r.headers, "x-weightsync-snapshot-identity"), first);
  EXPECT_EQ(header_value(r.headers, "x-weightsync-replica"), replica("d").name);
}

TEST_F(SamplingTest, StreamedAndWholeAnswersGiveTheSameTokensForTheSameSeed) {
  const json seeded = {{"seed", 42}, {"logprobs", 3}, {"return_token_ids", true}};
  const Assembled streamed = stream(sampler_body("d", {9, 9}, 20, seeded));
  json whole_body = sampler_body("d", {9, 9}, 20, seeded);
  whole_body["stream"] = false;
  const HttpResponse r = cloud.handle(sampler_request(whole_body));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header_value(r.headers, "x-weightsync-snapshot-identity"), first);
  const json whole = json::parse(r.body);
  const json& choice = whole["choices"][0];
  EXPECT_EQ(choice["raw_output"]["completion_token_ids"].get<std::vector<int>>(),
            tokens_of(streamed));
  EXPECT_EQ(choice["token_ids"].get<std::vector<int>>(), tokens_of(streamed));
  EXPECT_EQ(choice["text"], streamed.text.at(0));
  EXPECT_EQ(choice["logprobs"]["content"], streamed.logprobs.at(0));
  EXPECT_EQ(choice["logprobs"]["content"][0]["top_logprobs"].size(), 3u);
  EXPECT_EQ(whole["perf_metrics"]["weightsync-seed"], 42);
}

TEST_F(SamplingTest, ANewSnapshotGivesOtherTokensAndTheSameSnapshotTheSame) {
  const json body = sampler_body("d", {1, 2, 3, 4}, 24, {{"seed", 7}});
  const std::vector<int> before = tokens_of(stream(body));
  EXPECT_EQ(tokens_of(stream(body)), before);
  const std::string next = hotload_next("s2");
  clock.advance(seconds(2));
  const Assembled after = stream(body);
  EXPECT_EQ(after.perf_metrics["weightsync-snapshot-identity"], next);
  EXPECT_NE(tokens_of(after), before);
}

TEST_F(SamplingTest, RequestsWithoutASeedDifferAndTheReportedSeedReplaysThem) {
  const json body = sampler_body("d", {3, 1, 4}, 24);
  const Assembled one = stream(body);
  const Assembled two = stream(body);
  EXPECT_NE(tokens_of(one), tokens_of(two));
  const Assembled replay =
      stream(sampler_body("d", {3, 1, 4}, 24, {{"seed", one.perf_metrics["weightsync-seed"]}}));
  EXPECT_EQ(tokens_of(replay), tokens_of(one));
}

TEST_F(SamplingTest, GreedyAndTightCutsPickTheMostLikelyToken) {
  const Assembled greedy =
      stream(sampler_body("d", {2, 7}, 16, {{"temperature", 0.0}, {"logprobs", 1}, {"seed", 1}}));
  for (const json& entry : greedy.logprobs.at(0)) {
    EXPECT_EQ(entry["sampling_logprob"], 0.0);
    EXPECT_EQ(entry["token_id"], entry["top_logprobs"][0]["token_id"]);
  }
  // Greedy ignores the seed; top_k 1 and a tiny top_p leave one candidate, drawn with
  // probability 1, so they agree with greedy whatever the seed.
  for (const json& extra :
       {json{{"temperature", 0.0}, {"seed", 2}}, json{{"top_k", 1}}, json{{"top_p", 1e-9}}}) {
    const Assembled other = stream(sampler_body("d", {2, 7}, 16, extra));
    EXPECT_EQ(tokens_of(other), tokens_of(greedy)) << extra.dump();
  }
  // A temperature cut changes the behaviour policy, not the raw model.
  const Assembled cool =
      stream(sampler_body("d", {2, 7}, 16, {{"temperature", 0.5}, {"logprobs", true}}));
  bool differs = false;
  for (const json& entry : cool.logprobs.at(0)) {
    differs |=
        std::abs(entry["sampling_logprob"].get<double>() - entry["logprob"].get<double>()) > 1e-6;
  }
  EXPECT_TRUE(differs);
}

TEST_F(SamplingTest, SeveralChoicesStreamInterleavedWithTheirIndex) {
  const Assembled a = stream(sampler_body("d", {8}, 10, {{"n", 3}, {"seed", 5}}));
  ASSERT_EQ(a.raw_output.size(), 3u);
  EXPECT_NE(tokens_of(a, 0), tokens_of(a, 1));
  std::size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    total += tokens_of(a, i).size();
    EXPECT_FALSE(a.finish_reason.at(i).empty());
  }
  EXPECT_EQ(a.usage["completion_tokens"], total);
}

TEST_F(SamplingTest, TokensArePacedOnTheCloudsClock) {
  const Duration t0 = clock.now();
  const Assembled a = stream(sampler_body("d", {1}, 40, {{"seed", 3}}));
  const auto n = static_cast<std::int64_t>(tokens_of(a).size());
  EXPECT_EQ(clock.now() - t0, (n - 1) * test_timing().token_interval);
  EXPECT_NEAR(a.perf_metrics["server-processing-time"].get<double>(),
              to_seconds((n - 1) * test_timing().token_interval), 1e-9);
}

TEST_F(SamplingTest, AStreamDuringWhichTheReplicaSwitchesWeightsSaysSo) {
  // A token every 0.5 s; the load takes 0.2 s pending + the download + 1 s loading, so it
  // lands between the third and the fourth token.
  set_slow_tokens(seconds(0.5));
  const json body = sampler_body("d", {4, 4, 4}, 12, {{"temperature", 0.0}});
  const std::vector<int> old_only = tokens_of(stream(body));
  StreamedResponse opened = cloud.handle_streaming(sampler_request(body));
  ASSERT_TRUE(opened.stream);
  EXPECT_EQ(header_value(opened.head.headers, "x-weightsync-snapshot-identity"), first);
  std::string sse = *cloud.next_chunk(*opened.stream);
  const std::string next = hotload_next("s2");
  while (auto piece = cloud.next_chunk(*opened.stream)) sse += *piece;
  const Assembled a = assemble(sse);
  ASSERT_TRUE(a.done);
  EXPECT_EQ(a.perf_metrics["weightsync-snapshot-identity"], first);
  EXPECT_EQ(a.perf_metrics["weightsync-last-snapshot-identity"], next);
  EXPECT_EQ(a.perf_metrics["weightsync-last-snapshot-checksum"], trainer->checksum());
  EXPECT_EQ(a.perf_metrics["weightsync-snapshot-switches"], 1);
  // Greedy, so only the weights decide: the first three tokens are the old weights' ones,
  // the rest are not, and the whole differs from a stream on the new weights alone.
  const std::vector<int> mixed = tokens_of(a);
  ASSERT_EQ(mixed.size(), 12u);
  EXPECT_EQ(std::vector<int>(mixed.begin(), mixed.begin() + 3),
            std::vector<int>(old_only.begin(), old_only.begin() + 3));
  EXPECT_NE(mixed, old_only);
  EXPECT_NE(mixed, tokens_of(stream(body)));
  EXPECT_EQ(replica("d").served_identity, next);
}

TEST_F(SamplingTest, AReplicaRestartCutsItsStreamWithoutDone) {
  set_slow_tokens(seconds(0.05));
  StreamedResponse opened = cloud.handle_streaming(sampler_request(sampler_body("d", {1}, 400)));
  ASSERT_TRUE(opened.stream);
  std::string sse = *cloud.next_chunk(*opened.stream);
  cloud.restart_replica(kAccount, "d", 0);
  while (auto piece = cloud.next_chunk(*opened.stream)) sse += *piece;
  EXPECT_TRUE(opened.stream->cut());
  const Assembled a = assemble(sse);
  // What the reference treats as a truncated stream, and retries.
  EXPECT_FALSE(a.done);
  EXPECT_TRUE(a.raw_output.empty());
  EXPECT_TRUE(a.finish_reason.empty());
}

TEST_F(SamplingTest, SyncDeploymentAnswers425WhileLoadingSoTheSamplerWaits) {
  make_ready_deployment("sync", "SYNC");
  const std::string snapshot =
      trainer->save_weights_for_sampler("s-sync", CheckpointKind::base).snapshot_name;
  ASSERT_EQ(post_hotload("sync", full_hotload(snapshot)).status, 200);
  const HttpResponse r = cloud.handle(sampler_request(sampler_body("sync", {1}, 4)));
  EXPECT_EQ(r.status, 425) << r.body;
  EXPECT_NE(error_message(r.body).find("SYNC"), std::string::npos);
  clock.advance(seconds(2));
  EXPECT_EQ(stream(sampler_body("sync", {1}, 4)).perf_metrics["weightsync-snapshot-identity"],
            snapshot);
}

TEST_F(SamplingTest, StreamsInFlightAreCountedAndReleased) {
  StreamedResponse one = cloud.handle_streaming(sampler_request(sampler_body("d", {1}, 50)));
  StreamedResponse two = cloud.handle_streaming(sampler_request(sampler_body("d", {2}, 50)));
  EXPECT_EQ(header_value(two.head.headers, "num-concurrent-requests"), "2");
  one.stream.reset();  // a carrier that drops its stream (the client went away)
  two.stream.reset();
  const HttpResponse r = cloud.handle(sampler_request(sampler_body("d", {3}, 2)));
  EXPECT_EQ(header_value(r.headers, "num-concurrent-requests"), "1");
}

TEST(SseWriter, EveryEventRoundTripsThroughTheDecoder) {
  const json values[] = {json{{"a", "line\nbreak\r\n"}}, json("x"), json::array({1, 2}),
                         json{{"bad", std::string("\xff\xfe")}}};
  std::string body;
  for (const json& v : values) body += sse_event(v);
  body += kSseDone;
  const auto events = decode_sse(body);
  ASSERT_EQ(events.size(), 5u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(json::parse(events[i].data), values[i]);
  EXPECT_EQ(json::parse(events[3].data)["bad"], "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(events[4].data, "[DONE]");
}

TEST(SseWriter, TheDecoderTakesAnySplitAndLineEnding) {
  const std::string body = ": comment\r\nevent: e\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: x\r\r";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    SseDecoder decoder;
    auto events = decoder.feed(body.substr(0, cut));
    for (auto& e : decoder.feed(body.substr(cut))) events.push_back(e);
    ASSERT_EQ(events.size(), 2u) << cut;
    EXPECT_EQ(events[0].event, "e");
    EXPECT_EQ(events[0].data, "{\"a\":\n1}");
    EXPECT_EQ(events[1].data, "x");
    EXPECT_FALSE(decoder.pending());
  }
}

}  // namespace
}  // namespace weightsync::fake
