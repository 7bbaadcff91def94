// The chain invariants of docs/SPEC.md section 7 under random operations and faults: the production
// WeightSyncer must keep them all; the faithful port of the reference must be caught.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "commands.h"
#include "property_runner.h"

namespace weightsync::props {
namespace {

WorldConfig random_config(bool over_http) {
  WorldConfig c;
  c.lora_rank = *rc::gen::element(0, 0, 0, 8);
  c.first_checkpoint_type = *rc::gen::element(CheckpointKind::base, CheckpointKind::delta);
  c.replicas = *rc::gen::inRange(1, 4);
  c.transition_type = *rc::gen::element<std::string>("ASYNC", "SYNC");
  c.hotload_timeout_s = *rc::gen::element(15.0, 30.0, 60.0);
  c.warmup_max_retries = *rc::gen::inRange(0, 4);
  c.user_resets_on_reattach = *rc::gen::arbitrary<bool>();
  c.seed = *rc::gen::arbitrary<std::uint64_t>();
  c.over_http = over_http;
  return c;
}

// A random loop (safety: invariants 1-7 and 9 after every command), then a liveness phase
// without faults (invariant 8).
template <typename Commands>
auto chain_property(SyncerKind kind, bool over_http, Commands commands) {
  return [=] {
    const WorldConfig config = random_config(over_http);
    World world(config, kind);
    rc::state::check(Model{config}, world, commands);
    const auto stuck = world.check_liveness(3);
    if (!stuck.empty()) {
      std::ostringstream msg;
      msg << "config " << config << "\n";
      for (const auto& v : stuck) msg << "VIOLATED " << v << "\n";
      msg << "story:\n" << world.story();
      msg << "fault plan (weightsync-fakeserver --config FILE replays it): "
          << world.replay_config() << "\n";
      RC_FAIL(msg.str());
    }
  };
}

auto chain_property(SyncerKind kind, bool over_http) {
  return chain_property(kind, over_http, all_commands());
}

// Prints what a property run did, and fails a run that checked (almost) nothing.
void report(const WorldStats& before, const std::chrono::steady_clock::time_point start) {
  const WorldStats& now = world_stats();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto checks = now.invariant_checks - before.invariant_checks;
  std::cout << "worlds " << now.worlds - before.worlds << ", operations "
            << now.operations - before.operations << ", invariant checks " << checks << " ("
            << static_cast<std::uint64_t>(static_cast<double>(checks) / secs) << "/s), syncs "
            << now.syncs_succeeded - before.syncs_succeeded << " ok / "
            << now.syncs_failed - before.syncs_failed << " failed, " << secs << " s\n";
  EXPECT_GT(now.syncs_succeeded - before.syncs_succeeded, 0u);
  EXPECT_GT(now.syncs_failed - before.syncs_failed, 0u);
}

TEST(ChainProperties, ProductionSyncerKeepsEveryInvariantUnderRandomFaults) {
  const WorldStats before = world_stats();
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = run_property("ChainProperties.InProcess", 1000, 100,
                                    chain_property(SyncerKind::production, false));
  EXPECT_TRUE(outcome.passed) << outcome.message;
  report(before, start);
}

TEST(ChainProperties, ProductionSyncerKeepsEveryInvariantOverLoopbackHttp) {
  const WorldStats before = world_stats();
  const auto start = std::chrono::steady_clock::now();
  const auto outcome =
      run_property("ChainProperties.Http", 60, 40, chain_property(SyncerKind::production, true));
  EXPECT_TRUE(outcome.passed) << outcome.message;
  report(before, start);
}

// The second system under test: the ServiceClient, refreshing through the same chain code,
// under the same commands, faults and invariants.
TEST(ChainProperties, ServiceClientKeepsEveryInvariantUnderRandomFaults) {
  const WorldStats before = world_stats();
  const auto start = std::chrono::steady_clock::now();
  const auto outcome =
      run_property("ChainProperties.Service", 1000, 100, chain_property(SyncerKind::service, false));
  EXPECT_TRUE(outcome.passed) << outcome.message;
  report(before, start);
}

TEST(ChainProperties, ServiceClientPassesTheHazardProperty) {
  const auto outcome = run_property("ChainProperties.ServiceHazards", 300, 40,
                                    chain_property(SyncerKind::service, false, hazard_commands()));
  EXPECT_TRUE(outcome.passed) << outcome.message;
}

// Teeth: the same property must catch the reference port. With every command, any of its
// hazards may be what the shrunk counterexample shows.
TEST(ChainProperties, PropertyCatchesTheReferenceImplementation) {
  const auto outcome = run_property("ChainProperties.Reference", 300, 60,
                                    chain_property(SyncerKind::reference, false));
  ASSERT_FALSE(outcome.passed) << "the properties did not catch the reference's hazards";
  EXPECT_NE(outcome.message.find("VIOLATED invariant"), std::string::npos) << outcome.message;
  std::cout << "caught the reference port:\n"
            << outcome.message << "\n"
            << "(RapidCheck's 'reproduce' line at exit names these expected failures.)\n";
}

// With only steps, syncs and failing loads, what is caught must be hazard 1 or 2: a delta sent
// without metadata or naming a parent it was not computed from (invariant 3).
TEST(ChainProperties, PropertyCatchesReferenceHazardsOneAndTwo) {
  const auto outcome =
      run_property("ChainProperties.ReferenceHazards", 300, 40,
                   chain_property(SyncerKind::reference, false, hazard_commands()));
  ASSERT_FALSE(outcome.passed) << "the properties did not catch hazards 1 and 2";
  const bool hazard1 =
      outcome.message.find("sent without incremental metadata") != std::string::npos;
  const bool hazard2 = outcome.message.find("but was computed from") != std::string::npos;
  EXPECT_TRUE(hazard1 || hazard2) << outcome.message;
  EXPECT_NE(outcome.message.find("VIOLATED invariant 3 (delta-names-its-parent): "),
            std::string::npos)
      << outcome.message;
  std::cout << "caught hazard " << (hazard1 ? 1 : 2) << " of the reference port:\n"
            << outcome.message << "\n";
}

// When the first hotload cannot fail, hazard 1 cannot happen: the property must still catch the
// reference, on hazard 2.
TEST(ChainProperties, PropertyCatchesReferenceHazardTwo) {
  const auto outcome =
      run_property("ChainProperties.ReferenceHazard2", 300, 40,
                   chain_property(SyncerKind::reference, false, hazard2_commands()));
  ASSERT_FALSE(outcome.passed) << "the properties did not catch hazard 2";
  EXPECT_NE(outcome.message.find("but was computed from"), std::string::npos) << outcome.message;
  std::cout << "caught hazard 2 of the reference port:\n" << outcome.message << "\n";
}

// The production syncer passes the very property that catches the reference's hazards.
TEST(ChainProperties, ProductionSyncerPassesTheHazardProperty) {
  const auto outcome =
      run_property("ChainProperties.ProductionHazards", 300, 40,
                   chain_property(SyncerKind::production, false, hazard_commands()));
  EXPECT_TRUE(outcome.passed) << outcome.message;
}

}  // namespace
}  // namespace weightsync::props
