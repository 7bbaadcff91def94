// What each property-test command does to the World.
#include "commands.h"

namespace weightsync::props {

void assert_invariants(World& world) {
  const std::vector<std::string> found = world.violations();
  if (found.empty()) return;
  std::ostringstream msg;
  msg << "config " << world.config() << "\n";
  for (const auto& v : found) msg << "VIOLATED " << v << "\n";
  msg << "story:\n" << world.story();
  RC_FAIL(msg.str());
}

void TrainerStep::run(const Model&, World& w) const {
  w.trainer_step(steps);
  assert_invariants(w);
}

void SaveAndHotload::run(const Model&, World& w) const {
  w.save_and_hotload(std::nullopt);
  assert_invariants(w);
}

void SaveAndHotloadExplicit::run(const Model&, World& w) const {
  w.save_and_hotload(kind);
  assert_invariants(w);
}

void SaveOnlyThenHotload::run(const Model&, World& w) const {
  w.save_only_then_hotload();
  assert_invariants(w);
}

void SaveOnly::run(const Model&, World& w) const {
  w.save_only();
  assert_invariants(w);
}

void ResetDeltaChain::run(const Model&, World& w) const {
  w.reset_delta_chain();
  assert_invariants(w);
}

void ResumeFromDcp::run(const Model&, World& w) const {
  w.resume_from_dcp();
  assert_invariants(w);
}

void Reattach::run(const Model&, World& w) const {
  w.reattach_to_new_trainer();
  assert_invariants(w);
}

void RecreateBucket::run(const Model&, World& w) const {
  w.recreate_bucket();
  assert_invariants(w);
}

void RestartReplica::run(const Model&, World& w) const {
  w.restart_replica(replica);
  assert_invariants(w);
}

void ResetLedger::run(const Model&, World& w) const {
  w.reset_ledger();
  assert_invariants(w);
}

void FailNextLoad::run(const Model&, World& w) const {
  w.faults().failing_loads += w.config().replicas;
  w.faults().failing_replica = -1;
  w.note("fault: the next load on every replica fails");
  assert_invariants(w);
}

void InjectFault::run(const Model&, World& w) const {
  Faults& f = w.faults();
  std::ostringstream what;
  show(what);
  switch (fault) {
    case FaultKind::reject_post:
      f.reject_posts += count;
      f.reject_status = status;
      break;
    case FaultKind::lose_post_answer:
      f.lose_post_answers += count;
      break;
    case FaultKind::failing_load:
      f.failing_loads += count;
      f.failing_replica = -1;
      break;
    case FaultKind::failing_replica:
      f.failing_loads += count;
      f.failing_replica = w.config().replicas - 1;
      break;
    case FaultKind::stuck_load:
      f.stuck_loads += 1;
      break;
    case FaultKind::warmup_unavailable:
      f.warmup_unavailable += 4 * count;
      break;
    case FaultKind::skip_cache_reset:
      f.skip_cache_reset = on;
      break;
    case FaultKind::slow_downloads:
      w.set_slow_downloads(on);
      break;
    case FaultKind::stale_cache:
      w.set_stale_cache(on);
      break;
    case FaultKind::save_failure:
      w.trainer().fail_next_saves(count);
      break;
    case FaultKind::restart_mid_load:
      w.restart_during_next_load();
      break;
  }
  w.note("fault: " + what.str());
  assert_invariants(w);
}

void InjectFault::show(std::ostream& os) const {
  switch (fault) {
    case FaultKind::reject_post:
      os << "the next " << count << " hotload POSTs are rejected with " << status;
      return;
    case FaultKind::lose_post_answer:
      os << "the answers to the next " << count << " hotload POSTs are lost after the server "
         << "acted";
      return;
    case FaultKind::failing_load:
      os << "the next " << count << " replica loads end in error";
      return;
    case FaultKind::failing_replica:
      os << "the next " << count << " loads on the last replica end in error";
      return;
    case FaultKind::stuck_load:
      os << "the next load never finishes";
      return;
    case FaultKind::warmup_unavailable:
      os << "the next " << 4 * count << " completions answer 503";
      return;
    case FaultKind::skip_cache_reset:
      os << "prompt-cache resets are " << (on ? "skipped" : "honoured");
      return;
    case FaultKind::slow_downloads:
      os << "downloads " << (on ? "slow to a crawl" : "back to normal");
      return;
    case FaultKind::stale_cache:
      os << "the storage cache " << (on ? "turns stale" : "is fresh again");
      return;
    case FaultKind::save_failure:
      os << "the next " << count << " trainer saves fail";
      return;
    case FaultKind::restart_mid_load:
      os << "a replica restarts halfway through the next load";
      return;
  }
}

}  // namespace weightsync::props
