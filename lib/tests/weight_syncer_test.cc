// WeightSyncer against a RecordingTrainer and a ScriptedDeployment on a ManualClock: the seed's
// contract, the chain decisions, and one test per hazard of docs/SPEC.md section 3.
#include "weightsync/weight_syncer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "log_recorder.h"
#include "recording_trainer.h"
#include "scripted_deployment.h"
#include "weightsync/clock.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/errors.h"

namespace weightsync {
namespace {

using testing::HotloadOutcome;
using testing::LogRecorder;
using testing::RecordedSave;
using testing::RecordingTrainer;
using testing::ScriptedDeployment;

constexpr CheckpointKind kBase = CheckpointKind::base;
constexpr CheckpointKind kDelta = CheckpointKind::delta;
constexpr CheckpointKind kMergedBase = CheckpointKind::merged_base;
// A value outside the enum, as only a cast (or a bad deserializer) can make.
constexpr CheckpointKind kNotAKind = static_cast<CheckpointKind>(7);
const std::string kHotload(kHotloadPath);
const std::string kCompletions(kCompletionsPath);

DeploymentManagerOptions manager_options() {
  DeploymentManagerOptions o;
  o.api_key = "key-1";
  o.account_id = "acme";
  return o;
}

// A trainer (saves take 3 s), a deployment of `replicas` replicas, a manager, one clock.
struct World {
  explicit World(int replicas = 1) : deployment(replicas) {}

  WeightSyncerOptions options() {
    WeightSyncerOptions o;
    o.deploy_mgr = &mgr;
    o.deployment_id = "d1";
    o.base_model = "accounts/fireworks/models/qwen3-8b";
    o.hotload_timeout = seconds(60);
    return o;
  }

  // The trainer's record of the save that produced `snapshot`.
  const RecordedSave& save_of(const std::string& snapshot) const {
    for (const RecordedSave& s : trainer.saves) {
      if (s.snapshot_name == snapshot) return s;
    }
    throw std::logic_error("no save named " + snapshot);
  }

  // docs/SPEC.md invariants 3 and 4 over every hotload sent: a delta always carries metadata naming
  // both the snapshot it was diffed against and the one the deployment served; nothing else
  // carries metadata.
  void expect_chain_sound(int lora_rank = 0) const {
    for (std::size_t i = 0; i < deployment.hotloads().size(); ++i) {
      const HotloadRequest& h = deployment.hotloads()[i];
      const RecordedSave& save = save_of(h.identity);
      if (save.kind == kDelta && lora_rank == 0) {
        ASSERT_TRUE(h.incremental_snapshot_metadata.has_value())
            << "delta " << h.identity << " sent without metadata";
        EXPECT_EQ(h.incremental_snapshot_metadata->previous_snapshot_identity, save.diffed_against)
            << "delta " << h.identity << " names a parent it was not computed from";
        EXPECT_EQ(h.incremental_snapshot_metadata->previous_snapshot_identity,
                  deployment.served_when_posted()[i])
            << "delta " << h.identity << " names a parent the deployment did not serve";
      } else {
        EXPECT_FALSE(h.incremental_snapshot_metadata.has_value()) << h.identity;
      }
    }
  }

  LogRecorder log;
  ManualClock clock;
  ScriptedDeployment deployment;
  DeploymentManager mgr{deployment, clock, manager_options()};
  RecordingTrainer trainer{&clock, seconds(3)};
};

// ---- construction ----

TEST(WeightSyncerOptions, DefaultsEqualTheSeed) {
  const WeightSyncerOptions o;
  EXPECT_EQ(o.deploy_mgr, nullptr);
  EXPECT_FALSE(o.deployment_id.has_value());
  EXPECT_EQ(o.base_model, "");
  EXPECT_EQ(o.hotload_timeout, seconds(600));
  EXPECT_EQ(o.first_checkpoint_type, kBase);
  EXPECT_EQ(o.compression_format, "arc_v2");
  EXPECT_TRUE(o.warmup_after_hotload);
  EXPECT_EQ(o.warmup_max_retries, 10);
  EXPECT_TRUE(o.reset_prompt_cache);
  EXPECT_EQ(o.lora_rank, 0);
}

TEST(WeightSyncerConstruction, DefaultSyncerHasNoSyncAndAFreshChain) {
  RecordingTrainer trainer;
  const WeightSyncer syncer(trainer);
  EXPECT_FALSE(syncer.sync_enabled());
  EXPECT_EQ(syncer.chain(), ChainState{});
  EXPECT_FALSE(syncer.deployment_checked());
  EXPECT_EQ(syncer.options().hotload_timeout, seconds(600));
}

TEST(WeightSyncerConstruction, RejectsNegativeHotloadTimeout) {
  World w;
  WeightSyncerOptions o = w.options();
  o.hotload_timeout = seconds(-1);
  try {
    WeightSyncer syncer(w.trainer, o, w.clock);
    FAIL() << "accepted a negative timeout";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("hotload_timeout"), std::string::npos) << e.what();
  }
}

TEST(WeightSyncerConstruction, RejectsNegativeLoraRank) {
  World w;
  WeightSyncerOptions o = w.options();
  o.lora_rank = -4;
  EXPECT_THROW(WeightSyncer(w.trainer, o, w.clock), InvalidArgument);
}

TEST(WeightSyncerConstruction, RejectsNegativeWarmupRetries) {
  World w;
  WeightSyncerOptions o = w.options();
  o.warmup_max_retries = -1;
  EXPECT_THROW(WeightSyncer(w.trainer, o, w.clock), InvalidArgument);
}

TEST(WeightSyncerConstruction, RejectsAFirstCheckpointTypeOutsideTheEnumNamingIt) {
  World w;
  WeightSyncerOptions o = w.options();
  o.first_checkpoint_type = kNotAKind;
  try {
    WeightSyncer syncer(w.trainer, o, w.clock);
    FAIL() << "accepted first_checkpoint_type CheckpointKind(7)";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("first_checkpoint_type"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CheckpointKind(7)"), std::string::npos) << e.what();
  }
}

TEST(WeightSyncerConstruction, RejectsMergedBaseAsFirstCheckpointType) {
  World w;
  WeightSyncerOptions o = w.options();
  o.first_checkpoint_type = kMergedBase;
  EXPECT_THROW(WeightSyncer(w.trainer, o, w.clock), InvalidArgument);
}

// Text becomes a kind once, at the edge (a config file, a command line): parse_checkpoint_kind
// accepts any case, and what it gives the syncer takes.
TEST(WeightSyncerConstruction, FirstCheckpointTypeParsedFromTextInAnyCase) {
  World w;
  WeightSyncerOptions o = w.options();
  o.first_checkpoint_type = parse_checkpoint_kind("BASE");
  EXPECT_NO_THROW(WeightSyncer(w.trainer, o, w.clock));
}

TEST(WeightSyncerConstruction, RejectsEmptyCompressionFormatWhileSyncing) {
  World w;
  WeightSyncerOptions o = w.options();
  o.compression_format = "";
  EXPECT_THROW(WeightSyncer(w.trainer, o, w.clock), InvalidArgument);
}

TEST(WeightSyncerConstruction, RejectsNonPositiveReadyPollInterval) {
  World w;
  WeightSyncerOptions o = w.options();
  o.hotload_ready_poll_interval = Duration::zero();
  EXPECT_THROW(WeightSyncer(w.trainer, o, w.clock), InvalidArgument);
}

TEST(WeightSyncerConstruction, SyncEnabledOnlyWithBothManagerAndDeploymentId) {
  World w;
  WeightSyncerOptions both = w.options();
  EXPECT_TRUE(WeightSyncer(w.trainer, both, w.clock).sync_enabled());
  WeightSyncerOptions no_id = w.options();
  no_id.deployment_id.reset();
  EXPECT_FALSE(WeightSyncer(w.trainer, no_id, w.clock).sync_enabled());
  WeightSyncerOptions no_mgr = w.options();
  no_mgr.deploy_mgr = nullptr;
  EXPECT_FALSE(WeightSyncer(w.trainer, no_mgr, w.clock).sync_enabled());
}

TEST(WeightSyncerWithoutSync, SaveAndHotloadOnlySavesBaseThenDeltas) {
  World w;
  WeightSyncerOptions o = w.options();
  o.deployment_id.reset();
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_EQ(syncer.save_and_hotload("step-1"), "step-1-0123abcd");
  EXPECT_EQ(syncer.save_and_hotload("step-2"), "step-2-0123abcd");
  EXPECT_TRUE(w.deployment.requests().empty());
  ASSERT_EQ(w.trainer.saves.size(), 2u);
  EXPECT_EQ(w.trainer.saves[0].kind, kBase);
  EXPECT_EQ(w.trainer.saves[1].kind, kDelta);
  EXPECT_FALSE(syncer.last_sync().synced);
}

TEST(WeightSyncerWithoutSync, FirstCheckpointTypeDeltaSavesADeltaFirst) {
  World w;
  WeightSyncerOptions o = w.options();
  o.deploy_mgr = nullptr;
  o.first_checkpoint_type = kDelta;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_EQ(w.trainer.saves.at(0).kind, kDelta);
}

TEST(WeightSyncerWithoutSync, HotloadReturnsFalseAndWaitForReadyThrows) {
  World w;
  WeightSyncerOptions o = w.options();
  o.deploy_mgr = nullptr;
  WeightSyncer syncer(w.trainer, o, w.clock);
  const std::string name = *syncer.save_only("step-1");
  EXPECT_FALSE(syncer.hotload(name, kBase));
  EXPECT_THROW(syncer.wait_for_hotload_ready(), InvalidArgument);
  EXPECT_EQ(syncer.check_deployment_state(), "");
  EXPECT_TRUE(w.deployment.requests().empty());
}

// ---- save_and_hotload ----

TEST(WeightSyncerSaveAndHotload, ReturnsTheSessionScopedNameAndAdvancesTheChain) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_EQ(syncer.save_and_hotload("step-1"), "step-1-0123abcd");
  EXPECT_EQ(syncer.chain().base_identity, "step-1-0123abcd");
  EXPECT_EQ(syncer.chain().last_saved_identity, "step-1-0123abcd");
  EXPECT_TRUE(syncer.chain().base_saved);
  const SyncRecord& record = syncer.last_sync();
  EXPECT_TRUE(record.saved);
  EXPECT_TRUE(record.synced);
  EXPECT_TRUE(record.warmup_ok);
  EXPECT_EQ(record.warmup_attempts, 1);
  EXPECT_EQ(record.error, "");
  EXPECT_EQ(w.deployment.replicas()[0].current_snapshot_identity, "step-1-0123abcd");
}

TEST(WeightSyncerSaveAndHotload, FirstSaveIsBaseThenDeltaNamesTheServedSnapshot) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_EQ(syncer.last_sync().kind, kBase);
  EXPECT_TRUE(syncer.last_sync().promotable);
  EXPECT_FALSE(syncer.last_sync().metadata.has_value());
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(syncer.last_sync().kind, kDelta);
  EXPECT_FALSE(syncer.last_sync().promotable);
  ASSERT_EQ(w.deployment.hotloads().size(), 2u);
  const HotloadRequest& delta = w.deployment.hotloads()[1];
  ASSERT_TRUE(delta.incremental_snapshot_metadata.has_value());
  EXPECT_EQ(*delta.incremental_snapshot_metadata,
            (IncrementalSnapshotMetadata{"step-1-0123abcd", "arc_v2", "alder32"}));
  EXPECT_EQ(syncer.last_sync().metadata, delta.incremental_snapshot_metadata);
  w.expect_chain_sound();
}

TEST(WeightSyncerSaveAndHotload, HotloadCarriesHeadersAndResetPromptCache) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  const int post = w.deployment.first("POST", kHotload);
  ASSERT_GE(post, 0);
  const HttpRequest& sent = w.deployment.requests()[static_cast<std::size_t>(post)];
  EXPECT_EQ(header_value(sent.headers, "fireworks-model"), "accounts/fireworks/models/qwen3-8b");
  EXPECT_EQ(header_value(sent.headers, "fireworks-deployment"), "accounts/acme/deployments/d1");
  EXPECT_EQ(nlohmann::json::parse(sent.body),
            nlohmann::json::parse(R"({"identity":"step-1-0123abcd","reset_prompt_cache":true})"));
}

TEST(WeightSyncerSaveAndHotload, ResetPromptCacheOffLeavesTheFieldOut) {
  World w;
  WeightSyncerOptions o = w.options();
  o.reset_prompt_cache = false;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_FALSE(w.deployment.hotloads().at(0).reset_prompt_cache.value_or(false));
}

TEST(WeightSyncerSaveAndHotload, CustomCompressionFormatIsSentWithTheDelta) {
  World w;
  WeightSyncerOptions o = w.options();
  o.compression_format = "zstd_xor";
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.deployment.hotloads().at(1).incremental_snapshot_metadata->compression_format,
            "zstd_xor");
}

TEST(WeightSyncerSaveAndHotload, SaveFailureThrowsSaveFailedAndKeepsTheChain) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  const ChainState before = syncer.chain();
  const std::size_t posts = w.deployment.hotloads().size();
  w.trainer.failures_left = 1;
  try {
    syncer.save_and_hotload("step-2");
    FAIL() << "expected SaveFailed";
  } catch (const SaveFailed& e) {
    EXPECT_NE(std::string(e.what()).find("quota exceeded"), std::string::npos) << e.what();
  }
  EXPECT_EQ(syncer.chain(), before);
  EXPECT_FALSE(syncer.last_sync().saved);
  EXPECT_FALSE(syncer.last_sync().error.empty());
  EXPECT_EQ(w.deployment.hotloads().size(), posts);
  // The retried save gets the kind the failed one would have had.
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.trainer.saves.back().kind, kDelta);
  w.expect_chain_sound();
}

// A trainer that answers with a name the deployment cannot use (invariant 6).
class SlashNamingTrainer final : public TrainingClient {
 public:
  SamplerSave save_weights_for_sampler(const std::string& name, CheckpointKind) override {
    return {"gs://bucket/x", "runs/" + name};
  }
  std::string save_state(const std::string& name) override { return name; }
  std::string session_id() const override { return "0123abcd"; }
};

TEST(WeightSyncerSaveAndHotload, TrainerReturningANameWithSlashIsASaveFailureAndNothingIsSent) {
  World w;
  SlashNamingTrainer trainer;
  WeightSyncer syncer(trainer, w.options(), w.clock);
  try {
    syncer.save_and_hotload("step-1");
    FAIL() << "expected SaveFailed";
  } catch (const SaveFailed& e) {
    EXPECT_NE(std::string(e.what()).find("runs/step-1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(w.deployment.hotloads().empty());
  EXPECT_EQ(syncer.chain(), ChainState{});
}

TEST(WeightSyncerSaveAndHotload, WarmupRanTellsSkippedFromFailed) {
  World w;
  WeightSyncerOptions o = w.options();
  o.warmup_after_hotload = false;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_TRUE(syncer.last_sync().synced);
  EXPECT_FALSE(syncer.last_sync().warmup_ran);
  WeightSyncer warming(w.trainer, w.options(), w.clock);
  warming.save_and_hotload("step-2");
  EXPECT_TRUE(warming.last_sync().warmup_ran);
  EXPECT_TRUE(warming.last_sync().warmup_ok);
}

TEST(WeightSyncerSaveAndHotload, ReusingANameInASessionWarns) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_FALSE(w.log.contains(LogLevel::warning, "step-1-0123abcd"));
  syncer.save_and_hotload("step-1");
  EXPECT_TRUE(w.log.contains(LogLevel::warning, "step-1-0123abcd"));
}

TEST(WeightSyncerSaveAndHotload, ErrorStageThrowsHotloadFailedAndRecordsIt) {
  World w;
  w.deployment.outcomes = {HotloadOutcome::error_stage};
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), HotloadFailed);
  EXPECT_TRUE(syncer.last_sync().saved);
  EXPECT_FALSE(syncer.last_sync().synced);
  EXPECT_FALSE(syncer.last_sync().error.empty());
  EXPECT_EQ(syncer.chain().base_identity, "");
}

TEST(WeightSyncerSaveAndHotload, StuckLoadThrowsTimeoutAfterHotloadTimeout) {
  World w;
  w.deployment.outcomes = {HotloadOutcome::stuck};
  WeightSyncerOptions o = w.options();
  o.hotload_timeout = seconds(30);
  WeightSyncer syncer(w.trainer, o, w.clock);
  const Duration start = w.clock.now();
  EXPECT_THROW(syncer.save_and_hotload("step-1"), HotloadTimeout);
  EXPECT_EQ(w.clock.now() - start, seconds(3 + 30));  // the save, then the whole timeout
  EXPECT_EQ(syncer.last_sync().timings.hotload, seconds(30));
}

TEST(WeightSyncerSaveAndHotload, RejectedHotloadIsApiErrorAndResetsTheChain) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.outcomes = {HotloadOutcome::reject_400};
  try {
    syncer.save_and_hotload("step-2");
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
  }
  EXPECT_EQ(syncer.chain(), ChainState{});
}

TEST(WeightSyncerSaveAndHotload, ExplicitTypeWins) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  syncer.save_and_hotload("step-2", kBase);
  EXPECT_EQ(w.trainer.saves.at(1).kind, kBase);
  EXPECT_FALSE(w.deployment.hotloads().at(1).incremental_snapshot_metadata.has_value());
  syncer.save_and_hotload("step-3", kDelta);
  EXPECT_EQ(w.trainer.saves.at(2).kind, kDelta);
  w.expect_chain_sound();
}

TEST(WeightSyncerSaveAndHotload, ExplicitDeltaOverAnUnservedParentIsRefusedBeforeThePost) {
  World w;
  w.deployment.outcomes = {HotloadOutcome::error_stage};
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), HotloadFailed);
  EXPECT_THROW(syncer.save_and_hotload("step-2", kDelta), HotloadFailed);
  EXPECT_EQ(w.deployment.hotloads().size(), 1u);  // step-2 never reached the deployment
  w.expect_chain_sound();
}

TEST(WeightSyncerSaveAndHotload, InvalidArgumentsAreRejectedBeforeSaving) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_THROW(syncer.save_and_hotload("runs/step-1"), InvalidArgument);
  EXPECT_THROW(syncer.save_and_hotload(""), InvalidArgument);
  EXPECT_THROW(syncer.save_and_hotload("step-1", kNotAKind), InvalidArgument);
  EXPECT_THROW(syncer.save_and_hotload("step-1", kMergedBase), InvalidArgument);
  EXPECT_TRUE(w.trainer.saves.empty());
}

TEST(WeightSyncerSaveAndHotload, TimingsAreMeasuredOnTheClock) {
  World w;
  w.deployment.polls_until_loaded = 2;        // two extra status polls, 2 s apart
  w.deployment.warmup_statuses = {503, 200};  // one warmup retry, 10 s later
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  const SyncTimings& t = syncer.last_timings();
  EXPECT_EQ(t.save, seconds(3));
  EXPECT_EQ(t.hotload, seconds(4));
  EXPECT_EQ(t.warmup, seconds(10));
  EXPECT_EQ(t.total, seconds(17));
  EXPECT_EQ(syncer.last_sync().warmup_attempts, 2);
}

TEST(WeightSyncerSaveAndHotload, WarmupDisabledSendsNoCompletion) {
  World w;
  WeightSyncerOptions o = w.options();
  o.warmup_after_hotload = false;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_TRUE(syncer.last_sync().synced);
  EXPECT_EQ(w.deployment.count("POST", kCompletions), 0u);
}

TEST(WeightSyncerSaveAndHotload, WarmupTriesAtMostMaxRetriesPlusOne) {
  World w;
  w.deployment.warmup_statuses = {503};
  WeightSyncerOptions o = w.options();
  o.warmup_max_retries = 3;
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), WarmupFailed);
  EXPECT_EQ(w.deployment.count("POST", kCompletions), 4u);
  EXPECT_EQ(syncer.last_sync().warmup_attempts, 4);
}

TEST(WeightSyncerSaveAndHotload, LoraIsAlwaysBaseWithoutMetadataAndPromotable) {
  World w;
  WeightSyncerOptions o = w.options();
  o.lora_rank = 16;
  WeightSyncer syncer(w.trainer, o, w.clock);
  for (const char* name : {"step-1", "step-2", "step-3"}) {
    syncer.save_and_hotload(name);
    EXPECT_TRUE(syncer.last_sync().promotable) << name;
  }
  for (const RecordedSave& s : w.trainer.saves) EXPECT_EQ(s.kind, kBase) << s.name;
  for (const HotloadRequest& h : w.deployment.hotloads()) {
    EXPECT_FALSE(h.incremental_snapshot_metadata.has_value()) << h.identity;
  }
}

TEST(WeightSyncerSaveAndHotload, LoraExplicitDeltaStillCarriesNoMetadata) {
  World w;
  WeightSyncerOptions o = w.options();
  o.lora_rank = 8;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  syncer.save_and_hotload("step-2", kDelta);
  EXPECT_EQ(w.trainer.saves.at(1).kind, kDelta);
  EXPECT_TRUE(syncer.last_sync().synced);
  EXPECT_TRUE(syncer.last_sync().promotable);
  EXPECT_FALSE(w.deployment.hotloads().at(1).incremental_snapshot_metadata.has_value());
}

TEST(WeightSyncerSaveAndHotload, LoraMergedBaseIsAcceptedAndPromotable) {
  World w;
  WeightSyncerOptions o = w.options();
  o.lora_rank = 8;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1", kMergedBase);
  EXPECT_EQ(w.trainer.saves.at(0).kind, CheckpointKind::merged_base);
  EXPECT_TRUE(syncer.last_sync().promotable);
}

TEST(WeightSyncerSaveAndHotload, ResetDeltaChainMakesTheNextSaveABase) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  syncer.save_and_hotload("step-2");
  syncer.reset_delta_chain();
  EXPECT_EQ(syncer.chain(), ChainState{});
  syncer.save_and_hotload("step-3");
  EXPECT_EQ(w.trainer.saves.at(2).kind, kBase);
  EXPECT_FALSE(w.deployment.hotloads().at(2).incremental_snapshot_metadata.has_value());
}

TEST(WeightSyncerSaveAndHotload, FirstCheckpointTypeDeltaStillStartsASyncedChainWithABase) {
  World w;
  WeightSyncerOptions o = w.options();
  o.first_checkpoint_type = kDelta;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_EQ(w.trainer.saves.at(0).kind, kBase);
  w.expect_chain_sound();
}

// ---- the one-time deployment check ----

TEST(WeightSyncerDeploymentCheck, RunsBeforeTheFirstHotloadAndOnlyOnce) {
  World w;
  WeightSyncerOptions o = w.options();
  o.verify_served_before_delta = false;  // so every status read here is the check or a poll
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_FALSE(syncer.deployment_checked());
  syncer.save_and_hotload("step-1");
  EXPECT_TRUE(syncer.deployment_checked());
  const int first_status = w.deployment.first("GET", kHotload);
  const int first_post = w.deployment.first("POST", kHotload);
  ASSERT_GE(first_status, 0);
  EXPECT_LT(first_status, first_post);
  EXPECT_EQ(w.deployment.count("GET", kHotload), 2u);  // the check, then one wait poll
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.deployment.count("GET", kHotload), 3u);  // only the wait poll
}

TEST(WeightSyncerDeploymentCheck, DeploymentServingAnotherSessionsSnapshotGetsABaseFirst) {
  World w;
  w.deployment.serve("step-40-fedcba98");
  WeightSyncerOptions o = w.options();
  o.first_checkpoint_type = kDelta;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  EXPECT_EQ(w.trainer.saves.at(0).kind, kBase);
  EXPECT_FALSE(w.deployment.hotloads().at(0).incremental_snapshot_metadata.has_value());
  EXPECT_TRUE(w.log.contains(LogLevel::info, "step-40-fedcba98"));
  w.expect_chain_sound();
}

TEST(WeightSyncerDeploymentCheck, WaitsForTheHotloadManagerBeforeTheFirstPost) {
  World w;
  w.deployment.hotload_manager_up = false;
  WeightSyncerOptions o = w.options();
  o.hotload_ready_timeout = seconds(10);
  o.hotload_ready_poll_interval = seconds(5);
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), Timeout);
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);
}

// ---- save_only and hotload (split save and sync) ----

TEST(WeightSyncerSaveOnly, ReturnsTheNameAndNeverHotloads) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_EQ(syncer.save_only("step-1"), "step-1-0123abcd");
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);
  EXPECT_TRUE(syncer.last_sync().saved);
  EXPECT_FALSE(syncer.last_sync().synced);
  EXPECT_EQ(syncer.last_sync().timings.save, seconds(3));
}

TEST(WeightSyncerSaveOnly, ReturnsNothingOnFailureAndNeverThrows) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  w.trainer.failures_left = 1;
  std::optional<std::string> name;
  EXPECT_NO_THROW(name = syncer.save_only("step-1"));
  EXPECT_FALSE(name.has_value());
  EXPECT_FALSE(syncer.last_sync().error.empty());
  EXPECT_NO_THROW(name = syncer.save_only("a/b"));
  EXPECT_FALSE(name.has_value());
  EXPECT_NO_THROW(name = syncer.save_only("step-1", kNotAKind));
  EXPECT_FALSE(name.has_value());
}

TEST(WeightSyncerHotload, SplitSaveAndSyncBuildsTheSameChain) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  EXPECT_TRUE(syncer.hotload(s1, kBase));
  EXPECT_EQ(syncer.chain().base_identity, s1);
  const std::string s2 = *syncer.save_only("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kDelta);
  EXPECT_TRUE(syncer.hotload(s2, kDelta));
  EXPECT_EQ(w.deployment.hotloads().at(1).incremental_snapshot_metadata->previous_snapshot_identity,
            s1);
  EXPECT_TRUE(syncer.last_sync().synced);
  w.expect_chain_sound();
}

TEST(WeightSyncerHotload, ReturnsFalseOnFailureWithoutThrowing) {
  World w;
  w.deployment.outcomes = {HotloadOutcome::error_stage};
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  bool ok = true;
  EXPECT_NO_THROW(ok = syncer.hotload(s1, kBase));
  EXPECT_FALSE(ok);
  EXPECT_FALSE(syncer.last_sync().synced);
  EXPECT_FALSE(syncer.last_sync().error.empty());
}

TEST(WeightSyncerHotload, RejectsAKindOtherThanTheOneSaved) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  EXPECT_FALSE(syncer.hotload(s1, kDelta));
  EXPECT_NE(syncer.last_sync().error.find("base"), std::string::npos) << syncer.last_sync().error;
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);
  EXPECT_TRUE(syncer.hotload(s1, kBase));
}

TEST(WeightSyncerHotload, RejectsAKindOutsideTheEnum) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  EXPECT_FALSE(syncer.hotload(s1, kNotAKind));
  EXPECT_NE(syncer.last_sync().error.find("CheckpointKind(7)"), std::string::npos)
      << syncer.last_sync().error;
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);
}

TEST(WeightSyncerHotload, RefusesADeltaThisSyncerNeverSaved) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_FALSE(syncer.hotload("step-9-0123abcd", kDelta));
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);
}

TEST(WeightSyncerHotload, AcceptsABaseSavedElsewhere) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_TRUE(syncer.hotload("exported-0123abcd", kBase));
  EXPECT_EQ(w.deployment.replicas()[0].current_snapshot_identity, "exported-0123abcd");
  EXPECT_EQ(syncer.chain().base_identity, "exported-0123abcd");
}

// A new trainer session forgets the parents of the earlier session's deltas: such a delta is
// refused before anything is sent, and a base of that session is accepted like one saved
// elsewhere.
TEST(WeightSyncerHotload, AfterASessionChangeAnEarlierDeltaIsRefusedAndAnEarlierBaseAccepted) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  EXPECT_TRUE(syncer.hotload(s1, kBase));
  const std::string s2 = *syncer.save_only("step-2");
  ASSERT_EQ(w.trainer.saves.at(1).kind, kDelta);
  w.trainer.resume("89abcdef");
  const std::string s3 = *syncer.save_only("step-3");
  EXPECT_EQ(w.trainer.saves.at(2).kind, kBase);
  const std::size_t posts = w.deployment.count("POST", kHotload);
  EXPECT_FALSE(syncer.hotload(s2, kDelta));
  EXPECT_NE(syncer.last_sync().error.find("parent is unknown"), std::string::npos)
      << syncer.last_sync().error;
  EXPECT_EQ(w.deployment.count("POST", kHotload), posts);
  EXPECT_TRUE(syncer.hotload(s1, kBase));
  EXPECT_EQ(syncer.chain().base_identity, s1);
  EXPECT_TRUE(syncer.hotload(s3, kBase));
  EXPECT_EQ(w.deployment.replicas()[0].current_snapshot_identity, s3);
}
// ---- state queries ----

TEST(WeightSyncerState, CheckDeploymentStateReturnsWhatEveryReplicaServes) {
  World w(2);
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_EQ(syncer.check_deployment_state(), "");
  syncer.save_and_hotload("step-1");
  EXPECT_EQ(syncer.check_deployment_state(), "step-1-0123abcd");
}

TEST(WeightSyncerState, CheckDeploymentStateIsEmptyWhenReplicasDisagree) {
  World w(2);
  w.deployment.outcomes = {HotloadOutcome::second_replica_lag};
  WeightSyncerOptions o = w.options();
  o.hotload_timeout = seconds(4);
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), HotloadTimeout);
  EXPECT_EQ(syncer.check_deployment_state(), "");
}

TEST(WeightSyncerState, CheckDeploymentStateIsEmptyWhenTheStatusCannotBeRead) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.status_failures = 1;
  EXPECT_EQ(syncer.check_deployment_state(), "");
}

TEST(WeightSyncerState, WaitForHotloadReadyReturnsTheReplicas) {
  World w(2);
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_EQ(syncer.wait_for_hotload_ready().replicas.size(), 2u);
}

TEST(WeightSyncerState, WaitForHotloadReadyTimesOutOnTheClock) {
  World w;
  w.deployment.hotload_manager_up = false;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_THROW(syncer.wait_for_hotload_ready(seconds(30), seconds(5)), Timeout);
  EXPECT_EQ(w.clock.now(), seconds(30));
  EXPECT_THROW(syncer.wait_for_hotload_ready(seconds(-1), seconds(5)), InvalidArgument);
}

// ---- chain resets the reference missed ----

TEST(WeightSyncerChain, TrainerSessionChangeMakesTheNextSaveABase) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  syncer.save_and_hotload("step-2");
  w.trainer.resume("89abcdef");
  EXPECT_EQ(syncer.save_and_hotload("step-3"), "step-3-89abcdef");
  EXPECT_EQ(w.trainer.saves.at(2).kind, kBase);
  EXPECT_FALSE(w.deployment.hotloads().at(2).incremental_snapshot_metadata.has_value());
  syncer.save_and_hotload("step-4");
  EXPECT_EQ(w.trainer.saves.at(3).kind, kDelta);
  w.expect_chain_sound();
}

TEST(WeightSyncerChain, ReplicaRestartBeforeADeltaMakesItABase) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.restart_replicas();
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kBase);
  EXPECT_EQ(w.deployment.replicas()[0].current_snapshot_identity, "step-2-0123abcd");
  w.expect_chain_sound();
}

TEST(WeightSyncerChain, UnreadableDeploymentStateBeforeADeltaMakesItABase) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.status_failures = 1;
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kBase);
  w.expect_chain_sound();
}

TEST(WeightSyncerChain, WithoutServedCheckADeltaFollowsTheChain) {
  World w;
  WeightSyncerOptions o = w.options();
  o.verify_served_before_delta = false;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  const std::size_t gets = w.deployment.count("GET", kHotload);
  syncer.save_only("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kDelta);
  EXPECT_EQ(w.deployment.count("GET", kHotload), gets);  // no status read before the delta
}

// ---- the six hazards of the reference (docs/SPEC.md section 3); each fails on its behaviour ----

// Hazard 1: the reference set base_saved after the failed first hotload and sent a delta
// without metadata next.
TEST(WeightSyncerHazard1, FailedFirstHotloadMakesTheNextSaveABaseNotAMetadataLessDelta) {
  World w;
  w.deployment.outcomes = {HotloadOutcome::error_stage};
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), HotloadFailed);
  syncer.save_and_hotload("step-2");
  ASSERT_EQ(w.trainer.saves.size(), 2u);
  EXPECT_EQ(w.trainer.saves[1].kind, kBase);
  ASSERT_EQ(w.deployment.hotloads().size(), 2u);
  EXPECT_FALSE(w.deployment.hotloads()[1].incremental_snapshot_metadata.has_value());
  EXPECT_EQ(syncer.chain().base_identity, "step-2-0123abcd");
  w.expect_chain_sound();
}

// Hazard 2: the reference diffed the next delta against the failed snapshot but named the older
// served one as its parent.
TEST(WeightSyncerHazard2, FailedDeltaHotloadMakesTheNextSaveABaseNeverAMismatchedDelta) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.outcomes = {HotloadOutcome::error_stage};
  EXPECT_THROW(syncer.save_and_hotload("step-2"), HotloadFailed);
  EXPECT_EQ(w.trainer.saves.at(1).kind, kDelta);
  syncer.save_and_hotload("step-3");
  EXPECT_EQ(w.trainer.saves.at(2).kind, kBase);
  EXPECT_FALSE(w.deployment.hotloads().at(2).incremental_snapshot_metadata.has_value());
  syncer.save_and_hotload("step-4");  // the chain resumes from the new base
  EXPECT_EQ(w.trainer.saves.at(3).kind, kDelta);
  w.expect_chain_sound();
}

// Hazard 3: the reference marked the check done before running it, so a failure was never
// retried.
TEST(WeightSyncerHazard3, FailedDeploymentCheckIsRetriedOnTheNextCall) {
  World w;
  w.deployment.hotload_manager_up = false;
  WeightSyncerOptions o = w.options();
  o.hotload_ready_timeout = seconds(10);
  o.hotload_ready_poll_interval = seconds(5);
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), Timeout);
  EXPECT_FALSE(syncer.deployment_checked());
  EXPECT_EQ(w.deployment.count("POST", kHotload), 0u);

  w.deployment.hotload_manager_up = true;
  const std::size_t before = w.deployment.requests().size();
  syncer.save_and_hotload("step-2");
  EXPECT_TRUE(syncer.deployment_checked());
  const int post = w.deployment.first("POST", kHotload);
  ASSERT_GT(post, static_cast<int>(before));
  bool checked_before_post = false;
  for (std::size_t i = before; i < static_cast<std::size_t>(post); ++i) {
    checked_before_post |=
        w.deployment.requests()[i].method == "GET" && w.deployment.requests()[i].path == kHotload;
  }
  EXPECT_TRUE(checked_before_post) << "the check did not run again before the hotload";
}

// Hazard 4: the reference only logged a failed warmup.
TEST(WeightSyncerHazard4, WarmupFailureIsReportedToTheCallerWhileTheChainAdvances) {
  World w;
  w.deployment.warmup_statuses = {503};
  WeightSyncerOptions o = w.options();
  o.warmup_max_retries = 2;
  WeightSyncer syncer(w.trainer, o, w.clock);
  EXPECT_THROW(syncer.save_and_hotload("step-1"), WarmupFailed);
  EXPECT_TRUE(syncer.last_sync().synced);
  EXPECT_FALSE(syncer.last_sync().warmup_ok);
  EXPECT_EQ(syncer.last_sync().warmup_attempts, 3);
  EXPECT_NE(syncer.last_sync().error.find("503"), std::string::npos) << syncer.last_sync().error;
  EXPECT_EQ(syncer.chain().base_identity, "step-1-0123abcd");
  w.deployment.warmup_statuses = {200};
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kDelta);  // the chain advanced past step-1
  w.expect_chain_sound();
}

TEST(WeightSyncerHazard4, HotloadReturnsFalseWhenWarmupFails) {
  World w;
  w.deployment.warmup_statuses = {503};
  WeightSyncerOptions o = w.options();
  o.warmup_max_retries = 1;
  WeightSyncer syncer(w.trainer, o, w.clock);
  const std::string s1 = *syncer.save_only("step-1");
  EXPECT_FALSE(syncer.hotload(s1, kBase));
  EXPECT_TRUE(syncer.last_sync().synced);
  EXPECT_FALSE(syncer.last_sync().warmup_ok);
  EXPECT_EQ(syncer.chain().base_identity, s1);
}

// Hazard 5: the reference only inspected replicas[0].
TEST(WeightSyncerHazard5, SecondReplicaNotReadyKeepsWaitingUntilTimeout) {
  World w(2);
  w.deployment.outcomes = {HotloadOutcome::second_replica_lag};
  WeightSyncerOptions o = w.options();
  o.hotload_timeout = seconds(20);
  WeightSyncer syncer(w.trainer, o, w.clock);
  try {
    syncer.save_and_hotload("step-1");
    FAIL() << "expected HotloadTimeout although replica 0 was done";
  } catch (const HotloadTimeout& e) {
    EXPECT_NE(std::string(e.what()).find("replica-1"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(syncer.last_sync().synced);
  EXPECT_EQ(syncer.chain().base_identity, "");
}

TEST(WeightSyncerHazard5, SecondReplicaErrorFailsTheHotload) {
  World w(2);
  w.deployment.outcomes = {HotloadOutcome::second_replica_error};
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  try {
    syncer.save_and_hotload("step-1");
    FAIL() << "expected HotloadFailed although replica 0 loaded";
  } catch (const HotloadTimeout& e) {
    FAIL() << "the error should fail at once, not after the timeout: " << e.what();
  } catch (const HotloadFailed& e) {
    EXPECT_NE(std::string(e.what()).find("replica-1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(syncer.last_sync().timings.hotload, Duration::zero());  // no waiting at all
  EXPECT_EQ(syncer.chain().base_identity, "");
  syncer.save_and_hotload("step-2");
  EXPECT_EQ(w.trainer.saves.at(1).kind, kBase);
}

// Hazard 6: the reference resubmitted the hotload POST on 5xx. The syncer itself never resends
// a rejected hotload; the next save is a full base.
TEST(WeightSyncerHazard6, SyncerDoesNotResubmitARejectedHotload) {
  World w;
  WeightSyncer syncer(w.trainer, w.options(), w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.outcomes = {HotloadOutcome::reject_503};
  try {
    syncer.save_and_hotload("step-2");
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_TRUE(e.retryable());
  }
  EXPECT_EQ(w.deployment.hotloads().size(), 2u);  // step-1 once, step-2 once
  syncer.save_and_hotload("step-3");
  EXPECT_EQ(w.trainer.saves.at(2).kind, kBase);
  w.expect_chain_sound();
}

// Hazard 6: when the retry layer does resubmit after a 503, it resends the identical request,
// so the server can treat it as the same load.
TEST(WeightSyncerHazard6, TransportRetryAfter503ResubmitsTheIdenticalHotload) {
  World w;
  RetryingTransport retrying(w.deployment, w.clock);
  DeploymentManager mgr(retrying, w.clock, manager_options());
  WeightSyncerOptions o = w.options();
  o.deploy_mgr = &mgr;
  WeightSyncer syncer(w.trainer, o, w.clock);
  syncer.save_and_hotload("step-1");
  w.deployment.outcomes = {HotloadOutcome::reject_503, HotloadOutcome::load};
  syncer.save_and_hotload("step-2");
  ASSERT_EQ(w.deployment.hotloads().size(), 3u);
  EXPECT_EQ(w.deployment.hotloads()[1], w.deployment.hotloads()[2]);
  EXPECT_EQ(w.deployment.hotloads()[2].incremental_snapshot_metadata->previous_snapshot_identity,
            "step-1-0123abcd");
  EXPECT_EQ(syncer.chain().base_identity, "step-2-0123abcd");
}

}  // namespace
}  // namespace weightsync
