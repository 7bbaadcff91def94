// The deployment surface as the reference client drives it: create with every field it sends,
// PATCH with a snake_case, camelCase or no mask, scale to zero and back, re-attach settling on a
// new replica identity, FAILED through the fault plan, soft and hard DELETE; and every bad
// input refused with nothing changed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_test_support.h"
#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/internal/server_wire.h"

namespace weightsync::fake {
namespace {

using namespace testing;
using nlohmann::json;

const std::string kDeployments = std::string("/v1/accounts/") + kAccount + "/deployments";

// DeploymentManager._build_deployment_body with every optional field set (shape path).
json reference_body(const std::string& trainer_job) {
  return {{"baseModel", kBaseModel},
          {"description", "Fireworks training deployment"},
          {"minReplicaCount", 0},
          {"maxReplicaCount", 1},
          {"enableHotLoad", true},
          {"forTraining", true},
          {"placement", {{"region", "US_IOWA_1"}}},
          {"hotLoadBucketType", "FW_HOSTED"},
          {"hotLoadTrainerJob", trainer_job},
          {"deploymentShape", "accounts/fireworks/deploymentShapes/rft-qwen3-8b/versions/3"},
          {"extraArgs", {"--max-batch-size", "8"}},
          {"extraValues", {{"key", "value"}}},
          {"annotations", {{"fireworks.ai/sdk-managed", "true"}}}};
}

class DeploymentLifecycleTest : public ::testing::Test, public CloudFixture {
 protected:
  DeploymentLifecycleTest() : CloudFixture(/*replicas=*/0) {}

  json send(const HttpRequest& r, int status) {
    const HttpResponse response = cloud.handle(r);
    EXPECT_EQ(response.status, status) << r.method << " " << r.path << ": " << response.body;
    return json::parse(response.body);
  }
  // Creates "d" as the reference does and advances until its replicas' managers are up.
  void create_d(int replicas = 1) {
    json body = reference_body(trainer->job_name());
    body["minReplicaCount"] = replicas;
    body["maxReplicaCount"] = replicas;
    send(sdk_request("POST", kDeployments + "?deploymentId=d", body.dump()), 200);
    clock.advance(seconds(5));
  }
  std::string state(const std::string& id = "d") {
    return send(sdk_request("GET", kDeployments + "/" + id), 200).at("state");
  }
  json hotload_status(const std::string& id = "d") {
    HttpRequest r = hotload_request("GET", id, "");
    r.headers.emplace_back("X-Api-Key", kKey);
    return send(r, 200);
  }
  // What the reference's _read_replica_identity reads: current_snapshot_identity, else identity.
  std::optional<std::string> replica_identity() {
    const json replicas = hotload_status().at("replicas");
    if (replicas.empty()) return std::nullopt;
    const std::string current = replicas[0].value("current_snapshot_identity", "");
    return current.empty() ? replicas[0].at("identity").get<std::string>() : current;
  }
  std::string fingerprint() {
    std::string out;
    for (const auto& [account, id] : {std::pair{kAccount, "d"}, std::pair{kOtherAccount, "x"}}) {
      if (!cloud.with_model([&](CloudModel& m) {
            return m.deployments().count(deployment_name(account, id)) > 0;
          })) {
        continue;
      }
      out += encode(cloud.deployment(account, id)) + "\n";
      for (const auto& r : cloud.replicas(account, id)) {
        out += r.name + " " + r.served_identity + " " + std::to_string(r.restarts) + "\n";
      }
    }
    return out +
           std::to_string(cloud.with_model([](CloudModel& m) { return m.deployments().size(); }));
  }
  void expect_rejected(const HttpRequest& r, int status, const std::string& text) {
    const std::string before = fingerprint();
    const HttpResponse response = cloud.handle(r);
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_NE(error_message(response.body).find(text), std::string::npos)
        << "expected '" << text << "' in: " << response.body;
    EXPECT_EQ(json::parse(response.body).at("error").at("code"), status);
    EXPECT_EQ(fingerprint(), before);
  }
};

TEST_F(DeploymentLifecycleTest, CreateTakesEveryFieldTheReferenceSends) {
  const json d = send(sdk_request("POST",
                                  kDeployments +
                                      "?deploymentId=d&skipShapeValidation=true"
                                      "&disableSpeculativeDecoding=true",
                                  reference_body(trainer->job_name()).dump()),
                      200);
  EXPECT_EQ(d.at("name"), deployment_name(kAccount, "d"));
  EXPECT_EQ(d.at("state"), "CREATING");
  EXPECT_EQ(d.at("hotLoadTrainerJob"), trainer->job_name());
  EXPECT_EQ(d.at("hotLoadBucketUrl"), trainer->bucket_url());
  EXPECT_EQ(d.at("deploymentShape"), "accounts/fireworks/deploymentShapes/rft-qwen3-8b/versions/3");
  EXPECT_EQ(d.at("annotations").at("fireworks.ai/sdk-managed"), "true");
  clock.advance(seconds(2));
  EXPECT_EQ(state(), "READY");
  // minReplicaCount 0, maxReplicaCount 1: one replica serves.
  EXPECT_EQ(cloud.replicas(kAccount, "d").size(), 1u);
}

TEST_F(DeploymentLifecycleTest, CreateWithoutAShapeSendsTheAcceleratorType) {
  json body = reference_body(trainer->job_name());
  body.erase("deploymentShape");
  body["acceleratorType"] = "NVIDIA_H200_141GB";
  send(sdk_request("POST", kDeployments + "?deploymentId=d", body.dump()), 200);
}

TEST_F(DeploymentLifecycleTest, PatchTakesASnakeCaseOrCamelCaseMask) {
  create_d();
  auto& t2 = cloud.create_trainer(kAccount, "t2", small_trainer());
  auto& t3 = cloud.create_trainer(kAccount, "t3", small_trainer());
  const json body2 = {{"hotLoadTrainerJob", t2.job_name()}};
  const json d = send(sdk_request("PATCH", kDeployments + "/d?updateMask=hot_load_trainer_job",
                                  body2.dump()),
                      200);
  EXPECT_EQ(d.at("hotLoadTrainerJob"), t2.job_name());
  EXPECT_EQ(d.at("state"), "UPDATING");
  clock.advance(seconds(3));
  EXPECT_EQ(state(), "READY");
  const json body3 = {{"hotLoadTrainerJob", t3.job_name()}, {"minReplicaCount", 4}};
  const json d3 =
      send(sdk_request("PATCH", kDeployments + "/d?updateMask=hotLoadTrainerJob", body3.dump()),
           200);
  EXPECT_EQ(d3.at("hotLoadBucketUrl"), t3.bucket_url());
  EXPECT_EQ(d3.at("minReplicaCount"), 1) << "a field outside the mask is not set";
}

TEST_F(DeploymentLifecycleTest, ScaleToZeroStopsEveryReplicaAndScalingUpStartsBaseReplicas) {
  create_d(2);
  const std::string base = trainer->save_weights_for_sampler("s0", CheckpointKind::base).snapshot_name;
  ASSERT_EQ(post_hotload("d", full_hotload(base)).status, 200);
  clock.advance(seconds(2));
  ASSERT_EQ(replica("d", 1).served_identity, base);
  // DeploymentManager.scale_to_zero: no updateMask.
  const json zero = {{"maxReplicaCount", 0}, {"minReplicaCount", 0}};
  send(sdk_request("PATCH", kDeployments + "/d", zero.dump()), 200);
  EXPECT_TRUE(cloud.replicas(kAccount, "d").empty());
  EXPECT_EQ(hotload_status(), json({{"replicas", json::array()}}));
  HttpRequest completion = request("POST", std::string(kCompletionsPath), completion_body("d"));
  const HttpResponse no_replica = cloud.handle(completion);
  EXPECT_EQ(no_replica.status, 503);
  EXPECT_NE(error_message(no_replica.body).find("no replica serving"), std::string::npos);
  EXPECT_EQ(post_hotload("d", full_hotload(base)).status, 503);
  clock.advance(seconds(3));
  EXPECT_EQ(state(), "READY");

  const json two = {{"maxReplicaCount", 2}, {"minReplicaCount", 2}};
  send(sdk_request("PATCH", kDeployments + "/d?updateMask=min_replica_count,max_replica_count",
                   two.dump()),
       200);
  EXPECT_EQ(state(), "UPDATING");
  EXPECT_EQ(hotload_status().at("replicas").size(), 0u) << "new replicas are still starting";
  clock.advance(seconds(3));
  const json replicas = hotload_status().at("replicas");
  ASSERT_EQ(replicas.size(), 2u);
  for (const auto& r : replicas) EXPECT_EQ(r.at("current_snapshot_identity"), "");
  for (const auto& r : cloud.replicas(kAccount, "d")) EXPECT_EQ(r.served_identity, "");
  EXPECT_EQ(cloud.handle(completion).status, 200);
}

TEST_F(DeploymentLifecycleTest, ReplicaIdentityIsStableAndChangesOnRestart) {
  create_d();
  const std::string first = hotload_status().at("replicas")[0].at("identity");
  clock.advance(seconds(10));
  EXPECT_EQ(hotload_status().at("replicas")[0].at("identity"), first);
  cloud.restart_replica(kAccount, "d", 0);
  clock.advance(seconds(3));
  EXPECT_NE(hotload_status().at("replicas")[0].at("identity"), first);
}

// DeploymentManager.reattach_trainer: read the identity, PATCH, poll until it differs.
TEST_F(DeploymentLifecycleTest, ReattachSettlesAsTheReferencePollsIt) {
  create_d();
  auto& t9 = cloud.create_trainer(kAccount, "t9", small_trainer());
  // First from the base model (identity = the pod), then from a loaded snapshot.
  for (const bool loaded : {false, true}) {
    if (loaded) {
      const auto s = t9.save_weights_for_sampler("s1", CheckpointKind::base).snapshot_name;
      ASSERT_EQ(post_hotload("d", full_hotload(s)).status, 200);
      clock.advance(seconds(2));
      ASSERT_EQ(replica_identity(), s);
    }
    const auto before = replica_identity();
    ASSERT_TRUE(before.has_value());
    const std::string job = loaded ? trainer->job_name() : t9.job_name();
    const json body = {{"hotLoadTrainerJob", job}};
    send(sdk_request("PATCH", kDeployments + "/d?updateMask=hot_load_trainer_job", body.dump()),
         200);
    bool saw_gone = false;
    int polls = 0;
    std::optional<std::string> now_serving;
    for (; polls < 20; ++polls) {
      now_serving = replica_identity();
      if (now_serving && *now_serving != *before) break;
      saw_gone = saw_gone || !now_serving;
      clock.advance(seconds(1));
    }
    EXPECT_LT(polls, 20) << "re-attach never settled; identity stayed " << *before;
    EXPECT_TRUE(saw_gone) << "the old pod should be gone while the new one starts";
    EXPECT_EQ(replica("d").served_identity, "");
  }
}

TEST_F(DeploymentLifecycleTest, SoftDeleteLeavesADeletedTombstoneHardDeleteIsGone) {
  create_d();
  const json soft = send(sdk_request("DELETE", kDeployments + "/d"), 200);
  EXPECT_EQ(soft.at("state"), "DELETED");
  EXPECT_EQ(state(), "DELETED");
  EXPECT_TRUE(cloud.replicas(kAccount, "d").empty());
  send(sdk_request("POST", kDeployments + "?deploymentId=d",
                   reference_body(trainer->job_name()).dump()),
       409);
  // create_or_get then deletes it hard and waits for the 404.
  send(sdk_request("DELETE", kDeployments + "/d?ignoreChecks=true&hard=true"), 200);
  send(sdk_request("GET", kDeployments + "/d"), 404);
  send(sdk_request("POST", kDeployments + "?deploymentId=d",
                   reference_body(trainer->job_name()).dump()),
       200);
}

TEST_F(DeploymentLifecycleTest, DeletionTakesItsTimeInDeleting) {
  create_d();
  DeploymentTiming timing = test_timing();
  timing.deletion_time = seconds(4);
  cloud.set_deployment_timing(kAccount, "d", timing);
  EXPECT_EQ(send(sdk_request("DELETE", kDeployments + "/d?ignoreChecks=true&hard=true"), 200)
                .at("state"),
            "DELETING");
  clock.advance(seconds(3.9));
  EXPECT_EQ(state(), "DELETING");
  expect_rejected(sdk_request("PATCH", kDeployments + "/d", R"({"maxReplicaCount": 2})"), 400,
                  "is DELETING");
  clock.advance(seconds(0.1));
  send(sdk_request("GET", kDeployments + "/d"), 404);
}

TEST_F(DeploymentLifecycleTest, AScriptedDeploymentFailedFaultEndsCreationInFailed) {
  cloud.set_fault_plan(parse_fault_plan(
      R"({"faults":[{"fault":"deployment_failed","count":1,"message":"no capacity in region"}]})"));
  send(sdk_request("POST", kDeployments + "?deploymentId=d",
                   reference_body(trainer->job_name()).dump()),
       200);
  EXPECT_EQ(state(), "CREATING");
  clock.advance(seconds(2));
  const json d = send(sdk_request("GET", kDeployments + "/d"), 200);
  EXPECT_EQ(d.at("state"), "FAILED");
  EXPECT_EQ(d.at("status").at("message"), "no capacity in region");
  EXPECT_EQ(hotload_status().at("replicas").size(), 0u);
  // Not deployed for good: 404, which the reference's retry loop does not wait out.
  const HttpResponse completion =
      cloud.handle(request("POST", std::string(kCompletionsPath), completion_body("d")));
  EXPECT_EQ(completion.status, 404);
  EXPECT_NE(error_message(completion.body).find("is FAILED and serves nothing"), std::string::npos);
  EXPECT_EQ(post_hotload("d", full_hotload("s")).status, 404);
  ASSERT_EQ(cloud.fault_log().size(), 1u);
  EXPECT_EQ(cloud.fault_log()[0].fault, "deployment_failed");
}

TEST_F(DeploymentLifecycleTest, TimedDeploymentAndTrainerFailures) {
  create_d();
  cloud.set_fault_plan(parse_fault_plan(R"({"faults":[
      {"fault":"deployment_failed","atSeconds":5,"deployment":"accounts/acme/deployments/d"},
      {"fault":"trainer_failed","atSeconds":6,"trainer":"accounts/acme/rlorTrainerJobs/t1",
       "message":"trainer pod preempted"}]})"));
  clock.advance(seconds(5));
  EXPECT_EQ(state(), "FAILED");
  const std::string jobs = std::string("/v1/accounts/") + kAccount + "/rlorTrainerJobs/t1";
  EXPECT_EQ(send(sdk_request("GET", jobs), 200).at("state"), "JOB_STATE_RUNNING");
  clock.advance(seconds(1));
  const json job = send(sdk_request("GET", jobs), 200);
  EXPECT_EQ(job.at("state"), "JOB_STATE_FAILED");
  EXPECT_EQ(job.at("status").at("message"), "trainer pod preempted");
  EXPECT_EQ(send(sdk_request("POST", jobs + ":resume"), 200).at("state"), "JOB_STATE_CREATING");
  EXPECT_EQ(cloud.fault_log().size(), 2u);
}

TEST_F(DeploymentLifecycleTest, NewFaultKindsAreParsedStrictly) {
  const auto refused = [](const std::string& text) {
    try {
      parse_fault_plan(text);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused(R"({"faults":[{"fault":"trainer_failed","count":1,
                                    "trainer":"accounts/a/rlorTrainerJobs/t"}]})")
                .find("trainer_failed happens at a time; expected atSeconds"),
            std::string::npos);
  EXPECT_NE(refused(R"({"faults":[{"fault":"trainer_failed","atSeconds":1}]})")
                .find("faults[0].trainer: missing"),
            std::string::npos);
  EXPECT_NE(refused(R"({"faults":[{"fault":"deployment_failed","atSeconds":1}]})")
                .find("faults[0].deployment: missing"),
            std::string::npos);
  EXPECT_NE(refused(R"({"faults":[{"fault":"deployment_failed","count":1,"status":500}]})")
                .find("faults[0].status: unknown field"),
            std::string::npos);
  EXPECT_NE(refused(R"({"faults":[{"fault":"deployment_failed","count":1,"message":7}]})")
                .find("faults[0].message: expected a non-empty string, got 7"),
            std::string::npos);
}

// ---- bad input: 4xx naming what was expected, and nothing changes ----

TEST_F(DeploymentLifecycleTest, BadCreateBodiesAre400) {
  create_d();
  cloud.create_deployment(kOtherAccount, "x", config_for(cloud.create_trainer(kOtherAccount, "rt",
                                                                              small_trainer())
                                                             .job_name()));
  const std::string path = kDeployments + "?deploymentId=n";
  const auto with = [&](const char* field, json value) {
    json body = reference_body(trainer->job_name());
    body[field] = std::move(value);
    return sdk_request("POST", path, body.dump());
  };
  expect_rejected(sdk_request("POST", path, "{\"baseModel\":"), 400,
                  "deployment: expected a JSON document, got a parse error");
  expect_rejected(with("minReplicaCount", true), 400,
                  "deployment.minReplicaCount: expected a 32-bit integer (a number or a decimal "
                  "string), got true");
  expect_rejected(with("enableHotLoad", "yes"), 400, "deployment.enableHotLoad: expected true or false, got \"yes\"");
  expect_rejected(with("acceleratorCount", 8), 400,
                  "deployment.acceleratorCount: unknown field (extra inputs are not permitted)");
  expect_rejected(with("placement", {{"zone", "a"}}), 400,
                  "deployment.placement.zone: unknown field (extra inputs are not permitted); expected one of region");
  expect_rejected(with("extraArgs", {1}), 400, "deployment.extraArgs[0]: expected a string, got 1");
  expect_rejected(with("annotations", {{"a", 1}}), 400, "deployment.annotations.a: expected a string, got 1");
  expect_rejected(with("minReplicaCount", 3), 400, "expected 0 <= minReplicaCount <= maxReplicaCount");
  expect_rejected(sdk_request("POST", path + "&skipShapeValidation=maybe",
                              reference_body(trainer->job_name()).dump()),
                  400, "skipShapeValidation: expected true or false, got 'maybe'");
  expect_rejected(sdk_request("POST", path + "&region=us", reference_body(trainer->job_name()).dump()),
                  400, "query parameter 'region': unknown");
  expect_rejected(sdk_request("POST", std::string("/v1/accounts/") + kOtherAccount +
                                          "/deployments?deploymentId=n",
                              reference_body(trainer->job_name()).dump()),
                  404, "not found");
  expect_rejected(sdk_request("POST", path, reference_body(trainer_job_name(kOtherAccount, "rt")).dump()),
                  404, "not found");
}

TEST_F(DeploymentLifecycleTest, BadPatchesAre4xxAndChangeNothing) {
  create_d();
  cloud.create_deployment(kOtherAccount, "x", config_for(cloud.create_trainer(kOtherAccount, "rt",
                                                                              small_trainer())
                                                             .job_name()));
  const std::string d = kDeployments + "/d";
  expect_rejected(sdk_request("PATCH", d + "?updateMask=replica_count", R"({"maxReplicaCount":2})"),
                  400, "got 'replica_count'");
  expect_rejected(sdk_request("PATCH", d, "{}"), 400, "expected at least one of hotLoadTrainerJob");
  expect_rejected(sdk_request("PATCH", d, R"({"description":"new"})"), 400,
                  "deployment update.description: unknown field (extra inputs are not permitted)");
  expect_rejected(sdk_request("PATCH", d, R"({"maxReplicaCount":"many"})"), 400,
                  "deployment update.maxReplicaCount: expected a 32-bit integer (a number or a "
                  "decimal string), got \"many\"");
  expect_rejected(sdk_request("PATCH", d, "not json"), 400,
                  "deployment update: expected a JSON document, got a parse error");
  expect_rejected(sdk_request("PATCH", d + "?updateMask=max_replica_count", R"({"minReplicaCount":0})"),
                  400,
                  "deployment update.maxReplicaCount: missing; expected a value, since updateMask "
                  "names it");
  expect_rejected(sdk_request("PATCH", d, R"({"maxReplicaCount":-1})"), 400,
                  "expected 0 <= minReplicaCount <= maxReplicaCount");
  expect_rejected(sdk_request("PATCH", d, R"({"hotLoadTrainerJob":"accounts/rival/rlorTrainerJobs/rt"})"),
                  404, "not found");
  expect_rejected(sdk_request("PATCH", kDeployments + "/nope", R"({"maxReplicaCount":0})"), 404,
                  "not found");
  expect_rejected(sdk_request("PATCH", std::string("/v1/accounts/") + kOtherAccount + "/deployments/x",
                              R"({"maxReplicaCount":0})"),
                  404, "not found");
  expect_rejected(sdk_request("PATCH", d + "?update_mask=max_replica_count", R"({"maxReplicaCount":0})"),
                  400, "query parameter 'update_mask': unknown; expected updateMask");
}

TEST_F(DeploymentLifecycleTest, BadDeletesAndGetsAre4xxAndChangeNothing) {
  create_d();
  expect_rejected(sdk_request("DELETE", kDeployments + "/nope?ignoreChecks=true&hard=true"), 404,
                  "not found");
  expect_rejected(sdk_request("DELETE", kDeployments + "/d?hard=yes"), 400,
                  "hard: expected true or false, got 'yes'");
  expect_rejected(sdk_request("DELETE", kDeployments + "/d?force=true"), 400,
                  "query parameter 'force': unknown; expected ignoreChecks, hard");
  expect_rejected(sdk_request("DELETE", kDeployments + "/d?hard=true", "", kOtherKey), 404,
                  "not found");
  expect_rejected(sdk_request("GET", kDeployments + "/d?view=full"), 400,
                  "query parameter 'view': unknown; expected none");
}

}  // namespace
}  // namespace weightsync::fake
