// The deployment model against a ManualClock: lifecycle, load stages, what replicas serve after
// good and bad deltas, idempotent resubmits, re-attach, transitions, prompt cache, stale buckets.
#include "weightsync/fake/fake_deployment.h"

#include <gtest/gtest.h>

#include "fake_test_support.h"
#include "fault_hooks.h"

namespace weightsync::fake {
namespace {

using namespace testing;

class DeploymentTest : public ::testing::Test, public CloudFixture {
 protected:
  // Saves a base, hotloads it and waits until it is served.
  std::string serve_base(const std::string& id, const std::string& name = "s0") {
    const auto save = trainer->save_weights_for_sampler(name, CheckpointKind::base);
    EXPECT_EQ(post_hotload(id, full_hotload(save.snapshot_name)).status, 200);
    clock.advance(seconds(2));
    EXPECT_EQ(replica(id).served_identity, save.snapshot_name);
    return save.snapshot_name;
  }
};

TEST_F(DeploymentTest, BecomesReadyAndItsHotloadManagerComesUpLater) {
  cloud.create_deployment(kAccount, "d", config_for(trainer->job_name()));
  EXPECT_EQ(cloud.deployment(kAccount, "d").state, "CREATING");
  clock.advance(seconds(2));
  EXPECT_EQ(cloud.deployment(kAccount, "d").state, "READY");
  const auto status = [&] {
    return decode_hotload_status(cloud.handle(hotload_request("GET", "d", "")).body);
  };
  EXPECT_TRUE(status().replicas.empty());
  EXPECT_EQ(post_hotload("d", full_hotload("x")).status, 503);
  clock.advance(seconds(3));
  ASSERT_EQ(status().replicas.size(), 1u);
  EXPECT_TRUE(status().replicas[0].readiness);
  EXPECT_EQ(status().replicas[0].loading_state.stage, "idle");
  EXPECT_EQ(cloud.deployment(kAccount, "d").hot_load_bucket_url, trainer->bucket_url());
}

TEST_F(DeploymentTest, ALoadPassesThroughItsStagesAsAFunctionOfTime) {
  make_ready_deployment("d");
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  ASSERT_EQ(post_hotload("d", full_hotload(save.snapshot_name)).status, 200);
  EXPECT_EQ(replica("d").stage, "pending");
  EXPECT_FALSE(replica("d").readiness);
  clock.advance(seconds(0.201));
  EXPECT_EQ(replica("d").stage, "downloading");  // 8192 bytes at 1 MB/s: 8.2 ms
  clock.advance(seconds(0.01));
  EXPECT_EQ(replica("d").stage, "loading");
  EXPECT_EQ(replica("d").served_identity, "");
  clock.advance(seconds(1));
  const ReplicaView r = replica("d");
  EXPECT_EQ(r.stage, "done");
  EXPECT_EQ(r.stage_target, save.snapshot_name);
  EXPECT_TRUE(r.readiness);
  EXPECT_EQ(r.served_identity, save.snapshot_name);
  EXPECT_EQ(r.served_checksum, trainer->checksum());
  EXPECT_EQ(*r.served_bytes, trainer->weights());
}

TEST_F(DeploymentTest, LoadTimeGrowsWithBytesOverBandwidth) {
  make_ready_deployment("d");
  auto timing = test_timing();
  timing.bandwidth_bytes_per_s = 1000;  // 8192 bytes: 8.2 s
  cloud.set_deployment_timing(kAccount, "d", timing);
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(8));
  EXPECT_EQ(replica("d").stage, "downloading");
  clock.advance(seconds(1.5));
  EXPECT_EQ(replica("d").stage, "done");
}

TEST_F(DeploymentTest, AGoodDeltaIsAppliedOnTheServedSnapshot) {
  make_ready_deployment("d");
  const std::string base = serve_base("d");
  trainer->step();
  const auto delta = trainer->save_weights_for_sampler("s1", CheckpointKind::delta);
  ASSERT_EQ(post_hotload("d", delta_hotload(delta.snapshot_name, base)).status, 200);
  clock.advance(seconds(2));
  const ReplicaView r = replica("d");
  EXPECT_EQ(r.stage, "done");
  EXPECT_EQ(r.served_identity, delta.snapshot_name);
  EXPECT_EQ(*r.served_bytes, trainer->weights());
  EXPECT_EQ(r.served_checksum, trainer->checksum());
}

TEST_F(DeploymentTest, ADeltaNamingAnotherParentThanTheServedOneFailsAndKeepsOldWeights) {
  make_ready_deployment("d");
  const std::string base = serve_base("d");
  const Bytes served_before = *replica("d").served_bytes;
  trainer->step();
  const auto d1 = trainer->save_weights_for_sampler("s1", CheckpointKind::delta);
  trainer->step();
  const auto d2 = trainer->save_weights_for_sampler("s2", CheckpointKind::delta);
  // d2 was computed from d1, but the replica serves the base (hazard 2 of docs/SPEC.md).
  post_hotload("d", delta_hotload(d2.snapshot_name, d1.snapshot_name));
  clock.advance(seconds(2));
  ReplicaView r = replica("d");
  EXPECT_EQ(r.stage, "error");
  EXPECT_EQ(r.stage_target, d2.snapshot_name);
  EXPECT_NE(r.last_error.find("serves " + base), std::string::npos) << r.last_error;
  EXPECT_EQ(r.served_identity, base);
  EXPECT_EQ(*r.served_bytes, served_before);
  // Claiming the served base as parent does not help: the delta's recorded parent differs.
  post_hotload("d", delta_hotload(d2.snapshot_name, base));
  clock.advance(seconds(2));
  r = replica("d");
  EXPECT_EQ(r.stage, "error");
  EXPECT_NE(r.last_error.find("computed from " + d1.snapshot_name), std::string::npos);
  EXPECT_EQ(*r.served_bytes, served_before);
}

TEST_F(DeploymentTest, ADeltaWithoutMetadataIsServedAsRawBytesMatchingNoSnapshot) {
  make_ready_deployment("d");
  serve_base("d");
  trainer->step();
  const auto delta = trainer->save_weights_for_sampler("s1", CheckpointKind::delta);
  post_hotload("d", full_hotload(delta.snapshot_name));
  clock.advance(seconds(2));
  const ReplicaView r = replica("d");
  EXPECT_EQ(r.stage, "done");
  EXPECT_EQ(r.served_identity, delta.snapshot_name);  // it claims the snapshot ...
  EXPECT_NE(r.served_checksum, trainer->find_snapshot(delta.snapshot_name)->checksum);
  EXPECT_FALSE(trainer->is_saved_weights(*r.served_bytes));  // ... but serves no snapshot
  EXPECT_EQ(*r.served_bytes,
            *cloud.buckets().get(trainer->bucket_url(), delta.snapshot_name)->bytes);
}

TEST_F(DeploymentTest, ResubmittingTheLoadingOrServedIdentityStartsNoSecondLoad) {
  make_ready_deployment("d");
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(1));
  EXPECT_EQ(post_hotload("d", full_hotload(save.snapshot_name)).status, 200);
  clock.advance(seconds(0.3));  // 1.3 s after the first submit: the first load is done
  EXPECT_EQ(replica("d").stage, "done");
  EXPECT_EQ(post_hotload("d", full_hotload(save.snapshot_name)).status, 200);
  EXPECT_EQ(replica("d").stage, "done");
  EXPECT_TRUE(replica("d").readiness);
}

TEST_F(DeploymentTest, ReattachRestartsReplicasOnTheBaseModelAndSwitchesBuckets) {
  make_ready_deployment("d");
  const std::string old_snapshot = serve_base("d");
  auto& other = cloud.create_trainer(kAccount, "t2", small_trainer());
  DeploymentUpdate update;
  update.hot_load_trainer_job = other.job_name();
  const auto r = cloud.handle(
      request("PATCH", deployment_path(kAccount, "d") + "?updateMask=" + update_mask(update),
              encode(update)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(decode_deployment(r.body).hot_load_bucket_url, other.bucket_url());
  ReplicaView view = replica("d");
  EXPECT_EQ(view.served_identity, "");
  EXPECT_FALSE(view.manager_ready);
  EXPECT_EQ(view.restarts, 1);
  EXPECT_EQ(post_hotload("d", full_hotload(old_snapshot)).status, 503);
  clock.advance(seconds(3));
  // The old trainer's snapshot is not in the new bucket.
  post_hotload("d", full_hotload(old_snapshot));
  clock.advance(seconds(1));
  view = replica("d");
  EXPECT_EQ(view.stage, "error");
  EXPECT_NE(view.last_error.find("not found"), std::string::npos);
  const auto save = other.save_weights_for_sampler("o0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").served_checksum, other.checksum());
}

TEST_F(DeploymentTest, SyncTransitionAnswers425WhileLoadingAndAsyncAnswers503) {
  make_ready_deployment("sync", "SYNC");
  make_ready_deployment("async");
  for (const std::string id : {"sync", "async"}) {
    const auto save = trainer->save_weights_for_sampler("s-" + id, CheckpointKind::base);
    post_hotload(id, full_hotload(save.snapshot_name));
  }
  EXPECT_EQ(
      cloud.handle(request("POST", "/inference/v1/completions", completion_body("sync"))).status,
      425);
  EXPECT_EQ(
      cloud.handle(request("POST", "/inference/v1/completions", completion_body("async"))).status,
      503);
  clock.advance(seconds(2));
  for (const std::string id : {"sync", "async"}) {
    const auto r = cloud.handle(request("POST", "/inference/v1/completions", completion_body(id)));
    EXPECT_EQ(r.status, 200) << r.body;
  }
}

TEST_F(DeploymentTest, PromptCacheCountsHitsAndIsClearedOnlyWhenAsked) {
  make_ready_deployment("d");
  serve_base("d");
  const auto complete = [&](std::vector<int> prompt) {
    return cloud.handle(request("POST", "/inference/v1/completions", completion_body("d", prompt)));
  };
  ASSERT_EQ(complete({1, 2}).status, 200);
  ASSERT_EQ(complete({1, 2, 3}).status, 200);
  EXPECT_EQ(replica("d").prompt_cache_entries, 2u);
  EXPECT_EQ(replica("d").prompt_cache_hits, 1u);
  trainer->step();
  post_hotload(
      "d",
      full_hotload(trainer->save_weights_for_sampler("s1", CheckpointKind::base).snapshot_name));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").prompt_cache_entries, 2u);
  trainer->step();
  post_hotload(
      "d", full_hotload(trainer->save_weights_for_sampler("s2", CheckpointKind::base).snapshot_name,
                        true));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").prompt_cache_entries, 0u);
}

TEST_F(DeploymentTest, ARecreatedBucketNoLongerHasTheSnapshot) {
  make_ready_deployment("d");
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  cloud.buckets().recreate_bucket(trainer->bucket_url());
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(1));
  EXPECT_EQ(replica("d").stage, "error");
  EXPECT_EQ(replica("d").served_identity, "");
}

TEST_F(DeploymentTest, AStaleStorageCacheServesTheOlderObjectOfAReusedName) {
  make_ready_deployment("d");
  const std::string first = serve_base("d", "same");
  const Bytes first_bytes = *replica("d").served_bytes;
  cloud.buckets().set_stale_cache(true);
  trainer->step();
  trainer->save_weights_for_sampler("same", CheckpointKind::base);  // same session: same name
  cloud.restart_replica(kAccount, "d", 0);  // so the name is loaded again, not skipped
  clock.advance(seconds(3));
  post_hotload("d", full_hotload(first));
  clock.advance(seconds(2));
  EXPECT_EQ(*replica("d").served_bytes, first_bytes);
  EXPECT_NE(replica("d").served_checksum, trainer->checksum());
}

TEST_F(DeploymentTest, LedgerResetMakesTheNextDeltaFailUntilAFullSnapshot) {
  make_ready_deployment("d");
  const std::string base = serve_base("d");
  ASSERT_EQ(cloud.handle(request("DELETE", deployment_path(kAccount, "d") + "/ledger")).status,
            200);
  EXPECT_EQ(replica("d").served_identity, base);  // still serving, but no chain to build on
  trainer->step();
  const auto delta = trainer->save_weights_for_sampler("s1", CheckpointKind::delta);
  post_hotload("d", delta_hotload(delta.snapshot_name, base));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").stage, "error");
  EXPECT_EQ(replica("d").served_identity, base);
  const std::string next = serve_base("d", "s2");
  EXPECT_EQ(replica("d").chain_identity, next);
}

TEST_F(DeploymentTest, FaultHooksCanFailALoadAndRejectCompletions) {
  make_ready_deployment("d");
  FaultHooks hooks;
  hooks.on_load_start = [](LoadPlan& plan) { plan.fail_with = "injected: disk full"; };
  hooks.on_completion = [](const std::string&) { return std::optional<int>(503); };
  set_fault_hooks(cloud, hooks);
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").stage, "error");
  EXPECT_EQ(replica("d").last_error, "injected: disk full");
  EXPECT_EQ(cloud.handle(request("POST", "/inference/v1/completions", completion_body("d"))).status,
            503);
  set_fault_hooks(cloud, {});
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").served_identity, save.snapshot_name);
}

class MultiReplicaTest : public ::testing::Test, public CloudFixture {
 protected:
  MultiReplicaTest() : CloudFixture(3) {}
};

TEST_F(MultiReplicaTest, EveryReplicaServesTheLoadedSnapshot) {
  make_ready_deployment("d");
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(2));
  const auto views = cloud.replicas(kAccount, "d");
  ASSERT_EQ(views.size(), 3u);
  for (const auto& v : views) {
    EXPECT_EQ(v.served_identity, save.snapshot_name);
    EXPECT_EQ(v.served_checksum, trainer->checksum());
  }
  const auto status = decode_hotload_status(cloud.handle(hotload_request("GET", "d", "")).body);
  EXPECT_EQ(status.replicas.size(), 3u);
}

TEST_F(MultiReplicaTest, OneRestartedReplicaFallsBackWhileTheOthersKeepServing) {
  make_ready_deployment("d");
  const auto save = trainer->save_weights_for_sampler("s0", CheckpointKind::base);
  post_hotload("d", full_hotload(save.snapshot_name));
  clock.advance(seconds(2));
  cloud.restart_replica(kAccount, "d", 1);
  const auto views = cloud.replicas(kAccount, "d");
  EXPECT_EQ(views[0].served_identity, save.snapshot_name);
  EXPECT_EQ(views[1].served_identity, "");
  EXPECT_FALSE(views[1].manager_ready);
  EXPECT_EQ(views[2].served_identity, save.snapshot_name);
  // Completions go to the serving replicas.
  EXPECT_EQ(cloud.handle(request("POST", "/inference/v1/completions", completion_body("d"))).status,
            200);
}

class LoraDeploymentTest : public ::testing::Test, public CloudFixture {
 protected:
  LoraDeploymentTest() : CloudFixture(1, small_trainer(4096, 8)) {}
};

TEST_F(LoraDeploymentTest, AdaptersLoadAsFullSnapshotsAndAreListed) {
  make_ready_deployment("d");
  const auto a = trainer->save_weights_for_sampler("a", CheckpointKind::base);
  post_hotload("d", full_hotload(a.snapshot_name));
  clock.advance(seconds(2));
  trainer->step();
  const auto b = trainer->save_weights_for_sampler("b", CheckpointKind::delta);
  post_hotload("d", full_hotload(b.snapshot_name));
  clock.advance(seconds(2));
  const ReplicaView r = replica("d");
  EXPECT_EQ(r.served_identity, b.snapshot_name);
  EXPECT_EQ(r.served_checksum, trainer->checksum());
  ASSERT_EQ(r.loaded_adapters.size(), 2u);
  EXPECT_EQ(r.loaded_adapters[1].identity, b.snapshot_name);
  // Incremental metadata on an adapter is refused, and the adapter stays served.
  trainer->step();
  const auto c = trainer->save_weights_for_sampler("c", CheckpointKind::base);
  post_hotload("d", delta_hotload(c.snapshot_name, b.snapshot_name));
  clock.advance(seconds(2));
  EXPECT_EQ(replica("d").stage, "error");
  EXPECT_EQ(replica("d").served_identity, b.snapshot_name);
}

}  // namespace
}  // namespace weightsync::fake
