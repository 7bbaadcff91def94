// Unit tests of the SamplingClient's stream reading, over hand-written event streams.
#include "weightsync/sampling_client.h"

#include <gtest/gtest.h>

#include "weightsync/errors.h"

namespace weightsync {
namespace {

HttpResponse stream(std::string body, Headers headers = {}) {
  return HttpResponse{200, std::move(headers), std::move(body)};
}

constexpr const char* kTwoTokens =
    "data: {\"choices\":[{\"index\":0,\"text\":\"a\",\"logprobs\":{\"content\":[{\"logprob\":"
    "-0.5}]},\"finish_reason\":null}]}\n\n"
    ": a comment line\n"
    "data: {\"choices\":[{\"index\":0,\"text\":\"b\",\"logprobs\":{\"content\":[{\"logprob\":"
    "-1.5}]},\"finish_reason\":\"length\",\"raw_output\":{\"completion_token_ids\":[7,9]}}]}\r\n"
    "\r\n"
    "data: {\"choices\":[],\"perf_metrics\":{\"weightsync-snapshot-identity\":\"s1\","
    "\"weightsync-last-snapshot-identity\":\"s2\",\"weightsync-snapshot-switches\":1}}\n\n";

TEST(CompletionStream, TokensLogprobsAndProvenanceComeFromTheEvents) {
  const auto parsed = parse_completion_stream(
      stream(std::string(kTwoTokens) + "data: [DONE]\n\n", {{"x-weightsync-replica", "r0"}}), 1);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1u);
  const Completion& c = parsed->front();
  EXPECT_EQ(c.tokens, (std::vector<int>{7, 9}));
  EXPECT_EQ(c.logprobs, (std::vector<double>{-0.5, -1.5}));
  EXPECT_EQ(c.finish_reason, "length");
  EXPECT_TRUE(c.provenance_reported);
  EXPECT_EQ(c.replica, "r0");
  EXPECT_EQ(c.snapshot_identity, "s1");
  EXPECT_EQ(c.last_snapshot_identity, "s2");
  EXPECT_EQ(c.snapshot_switches, 1);
}

TEST(CompletionStream, AStreamWithoutDoneOrAnUnfinishedChoiceIsCut) {
  EXPECT_FALSE(parse_completion_stream(stream(kTwoTokens), 1));
  // Two choices asked, one finished.
  EXPECT_FALSE(parse_completion_stream(stream(std::string(kTwoTokens) + "data: [DONE]\n\n"), 2));
}

TEST(CompletionStream, WithoutProvenanceNothingIsClaimed) {
  const std::string body =
      "data: {\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"raw_output\":"
      "{\"completion_token_ids\":[0]}}]}\n\ndata: [DONE]\n\n";
  const auto parsed = parse_completion_stream(stream(body), 1);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->front().provenance_reported);
  EXPECT_EQ(parsed->front().snapshot_identity, "");
}

TEST(CompletionStream, AChoiceIndexOutOfRangeOrANonJsonEventIsAnApiError) {
  EXPECT_THROW(
      parse_completion_stream(stream("data: {\"choices\":[{\"index\":3}]}\n\ndata: [DONE]\n\n"), 1),
      ApiError);
  EXPECT_THROW(parse_completion_stream(stream("data: not json\n\ndata: [DONE]\n\n"), 1), ApiError);
}

}  // namespace
}  // namespace weightsync
