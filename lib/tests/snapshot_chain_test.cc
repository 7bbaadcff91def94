// Unit tests of the chain's pure rules: kind parsing, next kind, delta metadata, promotability.
#include "weightsync/snapshot_chain.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "weightsync/errors.h"

namespace weightsync {
namespace {

constexpr CheckpointKind kBase = CheckpointKind::base;
constexpr CheckpointKind kDelta = CheckpointKind::delta;
constexpr CheckpointKind kMerged = CheckpointKind::merged_base;

ChainState chain(bool base_saved, std::string base_identity, std::string last_saved) {
  return ChainState{base_saved, std::move(base_identity), std::move(last_saved)};
}

TEST(ParseCheckpointKind, AcceptsEveryKindInAnyCase) {
  EXPECT_EQ(parse_checkpoint_kind("base"), kBase);
  EXPECT_EQ(parse_checkpoint_kind("BASE"), kBase);
  EXPECT_EQ(parse_checkpoint_kind("delta"), kDelta);
  EXPECT_EQ(parse_checkpoint_kind("DeLtA"), kDelta);
  EXPECT_EQ(parse_checkpoint_kind("merged_base"), kMerged);
  EXPECT_EQ(parse_checkpoint_kind("Merged_Base"), kMerged);
}

TEST(ParseCheckpointKind, RejectsUnknownNamingAcceptedValuesAndTheValueSeen) {
  for (const char* bad : {"full", "", "base ", "merged-base", "lora"}) {
    try {
      parse_checkpoint_kind(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("base"), std::string::npos) << message;
      EXPECT_NE(message.find("delta"), std::string::npos) << message;
      EXPECT_NE(message.find("merged_base"), std::string::npos) << message;
      EXPECT_NE(message.find("'" + std::string(bad) + "'"), std::string::npos) << message;
    }
  }
}

TEST(CheckpointKindToString, NamesAreTheWireSpellings) {
  EXPECT_EQ(to_string(kBase), "base");
  EXPECT_EQ(to_string(kDelta), "delta");
  EXPECT_EQ(to_string(kMerged), "merged_base");
  for (CheckpointKind kind : {kBase, kDelta, kMerged}) {
    EXPECT_EQ(parse_checkpoint_kind(to_string(kind)), kind);
  }
}

// ---- next_checkpoint_kind: one test per branch ----

TEST(NextCheckpointKind, ExplicitKindWinsOverEveryOtherRule) {
  const ChainState synced = chain(true, "s1", "s1");
  EXPECT_EQ(next_checkpoint_kind(kBase, 0, synced, kDelta, true), kBase);
  EXPECT_EQ(next_checkpoint_kind(kDelta, 0, chain(false, "", ""), kBase, true), kDelta);
  EXPECT_EQ(next_checkpoint_kind(kDelta, 8, synced, kBase, false), kDelta);
  EXPECT_EQ(next_checkpoint_kind(kMerged, 8, synced, kBase, true), kMerged);
}

TEST(NextCheckpointKind, LoraIsAlwaysBase) {
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 16, chain(true, "s1", "s1"), kBase, true), kBase);
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 16, chain(true, "", "s1"), kBase, false), kBase);
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 1, chain(false, "", ""), kDelta, true), kBase);
}

TEST(NextCheckpointKind, SyncingGivesDeltaWhenServedEqualsLastSaved) {
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "s1", "s1"), kBase, true), kDelta);
}

TEST(NextCheckpointKind, SyncingGivesBaseWhenNothingIsKnownToBeServed) {
  // Hazard 1: a base was saved but its hotload failed, so nothing is served.
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "", "s1"), kBase, true), kBase);
}

TEST(NextCheckpointKind, SyncingGivesBaseWhenServedDiffersFromLastSaved) {
  // Hazard 2: the delta s2 was saved but its hotload failed; the deployment serves s1.
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "s1", "s2"), kBase, true), kBase);
}

TEST(NextCheckpointKind, SyncingGivesBaseWhenNothingWasSavedInThisSession) {
  // The deployment serves s1 but this trainer session has no snapshot to diff against.
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "s1", ""), kBase, true), kBase);
}

TEST(NextCheckpointKind, WithoutSyncDeltaOnceABaseWasSaved) {
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "", "s1"), kBase, false), kDelta);
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(true, "", ""), kBase, false), kDelta);
}

TEST(NextCheckpointKind, FreshChainTakesTheFirstKind) {
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(false, "", ""), kBase, false), kBase);
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(false, "", ""), kDelta, false), kDelta);
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(false, "", ""), kBase, true), kBase);
}

TEST(NextCheckpointKind, SyncingFreshChainIsBaseEvenWhenFirstKindIsDelta) {
  // A first delta would name no parent the deployment serves.
  EXPECT_EQ(next_checkpoint_kind(std::nullopt, 0, chain(false, "", ""), kDelta, true), kBase);
}

// ---- incremental_metadata ----

TEST(IncrementalMetadata, FullParameterDeltaNamesParentCompressionAndAlder32) {
  const auto metadata = incremental_metadata(kDelta, 0, "step-1-0123abcd", "arc_v2");
  ASSERT_TRUE(metadata.has_value());
  EXPECT_EQ(metadata->previous_snapshot_identity, "step-1-0123abcd");
  EXPECT_EQ(metadata->compression_format, "arc_v2");
  EXPECT_EQ(metadata->checksum_format, "alder32");
}

TEST(IncrementalMetadata, BaseAndMergedBaseCarryNone) {
  EXPECT_FALSE(incremental_metadata(kBase, 0, "p", "arc_v2").has_value());
  EXPECT_FALSE(incremental_metadata(kMerged, 0, "p", "arc_v2").has_value());
}

TEST(IncrementalMetadata, DeltaWithoutAParentCarriesNone) {
  EXPECT_FALSE(incremental_metadata(kDelta, 0, "", "arc_v2").has_value());
}

TEST(IncrementalMetadata, LoraNeverCarriesMetadataEvenForADelta) {
  EXPECT_FALSE(incremental_metadata(kDelta, 8, "p", "arc_v2").has_value());
  EXPECT_FALSE(incremental_metadata(kBase, 8, "p", "arc_v2").has_value());
}

// ---- promotability matrix ----

TEST(IsPromotable, FullParameterOnlyBaseAndMergedBase) {
  EXPECT_TRUE(is_promotable(kBase, 0));
  EXPECT_TRUE(is_promotable(kMerged, 0));
  EXPECT_FALSE(is_promotable(kDelta, 0));
}

TEST(IsPromotable, LoraAlways) {
  EXPECT_TRUE(is_promotable(kBase, 4));
  EXPECT_TRUE(is_promotable(kMerged, 4));
  EXPECT_TRUE(is_promotable(kDelta, 4));
}

}  // namespace
}  // namespace weightsync
