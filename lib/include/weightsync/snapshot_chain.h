// The base/delta chain as pure functions: checkpoint kinds, which kind the next save takes,
// the incremental metadata a delta hotload carries, and promotability (docs/SPEC.md section 3).
// No I/O, no state of its own; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "weightsync/wire.h"

namespace weightsync {

enum class CheckpointKind { base, delta, merged_base };

// Case-insensitive: "base", "DELTA", "Merged_Base". Anything else throws InvalidArgument naming
// the accepted values and the value seen.
CheckpointKind parse_checkpoint_kind(std::string_view text);
std::string_view to_string(CheckpointKind kind);

// What the syncer knows about the chain.
struct ChainState {
  // A base exists in this chain (set by a successful save of any kind).
  bool base_saved = false;
  // The snapshot the deployment is known to serve: set only by a verified hotload. It is the
  // previous_snapshot_identity of the next delta.
  std::string base_identity;
  // The last sampler snapshot this trainer session saved: what a new delta is computed against.
  std::string last_saved_identity;
  bool operator==(const ChainState&) const = default;
};

// The kind of the next save (docs/SPEC.md section 3, "Which kind the next save takes"):
// 1. an explicit kind wins;  2. lora_rank > 0 -> base;
// 3. when syncing: delta only if the deployment is known to serve exactly the snapshot the
//    trainer would diff against (base_identity == last_saved_identity, both set), else base —
//    even when first_kind is delta, since a first delta has no served parent to name;
// 4. without sync: delta once a base was saved, otherwise first_kind.
CheckpointKind next_checkpoint_kind(std::optional<CheckpointKind> explicit_kind, int lora_rank,
                                    const ChainState& chain, CheckpointKind first_kind,
                                    bool sync_enabled);

// The metadata a hotload of `kind` carries, or nothing: only a full-parameter delta carries it,
// naming `parent` (the snapshot the delta was computed from, which must be the one served).
std::optional<IncrementalSnapshotMetadata> incremental_metadata(
    CheckpointKind kind, int lora_rank, std::string_view parent,
    std::string_view compression_format);

// Can a sampler checkpoint of this kind be promoted to a standalone model?
// LoRA: always (an adapter save is full). Full-parameter: only base and merged_base.
bool is_promotable(CheckpointKind kind, int lora_rank);

}  // namespace weightsync
