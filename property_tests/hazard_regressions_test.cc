// Fixed sequences: the reference's hazards 1 and 2 as stories the invariants must flag, and the
// same stories passing with the production WeightSyncer.
#include <gtest/gtest.h>

#include "world.h"

namespace weightsync::props {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& line : v) s += line + "\n";
  return s;
}

bool mentions(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& line : v) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

WorldConfig two_replicas() {
  WorldConfig c;
  c.replicas = 2;
  c.seed = 7;
  return c;
}

// Hazard 1: the first hotload fails; the next save is a delta sent without metadata, and the
// deployment loads the diff as full weights.
std::vector<std::string> hazard1_story(World& w) {
  fake::FaultSpec fail;
  fail.kind = fake::FaultKind::load_error;
  fail.count = 2;
  w.add_fault(fail, "the next 2 loads fail");
  w.trainer_step(1);
  w.save_and_hotload(std::nullopt);
  auto v = w.violations();
  w.trainer_step(1);
  w.save_and_hotload(std::nullopt);
  auto more = w.violations();
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

// Hazard 2: a delta hotload fails; the trainer's next delta is diffed against the failed
// snapshot but names the older served one.
std::vector<std::string> hazard2_story(World& w) {
  std::vector<std::string> v;
  auto add = [&] {
    auto more = w.violations();
    v.insert(v.end(), more.begin(), more.end());
  };
  w.trainer_step(1);
  w.save_and_hotload(std::nullopt);
  add();
  w.trainer_step(1);
  fake::FaultSpec fail;
  fail.kind = fake::FaultKind::load_error;
  fail.count = 2;
  w.add_fault(fail, "the next 2 loads fail");
  w.save_and_hotload(std::nullopt);
  add();
  w.trainer_step(1);
  w.save_and_hotload(std::nullopt);
  add();
  return v;
}

TEST(HazardRegressions, ReferenceFailedFirstHotloadIsCaughtAsAMetadataLessDelta) {
  World w(two_replicas(), SyncerKind::reference);
  const auto v = hazard1_story(w);
  EXPECT_TRUE(mentions(v, "sent without incremental metadata")) << joined(v) << w.story();
  EXPECT_TRUE(mentions(v, "invariant 1")) << joined(v) << w.story();
}

TEST(HazardRegressions, ProductionRecoversFromAFailedFirstHotloadWithABase) {
  World w(two_replicas(), SyncerKind::production);
  const auto v = hazard1_story(w);
  EXPECT_TRUE(v.empty()) << joined(v) << w.story();
  EXPECT_TRUE(w.check_liveness(1).empty()) << w.story();
}

TEST(HazardRegressions, ReferenceFailedDeltaIsCaughtAsAMismatchedParent) {
  World w(two_replicas(), SyncerKind::reference);
  const auto v = hazard2_story(w);
  EXPECT_TRUE(mentions(v, "but was computed from")) << joined(v) << w.story();
}

TEST(HazardRegressions, ProductionRecoversFromAFailedDeltaWithABase) {
  World w(two_replicas(), SyncerKind::production);
  const auto v = hazard2_story(w);
  EXPECT_TRUE(v.empty()) << joined(v) << w.story();
}

TEST(HazardRegressions, ReferenceNeverRecoversFromAFailedDelta) {
  World w(two_replicas(), SyncerKind::reference);
  hazard2_story(w);
  const auto v = w.check_liveness(3);
  EXPECT_TRUE(mentions(v, "invariant")) << joined(v) << w.story();
}

// Found by the property: an explicit delta after a replica restarted was sent naming a parent
// the replica no longer served (invariant 3). It must be refused before it is sent.
TEST(HazardRegressions, ProductionRefusesAnExplicitDeltaOverARestartedReplica) {
  WorldConfig c;
  c.transition_type = "SYNC";
  World w(c, SyncerKind::production);
  w.save_only_then_hotload();
  w.restart_replica(0);
  w.save_and_hotload(CheckpointKind::delta);
  const auto v = w.violations();
  EXPECT_TRUE(v.empty()) << joined(v) << w.story();
  EXPECT_NE(w.story().find("but the replicas serve ''"), std::string::npos) << w.story();
  const auto live = w.check_liveness(1);
  EXPECT_TRUE(live.empty()) << joined(live) << w.story();
}

}  // namespace
}  // namespace weightsync::props
