// The ServiceClient (the service-client sampler refresh) against the fake: provisioning (new,
// reuse, resume, re-attach, shape mismatch), refresh through the shared chain, sampling with
// provenance, cleanup and bad configs. In-process on a ManualClock; sampling also over loopback.
#include "weightsync/service_client.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "fake_test_support.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/http_error.h"
#include "weightsync/fake/in_process_transport.h"

namespace weightsync::fake {
namespace {

using namespace testing;

constexpr const char* kShape = "accounts/fireworks/deploymentShapes/h200-small";

// Passes every exchange to the fake, calling `before` first (a test's fault at a chosen call).
class HookedTransport final : public Transport {
 public:
  explicit HookedTransport(FakeCloud& cloud) : inner_(cloud) {}
  HttpResponse exchange(const HttpRequest& request) override {
    if (before) before(request);
    return inner_.exchange(request);
  }
  std::function<void(const HttpRequest&)> before;

 private:
  InProcessTransport inner_;
};

class ServiceClientTest : public ::testing::Test {
 protected:
  ServiceClientTest() : cloud(clock, test_options(2)), transport(cloud) {
    cloud.create_account(kAccount, kKey);
    DeploymentManagerOptions options;
    options.api_key = kKey;
    options.account_id = kAccount;
    manager = std::make_unique<DeploymentManager>(transport, clock, options);
  }

  ServiceClientConfig config(const std::string& trainer_id, const std::string& deployment_id) {
    ServiceClientConfig c;
    c.base_model = kBaseModel;
    c.new_trainer_job_id = trainer_id;
    c.deployment_id = deployment_id;
    c.deployment_shape = kShape;
    c.replica_count = 2;
    c.poll_interval = seconds(1);
    c.reattach_poll_interval = seconds(1);
    c.sampling.retry_interval = seconds(1);
    return c;
  }

  std::unique_ptr<ServiceClient> client(ServiceClientConfig c, Transport* wire = nullptr) {
    return std::make_unique<ServiceClient>(
        *manager, wire ? *wire : transport, kKey,
        [this](const std::string& job) -> TrainingClient& { return cloud.trainer(job); },
        std::move(c));
  }

  FakeTrainingClient& trainer_of(ServiceClient& s) {
    return cloud.trainer(s.provision().trainer_job);
  }

  // Every replica of `deployment` serves exactly `t`'s current weights.
  void expect_served(const std::string& deployment, const FakeTrainingClient& t) {
    const auto replicas = cloud.replicas(kAccount, deployment);
    ASSERT_FALSE(replicas.empty());
    for (const auto& r : replicas) {
      EXPECT_EQ(r.served_checksum, t.checksum()) << r.name << " serves " << r.served_identity;
      EXPECT_TRUE(r.readiness) << r.name;
    }
  }

  // One training step, save and refresh; returns the bound sampler.
  SamplingClient refresh(ServiceClient& s, const std::string& name) {
    trainer_of(s).step();
    const SamplerSave saved = s.save_weights_for_sampler(name);
    return s.create_sampling_client(saved.path);
  }

  // Trainer job `id` fails and is resumed behind the client's back: a new trainer session.
  void fail_and_resume_trainer(const std::string& id) {
    cloud.with_model([&](CloudModel& m) {
      return m.fail_trainer_job("accounts/acme/rlorTrainerJobs/" + id, "OOM");
    });
    TrainerJobs jobs(transport, kKey, kAccount);
    jobs.resume(id);
    clock.advance(seconds(5));
  }

  void fail_deployment(const std::string& id) {
    cloud.with_model([&](CloudModel& m) {
      m.deployment(kAccount, kAccount, id).fail("out of GPUs", m.clock().now());
      return 0;
    });
  }

  ManualClock clock;
  FakeCloud cloud;
  HookedTransport transport;
  std::unique_ptr<DeploymentManager> manager;
};

TEST_F(ServiceClientTest, ProvisionsANewTrainerAndDeploymentOnceAndLazily) {
  auto s = client(config("t-new", "d-new"));
  EXPECT_FALSE(s->provisioned());
  int creates = 0;
  transport.before = [&](const HttpRequest& r) {
    creates += r.method == "POST" && r.path.find("Id=") != std::string::npos;
  };
  const Provisioned& p = s->provision();
  EXPECT_TRUE(p.trainer_created);
  EXPECT_TRUE(p.deployment_created);
  EXPECT_FALSE(p.deployment_reattached);
  EXPECT_EQ(p.trainer_job, "accounts/acme/rlorTrainerJobs/t-new");
  EXPECT_EQ(creates, 2);  // one trainer job, one deployment
  s->provision();
  EXPECT_EQ(creates, 2);
  const Deployment d = cloud.deployment(kAccount, "d-new");
  EXPECT_EQ(d.state, kStateReady);
  EXPECT_EQ(d.deployment_shape, kShape);
  EXPECT_EQ(d.hot_load_trainer_job, p.trainer_job);
  EXPECT_EQ(d.max_replica_count, 2);
}

TEST_F(ServiceClientTest, RefreshIsABaseThenDeltasAndEveryReplicaServesTheTrainer) {
  auto s = client(config("t1", "d1"));
  for (int step = 0; step < 4; ++step) {
    const SamplingClient sampler = refresh(*s, "step-" + std::to_string(step));
    EXPECT_EQ(s->last_sync().kind, step == 0 ? CheckpointKind::base : CheckpointKind::delta);
    EXPECT_EQ(s->last_sync().metadata.has_value(), step > 0);
    // Unlike the reference's managed path, every refresh warms the deployment up.
    EXPECT_TRUE(s->last_sync().warmup_ran);
    EXPECT_TRUE(s->last_sync().warmup_ok);
    EXPECT_EQ(sampler.snapshot_identity(), s->chain().base_identity);
    EXPECT_EQ(sampler.model(), "accounts/acme/deployments/d1");
    expect_served("d1", trainer_of(*s));
  }
}

TEST_F(ServiceClientTest, AFailedHotloadResetsTheChainAndTheNextRefreshIsABase) {
  auto s = client(config("t1", "d1"));
  refresh(*s, "a");
  manager->reset_ledger("d1");  // the replicas forget the chain: the next delta fails
  trainer_of(*s).step();
  const SamplerSave saved = s->save_weights_for_sampler("b");
  EXPECT_EQ(s->last_sync().kind, CheckpointKind::delta);
  EXPECT_THROW(s->create_sampling_client(saved.path), HotloadFailed);
  EXPECT_EQ(s->chain(), ChainState{});
  refresh(*s, "c");
  EXPECT_EQ(s->last_sync().kind, CheckpointKind::base);
  EXPECT_FALSE(s->last_sync().metadata);
  expect_served("d1", trainer_of(*s));
}

TEST_F(ServiceClientTest, ReusingADeploymentReattachesItAndTheFirstRefreshIsABase) {
  auto first = client(config("t1", "shared"));
  refresh(*first, "a");
  refresh(*first, "b");
  auto second = client(config("t2", "shared"));
  const Provisioned& p = second->provision();
  EXPECT_FALSE(p.deployment_created);
  EXPECT_TRUE(p.deployment_reattached);
  EXPECT_EQ(cloud.deployment(kAccount, "shared").hot_load_trainer_job,
            "accounts/acme/rlorTrainerJobs/t2");
  refresh(*second, "x");
  EXPECT_EQ(second->last_sync().kind, CheckpointKind::base);
  expect_served("shared", trainer_of(*second));
  refresh(*second, "y");
  EXPECT_EQ(second->last_sync().kind, CheckpointKind::delta);
  expect_served("shared", trainer_of(*second));
}

TEST_F(ServiceClientTest, AShapeMismatchIsRefusedBeforeAnythingChanges) {
  auto first = client(config("t1", "shared"));
  refresh(*first, "a");
  const Deployment before = cloud.deployment(kAccount, "shared");
  const auto replicas_before = cloud.replicas(kAccount, "shared");
  ServiceClientConfig other = config("t2", "shared");
  other.deployment_shape = "accounts/fireworks/deploymentShapes/b200-large";
  auto second = client(other);
  int writes = 0;
  transport.before = [&](const HttpRequest& r) {
    writes += r.method == "PATCH" || r.method == "DELETE";
  };
  try {
    second->provision();
    FAIL() << "expected DeploymentShapeMismatch";
  } catch (const DeploymentShapeMismatch& e) {
    EXPECT_NE(std::string(e.what()).find("b200-large"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("h200-small"), std::string::npos) << e.what();
  }
  EXPECT_EQ(writes, 0);
  EXPECT_EQ(cloud.deployment(kAccount, "shared"), before);
  const auto replicas_after = cloud.replicas(kAccount, "shared");
  ASSERT_EQ(replicas_after.size(), replicas_before.size());
  for (std::size_t i = 0; i < replicas_after.size(); ++i) {
    EXPECT_EQ(replicas_after[i].restarts, replicas_before[i].restarts);
    EXPECT_EQ(replicas_after[i].served_identity, replicas_before[i].served_identity);
  }
}

TEST_F(ServiceClientTest, AReusedFailedTrainerJobIsResumedAndTheChainStartsOver) {
  auto first = client(config("t1", "d1"));
  refresh(*first, "a");
  refresh(*first, "b");
  const std::string session = trainer_of(*first).session_id();
  ASSERT_TRUE(cloud.with_model(
      [](CloudModel& m) { return m.fail_trainer_job("accounts/acme/rlorTrainerJobs/t1", "OOM"); }));
  ServiceClientConfig again = config("unused", "d1");
  again.trainer_job_id = "t1";
  auto second = client(again);
  const Provisioned& p = second->provision();
  EXPECT_TRUE(p.trainer_resumed);
  EXPECT_FALSE(p.trainer_created);
  EXPECT_FALSE(p.deployment_reattached);  // same trainer: nothing to re-attach
  EXPECT_NE(trainer_of(*second).session_id(), session);
  refresh(*second, "c");
  EXPECT_EQ(second->last_sync().kind, CheckpointKind::base);
  expect_served("d1", trainer_of(*second));
}

TEST_F(ServiceClientTest, ATrainerResumedUnderARunningClientMakesTheNextRefreshABase) {
  auto s = client(config("t1", "d1"));
  refresh(*s, "a");
  refresh(*s, "b");
  EXPECT_EQ(s->last_sync().kind, CheckpointKind::delta);
  fail_and_resume_trainer("t1");
  refresh(*s, "c");
  EXPECT_EQ(s->last_sync().kind, CheckpointKind::base);
  expect_served("d1", trainer_of(*s));
}

// The chain forgets a delta's parent when the trainer session changes, not what the client
// saved: a base saved before a resume can still be hotloaded by its path, a delta cannot (its
// parent is of the old session), and a path this client never saved is refused.
TEST_F(ServiceClientTest, AfterATrainerResumeAnEarlierBaseCanBeHotloadedButNotAnEarlierDelta) {
  auto s = client(config("t1", "d1"));
  trainer_of(*s).step();
  const SamplerSave base = s->save_weights_for_sampler("a");
  s->create_sampling_client(base.path);
  trainer_of(*s).step();
  const SamplerSave delta = s->save_weights_for_sampler("b");
  ASSERT_EQ(s->last_sync().kind, CheckpointKind::delta);
  s->create_sampling_client(delta.path);
  fail_and_resume_trainer("t1");
  refresh(*s, "c");
  ASSERT_EQ(s->last_sync().kind, CheckpointKind::base);

  const SamplingClient earlier = s->create_sampling_client(base.path);
  EXPECT_EQ(earlier.snapshot_identity(), base.snapshot_name);
  EXPECT_EQ(s->last_sync().kind, CheckpointKind::base);
  EXPECT_FALSE(s->last_sync().metadata);
  EXPECT_EQ(s->chain().base_identity, base.snapshot_name);
  for (const auto& r : cloud.replicas(kAccount, "d1")) {
    EXPECT_EQ(r.served_identity, base.snapshot_name) << r.name;
  }
  try {
    s->create_sampling_client(delta.path);
    FAIL() << "expected InvalidArgument for a delta of an earlier trainer session";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("parent is unknown"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s->chain().base_identity, base.snapshot_name);  // the refusal changed nothing
  try {
    s->create_sampling_client("gs://elsewhere/never-saved");
    FAIL() << "expected InvalidArgument for a path this client did not save";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("never-saved"), std::string::npos) << e.what();
  }
}

TEST_F(ServiceClientTest, ATrainerJobThatFailsWhileWaitedForIsItsOwnError) {
  auto s = client(config("t1", "d1"));
  transport.before = [&](const HttpRequest& r) {
    if (r.method == "GET" && r.path == "/v1/accounts/acme/rlorTrainerJobs/t1") {
      cloud.with_model([](CloudModel& m) {
        return m.fail_trainer_job("accounts/acme/rlorTrainerJobs/t1", "node lost");
      });
    }
  };
  try {
    s->provision();
    FAIL() << "expected TrainerJobFailed";
  } catch (const TrainerJobFailed& e) {
    EXPECT_NE(std::string(e.what()).find("JOB_STATE_FAILED"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("node lost"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(s->provisioned());
}

TEST_F(ServiceClientTest, ADeploymentThatFailsWhileWaitedForIsItsOwnError) {
  auto s = client(config("t1", "d1"));
  bool created = false;
  transport.before = [&](const HttpRequest& r) {
    if (created && r.method == "GET" && r.path == "/v1/accounts/acme/deployments/d1") {
      fail_deployment("d1");
    }
    created =
        created || (r.method == "POST" && r.path.find("deploymentId=d1") != std::string::npos);
  };
  try {
    s->provision();
    FAIL() << "expected DeploymentFailed";
  } catch (const DeploymentFailed& e) {
    EXPECT_NE(std::string(e.what()).find("FAILED"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of GPUs"), std::string::npos) << e.what();
  }
}

TEST_F(ServiceClientTest, AReattachThatNeverSettlesIsItsOwnErrorAndARetryWaitsAgain) {
  auto first = client(config("t1", "shared"));
  refresh(*first, "a");
  DeploymentTiming slow = test_timing();
  slow.hotload_startup_delay = seconds(1000);
  cloud.set_deployment_timing(kAccount, "shared", slow);
  ServiceClientConfig c = config("t2", "shared");
  c.reattach_settle_timeout = seconds(20);
  auto second = client(c);
  try {
    second->provision();
    FAIL() << "expected ReattachNotSettled";
  } catch (const ReattachNotSettled& e) {
    EXPECT_NE(std::string(e.what()).find("expected READY with restarted replicas"),
              std::string::npos)
        << e.what();
  }
  clock.advance(seconds(1000));
  const Provisioned& p = second->provision();  // the trainer is not created twice
  EXPECT_TRUE(p.trainer_created);
  refresh(*second, "x");
  EXPECT_EQ(second->last_sync().kind, CheckpointKind::base);
}

TEST_F(ServiceClientTest, SamplesCarryTheSnapshotThatGeneratedThem) {
  auto s = client(config("t1", "d1"));
  const SamplingClient first = refresh(*s, "a");
  SamplingParams params;
  params.n = 3;
  params.max_tokens = 6;
  params.temperature = 0.8;
  params.top_k = 50;
  params.logprobs = 1;
  params.seed = 7;
  const auto completions = first.sample({5, 6, 7}, params);
  ASSERT_EQ(completions.size(), 3u);
  for (const Completion& c : completions) {
    EXPECT_FALSE(c.tokens.empty());
    EXPECT_LE(c.tokens.size(), 6u);
    EXPECT_EQ(c.logprobs.size(), c.tokens.size());
    EXPECT_TRUE(c.finish_reason == "stop" || c.finish_reason == "length") << c.finish_reason;
    EXPECT_TRUE(c.provenance_reported);
    EXPECT_EQ(c.snapshot_identity, first.snapshot_identity());
    EXPECT_EQ(c.last_snapshot_identity, first.snapshot_identity());
  }
  // The same seed on the same snapshot gives the same tokens.
  EXPECT_EQ(first.sample({5, 6, 7}, params)[0].tokens, completions[0].tokens);

  const SamplingClient second = refresh(*s, "b");
  const auto newer = first.sample({5, 6, 7}, params);  // the old client, not strict
  EXPECT_EQ(newer[0].snapshot_identity, second.snapshot_identity());
  SamplingClientOptions strict;
  strict.reject_other_snapshots = true;
  SamplingClient stale(transport, clock, kKey, first.model(), first.snapshot_identity(), strict);
  EXPECT_THROW(stale.sample({5, 6, 7}, params), SnapshotMismatch);
  SamplingClient current(transport, clock, kKey, second.model(), second.snapshot_identity(),
                         strict);
  EXPECT_EQ(current.sample({5, 6, 7}, params).size(), 3u);
}

TEST_F(ServiceClientTest, SamplingOverLoopbackReadsTheEventStream) {
  FakeServer server(cloud);
  server.start();
  RetryingHttpTransport http(HttpTransportOptions{server.base_url(), seconds(5), seconds(30)},
                             clock);
  auto s = client(config("t1", "d1"), &http);
  const SamplingClient sampler = refresh(*s, "a");
  SamplingParams params;
  params.n = 2;
  params.max_tokens = 4;
  params.seed = 3;
  const auto over_http = sampler.sample({1, 2}, params);
  ASSERT_EQ(over_http.size(), 2u);
  EXPECT_EQ(over_http[0].snapshot_identity, sampler.snapshot_identity());
  SamplingClient in_process(transport, clock, kKey, sampler.model(), sampler.snapshot_identity());
  EXPECT_EQ(in_process.sample({1, 2}, params)[1].tokens, over_http[1].tokens);
  server.stop();
}

TEST_F(ServiceClientTest, SamplingWaitsOutASyncLoad) {
  auto s = client(config("t1", "d1"));
  const SamplingClient sampler = refresh(*s, "a");
  DeploymentUpdate sync;
  sync.hot_load_transition_type = std::string(kTransitionSync);
  manager->update_deployment("d1", sync);
  clock.advance(seconds(10));
  // A load in flight under SYNC: completions answer 425 until it lands.
  trainer_of(*s).step();
  const SamplerSave saved = s->save_weights_for_sampler("b");
  ASSERT_EQ(s->last_sync().kind, CheckpointKind::delta);
  manager->hotload("d1", kBaseModel,
                   HotloadRequest{saved.snapshot_name, std::nullopt,
                                  IncrementalSnapshotMetadata{s->chain().base_identity, "arc_v2"}});
  HttpRequest probe{"POST",
                    std::string(kCompletionsPath),
                    {{"Authorization", std::string("Bearer ") + kKey}},
                    R"({"model":"accounts/acme/deployments/d1","prompt":[1],"max_tokens":1})"};
  ASSERT_EQ(cloud.handle(probe).status, 425);
  SamplingClient waiting(transport, clock, kKey, sampler.model(), saved.snapshot_name);
  SamplingParams params;
  params.max_tokens = 2;
  const auto completions = waiting.sample({1, 2}, params);
  EXPECT_EQ(completions[0].snapshot_identity, saved.snapshot_name);
}

TEST_F(ServiceClientTest, CloseReleasesOnlyWhatItCreatedInOrder) {
  ServiceClientConfig c = config("t1", "d1");
  c.cleanup_deployment_on_close = "delete";
  c.cleanup_trainer_on_close = true;
  auto s = client(c);
  refresh(*s, "a");
  std::vector<std::string> writes;
  transport.before = [&](const HttpRequest& r) {
    if (r.method == "DELETE" || r.method == "PATCH") writes.push_back(r.method + " " + r.path);
  };
  s->close();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].rfind("DELETE /v1/accounts/acme/deployments/d1", 0), 0u) << writes[0];
  EXPECT_EQ(writes[1], "DELETE /v1/accounts/acme/rlorTrainerJobs/t1");
  TrainerJobs jobs(transport, kKey, kAccount);
  EXPECT_EQ(jobs.get("t1").state, kJobStateDeleted);
  s->close();  // idempotent
  EXPECT_EQ(writes.size(), 2u);
}

TEST_F(ServiceClientTest, CloseScalesToZeroAndLeavesWhatItReused) {
  auto owner = client(config("t1", "shared"));
  refresh(*owner, "a");
  ServiceClientConfig c = config("t2", "shared");
  c.cleanup_deployment_on_close = "delete";  // not its deployment: left alone
  auto user = client(c);
  refresh(*user, "x");
  user->close();
  EXPECT_EQ(cloud.deployment(kAccount, "shared").state, kStateReady);

  ServiceClientConfig z = config("t3", "zero");
  z.cleanup_deployment_on_close = "scale_to_zero";
  auto scaled = client(z);
  refresh(*scaled, "a");
  scaled->close();
  EXPECT_EQ(cloud.deployment(kAccount, "zero").max_replica_count, 0);
  // A later client reusing it scales it up again and refreshes with a base.
  ServiceClientConfig back = config("t4", "zero");
  auto again = client(back);
  refresh(*again, "b");
  EXPECT_EQ(again->last_sync().kind, CheckpointKind::base);
  expect_served("zero", trainer_of(*again));
}

TEST_F(ServiceClientTest, ACleanupFailureIsReportedAndTheRestStillRuns) {
  ServiceClientConfig c = config("t1", "d1");
  c.cleanup_deployment_on_close = "scale_to_zero";
  c.cleanup_trainer_on_close = true;
  auto s = client(c);
  refresh(*s, "a");
  manager->delete_deployment("d1");
  clock.advance(seconds(1));
  try {
    s->close();
    FAIL() << "expected the scale-to-zero failure";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scale_to_zero deployment 'd1'"), std::string::npos)
        << e.what();
  }
  TrainerJobs jobs(transport, kKey, kAccount);
  EXPECT_EQ(jobs.get("t1").state, kJobStateDeleted);  // the trainer was still released
}

TEST_F(ServiceClientTest, ABadConfigIsRefusedAtConstructionNamingTheField) {
  auto refused = [&](ServiceClientConfig c, const std::string& field) {
    try {
      client(std::move(c));
      ADD_FAILURE() << "expected InvalidArgument naming " << field;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  ServiceClientConfig c = config("t1", "d1");
  c.deployment_id.reset();
  c.deployment_shape.reset();
  refused(c, "deployment_shape");
  c = config("t1", "d1");
  c.lora_rank = -1;
  refused(c, "lora_rank");
  c = config("t1", "d1");
  c.cleanup_deployment_on_close = "shred";
  refused(c, "cleanup_deployment_on_close");
  c = config("t1", "team/d1");
  refused(c, "deployment_id");
  c = config("t1", "d1");
  c.trainer_job_id = "a/b";
  refused(c, "trainer_job_id");
  c = config("t1", "d1");
  c.replica_count = 0;
  refused(c, "replica_count");
  c = config("t1", "d1");
  c.reattach_settle_timeout = seconds(0);
  refused(c, "reattach_settle_timeout");
  c = config("t1", "d1");
  c.base_model.clear();
  refused(c, "base_model");
}

TEST_F(ServiceClientTest, AMissingDeploymentToReuseNeedsAShapeAndCreatesNothingWithoutOne) {
  ServiceClientConfig c = config("t1", "absent");
  c.deployment_shape.reset();
  auto s = client(c);
  EXPECT_THROW(s->provision(), InvalidArgument);
  EXPECT_THROW(cloud.deployment(kAccount, "absent"), HttpError);
}

}  // namespace
}  // namespace weightsync::fake
