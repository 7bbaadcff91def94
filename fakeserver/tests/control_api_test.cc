// The control API (/_fake/v1/...) and /metrics through the router, and the transport faults of
// a fault plan acted out on real sockets by FakeServer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_test_support.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/transport_faults.h"

namespace weightsync::fake {
namespace {

using namespace testing;
using nlohmann::json;

class ControlApi : public ::testing::Test, public CloudFixture {
 protected:
  json call(const std::string& method, const std::string& path, const std::string& body = "",
            int expected = 200, const std::string& key = kKey) {
    const HttpResponse r = cloud.handle(request(method, path, body, key));
    EXPECT_EQ(r.status, expected) << method << " " << path << ": " << r.body;
    return r.status == 200 && r.body.front() == '{' ? json::parse(r.body) : json{{"raw", r.body}};
  }
  void expect_error(const std::string& method, const std::string& path, const std::string& body,
                    int status, const std::string& text, const std::string& key = kKey) {
    const HttpResponse r = cloud.handle(request(method, path, body, key));
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(error_message(r.body).find(text), std::string::npos)
        << "expected '" << text << "' in " << r.body;
  }
};

constexpr const char* kTrainers = "/_fake/v1/accounts/acme/trainers";

TEST_F(ControlApi, TrainerCreateStepSaveAndListSnapshots) {
  const json created = call("POST", kTrainers, R"({"trainerId":"py","modelParams":2048})");
  EXPECT_EQ(created["name"], "accounts/acme/rlorTrainerJobs/py");
  EXPECT_EQ(created["bucketUrl"], "gs://fake-bucket/acme/rlorTrainerJobs/py");
  const std::string session = created["sessionId"];
  EXPECT_EQ(session.size(), 8u);
  const json stepped = call("POST", std::string(kTrainers) + "/py:step", R"({"steps":2})");
  EXPECT_EQ(stepped["step"], 2);
  FakeTrainingClient& t = cloud.trainer("accounts/acme/rlorTrainerJobs/py");
  EXPECT_EQ(stepped["checksum"], t.checksum());
  const json base =
      call("POST", std::string(kTrainers) + "/py:saveWeightsForSampler", R"({"name":"a"})");
  EXPECT_EQ(base["snapshotName"], "a-" + session);
  EXPECT_EQ(base["checkpointType"], "base");
  EXPECT_EQ(base["promotable"], true);
  EXPECT_EQ(base["checksum"], t.checksum());
  EXPECT_EQ(base["bytes"], 4096);
  call("POST", std::string(kTrainers) + "/py:step");
  const json delta = call("POST", std::string(kTrainers) + "/py:saveWeightsForSampler",
                          R"({"name":"b","checkpointType":"DELTA"})");
  EXPECT_EQ(delta["checkpointType"], "delta");
  EXPECT_EQ(delta["promotable"], false);
  EXPECT_EQ(delta["parent"], "a-" + session);
  const json listed = call("GET", std::string(kTrainers) + "/py/snapshots");
  ASSERT_EQ(listed["snapshots"].size(), 2u);
  EXPECT_EQ(listed["live"], true);
  EXPECT_EQ(listed["snapshots"][0]["name"], "a-" + session);
  EXPECT_EQ(listed["snapshots"][1]["kind"], "delta");
  EXPECT_EQ(listed["snapshots"][1]["checksum"], t.checksum());
  EXPECT_EQ(listed["snapshots"][0]["verified"], true);
  EXPECT_EQ(listed["snapshots"][1]["verified"], true);
}

TEST_F(ControlApi, SaveStateAndResumeStartANewSession) {
  call("POST", kTrainers, R"({"trainerId":"py","modelParams":1024})");
  call("POST", std::string(kTrainers) + "/py:step");
  const json saved = call("POST", std::string(kTrainers) + "/py:saveState", R"({"name":"c1"})");
  const json before = call("POST", std::string(kTrainers) + "/py:step");
  FakeTrainingClient& t = cloud.trainer("accounts/acme/rlorTrainerJobs/py");
  const std::string old_session = t.session_id();
  const json resumed = call("POST", std::string(kTrainers) + "/py:resume",
                            json{{"name", saved["checkpointName"]}}.dump());
  EXPECT_EQ(resumed["step"], 1);
  EXPECT_NE(resumed["checksum"], before["checksum"]);
  EXPECT_NE(resumed["sessionId"], old_session);
  EXPECT_EQ(resumed["sessionId"], t.session_id());
  expect_error("POST", std::string(kTrainers) + "/py:resume", R"({"name":"nope"})", 404,
               "no checkpoint 'nope'");
}

TEST_F(ControlApi, BadTrainerRequestsAreRefusedAndNameTheField) {
  expect_error("POST", kTrainers, R"({"trainerId":"py"})", 401, "unknown API key", "bad-key");
  expect_error("POST", "/_fake/v1/accounts/rival/trainers", R"({"trainerId":"py"})", 404,
               "account rival not found");
  expect_error("POST", kTrainers, R"({"modelParams":10})", 400, "trainerId: missing");
  expect_error("POST", kTrainers, R"({"trainerId":"py","modelParams":0})", 400,
               "modelParams: expected an integer in [1, 16777216], got 0");
  expect_error("POST", kTrainers, R"({"trainerId":"py","colour":1})", 400, "colour: unknown field");
  expect_error("POST", kTrainers, "not json", 400, "request body: expected a JSON document");
  expect_error("POST", kTrainers, R"({"trainerId":"Bad_Id"})", 400, "trainer id");
  call("POST", kTrainers, R"({"trainerId":"py","modelParams":64})");
  expect_error("POST", kTrainers, R"({"trainerId":"py"})", 409, "already exists");
  expect_error("POST", std::string(kTrainers) + "/py:saveWeightsForSampler",
               R"({"name":"x","checkpointType":"delta"})", 409, "save a base first");
  expect_error("POST", std::string(kTrainers) + "/py:saveWeightsForSampler", R"({"name":"x/y"})",
               400, "'/'");
  expect_error("POST", std::string(kTrainers) + "/py:saveWeightsForSampler",
               R"({"name":"x","checkpointType":"full"})", 400, "checkpointType:");
  expect_error("POST", std::string(kTrainers) + "/py:fly", "", 404, "no trainer method 'fly'");
  expect_error("POST", std::string(kTrainers) + "/zz:step", "", 404, "not found");
  expect_error("GET", std::string(kTrainers) + "/py:step", "", 405, "expected POST");
  EXPECT_TRUE(cloud.trainer("accounts/acme/rlorTrainerJobs/py").snapshots().empty());
}

TEST_F(ControlApi, ReplicasViewShowsWhatEachReplicaServes) {
  make_ready_deployment("d");
  const auto saved = trainer->save_weights_for_sampler("s", CheckpointKind::base);
  ASSERT_EQ(post_hotload("d", full_hotload(saved.snapshot_name)).status, 200);
  clock.advance(seconds(5));
  const json view = call("GET", "/_fake/v1/accounts/acme/deployments/d/replicas");
  ASSERT_EQ(view["replicas"].size(), 1u);
  EXPECT_EQ(view["replicas"][0]["servedIdentity"], saved.snapshot_name);
  EXPECT_EQ(view["replicas"][0]["servedChecksum"], trainer->checksum());
  EXPECT_EQ(view["replicas"][0]["stage"], "done");
  EXPECT_EQ(view["replicas"][0]["ready"], true);
  EXPECT_EQ(view["replicas"][0]["promptCacheEntries"], 0);
  expect_error("GET", "/_fake/v1/accounts/acme/deployments/d/replicas", "", 404, "not found",
               kOtherKey);
}

TEST_F(ControlApi, FaultPlanInstallLogAndRemove) {
  make_ready_deployment("d");
  expect_error("PUT", "/_fake/v1/faults", R"({"faults":[{"fault":"load_error"}]})", 400,
               "faults[0]: expected exactly one trigger");
  const json installed =
      call("PUT", "/_fake/v1/faults",
           R"({"seed":3,"faults":[{"fault":"hotload_rejected","count":1,"status":409}]})");
  EXPECT_EQ(installed["faults"], 1);
  EXPECT_EQ(installed["seed"], 3);
  const auto saved = trainer->save_weights_for_sampler("s", CheckpointKind::base);
  EXPECT_EQ(post_hotload("d", full_hotload(saved.snapshot_name)).status, 409);
  const json log = call("GET", "/_fake/v1/faults/log");
  ASSERT_EQ(log["events"].size(), 1u);
  EXPECT_EQ(log["events"][0]["fault"], "hotload_rejected");
  EXPECT_EQ(log["events"][0]["trigger"], "scripted");
  EXPECT_EQ(log["active"], true);
  const HttpResponse text = cloud.handle(request("GET", "/_fake/v1/faults/log?format=text"));
  EXPECT_NE(text.body.find("#1 t=0.000s hotload_rejected scripted faults[0]"), std::string::npos)
      << text.body;
  call("DELETE", "/_fake/v1/faults");
  EXPECT_EQ(post_hotload("d", full_hotload(saved.snapshot_name)).status, 200);
  EXPECT_EQ(call("GET", "/_fake/v1/faults/log")["active"], false);
  expect_error("PUT", "/_fake/v1/faults", "{}", 401, "unknown API key", "bad-key");
}

TEST_F(ControlApi, MetricsCountRequestsHotloadsBytesAndFaults) {
  make_ready_deployment("d");
  call("PUT", "/_fake/v1/faults", R"({"faults":[{"fault":"load_error","count":1}]})");
  const auto a = trainer->save_weights_for_sampler("a", CheckpointKind::base);
  post_hotload("d", full_hotload(a.snapshot_name));
  clock.advance(seconds(5));
  cloud.replicas(kAccount, "d");
  post_hotload("d", full_hotload(a.snapshot_name));
  clock.advance(seconds(5));
  cloud.replicas(kAccount, "d");
  const HttpResponse r = cloud.handle(request("GET", "/metrics"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(header_value(r.headers, "Content-Type"), "text/plain; version=0.0.4");
  const std::string& m = r.body;
  for (const std::string line : {"# TYPE weightsync_fake_requests_total counter",
                                 "weightsync_fake_requests_total{route=\"POST "
                                 "/hot_load/v1/models/hot_load\",status=\"200\"} "
                                 "2",
                                 "weightsync_fake_hotloads_total{outcome=\"done\"} 1",
                                 "weightsync_fake_hotloads_total{outcome=\"error\"} 1",
                                 "weightsync_fake_hotloads_total{outcome=\"rejected\"} 0",
                                 "weightsync_fake_bytes_loaded_total 8192",
                                 "weightsync_fake_faults_fired_total{fault=\"load_error\"} 1"}) {
    EXPECT_NE(m.find(line + "\n"), std::string::npos) << "missing '" << line << "' in\n" << m;
  }
  // The requests through handle() before this one (the fault plan and two hotloads) took the
  // lock, each counted with its wait and hold time.
  EXPECT_NE(m.find("\nweightsync_fake_lock_acquisitions_total 3\n"), std::string::npos) << m;
  for (const std::string family :
       {"weightsync_fake_lock_wait_seconds_total ", "weightsync_fake_lock_held_seconds_total "}) {
    const auto at = m.find("\n" + family);
    ASSERT_NE(at, std::string::npos) << "missing " << family << "in\n" << m;
    EXPECT_GE(std::stod(m.substr(at + 1 + family.size())), 0.0);
  }
  expect_error("GET", "/metrics", "", 401, "unknown API key", "bad-key");
}

TEST_F(ControlApi, InvalidUtf8QuotedInAnErrorStillGetsAJsonError) {
  // Found by the router fuzzer: the parser's message quotes the raw byte.
  for (const std::string& path :
       {std::string("/v1/accounts/acme/deployments?deploymentId=e"), std::string(kTrainers)}) {
    const HttpResponse r = cloud.handle(request("POST", path, "{\"enabl\xffHotLoad\":true}"));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NO_THROW(json::parse(r.body)) << r.body;
  }
  make_ready_deployment("d");
  HttpRequest h = request("GET", std::string(kHotloadPath));
  h.headers.emplace_back(std::string(kModelHeader), "m\xfe");
  h.headers.emplace_back(std::string(kDeploymentHeader), "accounts/acme/deployments/d");
  const HttpResponse r = cloud.handle(h);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NO_THROW(json::parse(r.body)) << r.body;
}

// ---- transport faults on a real socket ----

class TransportFaultsOverHttp : public ::testing::Test, public CloudFixture {
 protected:
  void SetUp() override {
    server.start();
    http = std::make_unique<HttpTransport>(
        HttpTransportOptions{server.base_url(), seconds(2), seconds(5)});
  }
  void plan(const std::string& text) { cloud.set_fault_plan(parse_fault_plan(text)); }
  FakeServer server{cloud};
  std::unique_ptr<HttpTransport> http;
};

TEST_F(TransportFaultsOverHttp, ResetClosesTheConnectionWithoutAnAnswer) {
  plan(R"({"faults":[{"fault":"connection_reset","count":1,"path":"/v1/accounts"}]})");
  EXPECT_THROW(http->exchange(request("GET", "/v1/accounts?pageSize=2")), TransportError);
  EXPECT_EQ(http->exchange(request("GET", "/v1/accounts?pageSize=2")).status, 200);
}

TEST_F(TransportFaultsOverHttp, TruncatedBodyIsATransportError) {
  plan(R"({"faults":[{"fault":"truncated_body","count":1}]})");
  EXPECT_THROW(http->exchange(request("GET", "/v1/accounts?pageSize=2")), TransportError);
  const HttpResponse r = http->exchange(request("GET", "/v1/accounts?pageSize=2"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(decode_account_list(r.body), std::vector<std::string>{kAccount});
  EXPECT_TRUE(header_value(r.headers, std::string(kFaultCutHeader)).empty());
}

TEST_F(TransportFaultsOverHttp, LatencyIsSleptOnTheCloudsClock) {
  plan(R"({"faults":[{"fault":"latency","count":1,"delaySeconds":42}]})");
  const Duration before = clock.now();
  EXPECT_EQ(http->exchange(request("GET", "/v1/accounts?pageSize=2")).status, 200);
  EXPECT_GE(clock.now() - before, seconds(42));
}

TEST_F(TransportFaultsOverHttp, TheControlApiIsNeverFaulted) {
  plan(R"({"faults":[{"fault":"connection_reset","probability":1}]})");
  EXPECT_EQ(http->exchange(request("GET", "/_fake/v1/faults/log")).status, 200);
  EXPECT_EQ(http->exchange(request("DELETE", "/_fake/v1/faults")).status, 200);
  EXPECT_EQ(http->exchange(request("GET", "/v1/accounts?pageSize=2")).status, 200);
}

}  // namespace
}  // namespace weightsync::fake
