// The library's WeightSyncer and DeploymentManager, unchanged, against the fake: over loopback
// HTTP and in-process, on one ManualClock, so nothing really sleeps. After every successful
// sync, every replica serves exactly the trainer's weights.
#include <gtest/gtest.h>

#include <memory>

#include "fake_test_support.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::fake {
namespace {

using namespace testing;

enum class Wire { in_process, http };

struct Setup {
  Wire wire;
  int replicas;
  int lora_rank;
};

std::string setup_name(const ::testing::TestParamInfo<Setup>& info) {
  return std::string(info.param.wire == Wire::http ? "Http" : "InProcess") +
         std::to_string(info.param.replicas) + "Replicas" +
         (info.param.lora_rank ? "Lora" + std::to_string(info.param.lora_rank) : "Full");
}

class SyncAgainstFake : public ::testing::TestWithParam<Setup> {
 protected:
  SyncAgainstFake() : cloud(clock, test_options(GetParam().replicas)) {
    cloud.create_account(kAccount, kKey);
    trainer = &cloud.create_trainer(kAccount, "t1", small_trainer(32 * 1024, GetParam().lora_rank));
    if (GetParam().wire == Wire::http) {
      server = std::make_unique<FakeServer>(cloud);
      server->start();
      transport = std::make_unique<RetryingHttpTransport>(
          HttpTransportOptions{server->base_url(), seconds(5), seconds(30)}, clock);
    } else {
      transport = std::make_unique<InProcessTransport>(cloud);
    }
    DeploymentManagerOptions options;
    options.api_key = kKey;
    manager = std::make_unique<DeploymentManager>(*transport, clock, options);
    manager->create_or_get_deployment("d", config_for(trainer->job_name()));
    manager->wait_for_deployment_ready("d", seconds(60));
  }

  WeightSyncerOptions syncer_options() {
    WeightSyncerOptions o;
    o.deploy_mgr = manager.get();
    o.deployment_id = "d";
    o.base_model = kBaseModel;
    o.lora_rank = GetParam().lora_rank;
    o.hotload_timeout = seconds(120);
    return o;
  }

  // Every replica serves exactly `t`'s current weights.
  void expect_served(const FakeTrainingClient& t) {
    const auto replicas = cloud.replicas(kAccount, "d");
    ASSERT_EQ(replicas.size(), static_cast<std::size_t>(GetParam().replicas));
    for (const auto& r : replicas) {
      EXPECT_EQ(r.served_checksum, t.checksum()) << r.name << " serves " << r.served_identity;
      EXPECT_TRUE(r.readiness) << r.name;
      ASSERT_TRUE(r.served_bytes);
      EXPECT_EQ(*r.served_bytes, t.weights()) << r.name;
    }
  }

  ManualClock clock;
  FakeCloud cloud;
  FakeTrainingClient* trainer = nullptr;
  std::unique_ptr<FakeServer> server;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<DeploymentManager> manager;
};

TEST_P(SyncAgainstFake, SyncEveryStep) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  for (int step = 0; step < 5; ++step) {
    trainer->step();
    const std::string name = syncer.save_and_hotload("step-" + std::to_string(step));
    EXPECT_EQ(name, "step-" + std::to_string(step) + "-" + trainer->session_id());
    const bool delta_expected = GetParam().lora_rank == 0 && step > 0;
    EXPECT_EQ(syncer.last_sync().kind,
              delta_expected ? CheckpointKind::delta : CheckpointKind::base);
    EXPECT_EQ(syncer.last_sync().metadata.has_value(), delta_expected);
    EXPECT_TRUE(syncer.last_sync().warmup_ok);
    expect_served(*trainer);
  }
}

TEST_P(SyncAgainstFake, SyncEveryNSteps) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  for (int step = 1; step <= 9; ++step) {
    trainer->step();
    if (step % 3 != 0) continue;
    syncer.save_and_hotload("step-" + std::to_string(step));
    expect_served(*trainer);
  }
  EXPECT_EQ(trainer->snapshots().size(), 3u);
}

TEST_P(SyncAgainstFake, SplitSaveAndSync) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  for (int step = 0; step < 3; ++step) {
    trainer->step();
    const auto name = syncer.save_only("step-" + std::to_string(step));
    ASSERT_TRUE(name);
    ASSERT_TRUE(syncer.hotload(*name, syncer.last_sync().kind)) << syncer.last_sync().error;
    expect_served(*trainer);
  }
}

TEST_P(SyncAgainstFake, ResumeFromDcpStartsANewChainWithABase) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  trainer->step();
  syncer.save_and_hotload("step-1");
  const std::string checkpoint = trainer->save_state("ckpt-1");
  trainer->step();
  syncer.save_and_hotload("step-2");
  const std::string old_session = trainer->session_id();
  trainer->resume(checkpoint);
  ASSERT_NE(trainer->session_id(), old_session);
  // Resume is followed by a base export before any training step.
  syncer.save_and_hotload("resumed");
  EXPECT_EQ(syncer.last_sync().kind, CheckpointKind::base);
  expect_served(*trainer);
  trainer->step();
  syncer.save_and_hotload("step-2");
  expect_served(*trainer);
}

TEST_P(SyncAgainstFake, ReattachToAnotherTrainerThenResetTheChain) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  trainer->step();
  syncer.save_and_hotload("a");
  auto& other =
      cloud.create_trainer(kAccount, "t2", small_trainer(32 * 1024, GetParam().lora_rank));
  other.step(2);
  manager->reattach_trainer("d", other.job_name());
  WeightSyncer other_syncer(other, syncer_options(), clock);
  other_syncer.reset_delta_chain();
  other_syncer.save_and_hotload("b");
  EXPECT_EQ(other_syncer.last_sync().kind, CheckpointKind::base);
  expect_served(other);
  other.step();
  other_syncer.save_and_hotload("c");
  expect_served(other);
}

TEST_P(SyncAgainstFake, AFailedSaveRaisesAndTheNextSyncSucceeds) {
  WeightSyncer syncer(*trainer, syncer_options(), clock);
  trainer->step();
  syncer.save_and_hotload("a");
  trainer->step();
  trainer->fail_next_saves(1);
  EXPECT_THROW(syncer.save_and_hotload("b"), SaveFailed);
  syncer.save_and_hotload("b");
  expect_served(*trainer);
}

INSTANTIATE_TEST_SUITE_P(Wires, SyncAgainstFake,
                         ::testing::Values(Setup{Wire::in_process, 1, 0},
                                           Setup{Wire::in_process, 3, 0},
                                           Setup{Wire::in_process, 2, 4}, Setup{Wire::http, 2, 0},
                                           Setup{Wire::http, 1, 4}),
                         setup_name);

}  // namespace
}  // namespace weightsync::fake
