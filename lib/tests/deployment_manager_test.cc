// DeploymentManager against a ScriptedTransport and a ManualClock: the exact requests it sends,
// how it reads answers, how it polls and when it gives up.
#include "weightsync/deployment_manager.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "log_recorder.h"
#include "scripted_transport.h"
#include "weightsync/clock.h"
#include "weightsync/errors.h"
#include "weightsync/internal/server_wire.h"
#include "weightsync/wire.h"

namespace weightsync {
namespace {

using nlohmann::json;
using testing::LogRecorder;
using testing::ScriptedTransport;

constexpr const char* kDeploymentPath = "/v1/accounts/acme/deployments/d1";
const std::string kHotload(kHotloadPath);
const std::string kCompletions(kCompletionsPath);

ReplicaStatus replica(std::string name, std::string serves, bool ready, std::string stage = "done",
                      std::string target = "") {
  return ReplicaStatus{std::move(name),
                       std::move(serves),
                       ready,
                       LoadingState{std::move(stage), std::move(target)},
                       {}};
}

std::string status_body(std::vector<ReplicaStatus> replicas) {
  return encode(HotloadStatus{std::move(replicas)});
}

std::string deployment_body(const std::string& state) {
  Deployment d;
  d.name = "accounts/acme/deployments/d1";
  d.state = state;
  d.base_model = "m";
  d.hot_load_trainer_job = "accounts/acme/rlorTrainerJobs/t1";
  return encode(d);
}

DeploymentManagerOptions options(std::string account = "acme") {
  DeploymentManagerOptions o;
  o.api_key = "key-1";
  o.account_id = std::move(account);
  return o;
}

// Every test owns a scripted transport, a manual clock and a manager over them.
class DeploymentManagerTest : public ::testing::Test {
 protected:
  LogRecorder log_;
  ScriptedTransport transport_;
  ManualClock clock_;
  DeploymentManager mgr_{transport_, clock_, options()};

  void TearDown() override { EXPECT_TRUE(transport_.finished()) << "scripted steps left unused"; }
};

template <typename Call>
ApiError api_error_of(Call call) {
  try {
    call();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "expected ApiError";
  return ApiError(0, "", "");
}

// ---- construction and accounts ----

TEST(DeploymentManagerOptions, EmptyApiKeyIsRejected) {
  ScriptedTransport transport;
  ManualClock clock;
  DeploymentManagerOptions o = options();
  o.api_key = "";
  EXPECT_THROW(DeploymentManager(transport, clock, o), InvalidArgument);
}

TEST(DeploymentManagerOptions, NonPositivePollIntervalIsRejected) {
  ScriptedTransport transport;
  ManualClock clock;
  DeploymentManagerOptions o = options();
  o.hotload_poll_interval = Duration::zero();
  EXPECT_THROW(DeploymentManager(transport, clock, o), InvalidArgument);
}

TEST(DeploymentManagerAccount, ResolvedOnceWithPageSize2AndCached) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 200, encode_account_list({"acme"}));
  DeploymentManager mgr(transport, clock, options(""));
  EXPECT_EQ(mgr.account_id(), "acme");
  EXPECT_EQ(mgr.account_id(), "acme");
  EXPECT_EQ(transport.requests().size(), 1u);
  EXPECT_EQ(header_value(transport.request(0).headers, "X-Api-Key"), "key-1");
  EXPECT_EQ(header_value(transport.request(0).headers, "Authorization"), "");
}

TEST(DeploymentManagerAccount, ResolvedAccountIsUsedInLaterPaths) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 200, encode_account_list({"acme"}))
      .expect("GET", kDeploymentPath, 200, deployment_body("READY"));
  DeploymentManager mgr(transport, clock, options(""));
  EXPECT_EQ(mgr.get_deployment("d1").state, "READY");
  EXPECT_TRUE(transport.finished());
}

TEST(DeploymentManagerAccount, ConfiguredAccountSkipsResolution) {
  ScriptedTransport transport;
  ManualClock clock;
  DeploymentManager mgr(transport, clock, options("given"));
  EXPECT_EQ(mgr.account_id(), "given");
  EXPECT_TRUE(transport.requests().empty());
}

TEST(DeploymentManagerAccount, ZeroAccountsIsApiError) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 200, encode_account_list({}));
  DeploymentManager mgr(transport, clock, options(""));
  EXPECT_THROW(mgr.account_id(), ApiError);
}

TEST(DeploymentManagerAccount, TwoAccountsIsApiErrorAskingForAnExplicitAccount) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 200, encode_account_list({"a", "b"}));
  DeploymentManager mgr(transport, clock, options(""));
  const ApiError e = api_error_of([&] { mgr.account_id(); });
  EXPECT_NE(std::string(e.what()).find("account_id"), std::string::npos) << e.what();
}

TEST(DeploymentManagerAccount, UnknownKeyIsApiErrorWith401) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 401, encode_error(401, "unknown API key"));
  DeploymentManager mgr(transport, clock, options(""));
  const ApiError e = api_error_of([&] { mgr.account_id(); });
  EXPECT_EQ(e.status(), 401);
  EXPECT_FALSE(e.retryable());
  EXPECT_NE(std::string(e.what()).find("unknown API key"), std::string::npos) << e.what();
}

TEST(DeploymentManagerAccount, MalformedAccountListIsApiError) {
  ScriptedTransport transport;
  ManualClock clock;
  transport.expect("GET", "/v1/accounts?pageSize=2", 200, "<html>login</html>");
  DeploymentManager mgr(transport, clock, options(""));
  EXPECT_THROW(mgr.account_id(), ApiError);
}

// As the reference client: X-Api-Key and Content-Type on every request; the gateway calls
// (hotload, completions) add Authorization: Bearer with the same key.
TEST_F(DeploymentManagerTest, EveryRequestCarriesTheKeyAsTheReferenceSendsIt) {
  transport_.expect("GET", kDeploymentPath, 200, deployment_body("READY"))
      .expect("POST", kHotload, 200, "{}")
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}))
      .expect("DELETE", std::string(kDeploymentPath) + "/ledger", 200, "{}")
      .expect("POST", kCompletions, 200, "{}")
      .expect("DELETE", std::string(kDeploymentPath) + "?ignoreChecks=true&hard=true", 200, "{}");
  mgr_.get_deployment("d1");
  mgr_.hotload("d1", "m", HotloadRequest{"s1", std::nullopt, std::nullopt});
  mgr_.hotload_status("d1", "m");
  mgr_.reset_ledger("d1");
  mgr_.warmup("d1", 0);
  mgr_.delete_deployment("d1");
  ASSERT_EQ(transport_.requests().size(), 6u);
  for (const HttpRequest& r : transport_.requests()) {
    EXPECT_EQ(header_value(r.headers, "X-Api-Key"), "key-1") << r.method << r.path;
    EXPECT_EQ(header_value(r.headers, "Content-Type"), "application/json") << r.method << r.path;
    const bool gateway = r.path == kHotload || r.path == kCompletions;
    EXPECT_EQ(header_value(r.headers, "Authorization"), gateway ? "Bearer key-1" : "")
        << r.method << r.path;
  }
}

// ---- hotload POST ----

TEST_F(DeploymentManagerTest, HotloadPostsExactPathHeadersAndBody) {
  transport_.expect("POST", kHotload, 200, "{}");
  HotloadRequest request{"step-2-0123abcd", true,
                         IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"}};
  mgr_.hotload("d1", "accounts/fireworks/models/qwen3-8b", request);
  const HttpRequest& sent = transport_.request(0);
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/hot_load/v1/models/hot_load");
  EXPECT_EQ(header_value(sent.headers, "fireworks-model"), "accounts/fireworks/models/qwen3-8b");
  EXPECT_EQ(header_value(sent.headers, "fireworks-deployment"), "accounts/acme/deployments/d1");
  EXPECT_EQ(json::parse(sent.body),
            json::parse(R"({"identity":"step-2-0123abcd","reset_prompt_cache":true,)"
                        R"("incremental_snapshot_metadata":{"previous_snapshot_identity":)"
                        R"("step-1-0123abcd","compression_format":"arc_v2",)"
                        R"("checksum_format":"alder32"}})"));
}

TEST_F(DeploymentManagerTest, ResetPromptCacheRejectedAsUnknownFieldIsResentOnceWithoutIt) {
  transport_
      .expect("POST", kHotload, 400,
              encode_error(400, "extra inputs are not permitted: field 'reset_prompt_cache'"))
      .expect("POST", kHotload, 200, "{}");
  HotloadRequest request{"step-2-0123abcd", true,
                         IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"}};
  mgr_.hotload("d1", "m", request);
  ASSERT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(decode_hotload_request(transport_.request(0).body), request);
  HotloadRequest without = request;
  without.reset_prompt_cache.reset();
  const json resent = json::parse(transport_.request(1).body);
  EXPECT_FALSE(resent.contains("reset_prompt_cache"));
  EXPECT_EQ(decode_hotload_request(transport_.request(1).body), without);
  EXPECT_EQ(header_value(transport_.request(1).headers, "fireworks-deployment"),
            "accounts/acme/deployments/d1");
  EXPECT_TRUE(log_.contains(LogLevel::warning, "reset_prompt_cache"));
}

TEST_F(DeploymentManagerTest, ResetPromptCacheFallbackHappensAtMostOnce) {
  transport_.expect("POST", kHotload, 400,
                    encode_error(400, "extra inputs are not permitted: reset_prompt_cache"), 2);
  const ApiError e = api_error_of([&] {
    mgr_.hotload("d1", "m", HotloadRequest{"s1", true, std::nullopt});
  });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(DeploymentManagerTest, BadRequestAboutAnotherFieldIsNotResent) {
  transport_.expect("POST", kHotload, 400,
                    encode_error(400, "extra inputs are not permitted: field 'priority'"));
  const ApiError e = api_error_of([&] {
    mgr_.hotload("d1", "m", HotloadRequest{"s1", true, std::nullopt});
  });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(DeploymentManagerTest, RequestWithoutResetIsNeverResent) {
  transport_.expect("POST", kHotload, 400,
                    encode_error(400, "extra inputs are not permitted: reset_prompt_cache"));
  EXPECT_THROW(mgr_.hotload("d1", "m", HotloadRequest{"s1", std::nullopt, std::nullopt}), ApiError);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(DeploymentManagerTest, OtherClientErrorsAreApiErrorsWithStatusAndBody) {
  const std::string body = encode_error(404, "deployment d1 not found");
  transport_.expect("POST", kHotload, 404, body);
  const ApiError e = api_error_of([&] {
    mgr_.hotload("d1", "m", HotloadRequest{"s1", true, std::nullopt});
  });
  EXPECT_EQ(e.status(), 404);
  EXPECT_EQ(e.body(), body);
  EXPECT_NE(std::string(e.what()).find("deployment d1 not found"), std::string::npos) << e.what();
}

TEST_F(DeploymentManagerTest, ServerErrorOnHotloadIsRetryableApiError) {
  transport_.expect("POST", kHotload, 503, "overloaded");
  const ApiError e = api_error_of([&] {
    mgr_.hotload("d1", "m", HotloadRequest{"s1", true, std::nullopt});
  });
  EXPECT_EQ(e.status(), 503);
  EXPECT_TRUE(e.retryable());
}

// Hazard 6 (docs/SPEC.md section 3): the retry layer may resubmit a hotload POST after a 5xx; it
// must be byte-identical (same identity, same metadata) so the server treats it as the same load.
TEST(DeploymentManagerHotloadRetry, PostRetriedAfter503ResendsTheIdenticalIdentityAndBody) {
  ScriptedTransport inner;
  ManualClock clock;
  inner.expect("POST", kHotload, 503, "busy").expect("POST", kHotload, 200, "{}");
  RetryingTransport retrying(inner, clock);
  DeploymentManager mgr(retrying, clock, options());
  const HotloadRequest request{"step-2-0123abcd", true,
                               IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"}};
  mgr.hotload("d1", "m", request);
  ASSERT_EQ(inner.requests().size(), 2u);
  EXPECT_EQ(inner.request(0).body, inner.request(1).body);
  EXPECT_EQ(inner.request(0).headers, inner.request(1).headers);
  EXPECT_EQ(decode_hotload_request(inner.request(1).body), request);
}

// ---- hotload status ----

TEST_F(DeploymentManagerTest, HotloadStatusSendsTheHotloadHeadersAndParsesReplicas) {
  const HotloadStatus expected{
      {replica("r0", "s1", true), replica("r1", "s0", false, "loading", "s1")}};
  transport_.expect("GET", kHotload, 200, encode(expected));
  EXPECT_EQ(mgr_.hotload_status("d1", "m"), expected);
  EXPECT_EQ(header_value(transport_.request(0).headers, "fireworks-model"), "m");
  EXPECT_EQ(header_value(transport_.request(0).headers, "fireworks-deployment"),
            "accounts/acme/deployments/d1");
}

TEST_F(DeploymentManagerTest, StatusWithoutReplicasListIsApiErrorNamingIt) {
  transport_.expect("GET", kHotload, 200, R"({"status":"ok"})");
  const ApiError e = api_error_of([&] { mgr_.hotload_status("d1", "m"); });
  EXPECT_NE(std::string(e.what()).find("replicas"), std::string::npos) << e.what();
  EXPECT_EQ(e.body(), R"({"status":"ok"})");
}

TEST_F(DeploymentManagerTest, StatusWithWrongTypesIsApiErrorNamingTheField) {
  transport_.expect("GET", kHotload, 200, R"({"replicas":[{"readiness":"true"}]})");
  const ApiError e = api_error_of([&] { mgr_.hotload_status("d1", "m"); });
  EXPECT_NE(std::string(e.what()).find("readiness"), std::string::npos) << e.what();
}

TEST_F(DeploymentManagerTest, StatusThatIsNotJsonIsApiError) {
  transport_.expect("GET", kHotload, 200, "<html>502 Bad Gateway</html>");
  EXPECT_THROW(mgr_.hotload_status("d1", "m"), ApiError);
}

// ---- wait_for_hotload ----

TEST_F(DeploymentManagerTest, WaitReturnsWhenEveryReplicaServesTheIdentityPollingAtTheInterval) {
  transport_
      .expect("GET", kHotload, 200, status_body({replica("r0", "s0", false, "pending", "s1")}))
      .expect("GET", kHotload, 200, status_body({replica("r0", "s0", false, "downloading", "s1")}))
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true, "done", "s1")}));
  const HotloadStatus status = mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(status.replicas.at(0).current_snapshot_identity, "s1");
  EXPECT_EQ(clock_.now(), seconds(4));  // two waits of hotload_poll_interval (2 s)
}

// Hazard 5 (docs/SPEC.md section 3): the reference only read replicas[0].
TEST_F(DeploymentManagerTest, OneLaggingReplicaKeepsTheWaitGoing) {
  transport_
      .expect("GET", kHotload, 200,
              status_body({replica("r0", "s1", true), replica("r1", "s0", false, "loading", "s1")}),
              2)
      .expect("GET", kHotload, 200,
              status_body({replica("r0", "s1", true), replica("r1", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(DeploymentManagerTest, ReadyReplicaServingAnotherSnapshotIsNotDone) {
  transport_.expect("GET", kHotload, 200, status_body({replica("r0", "s0", true, "idle")}))
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(DeploymentManagerTest, ErrorStageForOurTargetFailsAtOnce) {
  transport_.expect("GET", kHotload, 200, status_body({replica("r0", "s0", true, "error", "s1")}));
  try {
    mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
    FAIL() << "expected HotloadFailed";
  } catch (const HotloadTimeout&) {
    FAIL() << "an error stage is a failure, not a timeout";
  } catch (const HotloadFailed& e) {
    EXPECT_NE(std::string(e.what()).find("s1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(clock_.now(), Duration::zero());
}

// Hazard 5: an error on the second replica fails the hotload even though the first is fine.
TEST_F(DeploymentManagerTest, ErrorOnTheSecondReplicaFailsTheHotload) {
  transport_.expect(
      "GET", kHotload, 200,
      status_body({replica("r0", "s1", true), replica("r1", "s0", true, "error", "s1")}));
  EXPECT_THROW(mgr_.wait_for_hotload("d1", "m", "s1", seconds(60)), HotloadFailed);
}

TEST_F(DeploymentManagerTest, StaleErrorAboutAnotherTargetIsWaitedOut) {
  transport_.expect("GET", kHotload, 200, status_body({replica("r0", "s0", true, "error", "old")}))
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(DeploymentManagerTest, EmptyReplicaListIsWaitedOut) {
  transport_.expect("GET", kHotload, 200, status_body({}), 2)
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(DeploymentManagerTest, TransientPollFailuresAreWaitedOut) {
  transport_.expect("GET", kHotload, 503, "busy")
      .expect_transport_error("GET", kHotload, "connection reset")
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(DeploymentManagerTest, PermanentPollFailureIsRaisedAtOnce) {
  transport_.expect("GET", kHotload, 401, encode_error(401, "unknown API key"));
  const ApiError e = api_error_of([&] { mgr_.wait_for_hotload("d1", "m", "s1", seconds(60)); });
  EXPECT_EQ(e.status(), 401);
}

TEST_F(DeploymentManagerTest, UnknownDeploymentDuringWaitFailsAtOnceNotAtTheTimeout) {
  transport_.expect("GET", kHotload, 404, encode_error(404, "deployment d1 not found"));
  const ApiError e = api_error_of([&] { mgr_.wait_for_hotload("d1", "m", "s1", seconds(600)); });
  EXPECT_EQ(e.status(), 404);
  EXPECT_EQ(clock_.now(), Duration::zero());
}

TEST_F(DeploymentManagerTest, UnknownDeploymentWhileWaitingForReadyFailsAtOnce) {
  transport_.expect("GET", kHotload, 404, encode_error(404, "deployment d1 not found"));
  const ApiError e =
      api_error_of([&] { mgr_.wait_for_hotload_ready("d1", "m", seconds(300), seconds(5)); });
  EXPECT_EQ(e.status(), 404);
  EXPECT_EQ(clock_.now(), Duration::zero());
}

TEST_F(DeploymentManagerTest, MalformedStatusDuringWaitIsApiErrorNotAHang) {
  transport_.expect("GET", kHotload, 200, "[]");
  EXPECT_THROW(mgr_.wait_for_hotload("d1", "m", "s1", seconds(60)), ApiError);
}

TEST_F(DeploymentManagerTest, TimeoutNamesExpectedServedStageAndReadiness) {
  transport_.expect_always(
      "GET", kHotload, 200,
      status_body({replica("r0", "step-1-0123abcd", false, "downloading", "step-2-0123abcd")}));
  try {
    mgr_.wait_for_hotload("d1", "m", "step-2-0123abcd", seconds(10));
    FAIL() << "expected HotloadTimeout";
  } catch (const HotloadTimeout& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step-2-0123abcd"), std::string::npos) << message;
    EXPECT_NE(message.find("step-1-0123abcd"), std::string::npos) << message;
    EXPECT_NE(message.find("downloading"), std::string::npos) << message;
    EXPECT_NE(message.find("readiness false"), std::string::npos) << message;
  }
  EXPECT_EQ(clock_.now(), seconds(10));
  EXPECT_EQ(transport_.requests().size(), 6u);  // at 0, 2, 4, 6, 8 and 10 s
}

TEST_F(DeploymentManagerTest, WaitNeverSleepsPastTheTimeout) {
  transport_.expect_always("GET", kHotload, 200,
                           status_body({replica("r0", "s0", false, "loading", "s1")}));
  EXPECT_THROW(mgr_.wait_for_hotload("d1", "m", "s1", seconds(5)), HotloadTimeout);
  EXPECT_EQ(clock_.now(), seconds(5));  // polls at 0, 2, 4 and 5 s
}

TEST_F(DeploymentManagerTest, TooEarlyDuringASyncTransitionIsWaitedOut) {
  transport_.expect("GET", kHotload, 425, encode_error(425, "loading, try later"))
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  mgr_.wait_for_hotload("d1", "m", "s1", seconds(60));
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(DeploymentManagerTest, HotloadAndWaitPostsThenPolls) {
  transport_.expect("POST", kHotload, 200, "{}")
      .expect("GET", kHotload, 200, status_body({replica("r0", "s1", true)}));
  const HotloadStatus status =
      mgr_.hotload_and_wait("d1", "m", HotloadRequest{"s1", true, std::nullopt}, seconds(30));
  EXPECT_EQ(status.replicas.size(), 1u);
}

// A replica that restarted mid-load sits idle without the snapshot; after two such polls the
// same request is resubmitted, which the deployment treats as the same load.
TEST_F(DeploymentManagerTest, HotloadAndWaitResubmitsWhenAReplicaRestartedMidLoad) {
  const std::string idle =
      status_body({replica("r0", "s1", true), replica("r1", "", true, "idle")});
  transport_.expect("POST", kHotload, 200, "{}")
      .expect("GET", kHotload, 200, idle)
      .expect("GET", kHotload, 200, idle)
      .expect("POST", kHotload, 200, "{}")
      .expect("GET", kHotload, 200,
              status_body({replica("r0", "s1", true), replica("r1", "", false, "loading", "s1")}))
      .expect("GET", kHotload, 200,
              status_body({replica("r0", "s1", true), replica("r1", "s1", true)}));
  const HotloadRequest request{"s1", true, std::nullopt};
  mgr_.hotload_and_wait("d1", "m", request, seconds(60));
  ASSERT_EQ(transport_.requests().size(), 6u);
  EXPECT_EQ(transport_.requests()[3].body, transport_.requests()[0].body);
  EXPECT_TRUE(log_.contains(LogLevel::warning, "resubmitting"));
}

TEST_F(DeploymentManagerTest, WaitForHotloadAloneNeverResubmits) {
  const std::string idle = status_body({replica("r0", "", true, "idle")});
  transport_.expect("GET", kHotload, 200, idle, 4);
  EXPECT_THROW(mgr_.wait_for_hotload("d1", "m", "s1", seconds(6)), HotloadTimeout);
  for (const auto& r : transport_.requests()) EXPECT_EQ(r.method, "GET");
}

// ---- wait_for_hotload_ready ----

TEST_F(DeploymentManagerTest, HotloadReadyWaitsForTheManagerToReportReplicas) {
  transport_.expect("GET", kHotload, 503, encode_error(503, "hotload manager not started"))
      .expect("GET", kHotload, 200, status_body({}))
      .expect("GET", kHotload, 200, status_body({replica("r0", "", true, "idle")}));
  const HotloadStatus status = mgr_.wait_for_hotload_ready("d1", "m", seconds(60), seconds(5));
  EXPECT_EQ(status.replicas.size(), 1u);
  EXPECT_EQ(clock_.now(), seconds(10));
}

TEST_F(DeploymentManagerTest, HotloadReadyWaitsOutServerAndConnectionErrors) {
  transport_.expect("GET", kHotload, 503, "starting")
      .expect_transport_error("GET", kHotload, "connection refused")
      .expect("GET", kHotload, 200, status_body({replica("r0", "", true, "idle")}));
  EXPECT_EQ(mgr_.wait_for_hotload_ready("d1", "m", seconds(60), seconds(5)).replicas.size(), 1u);
}

TEST_F(DeploymentManagerTest, HotloadReadyRaisesPermanentErrorsAtOnce) {
  transport_.expect("GET", kHotload, 403, encode_error(403, "forbidden"));
  EXPECT_EQ(api_error_of([&] {
              mgr_.wait_for_hotload_ready("d1", "m", seconds(60), seconds(5));
            }).status(),
            403);
  EXPECT_EQ(clock_.now(), Duration::zero());
}

TEST_F(DeploymentManagerTest, HotloadReadyTimesOut) {
  transport_.expect_always("GET", kHotload, 200, status_body({}));
  EXPECT_THROW(mgr_.wait_for_hotload_ready("d1", "m", seconds(20), seconds(5)), Timeout);
  EXPECT_EQ(clock_.now(), seconds(20));
}

TEST_F(DeploymentManagerTest, HotloadReadyRejectsANonPositivePollInterval) {
  EXPECT_THROW(mgr_.wait_for_hotload_ready("d1", "m", seconds(20), Duration::zero()),
               InvalidArgument);
}

// ---- warmup ----

TEST_F(DeploymentManagerTest, WarmupRetriesUntil200OnTheClock) {
  transport_.expect("POST", kCompletions, 503, encode_error(503, "loading"), 2)
      .expect("POST", kCompletions, 200, R"({"choices":[]})");
  const WarmupResult result = mgr_.warmup("d1", 10);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.last_status, 200);
  EXPECT_EQ(clock_.now(), seconds(20));  // two waits of warmup_retry_interval (10 s)
  EXPECT_EQ(json::parse(transport_.request(0).body),
            json::parse(R"({"model":"accounts/acme/deployments/d1","prompt":[1,2,3,4],)"
                        R"("max_tokens":1,"temperature":0.0})"));
}

TEST_F(DeploymentManagerTest, WarmupGivesUpAfterMaxRetriesPlusOneWithoutThrowing) {
  transport_.expect("POST", kCompletions, 503, encode_error(503, "still loading"), 3);
  const WarmupResult result = mgr_.warmup("d1", 2);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.last_status, 503);
  EXPECT_EQ(result.last_error, "still loading");
}

TEST_F(DeploymentManagerTest, WarmupReportsTransportErrorsAsStatusZero) {
  transport_.expect_transport_error("POST", kCompletions, "connection refused");
  const WarmupResult result = mgr_.warmup("d1", 0);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.last_status, 0);
  EXPECT_NE(result.last_error.find("connection refused"), std::string::npos);
}

// ---- lifecycle ----

TEST_F(DeploymentManagerTest, CreatePostsTheConfigToTheAccountsDeployments) {
  transport_.expect("POST", "/v1/accounts/acme/deployments?deploymentId=d1", 200,
                    deployment_body("CREATING"));
  DeploymentConfig config;
  config.base_model = "m";
  config.hot_load_trainer_job = "accounts/acme/rlorTrainerJobs/t1";
  const Deployment d = mgr_.create_or_get_deployment("d1", config);
  EXPECT_EQ(d.state, "CREATING");
  EXPECT_EQ(d.name, "accounts/acme/deployments/d1");
  EXPECT_EQ(json::parse(transport_.request(0).body), json::parse(encode(config)));
}

TEST_F(DeploymentManagerTest, CreateConflictGetsTheExistingDeployment) {
  transport_
      .expect("POST", "/v1/accounts/acme/deployments?deploymentId=d1", 409,
              encode_error(409, "exists"))
      .expect("GET", kDeploymentPath, 200, deployment_body("READY"));
  EXPECT_EQ(mgr_.create_or_get_deployment("d1", DeploymentConfig{}).state, "READY");
}

TEST_F(DeploymentManagerTest, CreateRejectedIsApiError) {
  transport_.expect("POST", "/v1/accounts/acme/deployments?deploymentId=d1", 400,
                    encode_error(400, "baseModel is required"));
  EXPECT_EQ(api_error_of([&] { mgr_.create_or_get_deployment("d1", DeploymentConfig{}); }).status(),
            400);
}

TEST_F(DeploymentManagerTest, GetDecodesTheDeployment) {
  transport_.expect("GET", kDeploymentPath, 200, deployment_body("READY"));
  const Deployment d = mgr_.get_deployment("d1");
  EXPECT_EQ(d.hot_load_trainer_job, "accounts/acme/rlorTrainerJobs/t1");
  EXPECT_EQ(d.base_model, "m");
}

TEST_F(DeploymentManagerTest, GetOfAMissingDeploymentIsApiError404) {
  transport_.expect("GET", kDeploymentPath, 404, encode_error(404, "not found"));
  EXPECT_EQ(api_error_of([&] { mgr_.get_deployment("d1"); }).status(), 404);
}

TEST_F(DeploymentManagerTest, GetWithMalformedBodyIsApiError) {
  transport_.expect("GET", kDeploymentPath, 200, R"({"name":"accounts/acme/deployments/d1"})");
  const ApiError e = api_error_of([&] { mgr_.get_deployment("d1"); });
  EXPECT_NE(std::string(e.what()).find("state"), std::string::npos) << e.what();
}

TEST_F(DeploymentManagerTest, WaitForDeploymentReadyPollsUntilReady) {
  transport_.expect("GET", kDeploymentPath, 200, deployment_body("CREATING"), 2)
      .expect("GET", kDeploymentPath, 200, deployment_body("READY"));
  EXPECT_EQ(mgr_.wait_for_deployment_ready("d1", seconds(60)).state, "READY");
  EXPECT_EQ(clock_.now(), seconds(10));  // two waits of deployment_poll_interval (5 s)
}

TEST_F(DeploymentManagerTest, WaitForDeploymentReadyFailsOnFailedStateWithItsOwnError) {
  transport_.expect("GET", kDeploymentPath, 200, deployment_body("FAILED"));
  try {
    mgr_.wait_for_deployment_ready("d1", seconds(60));
    FAIL() << "expected DeploymentFailed";
  } catch (const DeploymentFailed& e) {
    EXPECT_NE(std::string(e.what()).find("FAILED"), std::string::npos) << e.what();
    EXPECT_EQ(e.remedy(), Remedy::stop);
  }
  EXPECT_EQ(clock_.now(), Duration::zero());
}

TEST_F(DeploymentManagerTest, WaitForDeploymentReadyTimesOutNamingTheState) {
  transport_.expect_always("GET", kDeploymentPath, 200, deployment_body("CREATING"));
  try {
    mgr_.wait_for_deployment_ready("d1", seconds(10));
    FAIL() << "expected Timeout";
  } catch (const Timeout& e) {
    EXPECT_NE(std::string(e.what()).find("CREATING"), std::string::npos) << e.what();
  }
  EXPECT_EQ(clock_.now(), seconds(10));
}

// As the hotload waits do: the caller's timeout bounds the wait, whatever the poll interval.
TEST_F(DeploymentManagerTest, WaitForDeploymentReadyNeverSleepsPastTheTimeout) {
  transport_.expect_always("GET", kDeploymentPath, 200, deployment_body("CREATING"));
  EXPECT_THROW(mgr_.wait_for_deployment_ready("d1", seconds(12)), Timeout);
  EXPECT_EQ(clock_.now(), seconds(12));  // polls at 0, 5, 10 and 12 s, not 15
}

// The ServiceClient waits with its own poll interval through this same call.
TEST_F(DeploymentManagerTest, WaitForDeploymentReadyTakesTheCallersPollInterval) {
  transport_.expect("GET", kDeploymentPath, 200, deployment_body("CREATING"), 2)
      .expect("GET", kDeploymentPath, 200, deployment_body("READY"));
  EXPECT_EQ(mgr_.wait_for_deployment_ready("d1", seconds(60), seconds(2)).state, "READY");
  EXPECT_EQ(clock_.now(), seconds(4));
  EXPECT_THROW(mgr_.wait_for_deployment_ready("d1", seconds(60), Duration::zero()),
               InvalidArgument);
}

TEST_F(DeploymentManagerTest, UpdatePatchesWithTheUpdateMaskQuery) {
  transport_.expect(
      "PATCH", std::string(kDeploymentPath) + "?updateMask=hot_load_transition_type,max_replica_count",
      200, deployment_body("READY"));
  DeploymentUpdate update;
  update.hot_load_transition_type = "SYNC";
  update.max_replica_count = 3;
  mgr_.update_deployment("d1", update);
  EXPECT_EQ(json::parse(transport_.request(0).body),
            json::parse(R"({"hotLoadTransitionType":"SYNC","maxReplicaCount":3})"));
}

TEST_F(DeploymentManagerTest, EmptyUpdateIsRejectedWithoutARequest) {
  EXPECT_THROW(mgr_.update_deployment("d1", DeploymentUpdate{}), InvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(DeploymentManagerTest, ReattachTrainerPatchesHotLoadTrainerJob) {
  transport_.expect("PATCH", std::string(kDeploymentPath) + "?updateMask=hot_load_trainer_job", 200,
                    deployment_body("READY"));
  mgr_.reattach_trainer("d1", "accounts/acme/rlorTrainerJobs/t2");
  EXPECT_TRUE(log_.contains(LogLevel::warning, "reset"));
  EXPECT_EQ(json::parse(transport_.request(0).body),
            json::parse(R"({"hotLoadTrainerJob":"accounts/acme/rlorTrainerJobs/t2"})"));
}

TEST_F(DeploymentManagerTest, DeleteAndLedgerResetUseDelete) {
  transport_.expect("DELETE", std::string(kDeploymentPath) + "/ledger", 200, "{}")
      .expect("DELETE", std::string(kDeploymentPath) + "?ignoreChecks=true&hard=true", 200, "{}");
  mgr_.reset_ledger("d1");
  mgr_.delete_deployment("d1");
  EXPECT_TRUE(transport_.finished());
}

TEST_F(DeploymentManagerTest, DeleteFailureIsApiError) {
  transport_.expect("DELETE", std::string(kDeploymentPath) + "?ignoreChecks=true&hard=true", 403,
                    encode_error(403, "forbidden"));
  EXPECT_EQ(api_error_of([&] { mgr_.delete_deployment("d1"); }).status(), 403);
}

TEST_F(DeploymentManagerTest, ClockAccessorReturnsTheInjectedClock) {
  EXPECT_EQ(&mgr_.clock(), &clock_);
}

}  // namespace
}  // namespace weightsync
