// RapidCheck commands: one per thing a training loop or the world can do (docs/SPEC.md sections 4
// and 6). Each run() performs it on the World and then checks every invariant against the
// fake's real bytes; show() says what it did, so a shrunk counterexample reads as a story.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <sstream>

#include "world.h"

namespace weightsync::props {

// The model: only what the commands need to be generated; outcomes live in the World.
struct Model {
  WorldConfig config;
  int syncs_attempted = 0;
};

using Command = rc::state::Command<Model, World>;

// Fails the property with every violation and the story so far.
void assert_invariants(World& world);

struct TrainerStep : Command {
  int steps = *rc::gen::inRange(1, 4);
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "trainer steps " << steps; }
};

struct SaveAndHotload : Command {
  void apply(Model& m) const override { ++m.syncs_attempted; }
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "save_and_hotload"; }
};

// An explicit checkpoint type, as a user may pass one: base or delta (full parameter), base or
// merged_base (LoRA).
struct SaveAndHotloadExplicit : Command {
  explicit SaveAndHotloadExplicit(const Model& m)
      : kind(m.config.lora_rank > 0
                 ? *rc::gen::element(CheckpointKind::base, CheckpointKind::merged_base)
                 : *rc::gen::element(CheckpointKind::base, CheckpointKind::delta)) {}
  CheckpointKind kind;
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override {
    os << "save_and_hotload with explicit type " << to_string(kind);
  }
};

struct SaveOnlyThenHotload : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "save_only, then hotload it"; }
};

struct SaveOnly : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "save_only (not synced)"; }
};

struct ResetDeltaChain : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "reset_delta_chain"; }
};

struct ResumeFromDcp : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "trainer resumes from DCP (new session)"; }
};

struct Reattach : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "re-attach the deployment to a new trainer"; }
};

struct RecreateBucket : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "bucket re-created"; }
};

struct RestartReplica : Command {
  int replica = *rc::gen::inRange(0, 4);
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "restart replica " << replica; }
};

struct ResetLedger : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "reset the deployment's ledger"; }
};

// Arms one fault of docs/SPEC.md section 6 for the coming operations.
enum class FaultKind {
  reject_post,
  lose_post_answer,
  failing_load,
  failing_replica,
  stuck_load,
  warmup_unavailable,
  skip_cache_reset,
  slow_downloads,
  stale_cache,
  save_failure,
  restart_mid_load,
};

struct InjectFault : Command {
  FaultKind fault =
      *rc::gen::element(FaultKind::reject_post, FaultKind::lose_post_answer,
                        FaultKind::failing_load, FaultKind::failing_replica, FaultKind::stuck_load,
                        FaultKind::warmup_unavailable, FaultKind::skip_cache_reset,
                        FaultKind::slow_downloads, FaultKind::stale_cache, FaultKind::save_failure);
  int count = *rc::gen::inRange(1, 4);
  int status = *rc::gen::element(400, 500, 503);
  bool on = *rc::gen::arbitrary<bool>();
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override;
};

// The next load on every replica ends in error: the one fault behind hazards 1 and 2.
struct FailNextLoad : Command {
  void run(const Model&, World& w) const override;
  void show(std::ostream& os) const override { os << "the next load on every replica fails"; }
};

// As FailNextLoad, but only once a sync was attempted, so the first hotload always succeeds.
struct FailLaterLoad : FailNextLoad {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.syncs_attempted > 0); }
};

// Only a loop and failing loads: whatever breaks here is hazard 1 or 2.
inline auto hazard_commands() {
  return rc::state::gen::execOneOfWithArgs<TrainerStep, SaveAndHotload, SaveAndHotload,
                                           FailNextLoad>();
}

// As hazard_commands, but the first hotload cannot fail: what breaks here is hazard 2.
inline auto hazard2_commands() {
  return rc::state::gen::execOneOfWithArgs<TrainerStep, SaveAndHotload, SaveAndHotload,
                                           FailLaterLoad>();
}

// Every command, for execOneOfWithArgs.
inline auto all_commands() {
  return rc::state::gen::execOneOfWithArgs<
      TrainerStep, SaveAndHotload, SaveAndHotload, SaveAndHotload, SaveAndHotloadExplicit,
      SaveOnlyThenHotload, SaveOnly, ResetDeltaChain, ResumeFromDcp, Reattach, RecreateBucket,
      RestartReplica, ResetLedger, InjectFault, InjectFault, InjectFault>();
}

}  // namespace weightsync::props
