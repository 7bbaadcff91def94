// Unit tests of header lookup, the retryable-status rule and RetryingTransport's backoff.
#include "weightsync/transport.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "scripted_transport.h"
#include "weightsync/clock.h"
#include "weightsync/errors.h"

namespace weightsync {
namespace {

using testing::ScriptedTransport;

// Answers with a function and records the clock reading of every try, so backoff is visible.
class TimedTransport final : public Transport {
 public:
  TimedTransport(Clock& clock, std::function<HttpResponse(int attempt)> answer)
      : clock_(clock), answer_(std::move(answer)) {}
  HttpResponse exchange(const HttpRequest& request) override {
    times_.push_back(clock_.now());
    requests_.push_back(request);
    return answer_(static_cast<int>(times_.size()));
  }
  // Seconds between consecutive tries.
  std::vector<double> gaps() const {
    std::vector<double> out;
    for (std::size_t i = 1; i < times_.size(); ++i)
      out.push_back(to_seconds(times_[i] - times_[i - 1]));
    return out;
  }
  const std::vector<HttpRequest>& requests() const { return requests_; }

 private:
  Clock& clock_;
  std::function<HttpResponse(int)> answer_;
  std::vector<Duration> times_;
  std::vector<HttpRequest> requests_;
};

HttpRequest get(std::string path) {
  return HttpRequest{"GET", std::move(path), {}, ""};
}

TEST(HeaderValue, MatchesNamesCaseInsensitively) {
  const Headers headers = {{"Content-Type", "application/json"}, {"fireworks-model", "m1"}};
  EXPECT_EQ(header_value(headers, "content-type"), "application/json");
  EXPECT_EQ(header_value(headers, "CONTENT-TYPE"), "application/json");
  EXPECT_EQ(header_value(headers, "Fireworks-Model"), "m1");
}

TEST(HeaderValue, ReturnsFirstMatchOrEmpty) {
  const Headers headers = {{"X-A", "first"}, {"x-a", "second"}};
  EXPECT_EQ(header_value(headers, "x-a"), "first");
  EXPECT_EQ(header_value(headers, "x-b"), "");
  EXPECT_EQ(header_value({}, "x-a"), "");
}

TEST(IsRetryableStatus, TrueForTryAgainLaterStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504})
    EXPECT_TRUE(is_retryable_status(status)) << status;
}

TEST(IsRetryableStatus, FalseForClientErrorsAndSuccess) {
  for (int status : {200, 201, 204, 400, 401, 403, 404, 409, 425, 501}) {
    EXPECT_FALSE(is_retryable_status(status)) << status;
  }
}

TEST(RetryingTransport, RetriesRetryableStatusesUntilSuccess) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    ManualClock clock;
    ScriptedTransport inner;
    inner.expect("GET", "/x", status).expect("GET", "/x", 200, "ok");
    RetryingTransport retrying(inner, clock);
    const HttpResponse response = retrying.exchange(get("/x"));
    EXPECT_EQ(response.status, 200) << status;
    EXPECT_EQ(response.body, "ok");
    EXPECT_EQ(inner.requests().size(), 2u) << status;
  }
}

TEST(RetryingTransport, BackoffDoublesFromHalfASecondOnTheClock) {
  ManualClock clock;
  TimedTransport inner(clock, [](int attempt) {
    return HttpResponse{attempt < 4 ? 503 : 200, {}, ""};
  });
  RetryingTransport retrying(inner, clock, RetryPolicy{4, seconds(0.5), seconds(8)});
  EXPECT_EQ(retrying.exchange(get("/x")).status, 200);
  EXPECT_EQ(inner.gaps(), (std::vector<double>{0.5, 1.0, 2.0}));
}

TEST(RetryingTransport, BackoffIsCappedAtMaxBackoff) {
  ManualClock clock;
  TimedTransport inner(clock, [](int) { return HttpResponse{500, {}, ""}; });
  RetryingTransport retrying(inner, clock, RetryPolicy{7, seconds(0.5), seconds(2)});
  retrying.exchange(get("/x"));
  EXPECT_EQ(inner.gaps(), (std::vector<double>{0.5, 1.0, 2.0, 2.0, 2.0, 2.0}));
}

TEST(RetryingTransport, ReturnsTheLastResponseAfterMaxAttempts) {
  ManualClock clock;
  ScriptedTransport inner;
  inner.expect("GET", "/x", 503, "busy 1")
      .expect("GET", "/x", 503, "busy 2")
      .expect("GET", "/x", 502, "bad gateway 3");
  RetryingTransport retrying(inner, clock, RetryPolicy{3, seconds(0.5), seconds(8)});
  const HttpResponse response = retrying.exchange(get("/x"));
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.body, "bad gateway 3");
  EXPECT_TRUE(inner.finished());
  EXPECT_EQ(inner.requests().size(), 3u);
}

TEST(RetryingTransport, RetriesTransportErrorsThenRethrowsTheLast) {
  ManualClock clock;
  ScriptedTransport inner;
  inner.expect_transport_error("GET", "/x", "refused 1")
      .expect_transport_error("GET", "/x", "refused 2");
  RetryingTransport retrying(inner, clock, RetryPolicy{2, seconds(0.5), seconds(8)});
  try {
    retrying.exchange(get("/x"));
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("refused 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(inner.requests().size(), 2u);
  EXPECT_EQ(clock.now(), seconds(0.5));
}

TEST(RetryingTransport, TransportErrorThenSuccessReturnsTheSuccess) {
  ManualClock clock;
  ScriptedTransport inner;
  inner.expect_transport_error("GET", "/x", "reset").expect("GET", "/x", 200, "fine");
  RetryingTransport retrying(inner, clock);
  EXPECT_EQ(retrying.exchange(get("/x")).body, "fine");
}

TEST(RetryingTransport, DoesNotRetryClientErrors) {
  for (int status : {400, 401, 403, 404, 409}) {
    ManualClock clock;
    ScriptedTransport inner;
    inner.expect("GET", "/x", status, "no");
    RetryingTransport retrying(inner, clock);
    EXPECT_EQ(retrying.exchange(get("/x")).status, status);
    EXPECT_EQ(inner.requests().size(), 1u) << status;
    EXPECT_EQ(clock.now(), Duration::zero()) << status;
  }
}

TEST(RetryingTransport, RejectsAPolicyWithoutAnyAttempt) {
  ManualClock clock;
  ScriptedTransport inner;
  EXPECT_THROW(RetryingTransport(inner, clock, RetryPolicy{0, seconds(0.5), seconds(8)}),
               InvalidArgument);
}

TEST(RetryingTransport, SingleAttemptPolicyNeverRetries) {
  ManualClock clock;
  ScriptedTransport inner;
  inner.expect("GET", "/x", 503);
  RetryingTransport retrying(inner, clock, RetryPolicy{1, seconds(0.5), seconds(8)});
  EXPECT_EQ(retrying.exchange(get("/x")).status, 503);
  EXPECT_EQ(inner.requests().size(), 1u);
}

// Hazard 6 (docs/SPEC.md section 3): a hotload POST retried after a 503 must resubmit the identical
// request, so the server can recognise it as the same load (idempotent by identity).
TEST(RetryingTransport, RetriedPostResendsIdenticalMethodPathHeadersAndBody) {
  ManualClock clock;
  ScriptedTransport inner;
  inner.expect("POST", "/hot_load/v1/models/hot_load", 503)
      .expect("POST", "/hot_load/v1/models/hot_load", 200, "{}");
  RetryingTransport retrying(inner, clock);
  const HttpRequest post{"POST",
                         "/hot_load/v1/models/hot_load",
                         {{"fireworks-model", "m"}, {"Authorization", "Bearer k"}},
                         R"({"identity":"step-1-0123abcd"})"};
  EXPECT_EQ(retrying.exchange(post).status, 200);
  ASSERT_EQ(inner.requests().size(), 2u);
  for (const HttpRequest& sent : inner.requests()) {
    EXPECT_EQ(sent.method, post.method);
    EXPECT_EQ(sent.path, post.path);
    EXPECT_EQ(sent.headers, post.headers);
    EXPECT_EQ(sent.body, post.body);
  }
}

}  // namespace
}  // namespace weightsync
