// A counterexample's fault plan replays: the plan a world ran (entries appended as its fault
// commands came), read back from the config it prints, is given to a fresh world whose fake runs
// behind the FakeServer that weightsync-fakeserver serves, and the same loop there meets the
// same faults at the same opportunities with the same outcomes.
#include <gtest/gtest.h>

#include <sstream>

#include "weightsync/fake/server_config.h"
#include "world.h"

namespace weightsync::props {
namespace {

WorldConfig config(bool over_http) {
  WorldConfig c;
  c.replicas = 2;
  c.seed = 11;
  c.over_http = over_http;
  return c;
}

fake::FaultSpec next(fake::FaultKind kind, int count) {
  fake::FaultSpec spec;
  spec.kind = kind;
  spec.count = count;
  return spec;
}

// One loop; with `arm`, faults are appended between its operations as fault commands do.
void loop(World& w, bool arm) {
  const auto sync = [&] {
    w.trainer_step(1);
    w.save_and_hotload(std::nullopt);
  };
  sync();
  if (arm) {
    fake::FaultSpec one = next(fake::FaultKind::load_error, 1);
    one.replica = 1;
    w.add_fault(one, "the next load on replica 1 fails");
  }
  sync();
  sync();
  if (arm) {
    fake::FaultSpec rejected = next(fake::FaultKind::hotload_rejected, 1);
    rejected.status = 500;
    w.add_fault(rejected, "the next hotload POST is rejected with 500");
    fake::FaultSpec save = next(fake::FaultKind::save_failure, 1);
    save.trainer = w.trainer().job_name();
    w.add_fault(save, "the next save fails");
  }
  sync();
  sync();
  if (arm) {
    fake::FaultSpec lost = next(fake::FaultKind::hotload_timeout, 1);
    lost.delay = Duration::zero();
    w.add_fault(lost, "the next hotload POST's answer is lost");
    w.add_fault(next(fake::FaultKind::warmup_unavailable, 2), "the next 2 completions answer 503");
  }
  sync();
  sync();
  sync();
}

// What the loop saw: the story without the lines that armed the faults.
std::string outcomes(const std::string& story) {
  std::istringstream in(story);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("fault: ", 0) != 0) out += line + "\n";
  }
  return out;
}

TEST(FaultPlanReplay, ACounterexamplesPlanReplaysAgainstTheServerWithTheSameOutcome) {
  World first(config(false), SyncerKind::production);
  loop(first, true);
  const std::string printed = first.replay_config();
  const fake::ServerConfig server = fake::parse_server_config(printed);
  ASSERT_TRUE(server.fault_plan.has_value()) << printed;
  ASSERT_EQ(server.fault_plan->faults.size(), 5u) << printed;

  World replay(config(true), SyncerKind::production, *server.fault_plan);
  loop(replay, false);

  const std::vector<fake::FaultEvent> fired = first.cloud().fault_log();
  EXPECT_EQ(fired.size(), 6u) << first.cloud().fault_log_text();
  EXPECT_EQ(fired, replay.cloud().fault_log()) << "plan " << printed << "\nran:\n"
                                               << first.cloud().fault_log_text() << "replayed:\n"
                                               << replay.cloud().fault_log_text();
  EXPECT_EQ(outcomes(first.story()), outcomes(replay.story()));
  EXPECT_NE(first.story().find("-> failed"), std::string::npos) << first.story();
}

}  // namespace
}  // namespace weightsync::props
