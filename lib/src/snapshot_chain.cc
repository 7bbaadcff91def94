// Checkpoint kinds, the next-kind rule, delta metadata and promotability.
#include "weightsync/snapshot_chain.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace weightsync {

CheckpointKind parse_checkpoint_kind(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "base") return CheckpointKind::base;
  if (lower == "delta") return CheckpointKind::delta;
  if (lower == "merged_base") return CheckpointKind::merged_base;
  throw InvalidArgument(
      "checkpoint type: expected 'base', 'delta' or 'merged_base' "
      "(case-insensitive), got '" +
      std::string(text) + "'");
}

std::string_view to_string(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::base:
      return "base";
    case CheckpointKind::delta:
      return "delta";
    case CheckpointKind::merged_base:
      return "merged_base";
  }
  return "unknown";
}

CheckpointKind next_checkpoint_kind(std::optional<CheckpointKind> explicit_kind, int lora_rank,
                                    const ChainState& chain, CheckpointKind first_kind,
                                    bool sync_enabled) {
  if (explicit_kind) return *explicit_kind;
  if (lora_rank > 0) return CheckpointKind::base;
  if (sync_enabled) {
    // A delta is only sound when the deployment serves exactly what the trainer diffs against
    // (reference hazards 1 and 2: a base that was saved but never served, or a failed delta).
    const bool served_is_parent =
        !chain.base_identity.empty() && chain.base_identity == chain.last_saved_identity;
    // A first delta (first_kind == delta) would have no served parent to name either.
    return served_is_parent ? CheckpointKind::delta : CheckpointKind::base;
  }
  return chain.base_saved ? CheckpointKind::delta : first_kind;
}

std::optional<IncrementalSnapshotMetadata> incremental_metadata(
    CheckpointKind kind, int lora_rank, std::string_view parent,
    std::string_view compression_format) {
  if (kind != CheckpointKind::delta || lora_rank > 0 || parent.empty()) return std::nullopt;
  return IncrementalSnapshotMetadata{std::string(parent), std::string(compression_format),
                                     std::string(kChecksumFormat)};
}

bool is_promotable(CheckpointKind kind, int lora_rank) {
  if (lora_rank > 0) return true;
  return kind == CheckpointKind::base || kind == CheckpointKind::merged_base;
}

}  // namespace weightsync
