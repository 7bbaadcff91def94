// One test per fault of the fault plan, each injected by a scripted plan while the library's
// WeightSyncer + DeploymentManager run in-process on a ManualClock: what the library raises or
// recovers from, what happens to its chain, and what every replica serves afterwards. Then: a
// random plan replays its fault log exactly from its seed.
#include "weightsync/fake/fault_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "fake_test_support.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fault_injector.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::fake {
namespace {

using namespace testing;

constexpr const char* kDeployment = "accounts/acme/deployments/d";

// A deployment "d" on trainer t1, its manager and syncer, and a first base already served.
struct World {
  explicit World(int replicas = 1)
      : cloud(clock, test_options(replicas)), in_process(cloud), transport(in_process, clock) {
    cloud.create_account(kAccount, kKey);
    trainer = &cloud.create_trainer(kAccount, "t1", small_trainer(16 * 1024));
    DeploymentManagerOptions options;
    options.api_key = kKey;
    manager = std::make_unique<DeploymentManager>(transport, clock, options);
    manager->create_or_get_deployment("d", config_for(trainer->job_name()));
    manager->wait_for_deployment_ready("d", seconds(60));
    syncer = std::make_unique<WeightSyncer>(*trainer, syncer_options(), clock);
    first = sync("s0");
  }

  WeightSyncerOptions syncer_options() {
    WeightSyncerOptions o;
    o.deploy_mgr = manager.get();
    o.deployment_id = "d";
    o.base_model = kBaseModel;
    o.hotload_timeout = seconds(60);
    o.hotload_ready_timeout = seconds(60);
    o.hotload_ready_poll_interval = seconds(1);
    o.warmup_max_retries = 3;
    return o;
  }

  void install(const std::string& plan) { cloud.set_fault_plan(parse_fault_plan(plan)); }
  // One training step, then save_and_hotload.
  std::string sync(const std::string& name) {
    trainer->step();
    return syncer->save_and_hotload(name);
  }
  std::vector<ReplicaView> replicas() { return cloud.replicas(kAccount, "d"); }
  ReplicaView replica(int i = 0) { return replicas().at(static_cast<std::size_t>(i)); }
  // Every replica is ready and serves exactly the trainer's weights now.
  void expect_all_serve_trainer() {
    for (const auto& r : replicas()) {
      EXPECT_TRUE(r.readiness) << r.name;
      EXPECT_EQ(r.served_checksum, trainer->checksum())
          << r.name << " serves " << r.served_identity;
      ASSERT_TRUE(r.served_bytes);
      EXPECT_EQ(*r.served_bytes, trainer->weights()) << r.name;
    }
  }
  // After a failed sync the chain is reset, and the next sync is a base that succeeds.
  void expect_recovers_with_a_base(const std::string& name) {
    EXPECT_EQ(syncer->chain().base_identity, "");
    sync(name);
    EXPECT_EQ(syncer->last_sync().kind, CheckpointKind::base);
    expect_all_serve_trainer();
  }
  std::uint64_t loads_done() {
    return cloud.with_model(
        [](CloudModel& m) { return m.deployments().at(kDeployment)->tally().done; });
  }
  std::vector<FaultEvent> log() { return cloud.fault_log(); }

  ManualClock clock;
  FakeCloud cloud;
  InProcessTransport in_process;
  RetryingTransport transport;
  FakeTrainingClient* trainer = nullptr;
  std::unique_ptr<DeploymentManager> manager;
  std::unique_ptr<WeightSyncer> syncer;
  std::string first;
};

TEST(FaultPlan, HotloadRejectedWith400FailsTheSyncResetsTheChainAndKeepsTheServedSnapshot) {
  World w;
  w.install(R"({"faults":[{"fault":"hotload_rejected","count":1,"status":400,
                           "deployment":"accounts/acme/deployments/d"}]})");
  try {
    w.sync("s1");
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
  }
  EXPECT_EQ(w.replica().served_identity, w.first);
  ASSERT_EQ(w.log().size(), 1u);
  EXPECT_EQ(w.log()[0].fault, "hotload_rejected");
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, HotloadRejectedWith503IsRetriedByTheTransportAndRecovers) {
  World w;
  w.install(R"({"faults":[{"fault":"hotload_rejected","count":2,"status":503}]})");
  w.sync("s1");
  EXPECT_EQ(w.syncer->last_sync().kind, CheckpointKind::delta);
  EXPECT_EQ(w.log().size(), 2u);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, HotloadTimeoutIsResubmittedAndTheResubmitStartsNoSecondLoad) {
  World w;
  const auto loads_before = w.loads_done();
  w.install(R"({"faults":[{"fault":"hotload_timeout","count":1,"delaySeconds":30}]})");
  const Duration start = w.clock.now();
  w.sync("s1");
  EXPECT_GE(w.clock.now() - start, seconds(30));
  EXPECT_EQ(w.loads_done(), loads_before + 1);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, HotloadTimeoutOnEveryTryRaisesTransportErrorAndResetsTheChain) {
  World w;
  w.install(R"({"faults":[{"fault":"hotload_timeout","count":4,"delaySeconds":5,
                           "accepted":false}]})");
  EXPECT_THROW(w.sync("s1"), TransportError);
  EXPECT_EQ(w.replica().served_identity, w.first);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, LoadErrorRaisesHotloadFailedAndTheReplicaKeepsItsSnapshot) {
  World w;
  w.install(R"({"faults":[{"fault":"load_error","count":1,"message":"disk full"}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  EXPECT_EQ(w.replica().served_identity, w.first);
  EXPECT_EQ(w.replica().last_error, "disk full");
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, StuckLoadTimesOutAndTheNextBaseReplacesIt) {
  World w;
  w.install(R"({"faults":[{"fault":"load_stuck","count":1}]})");
  EXPECT_THROW(w.sync("s1"), HotloadTimeout);
  EXPECT_EQ(w.replica().stage, "loading");
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, TimedReplicaRestartMakesTheNextSaveABase) {
  World w;
  w.sync("s1");
  w.install(R"({"faults":[{"fault":"replica_restart","atSeconds":10,
                           "deployment":"accounts/acme/deployments/d","replica":0}]})");
  w.clock.advance(seconds(20));
  EXPECT_EQ(w.replica().restarts, 1);
  EXPECT_EQ(w.replica().served_identity, "");
  ASSERT_EQ(w.log().size(), 1u);
  EXPECT_EQ(w.log()[0].trigger, "timed");
  EXPECT_EQ(w.log()[0].at, seconds(10));
  w.sync("s2");
  EXPECT_EQ(w.syncer->last_sync().kind, CheckpointKind::base);
  w.expect_all_serve_trainer();
}

// The restarted replica sits idle on the base model; the manager resubmits the delta, which
// cannot apply there, so the sync fails at once instead of at the hotload timeout.
TEST(FaultPlan, ReplicaRestartMidDeltaIsResubmittedAndFailsFastNotAtTheTimeout) {
  World w;
  w.install(R"({"faults":[{"fault":"replica_restart","count":1,"afterFraction":0.5}]})");
  const Duration start = w.clock.now();
  try {
    w.sync("s1");
    FAIL() << "expected HotloadFailed";
  } catch (const HotloadTimeout& e) {
    FAIL() << "waited out the timeout instead of resubmitting: " << e.what();
  } catch (const HotloadFailed&) {
  }
  EXPECT_LT(w.clock.now() - start, w.syncer_options().hotload_timeout);
  EXPECT_EQ(w.replica().restarts, 1);
  EXPECT_EQ(w.replica().served_identity, "");
  w.expect_recovers_with_a_base("s2");
}

// A base survives the same restart: the resubmitted load completes on the restarted replica.
TEST(FaultPlan, ReplicaRestartMidBaseIsResubmittedAndTheSyncSucceeds) {
  World w;
  w.syncer->reset_delta_chain();
  w.install(R"({"faults":[{"fault":"replica_restart","count":1,"afterFraction":0.5}]})");
  w.sync("s1");
  EXPECT_EQ(w.syncer->last_sync().kind, CheckpointKind::base);
  EXPECT_EQ(w.replica().restarts, 1);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, HotloadManagerNotReadyAfterStartIsWaitedOutBeforeTheFirstHotload) {
  World w;
  w.install(R"({"faults":[{"fault":"manager_not_ready","atSeconds":0,"durationSeconds":30,
                           "deployment":"accounts/acme/deployments/d"}]})");
  WeightSyncer fresh(*w.trainer, w.syncer_options(), w.clock);
  const Duration start = w.clock.now();
  w.trainer->step();
  fresh.save_and_hotload("s1");
  EXPECT_GE(w.clock.now() - start, seconds(30));
  EXPECT_TRUE(fresh.deployment_checked());
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, StaleBucketMissingSnapshotFailsTheLoadAsNotFound) {
  World w;
  w.install(R"({"faults":[{"fault":"stale_bucket","count":1}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  EXPECT_NE(w.replica().last_error.find("not found"), std::string::npos) << w.replica().last_error;
  EXPECT_EQ(w.replica().served_identity, w.first);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, RecreatedBucketLosesItsObjectsAndTheNextBaseRefillsIt) {
  World w;
  w.install(R"({"faults":[{"fault":"stale_bucket","count":1,"mode":"recreate"}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  EXPECT_TRUE(w.cloud.buckets().object_names(w.trainer->bucket_url()).empty());
  EXPECT_EQ(w.cloud.buckets().generation(w.trainer->bucket_url()), 2u);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, StaleCacheServesTheOlderObjectOfAReusedNameAndTheSyncerWarns) {
  World w;
  w.install(R"({"faults":[{"fault":"stale_cache","atSeconds":0}]})");
  w.trainer->step();
  w.syncer->save_and_hotload("a", CheckpointKind::base);
  const std::uint32_t old_a = w.trainer->checksum();
  w.sync("b");
  LogCapture warnings;
  w.trainer->step();
  w.syncer->save_and_hotload("a", CheckpointKind::base);
  const bool warned = std::any_of(warnings.messages().begin(), warnings.messages().end(),
                                  [](const std::string& m) { return m.find("a-") != m.npos; });
  EXPECT_TRUE(warned) << "expected a warning about the reused name";
  EXPECT_EQ(w.replica().served_checksum, old_a);
  EXPECT_NE(w.replica().served_checksum, w.trainer->checksum());
}

TEST(FaultPlan, SessionChangeMakesTheSyncerStartANewChainWithABase) {
  World w;
  const std::string old_session = w.trainer->session_id();
  w.install(R"({"faults":[{"fault":"session_change","count":1,
                           "trainer":"accounts/acme/rlorTrainerJobs/t1"}]})");
  w.sync("s1");
  EXPECT_NE(w.trainer->session_id(), old_session);
  const std::string name = w.sync("s2");
  EXPECT_EQ(w.syncer->last_sync().kind, CheckpointKind::base);
  EXPECT_EQ(name, "s2-" + w.trainer->session_id());
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, ReattachToAnotherTrainerFailsTheHotloadAndRollsTheReplicas) {
  World w;
  auto& other = w.cloud.create_trainer(kAccount, "t2", small_trainer(16 * 1024));
  w.install(R"({"faults":[{"fault":"reattach","count":1,"deployment":"accounts/acme/deployments/d",
                           "trainer":"accounts/acme/rlorTrainerJobs/t2"}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  EXPECT_EQ(w.cloud.deployment(kAccount, "d").hot_load_trainer_job, other.job_name());
  EXPECT_EQ(w.replica().served_identity, "");
  EXPECT_EQ(w.replica().restarts, 1);
  EXPECT_EQ(w.syncer->chain().base_identity, "");
  // The other trainer's loop, with its own chain, serves on the re-attached deployment.
  WeightSyncer other_syncer(other, w.syncer_options(), w.clock);
  other.step();
  other_syncer.save_and_hotload("o1");
  EXPECT_EQ(w.replica().served_checksum, other.checksum());
}

TEST(FaultPlan, DeltaOnAReplicaThatDoesNotHoldItsParentFailsItsChecksum) {
  World w;
  w.install(R"({"faults":[{"fault":"delta_parent_mismatch","count":1}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  EXPECT_EQ(w.syncer->last_sync().kind, CheckpointKind::delta);
  EXPECT_NE(w.replica().last_error.find("could not be applied"), std::string::npos)
      << w.replica().last_error;
  EXPECT_EQ(w.replica().served_identity, w.first);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, WarmupUnavailableForAWhileIsRetriedUntilItAnswers) {
  World w;
  // The transport tries each warmup 4 times: the first warmup attempt sees only 503s.
  w.install(R"({"faults":[{"fault":"warmup_unavailable","count":6}]})");
  w.sync("s1");
  EXPECT_TRUE(w.syncer->last_sync().warmup_ok);
  EXPECT_EQ(w.syncer->last_sync().warmup_attempts, 2);
  EXPECT_EQ(w.log().size(), 6u);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, WarmupUnavailableTooLongRaisesWarmupFailedWithTheChainAdvanced) {
  World w;
  w.install(R"({"faults":[{"fault":"warmup_unavailable","count":100}]})");
  const std::string name = [&] {
    try {
      w.sync("s1");
    } catch (const WarmupFailed&) {
      return w.syncer->last_sync().snapshot_name;
    }
    return std::string("no WarmupFailed");
  }();
  EXPECT_EQ(w.syncer->chain().base_identity, name);
  EXPECT_EQ(w.syncer->last_sync().warmup_attempts, 4);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, SlowDownloadStretchesTheLoadWithinTheTimeout) {
  World w;
  w.install(R"({"faults":[{"fault":"slow_download","count":1,"factor":10}]})");
  w.sync("s1");
  EXPECT_GT(w.syncer->last_sync().timings.hotload, seconds(10));
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, SlowDownloadPastTheTimeoutRaisesTimeout) {
  World w;
  w.install(R"({"faults":[{"fault":"slow_download","count":1,"factor":1000}]})");
  EXPECT_THROW(w.sync("s1"), HotloadTimeout);
  w.clock.advance(seconds(2000));
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, PartialRolloutFailsTheSyncWhileOtherReplicasMoveOn) {
  World w(3);
  w.install(R"({"faults":[{"fault":"partial_rollout","count":1,"replica":1}]})");
  EXPECT_THROW(w.sync("s1"), HotloadFailed);
  const std::string s1 = w.syncer->last_sync().snapshot_name;
  EXPECT_EQ(w.replica(0).served_identity, s1);
  EXPECT_EQ(w.replica(1).served_identity, w.first);
  EXPECT_EQ(w.replica(2).served_identity, s1);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, PromptCacheNotResetKeepsOldEntriesAfterTheSync) {
  World w;
  CompletionRequest c;
  c.model = kDeployment;
  c.prompt = {9, 9, 9};
  HttpRequest r = request("POST", std::string(kCompletionsPath), encode(c));
  ASSERT_EQ(w.cloud.handle(r).status, 200);
  w.install(R"({"faults":[{"fault":"prompt_cache_not_reset","count":1}]})");
  w.sync("s1");
  EXPECT_EQ(w.replica().prompt_cache_entries, 2u);  // {9,9,9} survived beside the warmup's
  ASSERT_EQ(w.cloud.handle(r).status, 200);
  w.sync("s2");
  EXPECT_EQ(w.replica().prompt_cache_entries, 1u);  // reset again: only the warmup's
}

TEST(FaultPlan, LatencyDelaysTheAnswerOnTheClock) {
  World w;
  w.install(R"({"faults":[{"fault":"latency","count":1,"delaySeconds":7,"method":"POST",
                           "path":"/hot_load/"}]})");
  w.sync("s1");
  EXPECT_GE(w.syncer->last_sync().timings.hotload, seconds(7));
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, ConnectionResetBeforeProcessingIsRetriedAndLoadsOnce) {
  World w;
  const auto loads_before = w.loads_done();
  w.install(R"({"faults":[{"fault":"connection_reset","count":1,"processed":false,
                           "method":"POST","path":"/hot_load/v1/models/hot_load"}]})");
  w.sync("s1");
  EXPECT_EQ(w.loads_done(), loads_before + 1);
  w.expect_all_serve_trainer();
}

TEST(FaultPlan, ConnectionResetOnEveryTryAfterProcessingLoadsButTheChainIsReset) {
  World w;
  w.install(R"({"faults":[{"fault":"connection_reset","count":4,"method":"POST",
                           "path":"/hot_load/"}]})");
  EXPECT_THROW(w.sync("s1"), TransportError);
  const std::string s1 = w.syncer->last_sync().snapshot_name;
  w.clock.advance(seconds(10));
  // The server took the load; the client could not know, so it starts over with a base.
  EXPECT_EQ(w.replica().served_identity, s1);
  w.expect_recovers_with_a_base("s2");
}

TEST(FaultPlan, TruncatedStatusBodyIsRetriedByTheTransport) {
  World w;
  w.install(R"({"faults":[{"fault":"truncated_body","count":2,"method":"GET",
                           "path":"/hot_load/"}]})");
  w.sync("s1");
  EXPECT_EQ(w.log().size(), 2u);
  w.expect_all_serve_trainer();
}

// ---- one generator, one seed ----

std::string run_random_plan(std::uint64_t seed) {
  World w(2);
  w.install(R"({"seed":)" + std::to_string(seed) + R"(,"faults":[
      {"fault":"hotload_rejected","probability":0.15,"status":503},
      {"fault":"load_error","probability":0.1},
      {"fault":"delta_parent_mismatch","probability":0.2},
      {"fault":"slow_download","probability":0.3,"factor":3},
      {"fault":"warmup_unavailable","probability":0.3},
      {"fault":"prompt_cache_not_reset","probability":0.3},
      {"fault":"latency","probability":0.1,"delaySeconds":2},
      {"fault":"partial_rollout","probability":0.1,"replica":1},
      {"fault":"replica_restart","probability":0.05,"limit":2}]})");
  for (int step = 1; step <= 25; ++step) {
    try {
      w.sync("s" + std::to_string(step));
    } catch (const Error&) {
      // A failed sync is part of the run; the log records why.
    }
  }
  return w.cloud.fault_log_text();
}

TEST(FaultPlan, TheSameRandomPlanAndSeedGiveTheSameFaultLog) {
  const std::uint64_t seed = 20240607;
  const std::string first = run_random_plan(seed);
  const std::string second = run_random_plan(seed);
  EXPECT_EQ(first, second) << "seed " << seed;
  EXPECT_GT(std::count(first.begin(), first.end(), '\n'), 5) << first;
  EXPECT_NE(run_random_plan(seed + 1), first) << "seed " << seed + 1;
}

TEST(FaultPlan, SaveFailureFailsTheTrainersNextSaveAndOnlyThatTrainers) {
  World w;
  w.install(R"({"faults":[{"fault":"save_failure","count":1,
                            "trainer":"accounts/acme/rlorTrainerJobs/t1"}]})");
  EXPECT_FALSE(w.cloud.save_fault("accounts/acme/rlorTrainerJobs/other"));
  EXPECT_TRUE(w.cloud.save_fault(w.trainer->job_name()));
  EXPECT_THROW(w.trainer->save_weights_for_sampler("s1", CheckpointKind::base), SaveFailed);
  EXPECT_FALSE(w.cloud.save_fault(w.trainer->job_name()));
  EXPECT_NO_THROW(w.trainer->save_weights_for_sampler("s1", CheckpointKind::base));
  ASSERT_EQ(w.log().size(), 1u);
  EXPECT_EQ(w.log()[0].fault, "save_failure");
}

TEST(FaultPlan, AnEntryAddedMidRunReplaysFromTheStartAtTheSameOpportunity) {
  const auto run = [](bool add_mid_run, const FaultPlan& from_start) {
    World w;
    w.cloud.set_fault_plan(from_start);
    w.sync("s1");
    w.sync("s2");
    if (add_mid_run) {
      FaultSpec spec;
      spec.kind = FaultKind::load_error;
      spec.count = 1;
      EXPECT_EQ(w.cloud.add_fault(spec), 0u);
    }
    EXPECT_THROW(w.sync("s3"), HotloadFailed);
    w.expect_recovers_with_a_base("s4");
    return std::make_pair(w.cloud.fault_plan(), w.log());
  };
  const auto [plan, fired] = run(true, FaultPlan{});
  ASSERT_EQ(plan.faults.size(), 1u);
  EXPECT_EQ(plan.faults[0].after, 2);  // the loads of s1 and s2 went by
  const FaultPlan replayed_plan = parse_fault_plan(encode_fault_plan(plan));
  EXPECT_EQ(encode_fault_plan(replayed_plan), encode_fault_plan(plan));
  const auto [unused, replayed] = run(false, replayed_plan);
  EXPECT_EQ(replayed, fired);
  FaultSpec random;
  random.kind = FaultKind::load_error;
  random.probability = 0.5;
  World w;
  EXPECT_THROW(w.cloud.add_fault(random), InvalidArgument);
}

TEST(FaultPlan, TheLoadModelSetsDurationsBeforeThePlanAndSeesItsOutcomeAfter) {
  World w;
  std::vector<std::pair<Duration, bool>> seen;
  LoadModel model;
  model.plan = [](LoadPlan& plan) { plan.duration = seconds(4); };
  model.planned = [&](const LoadPlan& plan) {
    seen.emplace_back(plan.duration, plan.fail_with.has_value());
  };
  w.cloud.set_load_model(model);
  w.install(R"({"faults":[{"fault":"slow_download","count":1,"factor":2},
                          {"fault":"load_error","count":1,"after":1}]})");
  w.sync("s1");
  EXPECT_THROW(w.sync("s2"), HotloadFailed);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(seconds(8), false));
  EXPECT_EQ(seen[1], std::make_pair(seconds(4), true));
}

// ---- parsing ----

void expect_plan_error(const std::string& text, const std::string& expected) {
  try {
    parse_fault_plan(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
        << "expected '" << expected << "' in: " << e.what();
  }
}

TEST(FaultPlanParsing, ErrorsNameTheFieldAndWhatWasExpected) {
  expect_plan_error("{", "fault plan: expected a JSON document");
  expect_plan_error(R"({"faults":{}})", "faults: expected a JSON array");
  expect_plan_error(R"({"faults":[{"fault":"meteor","count":1}]})",
                    "faults[0].fault: expected one of hotload_rejected");
  expect_plan_error(R"({"faults":[{"fault":"load_error","probability":1.5}]})",
                    "faults[0].probability: expected a number in [0, 1], got 1.5");
  expect_plan_error(R"({"faults":[{"fault":"load_error","count":1,"probability":0.5}]})",
                    "faults[0]: expected exactly one trigger");
  expect_plan_error(R"({"faults":[{"fault":"load_error","count":1,"probabilty":0.5}]})",
                    "faults[0].probabilty: unknown field");
  expect_plan_error(R"({"faults":[{"fault":"load_error","atSeconds":3}]})",
                    "faults[0].atSeconds: load_error happens to a request or a load");
  expect_plan_error(R"({"faults":[{"fault":"reattach","count":1,
                                    "deployment":"accounts/a/deployments/d"}]})",
                    "faults[0].trainer: missing");
  expect_plan_error(R"({"faults":[{"fault":"hotload_rejected","count":1,"status":200}]})",
                    "faults[0].status: expected an integer in [400, 599], got 200");
  expect_plan_error(R"({"faults":[{"fault":"load_error","count":1,"deployment":"d"}]})",
                    "faults[0].deployment: expected 'accounts/{account}/deployments/{id}'");
  expect_plan_error(R"({"faults":[{"fault":"replica_restart","atSeconds":1}]})",
                    "faults[0].deployment: missing");
  expect_plan_error(R"({"seed":-1})", "seed: expected a non-negative integer, got -1");
  try {
    parse_fault_plan(R"({"faults":[{"fault":"load_error"}]})", "faultPlan");
    ADD_FAILURE() << "accepted a fault without a trigger";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("faultPlan.faults[0]: expected exactly one trigger"),
              std::string::npos)
        << e.what();
  }
}

TEST(FaultPlanParsing, ReadsEveryKindWithItsParameters) {
  const FaultPlan plan = parse_fault_plan(R"({"seed":5,"faults":[
      {"fault":"hotload_rejected","count":2,"after":1,"status":429},
      {"fault":"latency","probability":0.25,"limit":3,"delaySeconds":1.5,"method":"GET"},
      {"fault":"replica_restart","atSeconds":120,"deployment":"accounts/a/deployments/d",
       "replica":1}]})");
  ASSERT_EQ(plan.faults.size(), 3u);
  EXPECT_EQ(plan.seed, 5u);
  EXPECT_EQ(plan.faults[0].count, 2);
  EXPECT_EQ(plan.faults[0].after, 1);
  EXPECT_EQ(plan.faults[0].status, 429);
  EXPECT_EQ(plan.faults[1].limit, 3);
  EXPECT_EQ(plan.faults[1].delay, seconds(1.5));
  EXPECT_EQ(plan.faults[2].at, seconds(120));
  EXPECT_EQ(plan.faults[2].replica, 1);
  EXPECT_EQ(encode_fault_plan(parse_fault_plan(encode_fault_plan(plan))), encode_fault_plan(plan));
  expect_plan_error(R"({"faults":[{"fault":"save_failure","count":1,
                                    "deployment":"accounts/a/deployments/d"}]})",
                    "faults[0].deployment: save_failure happens to a trainer's save");
  expect_plan_error(R"({"faults":[{"fault":"save_failure","count":1,"trainer":"t"}]})",
                    "faults[0].trainer: expected 'accounts/{account}/rlorTrainerJobs/{id}'");
}

}  // namespace
}  // namespace weightsync::fake
