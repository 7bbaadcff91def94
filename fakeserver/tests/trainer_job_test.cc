// Trainer jobs over the REST path the reference client's TrainerJobManager uses: create, get,
// resume, delete, the health probe, and every bad input refused without a change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_test_support.h"
#include "weightsync/fake/cloud_model.h"

namespace weightsync::fake {
namespace {

using namespace testing;
using nlohmann::json;

const std::string kJobs = std::string("/v1/accounts/") + kAccount + "/rlorTrainerJobs";

// The body TrainerJobManager._build_trainer_create_payload sends on the manual path.
std::string create_body(int lora_rank = 0) {
  return json{{"serviceMode", true},
              {"keepAlive", false},
              {"dataset", ""},
              {"trainingConfig",
               {{"baseModel", kBaseModel},
                {"loraRank", lora_rank},
                {"learningRate", 1e-5},
                {"maxContextLength", 4096}}},
              {"nodeCount", 1},
              {"displayName", "rl run"}}
      .dump();
}

std::string healthz_path(const std::string& id, const std::string& account = kAccount) {
  return "/training/v1/rlorTrainerJobs/" + account + "/" + id + "/api/v1/healthz";
}

class TrainerJobTest : public ::testing::Test, public CloudFixture {
 protected:
  json send(const HttpRequest& r, int status) {
    const HttpResponse response = cloud.handle(r);
    EXPECT_EQ(response.status, status) << r.method << " " << r.path << ": " << response.body;
    return json::parse(response.body);
  }
  json create(const std::string& id, int status = 200) {
    return send(sdk_request("POST", kJobs + "?skipValidations=true&rlorTrainerJobId=" + id,
                            create_body()),
                status);
  }
  std::string state(const std::string& id) {
    return send(sdk_request("GET", kJobs + "/" + id), 200).at("state").get<std::string>();
  }
  // The health probe as the reference sends it: both headers with the same key.
  int healthz(const std::string& id) {
    HttpRequest r = sdk_request("GET", healthz_path(id));
    r.headers.emplace_back("Authorization", std::string("Bearer ") + kKey);
    return cloud.handle(r).status;
  }
  // Expects `status` with `text` in the error message, and no job created or changed.
  void expect_rejected(const HttpRequest& r, int status, const std::string& text) {
    const std::string before = state("t1");
    const HttpResponse response = cloud.handle(r);
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_NE(error_message(response.body).find(text), std::string::npos)
        << "expected '" << text << "' in: " << response.body;
    EXPECT_EQ(state("t1"), before);
    EXPECT_FALSE(cloud.with_model(
        [](CloudModel& m) { return m.has_trainer(trainer_job_name(kAccount, "j1")); }));
  }
};

TEST_F(TrainerJobTest, CreatedJobRunsOnTheClockAndAnswersTheHealthProbe) {
  const json job = create("j1");
  EXPECT_EQ(job.at("name"), trainer_job_name(kAccount, "j1"));
  EXPECT_EQ(job.at("state"), "JOB_STATE_CREATING");
  EXPECT_EQ(job.at("displayName"), "rl run");
  EXPECT_EQ(job.at("trainingConfig").at("maxContextLength"), 4096);
  EXPECT_EQ(healthz("j1"), 503);
  clock.advance(seconds(1.9));
  EXPECT_EQ(state("j1"), "JOB_STATE_CREATING");
  clock.advance(seconds(0.1));
  EXPECT_EQ(state("j1"), "JOB_STATE_RUNNING");
  EXPECT_EQ(healthz("j1"), 200);
}

TEST_F(TrainerJobTest, ARestJobIsTheTrainerTheControlApiSteps) {
  create("j1");
  const std::string step = std::string("/_fake/v1/accounts/") + kAccount + "/trainers/j1:step";
  const HttpResponse early = cloud.handle(sdk_request("POST", step, "{}"));
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_NE(error_message(early.body).find("JOB_STATE_CREATING"), std::string::npos);
  clock.advance(seconds(2));
  EXPECT_EQ(send(sdk_request("POST", step, "{}"), 200).at("step"), 1);
  FakeTrainingClient& t = cloud.trainer(trainer_job_name(kAccount, "j1"));
  EXPECT_EQ(t.step_count(), 1);
  EXPECT_EQ(t.bucket_url(), "gs://fake-bucket/acme/rlorTrainerJobs/j1");
}

TEST_F(TrainerJobTest, DuplicateCreateIs409AndADeletedJobStaysATombstone) {
  create("j1");
  create("j1", 409);
  EXPECT_EQ(send(sdk_request("DELETE", kJobs + "/j1"), 200), json::object());
  EXPECT_EQ(state("j1"), "JOB_STATE_DELETED");
  EXPECT_EQ(healthz("j1"), 503);
  create("j1", 409);
  EXPECT_EQ(send(sdk_request("DELETE", kJobs + "/j1"), 200), json::object());
}

TEST_F(TrainerJobTest, ResumeOnlyFromFailedAndWithANewSession) {
  create("j1");
  clock.advance(seconds(2));
  const auto resume = sdk_request("POST", kJobs + "/j1:resume");
  EXPECT_NE(error_message(cloud.handle(resume).body).find("expected state JOB_STATE_FAILED"),
            std::string::npos);
  FakeTrainingClient& t = cloud.trainer(trainer_job_name(kAccount, "j1"));
  const std::string session = t.session_id();
  ASSERT_TRUE(cloud.with_model([](CloudModel& m) {
    return m.fail_trainer_job(trainer_job_name(kAccount, "j1"), "the trainer pod was preempted");
  }));
  const json failed = send(sdk_request("GET", kJobs + "/j1"), 200);
  EXPECT_EQ(failed.at("state"), "JOB_STATE_FAILED");
  EXPECT_EQ(failed.at("status").at("message"), "the trainer pod was preempted");
  EXPECT_EQ(send(resume, 200).at("state"), "JOB_STATE_CREATING");
  EXPECT_NE(t.session_id(), session);
  clock.advance(seconds(2));
  EXPECT_EQ(state("j1"), "JOB_STATE_RUNNING");
}

TEST_F(TrainerJobTest, AJobWithoutAnIdGetsOneDrawnFromTheSeed) {
  const json job = send(sdk_request("POST", kJobs, create_body()), 200);
  const std::string name = job.at("name");
  EXPECT_EQ(name.rfind(std::string("accounts/") + kAccount + "/rlorTrainerJobs/trainer-", 0), 0u)
      << name;
}

TEST_F(TrainerJobTest, HotLoadDeploymentIdWritesTheDeploymentsBucket) {
  send(sdk_request("POST", kJobs + "?deploymentId=dep&rlorTrainerJobId=j2", create_body()), 200);
  EXPECT_EQ(cloud.trainer(trainer_job_name(kAccount, "j2")).bucket_url(),
            "gs://fake-bucket/acme/deployments/dep");
}

TEST_F(TrainerJobTest, MissingJobIs404OnEveryRoute) {
  expect_rejected(sdk_request("GET", kJobs + "/nope"), 404, "not found");
  expect_rejected(sdk_request("DELETE", kJobs + "/nope"), 404, "not found");
  expect_rejected(sdk_request("POST", kJobs + "/nope:resume"), 404, "not found");
  expect_rejected(sdk_request("GET", healthz_path("nope")), 404, "not found");
}

TEST_F(TrainerJobTest, AnotherAccountsJobIs404) {
  cloud.create_trainer(kOtherAccount, "secret", small_trainer());
  const std::string theirs = std::string("/v1/accounts/") + kOtherAccount + "/rlorTrainerJobs";
  expect_rejected(sdk_request("GET", theirs + "/secret"), 404, "not found");
  expect_rejected(sdk_request("DELETE", theirs + "/secret"), 404, "not found");
  expect_rejected(sdk_request("GET", healthz_path("secret", kOtherAccount)), 404, "not found");
  expect_rejected(sdk_request("POST", theirs + "?rlorTrainerJobId=j1", create_body()), 404,
                  "not found");
  EXPECT_EQ(cloud.with_model([](CloudModel& m) {
    return std::string(m.trainer_job(kOtherAccount, kOtherAccount, "secret").state(m.now()));
  }),
            "JOB_STATE_RUNNING");
}

TEST_F(TrainerJobTest, BadCreateBodiesAre400NamingTheField) {
  const std::string path = kJobs + "?rlorTrainerJobId=j1";
  expect_rejected(sdk_request("POST", path, "{not json"), 400, "expected a JSON document");
  expect_rejected(sdk_request("POST", path, "[1]"), 400, "expected a JSON object");
  expect_rejected(sdk_request("POST", path, R"({"serviceMode": true})"), 400,
                  "trainingConfig: missing");
  expect_rejected(
      sdk_request("POST", path, R"({"trainingConfig": {"baseModel": "m", "loraRank": "8"}})"), 400,
      "trainingConfig.loraRank: expected an integer");
  expect_rejected(sdk_request("POST", path, R"({"trainingConfig": {}})"), 400,
                  "trainingConfig.baseModel: missing");
  expect_rejected(
      sdk_request("POST", path, R"({"trainingConfig": {"baseModel": "m"}, "epochs": 3})"), 400,
      "epochs: unknown field");
  expect_rejected(
      sdk_request("POST", path, R"({"trainingConfig": {"baseModel": "m", "batch": 3}})"), 400,
      "trainingConfig.batch: unknown field");
  expect_rejected(sdk_request("POST", path,
                              R"({"trainingConfig": {"baseModel": "m"}, "serviceMode": "yes"})"),
                  400, "serviceMode: expected true or false");
  expect_rejected(sdk_request("POST", path,
                              R"({"trainingConfig": {"baseModel": "m"},
                                  "inactivityTimeout": "30m"})"),
                  400, "inactivityTimeout: expected a duration");
  expect_rejected(sdk_request("POST", path,
                              R"({"trainingConfig": {"baseModel": "m", "extraArgs": [1]}})"),
                  400, "trainingConfig.extraArgs[0]: expected a string");
}

TEST_F(TrainerJobTest, InactivityTimeoutTakesTheApisDurationText) {
  int id = 0;
  const auto body = [](const std::string& timeout) {
    json b = json::parse(create_body());
    b["inactivityTimeout"] = timeout;
    return b.dump();
  };
  for (const std::string good : {"1800s", "0.5s", "1.000000001s"}) {
    const std::string path = kJobs + "?rlorTrainerJobId=ok" + std::to_string(++id);
    send(sdk_request("POST", path, body(good)), 200);
  }
  for (const std::string bad : {"s", "1.s", ".5s", "30m", "1800", "1.0000000001s", "-1s", "1e3s"}) {
    expect_rejected(sdk_request("POST", kJobs + "?rlorTrainerJobId=bad", body(bad)), 400,
                    "inactivityTimeout: expected a duration");
  }
}

TEST_F(TrainerJobTest, BadQueriesAndMethodsAreRefused) {
  expect_rejected(sdk_request("POST", kJobs + "?rlorTrainerJobId=J_1", create_body()), 400,
                  "rlorTrainerJobId: expected 1-63 lowercase");
  expect_rejected(sdk_request("POST", kJobs + "?rlorTrainerJobId=j1&dryRun=true", create_body()),
                  400, "query parameter 'dryRun': unknown");
  expect_rejected(
      sdk_request("POST", kJobs + "?rlorTrainerJobId=j1&skipValidations=yes", create_body()), 400,
      "skipValidations: expected true or false");
  expect_rejected(sdk_request("POST", kJobs + "/t1:pause"), 404, "expected ':resume'");
  expect_rejected(sdk_request("PATCH", kJobs + "/t1", "{}"), 405, "expected GET, DELETE");
  expect_rejected(sdk_request("POST", kJobs + "/t1:resume", R"({"force": true})"), 400,
                  "expected an empty body");
}

// ---- authentication as the real service takes it ----

TEST_F(TrainerJobTest, TheKeyMayComeAsXApiKeyBearerOrBothWhenTheyAgree) {
  EXPECT_EQ(cloud.handle(sdk_request("GET", "/v1/accounts?pageSize=2")).status, 200);
  EXPECT_EQ(cloud.handle(request("GET", "/v1/accounts?pageSize=2")).status, 200);
  HttpRequest both = sdk_request("GET", "/v1/accounts?pageSize=2");
  both.headers.emplace_back("Authorization", std::string("Bearer ") + kKey);
  EXPECT_EQ(cloud.handle(both).status, 200);
}

TEST_F(TrainerJobTest, DisagreeingUnknownOrMalformedKeysAre401) {
  HttpRequest mixed = sdk_request("GET", kJobs + "/t1");
  mixed.headers.emplace_back("Authorization", std::string("Bearer ") + kOtherKey);
  expect_rejected(mixed, 401, "different keys");
  expect_rejected(sdk_request("GET", kJobs + "/t1", "", "nope"), 401, "unknown API key");
  HttpRequest basic{"GET", kJobs + "/t1", {{"Authorization", "Basic abc"}}, ""};
  expect_rejected(basic, 401, "expected 'Bearer <api key>'");
  HttpRequest none{"GET", kJobs + "/t1", {{"Content-Type", "application/json"}}, ""};
  expect_rejected(none, 401, "X-Api-Key");
  const HttpResponse r = cloud.handle(none);
  EXPECT_EQ(json::parse(r.body).at("error").at("code"), 401);
}

}  // namespace
}  // namespace weightsync::fake
