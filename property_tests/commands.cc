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
  msg << "fault plan (weightsync-fakeserver --config FILE replays it): " << world.replay_config()
      << "\n";
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

namespace {

fake::FaultSpec next(fake::FaultKind kind, int count) {
  fake::FaultSpec spec;
  spec.kind = kind;
  spec.count = count;
  return spec;
}

}  // namespace

void FailNextLoad::run(const Model&, World& w) const {
  w.add_fault(next(fake::FaultKind::load_error, w.config().replicas),
              "the next load on every replica fails");
  assert_invariants(w);
}

// Each fault the fake can inject becomes a count-triggered entry appended to the cloud's fault
// plan; slow downloads and a stale storage cache change the world's settings instead.
void InjectFault::run(const Model&, World& w) const {
  using fake::FaultKind;
  std::ostringstream what;
  show(what);
  fake::FaultSpec spec;
  switch (fault) {
    case props::FaultKind::reject_post:
      spec = next(FaultKind::hotload_rejected, count);
      spec.status = status;
      break;
    case props::FaultKind::lose_post_answer:
      // The POST takes effect and its answer is lost at once: the double-submit case.
      spec = next(FaultKind::hotload_timeout, count);
      spec.delay = Duration::zero();
      spec.accepted = true;
      break;
    case props::FaultKind::failing_load:
      spec = next(FaultKind::load_error, count);
      break;
    case props::FaultKind::failing_replica:
      spec = next(FaultKind::load_error, count);
      spec.replica = w.config().replicas - 1;
      break;
    case props::FaultKind::stuck_load:
      spec = next(FaultKind::load_stuck, 1);
      break;
    case props::FaultKind::warmup_unavailable:
      spec = next(FaultKind::warmup_unavailable, 4 * count);
      break;
    case props::FaultKind::skip_cache_reset:
      spec = next(FaultKind::prompt_cache_not_reset, count);
      break;
    case props::FaultKind::slow_downloads:
      w.set_slow_downloads(on);
      w.note("fault: " + what.str());
      assert_invariants(w);
      return;
    case props::FaultKind::stale_cache:
      w.set_stale_cache(on);
      w.note("fault: " + what.str());
      assert_invariants(w);
      return;
    case props::FaultKind::save_failure:
      spec = next(FaultKind::save_failure, count);
      spec.trainer = w.trainer().job_name();
      break;
    case props::FaultKind::restart_mid_load:
      spec = next(FaultKind::replica_restart, 1);
      break;
  }
  w.add_fault(std::move(spec), what.str());
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
      os << "the next " << count << " prompt-cache resets are skipped";
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
