// Unit tests of the API's JSON shapes: exact field names on encode, strict checks on decode.
#include "weightsync/wire.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "weightsync/internal/server_wire.h"

namespace weightsync {
namespace {

using nlohmann::json;

// Runs `decode` on `body` and returns the WireError's message ("" if nothing was thrown).
template <typename Decode>
std::string wire_error_of(Decode decode) {
  try {
    decode();
  } catch (const WireError& e) {
    return e.what();
  }
  return "";
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& item : object.items()) out.insert(item.key());
  return out;
}

std::set<std::string> split_mask(const std::string& mask) {
  std::set<std::string> out;
  std::stringstream in(mask);
  std::string part;
  while (std::getline(in, part, ',')) out.insert(part);
  return out;
}

TEST(WireNames, DeploymentNameAndPath) {
  EXPECT_EQ(deployment_name("acme", "d1"), "accounts/acme/deployments/d1");
  EXPECT_EQ(deployment_path("acme", "d1"), "/v1/accounts/acme/deployments/d1");
  EXPECT_EQ(kChecksumFormat, "alder32");
  EXPECT_EQ(kHotloadPath, "/hot_load/v1/models/hot_load");
}

// ---- hotload request ----

TEST(WireHotloadRequest, EncodesOnlyIdentityWhenNothingElseIsSet) {
  const json body =
      json::parse(encode(HotloadRequest{"step-1-0123abcd", std::nullopt, std::nullopt}));
  EXPECT_EQ(body, json({{"identity", "step-1-0123abcd"}}));
}

TEST(WireHotloadRequest, EncodesSnakeCaseResetAndIncrementalMetadata) {
  HotloadRequest request;
  request.identity = "step-2-0123abcd";
  request.reset_prompt_cache = true;
  request.incremental_snapshot_metadata =
      IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"};
  const json body = json::parse(encode(request));
  EXPECT_EQ(keys(body), (std::set<std::string>{"identity", "reset_prompt_cache",
                                               "incremental_snapshot_metadata"}));
  EXPECT_EQ(body["identity"], "step-2-0123abcd");
  EXPECT_EQ(body["reset_prompt_cache"], true);
  EXPECT_EQ(body["incremental_snapshot_metadata"],
            json({{"previous_snapshot_identity", "step-1-0123abcd"},
                  {"compression_format", "arc_v2"},
                  {"checksum_format", "alder32"}}));
}

TEST(WireHotloadRequest, EncodesFalseResetExplicitly) {
  const json body = json::parse(encode(HotloadRequest{"s", false, std::nullopt}));
  ASSERT_TRUE(body.contains("reset_prompt_cache"));
  EXPECT_EQ(body["reset_prompt_cache"], false);
}

TEST(WireHotloadRequest, MetadataDefaultsToTheWiresChecksumSpelling) {
  IncrementalSnapshotMetadata metadata;
  EXPECT_EQ(metadata.checksum_format, "alder32");
}

TEST(WireHotloadRequest, DecodeRoundTripsEveryField) {
  const HotloadRequest request{"step-2-0123abcd", false,
                               IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"}};
  EXPECT_EQ(decode_hotload_request(encode(request)), request);
  const HotloadRequest bare{"only", std::nullopt, std::nullopt};
  EXPECT_EQ(decode_hotload_request(encode(bare)), bare);
}

TEST(WireHotloadRequest, DecodeRejectsUnknownFieldsNamingThem) {
  const std::string message = wire_error_of(
      [] { decode_hotload_request(R"({"identity":"s","reset_prompt_cache":true,"warm":1})"); });
  EXPECT_NE(message.find("extra inputs are not permitted"), std::string::npos) << message;
  EXPECT_NE(message.find("warm"), std::string::npos) << message;
}

TEST(WireHotloadRequest, DecodeRejectsWrongTypesNamingTheField) {
  std::string message = wire_error_of([] { decode_hotload_request(R"({"identity":7})"); });
  EXPECT_NE(message.find("identity"), std::string::npos) << message;
  message = wire_error_of(
      [] { decode_hotload_request(R"({"identity":"s","reset_prompt_cache":"yes"})"); });
  EXPECT_NE(message.find("reset_prompt_cache"), std::string::npos) << message;
  message = wire_error_of(
      [] { decode_hotload_request(R"({"identity":"s","incremental_snapshot_metadata":"x"})"); });
  EXPECT_NE(message.find("incremental_snapshot_metadata"), std::string::npos) << message;
}

TEST(WireHotloadRequest, DecodeRejectsUnknownMetadataFields) {
  const std::string message = wire_error_of([] {
    decode_hotload_request(
        R"({"identity":"s","incremental_snapshot_metadata":{"previous_snapshot_identity":"p",)"
        R"("compression_format":"arc_v2","checksum_format":"alder32","level":9}})");
  });
  EXPECT_NE(message.find("extra inputs are not permitted"), std::string::npos) << message;
  EXPECT_NE(message.find("level"), std::string::npos) << message;
}

TEST(WireHotloadRequest, DecodeRequiresIdentity) {
  const std::string message =
      wire_error_of([] { decode_hotload_request(R"({"reset_prompt_cache":true})"); });
  EXPECT_NE(message.find("identity"), std::string::npos) << message;
}

TEST(WireHotloadRequest, DecodeRejectsNonJsonAndNonObjects) {
  EXPECT_THROW(decode_hotload_request("not json {"), WireError);
  EXPECT_THROW(decode_hotload_request(""), WireError);
  EXPECT_THROW(decode_hotload_request("[1,2]"), WireError);
}

// ---- hotload status ----

HotloadStatus two_replica_status() {
  HotloadStatus status;
  status.replicas.push_back(ReplicaStatus{"replica-0",
                                          "step-1-0123abcd",
                                          true,
                                          LoadingState{"done", "step-1-0123abcd"},
                                          {LoadedAdapter{"adapter-1", "loaded"}}});
  status.replicas.push_back(ReplicaStatus{
      "replica-1", "step-0-0123abcd", false, LoadingState{"downloading", "step-1-0123abcd"}, {}});
  return status;
}

TEST(WireHotloadStatus, EncodesSnakeCaseReplicaFields) {
  const json body = json::parse(encode(two_replica_status()));
  ASSERT_TRUE(body["replicas"].is_array());
  ASSERT_EQ(body["replicas"].size(), 2u);
  const json& first = body["replicas"][0];
  EXPECT_EQ(first["identity"], "replica-0");
  EXPECT_EQ(first["current_snapshot_identity"], "step-1-0123abcd");
  EXPECT_EQ(first["readiness"], true);
  EXPECT_EQ(first["loading_state"],
            json({{"stage", "done"}, {"target_snapshot_identity", "step-1-0123abcd"}}));
  EXPECT_EQ(first["loaded_adapters"],
            json::parse(R"([{"identity":"adapter-1","status":"loaded"}])"));
  EXPECT_EQ(body["replicas"][1]["readiness"], false);
}

TEST(WireHotloadStatus, DecodeRoundTrips) {
  const HotloadStatus status = two_replica_status();
  EXPECT_EQ(decode_hotload_status(encode(status)), status);
}

TEST(WireHotloadStatus, MissingOptionalReplicaFieldsTakeDefaults) {
  const HotloadStatus status = decode_hotload_status(R"({"replicas":[{"identity":"r0"}]})");
  ASSERT_EQ(status.replicas.size(), 1u);
  EXPECT_EQ(status.replicas[0].identity, "r0");
  EXPECT_EQ(status.replicas[0].current_snapshot_identity, "");
  EXPECT_FALSE(status.replicas[0].readiness);
  EXPECT_EQ(status.replicas[0].loading_state, LoadingState{});
  EXPECT_TRUE(status.replicas[0].loaded_adapters.empty());
  EXPECT_TRUE(decode_hotload_status(R"({"replicas":[]})").replicas.empty());
}

TEST(WireHotloadStatus, DecodeRequiresAReplicasList) {
  std::string message = wire_error_of([] { decode_hotload_status(R"({"state":"ok"})"); });
  EXPECT_NE(message.find("replicas"), std::string::npos) << message;
  message = wire_error_of([] { decode_hotload_status(R"({"replicas":{"identity":"r0"}})"); });
  EXPECT_NE(message.find("replicas"), std::string::npos) << message;
}

TEST(WireHotloadStatus, DecodeRejectsWrongTypesNamingTheField) {
  std::string message = wire_error_of(
      [] { decode_hotload_status(R"({"replicas":[{"identity":"r0","readiness":"yes"}]})"); });
  EXPECT_NE(message.find("readiness"), std::string::npos) << message;
  message = wire_error_of(
      [] { decode_hotload_status(R"({"replicas":[{"current_snapshot_identity":12}]})"); });
  EXPECT_NE(message.find("current_snapshot_identity"), std::string::npos) << message;
  message = wire_error_of(
      [] { decode_hotload_status(R"({"replicas":[{"loading_state":{"stage":3}}]})"); });
  EXPECT_NE(message.find("stage"), std::string::npos) << message;
  message = wire_error_of([] { decode_hotload_status(R"({"replicas":["r0"]})"); });
  EXPECT_FALSE(message.empty());
}

TEST(WireHotloadStatus, DecodeRejectsNonJson) {
  EXPECT_THROW(decode_hotload_status("<html>502 Bad Gateway</html>"), WireError);
}

// ---- deployments ----

TEST(WireDeploymentConfig, EncodesCamelCaseAndOmitsUnsetOptionals) {
  DeploymentConfig config;
  config.base_model = "accounts/fireworks/models/qwen3-8b";
  config.min_replica_count = 2;
  config.max_replica_count = 3;
  const json body = json::parse(encode(config));
  EXPECT_EQ(body, json({{"baseModel", "accounts/fireworks/models/qwen3-8b"},
                        {"minReplicaCount", 2},
                        {"maxReplicaCount", 3},
                        {"enableHotLoad", true}}));
}

TEST(WireDeploymentConfig, EncodesHotLoadFieldsWhenSet) {
  DeploymentConfig config;
  config.base_model = "m";
  config.hot_load_trainer_job = "accounts/a/rlorTrainerJobs/t1";
  config.hot_load_bucket_type = "FW_HOSTED";
  config.hot_load_transition_type = "SYNC";
  const json body = json::parse(encode(config));
  EXPECT_EQ(body["hotLoadTrainerJob"], "accounts/a/rlorTrainerJobs/t1");
  EXPECT_EQ(body["hotLoadBucketType"], "FW_HOSTED");
  EXPECT_EQ(body["hotLoadTransitionType"], "SYNC");
  EXPECT_EQ(body["enableHotLoad"], true);
  EXPECT_EQ(decode_deployment_config(encode(config)), config);
}

TEST(WireDeploymentConfig, DecodeRejectsWrongTypesNamingTheField) {
  const std::string message = wire_error_of(
      [] { decode_deployment_config(R"({"baseModel":"m","minReplicaCount":"one"})"); });
  EXPECT_NE(message.find("minReplicaCount"), std::string::npos) << message;
  EXPECT_THROW(decode_deployment_config("nope"), WireError);
}

Deployment sample_deployment() {
  Deployment d;
  d.name = "accounts/acme/deployments/d1";
  d.state = "READY";
  d.base_model = "m";
  d.min_replica_count = 1;
  d.max_replica_count = 2;
  d.enable_hot_load = true;
  d.hot_load_bucket_url = "gs://bucket/t1";
  d.hot_load_trainer_job = "accounts/acme/rlorTrainerJobs/t1";
  d.hot_load_transition_type = "ASYNC";
  return d;
}

TEST(WireDeployment, EncodesCamelCaseFields) {
  const json body = json::parse(encode(sample_deployment()));
  EXPECT_EQ(body["name"], "accounts/acme/deployments/d1");
  EXPECT_EQ(body["state"], "READY");
  EXPECT_EQ(body["baseModel"], "m");
  EXPECT_EQ(body["minReplicaCount"], 1);
  EXPECT_EQ(body["maxReplicaCount"], 2);
  EXPECT_EQ(body["enableHotLoad"], true);
  EXPECT_EQ(body["hotLoadBucketUrl"], "gs://bucket/t1");
  EXPECT_EQ(body["hotLoadTrainerJob"], "accounts/acme/rlorTrainerJobs/t1");
  EXPECT_EQ(body["hotLoadTransitionType"], "ASYNC");
}

TEST(WireDeployment, DecodeRoundTrips) {
  EXPECT_EQ(decode_deployment(encode(sample_deployment())), sample_deployment());
}

TEST(WireDeployment, DecodeAcceptsIntegersSentAsDecimalStrings) {
  const Deployment d = decode_deployment(
      R"({"name":"accounts/a/deployments/d","state":"READY","minReplicaCount":"2",)"
      R"("maxReplicaCount":"3"})");
  EXPECT_EQ(d.min_replica_count, 2);
  EXPECT_EQ(d.max_replica_count, 3);
  EXPECT_THROW(decode_deployment(R"({"name":"n","state":"READY","maxReplicaCount":"3x"})"),
               WireError);
}

TEST(WireDeployment, DecodeRejectsWrongTypesAndNonJson) {
  const std::string message =
      wire_error_of([] { decode_deployment(R"({"name":"accounts/a/deployments/d","state":5})"); });
  EXPECT_NE(message.find("state"), std::string::npos) << message;
  EXPECT_THROW(decode_deployment("{"), WireError);
}

TEST(WireDeploymentUpdate, EncodesOnlyTheSetFields) {
  DeploymentUpdate update;
  update.hot_load_trainer_job = "accounts/a/rlorTrainerJobs/t2";
  update.min_replica_count = 2;
  const json body = json::parse(encode(update));
  EXPECT_EQ(body,
            json({{"hotLoadTrainerJob", "accounts/a/rlorTrainerJobs/t2"}, {"minReplicaCount", 2}}));
}

TEST(WireDeploymentUpdate, MaskNamesExactlyTheSetFields) {
  DeploymentUpdate update;
  update.hot_load_trainer_job = "t";
  update.min_replica_count = 2;
  // snake_case field paths, as the reference client's reattach_trainer spells them
  EXPECT_EQ(update_mask(update), "hot_load_trainer_job,min_replica_count");
  update.hot_load_transition_type = "SYNC";
  update.max_replica_count = 4;
  EXPECT_EQ(split_mask(update_mask(update)),
            (std::set<std::string>{"hot_load_trainer_job", "hot_load_transition_type",
                                   "min_replica_count", "max_replica_count"}));
  EXPECT_EQ(update_mask(DeploymentUpdate{}), "");
}

TEST(WireDeploymentUpdate, DecodeReadsOnlyMaskedFields) {
  const std::string body =
      R"({"hotLoadTrainerJob":"t2","hotLoadTransitionType":"SYNC","maxReplicaCount":3})";
  const DeploymentUpdate update = decode_deployment_update(body, "hotLoadTrainerJob");
  EXPECT_EQ(update.hot_load_trainer_job, "t2");
  EXPECT_FALSE(update.hot_load_transition_type.has_value());
  EXPECT_FALSE(update.max_replica_count.has_value());
  DeploymentUpdate all;
  all.hot_load_trainer_job = "t";
  all.hot_load_transition_type = "ASYNC";
  all.min_replica_count = 1;
  all.max_replica_count = 5;
  EXPECT_EQ(decode_deployment_update(encode(all), update_mask(all)), all);
}

TEST(WireDeploymentUpdate, DecodeTakesSnakeOrCamelCaseMasksAndNoMask) {
  const std::string body = R"({"hotLoadTrainerJob":"t2","maxReplicaCount":0})";
  DeploymentUpdate job;
  job.hot_load_trainer_job = "t2";
  EXPECT_EQ(decode_deployment_update(body, "hot_load_trainer_job"), job);
  EXPECT_EQ(decode_deployment_update(body, "hotLoadTrainerJob"), job);
  DeploymentUpdate both = job;
  both.max_replica_count = 0;
  EXPECT_EQ(decode_deployment_update(body, std::nullopt), both);
  EXPECT_EQ(decode_deployment_update(body, "max_replica_count,hotLoadTrainerJob"), both);
}

TEST(WireDeploymentUpdate, DecodeRejectsFieldsThatAreNotUpdatable) {
  const std::string message = wire_error_of(
      [] { decode_deployment_update(R"({"baseModel":"m"})", std::nullopt); });
  EXPECT_NE(message.find("deployment update.baseModel: unknown field (extra inputs are not "
                         "permitted); expected one of hotLoadTrainerJob, hotLoadTransitionType, "
                         "minReplicaCount, maxReplicaCount"),
            std::string::npos)
      << message;
  const std::string none = wire_error_of([] { decode_deployment_update("{}", std::nullopt); });
  EXPECT_NE(none.find("expected at least one of hotLoadTrainerJob"), std::string::npos) << none;
}

TEST(WireDeploymentConfig, EveryReferenceFieldRoundTrips) {
  DeploymentConfig c;
  c.base_model = "accounts/fireworks/models/qwen3-8b";
  c.min_replica_count = 0;
  c.description = "Fireworks training deployment";
  c.for_training = true;
  c.region = "US_IOWA_1";
  c.hot_load_bucket_type = "FW_HOSTED";
  c.hot_load_trainer_job = "accounts/a/rlorTrainerJobs/t1";
  c.deployment_shape = "accounts/fireworks/deploymentShapes/s/versions/1";
  c.extra_args = {"--a", "1"};
  c.extra_values = {{"k", "v"}};
  c.annotations = {{"x", "y"}};
  const json body = json::parse(encode(c));
  EXPECT_EQ(body.at("placement"), json({{"region", "US_IOWA_1"}}));
  EXPECT_EQ(body.at("forTraining"), true);
  EXPECT_EQ(decode_deployment_config(encode(c)), c);
  const std::string message = wire_error_of(
      [] { decode_deployment_config(R"({"baseModel":"m","replicas":2})"); });
  EXPECT_NE(message.find("deployment.replicas: unknown field (extra inputs are not permitted)"),
            std::string::npos)
      << message;
}

TEST(WireDeploymentUpdate, DecodeRejectsMaskedFieldMissingFromBody) {
  const std::string message = wire_error_of(
      [] { decode_deployment_update(R"({"minReplicaCount":1})", "maxReplicaCount"); });
  EXPECT_NE(message.find("maxReplicaCount"), std::string::npos) << message;
}

TEST(WireDeploymentUpdate, DecodeRejectsUnknownMaskName) {
  const std::string message =
      wire_error_of([] { decode_deployment_update(R"({"bogusField":1})", "bogusField"); });
  EXPECT_NE(message.find("bogusField"), std::string::npos) << message;
}

TEST(WireDeploymentUpdate, DecodeRejectsWrongTypeOfMaskedField) {
  const std::string message = wire_error_of(
      [] { decode_deployment_update(R"({"minReplicaCount":"two"})", "minReplicaCount"); });
  EXPECT_NE(message.find("minReplicaCount"), std::string::npos) << message;
}

// ---- accounts ----

TEST(WireAccounts, EncodesNamesWithTheAccountsPrefix) {
  EXPECT_EQ(json::parse(encode_account_list({"acme"})),
            json::parse(R"({"accounts":[{"name":"accounts/acme"}]})"));
  EXPECT_EQ(json::parse(encode_account_list({})), json::parse(R"({"accounts":[]})"));
}

TEST(WireAccounts, DecodeReturnsIdsWithoutThePrefix) {
  EXPECT_EQ(decode_account_list(R"({"accounts":[{"name":"accounts/a1"},{"name":"accounts/b2"}]})"),
            (std::vector<std::string>{"a1", "b2"}));
  EXPECT_EQ(decode_account_list(encode_account_list({"acme"})), std::vector<std::string>{"acme"});
  EXPECT_TRUE(decode_account_list(R"({"accounts":[]})").empty());
  EXPECT_TRUE(decode_account_list("{}").empty());
}

TEST(WireAccounts, DecodeRejectsMalformedBodies) {
  EXPECT_THROW(decode_account_list("]["), WireError);
  EXPECT_THROW(decode_account_list(R"({"accounts":{"name":"accounts/a"}})"), WireError);
  EXPECT_THROW(decode_account_list(R"({"accounts":[{"name":"users/a"}]})"), WireError);
  EXPECT_THROW(decode_account_list(R"({"accounts":[{"name":"accounts/"}]})"), WireError);
  const std::string message =
      wire_error_of([] { decode_account_list(R"({"accounts":[{"name":3}]})"); });
  EXPECT_NE(message.find("name"), std::string::npos) << message;
}

// ---- completions ----

TEST(WireCompletion, EncodesModelPromptTokensAndTemperature) {
  const CompletionRequest request{"accounts/a/deployments/d", {1, 2, 3}, 1, 0.0};
  const json body = json::parse(encode(request));
  EXPECT_EQ(body, json({{"model", "accounts/a/deployments/d"},
                        {"prompt", {1, 2, 3}},
                        {"max_tokens", 1},
                        {"temperature", 0.0}}));
  EXPECT_EQ(decode_completion_request(encode(request)), request);
}

TEST(WireCompletion, DecodeRejectsWrongPromptType) {
  const std::string message = wire_error_of(
      [] { decode_completion_request(R"({"model":"m","prompt":"hello","max_tokens":1})"); });
  EXPECT_NE(message.find("prompt"), std::string::npos) << message;
}

// ---- errors ----

TEST(WireErrors, InvalidUtf8InAMessageIsReplacedNotThrown) {
  const std::string body = encode_error(400, std::string("bad name '\xff\xfe'"));
  const auto parsed = nlohmann::json::parse(body);
  EXPECT_EQ(parsed["error"]["code"], 400);
  EXPECT_NE(parsed["error"]["message"].get<std::string>().find("bad name"), std::string::npos);
}

TEST(WireHotload, InvalidUtf8InAnIdentityIsEncodedNotThrown) {
  HotloadRequest r;
  r.identity = "step-\xc3";
  EXPECT_NO_THROW(decode_hotload_request(encode(r)));
}

TEST(WireErrors, EncodesCodeAndMessage) {
  EXPECT_EQ(json::parse(encode_error(400, "extra inputs are not permitted")),
            json::parse(R"({"error":{"code":400,"message":"extra inputs are not permitted"}})"));
}

TEST(WireErrors, ErrorMessageUnderstandsOtherCommonErrorShapes) {
  EXPECT_EQ(error_message(R"({"error":"quota exceeded"})"), "quota exceeded");
  EXPECT_EQ(error_message(R"({"message":"not ready"})"), "not ready");
  EXPECT_EQ(error_message(R"({"detail":"extra inputs are not permitted"})"),
            "extra inputs are not permitted");
}

TEST(WireErrors, ErrorMessageExtractsTheMessageOrFallsBackToTheBody) {
  EXPECT_EQ(error_message(encode_error(404, "deployment not found")), "deployment not found");
  EXPECT_EQ(error_message("upstream connect error"), "upstream connect error");
  const std::string huge(100000, 'x');
  const std::string shown = error_message(huge);
  EXPECT_LT(shown.size(), huge.size());
  EXPECT_EQ(shown.substr(0, 10), "xxxxxxxxxx");
}

}  // namespace
}  // namespace weightsync
