// Every bad input gets its status and a JSON error naming the problem, and changes nothing.
#include "weightsync/fake/router.h"

#include <gtest/gtest.h>

#include "fake_test_support.h"
#include "fault_hooks.h"
#include "weightsync/internal/server_wire.h"

namespace weightsync::fake {
namespace {

using namespace testing;

class RouterTest : public ::testing::Test, public CloudFixture {
 protected:
  void SetUp() override {
    make_ready_deployment("d");
    auto& rival_trainer = cloud.create_trainer(kOtherAccount, "rt", small_trainer());
    cloud.create_deployment(kOtherAccount, "secret", config_for(rival_trainer.job_name()));
    clock.advance(seconds(5));
    base = trainer->save_weights_for_sampler("s0", CheckpointKind::base).snapshot_name;
    EXPECT_EQ(post_hotload("d", full_hotload(base)).status, 200);
    clock.advance(seconds(2));
    before = fingerprint();
  }

  // Everything a request could change, as text.
  std::string fingerprint() {
    std::string out;
    for (const auto& [account, id] :
         {std::pair{kAccount, "d"}, std::pair{kOtherAccount, "secret"}}) {
      out += encode(cloud.deployment(account, id)) + "\n";
      for (const auto& r : cloud.replicas(account, id)) {
        out += r.name + " " + r.served_identity + " " + std::to_string(r.served_checksum) + " " +
               r.stage + " " + r.stage_target + " " + r.chain_identity + " " +
               std::to_string(r.prompt_cache_entries) + " " + std::to_string(r.restarts) + "\n";
      }
    }
    return out +
           std::to_string(cloud.with_model([](CloudModel& m) { return m.deployments().size(); }));
  }

  // Sends `r`, expects `status` and a JSON error whose message contains `text`, and no change.
  void expect_rejected(const HttpRequest& r, int status, const std::string& text) {
    const HttpResponse response = cloud.handle(r);
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(header_value(response.headers, "Content-Type"), "application/json");
    EXPECT_NE(response.body.find("\"code\":" + std::to_string(status)), std::string::npos)
        << response.body;
    EXPECT_NE(error_message(response.body).find(text), std::string::npos)
        << "expected '" << text << "' in: " << response.body;
    EXPECT_EQ(fingerprint(), before);
  }

  std::string base;
  std::string before;
};

TEST_F(RouterTest, ListsOnlyTheCallersAccount) {
  const auto r = cloud.handle(request("GET", "/v1/accounts?pageSize=2"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(decode_account_list(r.body), std::vector<std::string>{kAccount});
}

TEST_F(RouterTest, UnknownKeyIs401) {
  expect_rejected(request("GET", "/v1/accounts?pageSize=2", "", "nope"), 401, "unknown API key");
}

TEST_F(RouterTest, MissingAuthorizationIs401) {
  expect_rejected(request("GET", deployment_path(kAccount, "d"), "", ""), 401, "Bearer");
}

TEST_F(RouterTest, AnotherAccountsDeploymentIs404WithoutItsData) {
  for (const std::string& path : {deployment_path(kOtherAccount, "secret"),
                                  deployment_path(kOtherAccount, "secret") + "/ledger"}) {
    const std::string method = path.ends_with("ledger") ? "DELETE" : "GET";
    const auto r = cloud.handle(request(method, path));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body.find("rival/rlorTrainerJobs"), std::string::npos) << r.body;
  }
  expect_rejected(hotload_request("GET", "secret", "", kKey, kOtherAccount), 404, "not found");
  expect_rejected(
      hotload_request("POST", "secret", encode(full_hotload(base)), kKey, kOtherAccount), 404,
      "not found");
  CompletionRequest c;
  c.model = deployment_name(kOtherAccount, "secret");
  c.prompt = {1};
  expect_rejected(request("POST", "/inference/v1/completions", encode(c)), 404, "not found");
  expect_rejected(request("DELETE", deployment_path(kOtherAccount, "secret")), 404, "not found");
}

TEST_F(RouterTest, NonJsonBodyIs400) {
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=new", "{nope"), 400,
                  "deployment: expected a JSON document, got a parse error");
}

TEST_F(RouterTest, WrongFieldTypesAre400) {
  expect_rejected(
      request("POST", "/v1/accounts/acme/deployments?deploymentId=new", R"({"baseModel": 7})"), 400,
      "baseModel");
  expect_rejected(hotload_request("POST", "d", R"({"identity": 5})"), 400, "identity");
  expect_rejected(hotload_request("POST", "d", R"({"identity": "x", "reset_prompt_cache": "yes"})"),
                  400, "reset_prompt_cache");
}

TEST_F(RouterTest, MissingHotloadHeadersAre400) {
  HttpRequest no_deployment =
      request("POST", std::string(kHotloadPath), encode(full_hotload(base)));
  no_deployment.headers.emplace_back(std::string(kModelHeader), kBaseModel);
  expect_rejected(no_deployment, 400, "missing header fireworks-deployment");
  HttpRequest no_model = request("GET", std::string(kHotloadPath));
  no_model.headers.emplace_back(std::string(kDeploymentHeader), deployment_name(kAccount, "d"));
  expect_rejected(no_model, 400, "missing header fireworks-model");
}

TEST_F(RouterTest, MalformedDeploymentHeaderAndWrongModelAre400) {
  HttpRequest bad = request("GET", std::string(kHotloadPath));
  bad.headers.emplace_back(std::string(kModelHeader), kBaseModel);
  bad.headers.emplace_back(std::string(kDeploymentHeader), "deployments/d");
  expect_rejected(bad, 400, "expected 'accounts/{account}/deployments/{id}'");
  HttpRequest wrong_model = request("GET", std::string(kHotloadPath));
  wrong_model.headers.emplace_back(std::string(kModelHeader), "other-model");
  wrong_model.headers.emplace_back(std::string(kDeploymentHeader), deployment_name(kAccount, "d"));
  expect_rejected(wrong_model, 400, "got 'other-model'");
}

TEST_F(RouterTest, UnknownHotloadFieldsAreExtraInputs) {
  expect_rejected(hotload_request("POST", "d", R"({"identity": "x", "force": true})"), 400,
                  "extra inputs are not permitted");
  expect_rejected(
      hotload_request(
          "POST", "d",
          R"({"identity": "x", "incremental_snapshot_metadata": {"previous_snapshot_identity": "a", "compression_format": "arc_v2", "checksum_format": "alder32", "extra": 1}})"),
      400, "extra inputs are not permitted");
}

TEST_F(RouterTest, UnknownDeploymentIs404) {
  expect_rejected(request("GET", deployment_path(kAccount, "ghost")), 404, "not found");
  expect_rejected(hotload_request("POST", "ghost", encode(full_hotload(base))), 404, "not found");
  expect_rejected(
      request("PATCH", deployment_path(kAccount, "ghost") + "?updateMask=minReplicaCount",
              R"({"minReplicaCount": 2})"),
      404, "not found");
}

TEST_F(RouterTest, BodyOverTheLimitIs413) {
  expect_rejected(hotload_request("POST", "d", std::string(5000, ' ')), 413, "exceeds the limit");
}

TEST_F(RouterTest, IdentityWithASlashIs400) {
  expect_rejected(hotload_request("POST", "d", encode(full_hotload("a/b"))), 400,
                  "must not contain '/'");
  expect_rejected(hotload_request("POST", "d", encode(delta_hotload("a", "x/y"))), 400,
                  "must not contain '/'");
}

TEST_F(RouterTest, UnknownRouteIs404) {
  expect_rejected(request("GET", "/v2/nothing"), 404, "no route for GET /v2/nothing");
  expect_rejected(request("GET", "/v1/accounts/acme/deployments/d/extra/more"), 404, "no route");
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  const auto r = cloud.handle(request("PUT", deployment_path(kAccount, "d"), "{}"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_value(r.headers, "Allow"), "GET, PATCH, DELETE");
  expect_rejected(request("DELETE", std::string(kHotloadPath)), 405, "expected POST, GET");
}

TEST_F(RouterTest, DuplicateCreateIs409) {
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=d",
                          encode(config_for(trainer->job_name()))),
                  409, "already exists");
}

TEST_F(RouterTest, BadCreateParametersAre400) {
  const std::string body = encode(config_for(trainer->job_name()));
  expect_rejected(request("POST", "/v1/accounts/acme/deployments", body), 400, "deploymentId");
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=Bad_Id", body), 400,
                  "got 'Bad_Id'");
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=n",
                          encode(config_for("accounts/acme/rlorTrainerJobs/none"))),
                  404, "trainer job");
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=n",
                          encode(config_for(trainer->job_name(), "FAST"))),
                  400, "expected 'ASYNC' or 'SYNC'");
  expect_rejected(request("POST", "/v1/accounts/acme/deployments?deploymentId=n",
                          encode(config_for("rlorTrainerJobs/t1"))),
                  400, "expected 'accounts/{account}/rlorTrainerJobs/{id}'");
}

TEST_F(RouterTest, BadUpdateMaskIs400) {
  const std::string path = deployment_path(kAccount, "d");
  expect_rejected(request("PATCH", path + "?updateMask=", R"({"minReplicaCount": 2})"), 400,
                  "updateMask: expected at least one field path");
  expect_rejected(request("PATCH", path + "?updateMask=colour", R"({"colour": 2})"), 400, "colour");
  expect_rejected(request("PATCH", path + "?updateMask=colour", R"({"minReplicaCount": 2})"), 400,
                  "updateMask: expected hot_load_trainer_job, hot_load_transition_type");
  expect_rejected(request("PATCH", path + "?updateMask=hotLoadTrainerJob", "{}"), 400,
                  "hotLoadTrainerJob");
}

TEST_F(RouterTest, BadCompletionsAre400) {
  CompletionRequest c;
  c.model = "not-a-deployment";
  c.prompt = {1};
  expect_rejected(request("POST", "/inference/v1/completions", encode(c)), 400,
                  "accounts/{account}/deployments/{id}");
}

// One bad completions body per case: status, the field named with what was expected and what
// was seen, and nothing changed (not even a replica's prompt cache).
TEST_F(RouterTest, EveryBadCompletionFieldIsNamedWithWhatWasExpected) {
  const std::string model = deployment_name(kAccount, "d");
  const auto body = [&](const std::string& fields) {
    return R"({"model": ")" + model + R"(", "prompt": [1, 2])" + (fields.empty() ? "" : ", ") +
           fields + "}";
  };
  const std::pair<std::string, std::string> cases[] = {
      {R"({"model": ")" + model + R"(", "prompt": [1,)", "expected a JSON document"},
      {R"([1, 2])", "completion request: expected a JSON object, got [1,2]"},
      {R"({"prompt": [1]})", "completion request.model: missing"},
      {R"({"model": ")" + model + R"("})", "completion request.prompt: missing"},
      {R"({"model": ")" + model + R"(", "prompt": {"a": 1}})",
       "completion request.prompt: expected a list of token ids or a string, got {\"a\":1}"},
      {R"({"model": ")" + model + R"(", "prompt": [1, "2"]})",
       "completion request.prompt[1]: expected a token id"},
      {R"({"model": ")" + model + R"(", "prompt": [-1]})", "prompt[0]: expected a token id"},
      {R"({"model": ")" + model + R"(", "prompt": [1.5]})", "prompt[0]: expected a token id"},
      {R"({"model": ")" + model + R"(", "prompt": []})", "prompt: expected at least one token"},
      {R"({"model": 7, "prompt": [1]})", "completion request.model: expected a non-empty string"},
      {body(R"("n": 0)"), "completion request.n: expected an integer in [1, 16], got 0"},
      {body(R"("n": 17)"), "completion request.n: expected an integer in [1, 16], got 17"},
      {body(R"("n": "2")"), "completion request.n: expected an integer in [1, 16], got \"2\""},
      {body(R"("max_tokens": -1)"), "max_tokens: expected an integer in [0, 4096], got -1"},
      {body(R"("max_tokens": 4097)"), "max_tokens: expected an integer in [0, 4096], got 4097"},
      {body(R"("temperature": 2.5)"), "temperature: expected a number in [0, 2], got 2.5"},
      {body(R"("top_p": 0)"), "top_p: expected a number in (0, 1], got 0"},
      {body(R"("top_p": 1.5)"), "top_p: expected a number in (0, 1], got 1.5"},
      {body(R"("top_k": -2)"), "top_k: expected an integer in [-1, 1048576], got -2"},
      {body(R"("logprobs": 9)"), "logprobs: expected true, false or an integer in [0, 5], got 9"},
      {body(R"("stream": "yes")"), "stream: expected true or false, got \"yes\""},
      {body(R"("seed": -3)"), "seed: expected a non-negative integer, got -3"},
      {body(R"("echo": true)"), "echo: expected false or absent, got true"},
      {body(R"("stop": ["end"])"), "stop: expected null or []"},
      {body(R"("best_of": 2)"),
       "completion request.best_of: unknown field (extra inputs are not permitted); expected one "
       "of model"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    expect_rejected(request("POST", "/inference/v1/completions", text), 400, expected);
  }
}

TEST_F(RouterTest, CompletionsOnAnotherAccountsDeploymentAre404) {
  const std::string body = R"({"model": ")" + deployment_name(kOtherAccount, "secret") +
                           R"(", "prompt": [1], "stream": true})";
  expect_rejected(request("POST", "/inference/v1/completions", body), 404, "not found");
  expect_rejected(
      request("POST", "/inference/v1/completions",
              R"({"model": ")" + deployment_name(kAccount, "nope") + R"(", "prompt": [1]})"),
      404, "accounts/acme/deployments/nope not found");
}

TEST_F(RouterTest, BadDeltaMetadataFormatsAre400) {
  auto h = delta_hotload("x", base);
  h.incremental_snapshot_metadata->checksum_format = "crc32";
  expect_rejected(hotload_request("POST", "d", encode(h)), 400, "expected 'alder32'");
  h = delta_hotload("x", base);
  h.incremental_snapshot_metadata->compression_format = "gzip";
  expect_rejected(hotload_request("POST", "d", encode(h)), 400, "expected 'arc_v2'");
}

TEST_F(RouterTest, DeleteRemovesTheDeploymentAndAnswersDeleted) {
  const auto r =
      cloud.handle(request("DELETE", deployment_path(kAccount, "d") + "?ignoreChecks=true&hard=true"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(decode_deployment(r.body).state, "DELETED");
  EXPECT_EQ(cloud.handle(request("GET", deployment_path(kAccount, "d"))).status, 404);
}

TEST_F(RouterTest, CreateOverHttpReturnsACreatingDeployment) {
  const auto r = cloud.handle(request("POST", "/v1/accounts/acme/deployments?deploymentId=n2",
                                      encode(config_for(trainer->job_name(), "SYNC"))));
  ASSERT_EQ(r.status, 200) << r.body;
  const Deployment d = decode_deployment(r.body);
  EXPECT_EQ(d.name, "accounts/acme/deployments/n2");
  EXPECT_EQ(d.state, "CREATING");
  EXPECT_EQ(d.hot_load_transition_type, "SYNC");
  EXPECT_EQ(d.hot_load_trainer_job, trainer->job_name());
}

TEST_F(RouterTest, HotloadAndRequestHooksCanRejectWithoutChangingAnything) {
  FaultHooks hooks;
  hooks.on_hotload = [](const std::string&, const HotloadRequest&) {
    return std::optional<HttpResponse>(
        HttpResponse{503, {{"Content-Type", "application/json"}}, encode_error(503, "injected")});
  };
  set_fault_hooks(cloud, hooks);
  trainer->step();
  const auto next = trainer->save_weights_for_sampler("s1", CheckpointKind::base);
  before = fingerprint();
  expect_rejected(hotload_request("POST", "d", encode(full_hotload(next.snapshot_name))), 503,
                  "injected");
  hooks = {};
  hooks.on_request = [](const HttpRequest&) {
    return std::optional<HttpResponse>(
        HttpResponse{500, {{"Content-Type", "application/json"}}, encode_error(500, "boom")});
  };
  set_fault_hooks(cloud, hooks);
  expect_rejected(request("GET", "/v1/accounts"), 500, "boom");
  expect_rejected(request("GET", "/v1/accounts", "", "bad"), 401, "unknown API key");
}

}  // namespace
}  // namespace weightsync::fake
