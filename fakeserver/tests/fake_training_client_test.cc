// The fake trainer: sessions, scoped names, real bytes in the bucket, delta parents, LoRA, DCP.
#include "weightsync/fake/fake_training_client.h"

#include <gtest/gtest.h>

#include "fake_test_support.h"
#include "weightsync/errors.h"

namespace weightsync::fake {
namespace {

using testing::LogCapture;
using testing::small_trainer;

class TrainerTest : public ::testing::Test {
 protected:
  FakeTrainingClient make(TrainerOptions options = small_trainer()) {
    return FakeTrainingClient(store, "accounts/acme/rlorTrainerJobs/t", url, options);
  }
  BucketStore store;
  const std::string url = "gs://fake-bucket/acme/t";
  void SetUp() override { store.ensure_bucket(url); }
};

TEST_F(TrainerTest, SessionIsEightLowercaseHexAndDeterministicFromTheSeed) {
  auto a = make();
  auto b = make();
  EXPECT_TRUE(is_valid_session_id(a.session_id()));
  EXPECT_EQ(a.session_id(), b.session_id());
  EXPECT_EQ(a.weights(), b.weights());
  auto options = small_trainer();
  options.seed = 77;
  EXPECT_NE(make(options).session_id(), a.session_id());
}

TEST_F(TrainerTest, StepChangesAboutTheConfiguredFractionByFewUlps) {
  auto options = small_trainer(10000);
  options.changed_fraction = 0.05;
  auto t = make(options);
  const Bytes before = t.weights();
  t.step();
  std::size_t changed = 0;
  for (std::size_t i = 0; i < before.size(); i += 2) {
    const int old_value = before[i] | (before[i + 1] << 8);
    const int new_value = t.weights()[i] | (t.weights()[i + 1] << 8);
    if (old_value != new_value) {
      ++changed;
      EXPECT_LE(std::abs(old_value - new_value), 6);
    }
  }
  EXPECT_GT(changed, 400u);
  EXPECT_LE(changed, 500u);
  EXPECT_EQ(t.step_count(), 1u);
}

TEST_F(TrainerTest, BaseSaveWritesFullBytesUnderTheSessionScopedName) {
  auto t = make();
  const SamplerSave save = t.save_weights_for_sampler("step-1", CheckpointKind::base);
  EXPECT_EQ(save.snapshot_name, "step-1-" + t.session_id());
  EXPECT_EQ(save.path, url + "/" + save.snapshot_name);
  const auto object = store.get(url, save.snapshot_name);
  ASSERT_TRUE(object);
  EXPECT_FALSE(object->delta_encoded);
  EXPECT_EQ(*object->bytes, t.weights());
  EXPECT_EQ(object->checksum, t.checksum());
  const SnapshotRecord* record = t.find_snapshot(save.snapshot_name);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->kind, CheckpointKind::base);
  EXPECT_TRUE(record->promotable);
  EXPECT_EQ(record->checksum, t.checksum());
  EXPECT_EQ(record->full_size, t.weights().size());
  EXPECT_TRUE(record->parent.empty());
}

TEST_F(TrainerTest, DeltaIsDiffedAgainstThePreviousSamplerSnapshotOfTheSession) {
  auto t = make();
  const auto base = t.save_weights_for_sampler("s0", CheckpointKind::base);
  t.step();
  const auto d1 = t.save_weights_for_sampler("s1", CheckpointKind::delta);
  t.step();
  const auto d2 = t.save_weights_for_sampler("s2", CheckpointKind::delta);
  EXPECT_EQ(t.find_snapshot(d1.snapshot_name)->parent, base.snapshot_name);
  EXPECT_EQ(t.find_snapshot(d2.snapshot_name)->parent, d1.snapshot_name);
  EXPECT_FALSE(t.find_snapshot(d2.snapshot_name)->promotable);
  const auto object = store.get(url, d2.snapshot_name);
  ASSERT_TRUE(object->delta_encoded);
  EXPECT_LT(object->bytes->size(), t.weights().size() / 4);
  EXPECT_EQ(apply_delta(*t.snapshot_weights(d1.snapshot_name), *object->bytes), t.weights());
  EXPECT_EQ(object->checksum, t.checksum());
}

TEST_F(TrainerTest, DeltaWithoutAnEarlierSnapshotInTheSessionThrowsAndWritesNothing) {
  auto t = make();
  EXPECT_THROW(t.save_weights_for_sampler("s0", CheckpointKind::delta), SaveFailed);
  EXPECT_TRUE(store.object_names(url).empty());
  EXPECT_TRUE(t.snapshots().empty());
}

TEST_F(TrainerTest, InjectedSaveFailuresChangeNothing) {
  auto t = make();
  t.fail_next_saves(2);
  EXPECT_THROW(t.save_weights_for_sampler("a", CheckpointKind::base), SaveFailed);
  EXPECT_THROW(t.save_weights_for_sampler("a", CheckpointKind::base), SaveFailed);
  EXPECT_TRUE(t.snapshots().empty());
  EXPECT_TRUE(store.object_names(url).empty());
  EXPECT_NO_THROW(t.save_weights_for_sampler("a", CheckpointKind::base));
}

TEST_F(TrainerTest, NamesWithSlashesAreRejected) {
  auto t = make();
  EXPECT_THROW(t.save_weights_for_sampler("a/b", CheckpointKind::base), InvalidArgument);
  EXPECT_THROW(t.save_weights_for_sampler("", CheckpointKind::base), InvalidArgument);
}

TEST_F(TrainerTest, ReusingANameInASessionOverwritesWithAWarning) {
  auto t = make();
  LogCapture logs;
  const auto first = t.save_weights_for_sampler("same", CheckpointKind::base);
  t.step();
  const auto second = t.save_weights_for_sampler("same", CheckpointKind::base);
  EXPECT_EQ(first.snapshot_name, second.snapshot_name);
  EXPECT_EQ(*store.get(url, second.snapshot_name)->bytes, t.weights());
  ASSERT_EQ(logs.messages().size(), 1u);
  EXPECT_NE(logs.messages()[0].find("reused"), std::string::npos);
  EXPECT_EQ(t.snapshots().size(), 2u);
}

TEST_F(TrainerTest, LoraSnapshotsAreSmallFullAdaptersAndAlwaysPromotable) {
  auto t = make(small_trainer(4096, 4));
  EXPECT_EQ(t.weights().size(), 4u * (4096 / 256) * 2);
  const auto a = t.save_weights_for_sampler("a", CheckpointKind::base);
  t.step();
  const auto b = t.save_weights_for_sampler("b", CheckpointKind::delta);
  const SnapshotRecord rb = *t.find_snapshot(b.snapshot_name);  // copied: saves move records
  EXPECT_TRUE(rb.promotable);
  EXPECT_TRUE(rb.lora);
  EXPECT_TRUE(rb.parent.empty());
  const auto object = store.get(url, b.snapshot_name);
  EXPECT_FALSE(object->delta_encoded);
  EXPECT_TRUE(object->lora);
  EXPECT_EQ(*object->bytes, t.weights());
  const auto merged = t.save_weights_for_sampler("m", CheckpointKind::merged_base);
  const auto merged_object = store.get(url, merged.snapshot_name);
  EXPECT_EQ(merged_object->bytes->size(), 4096u * 2);
  EXPECT_FALSE(merged_object->lora);
  EXPECT_EQ(*merged_object->bytes, t.merged_weights());
  EXPECT_TRUE(t.find_snapshot(merged.snapshot_name)->promotable);
  EXPECT_NE(t.find_snapshot(a.snapshot_name)->checksum, rb.checksum);
}

TEST_F(TrainerTest, MergedBaseWithoutLoraIsInvalid) {
  auto t = make();
  EXPECT_THROW(t.save_weights_for_sampler("m", CheckpointKind::merged_base), InvalidArgument);
}

TEST_F(TrainerTest, ResumeRestoresTheCheckpointUnderANewSessionWithNoDeltaParent) {
  auto t = make();
  t.step(3);
  t.save_weights_for_sampler("s3", CheckpointKind::base);
  const std::string path = t.save_state("ckpt");
  const Bytes at_checkpoint = t.weights();
  const std::string old_session = t.session_id();
  t.step(2);
  const std::string new_session = t.resume(path);
  EXPECT_NE(new_session, old_session);
  EXPECT_TRUE(is_valid_session_id(new_session));
  EXPECT_EQ(t.session_id(), new_session);
  EXPECT_EQ(t.weights(), at_checkpoint);
  EXPECT_EQ(t.step_count(), 3u);
  EXPECT_THROW(t.save_weights_for_sampler("s4", CheckpointKind::delta), SaveFailed);
  EXPECT_EQ(t.save_weights_for_sampler("s3", CheckpointKind::base).snapshot_name,
            "s3-" + new_session);
}

TEST_F(TrainerTest, LoadStateKeepsTheSessionAndRejectsUnknownPaths) {
  auto t = make();
  const std::string path = t.save_state("c");
  const Bytes saved = t.weights();
  t.step();
  const std::string session = t.session_id();
  t.load_state(path);
  EXPECT_EQ(t.weights(), saved);
  EXPECT_EQ(t.session_id(), session);
  EXPECT_THROW(t.load_state(url + "/dcp/nope"), InvalidArgument);
}

TEST_F(TrainerTest, IsSavedWeightsRecognisesOnlySavedBytes) {
  auto t = make();
  t.save_weights_for_sampler("a", CheckpointKind::base);
  EXPECT_TRUE(t.is_saved_weights(t.weights()));
  t.step();
  EXPECT_FALSE(t.is_saved_weights(t.weights()));
}

TEST_F(TrainerTest, KeepSnapshotWeightsBoundsMemoryButKeepsTheDeltaParent) {
  TrainerOptions options = small_trainer();
  options.keep_snapshot_weights = 2;
  auto t = make(options);
  const std::string s1 = t.save_weights_for_sampler("s1", CheckpointKind::base).snapshot_name;
  t.step();
  const std::string s2 = t.save_weights_for_sampler("s2", CheckpointKind::delta).snapshot_name;
  t.step();
  const std::string s3 = t.save_weights_for_sampler("s3", CheckpointKind::delta).snapshot_name;
  EXPECT_EQ(t.snapshot_weights(s1), nullptr);
  ASSERT_NE(t.snapshot_weights(s2), nullptr);
  ASSERT_NE(t.snapshot_weights(s3), nullptr);
  EXPECT_EQ(*t.snapshot_weights(s3), t.weights());
  t.step();
  // The next delta still diffs against s3, and every record is kept.
  const std::string s4 = t.save_weights_for_sampler("s4", CheckpointKind::delta).snapshot_name;
  EXPECT_EQ(t.find_snapshot(s4)->parent, s3);
  EXPECT_EQ(t.snapshots().size(), 4u);
  EXPECT_EQ(t.snapshot_weights(s2), nullptr);
}

}  // namespace
}  // namespace weightsync::fake
