// What the pieces of one run share about the snapshots the trainer saved: the policy version
// (training step) each identity holds and its simulated size. Internal to the simulator.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "weightsync/snapshot_chain.h"

namespace weightsync::sim {

struct SnapshotEntry {
  int version = 0;
  std::uint64_t simulated_bytes = 0;
  CheckpointKind kind = CheckpointKind::base;
};

class SnapshotBook {
 public:
  void add(const std::string& identity, SnapshotEntry entry) { entries_[identity] = entry; }
  const SnapshotEntry* find(const std::string& identity) const {
    auto it = entries_.find(identity);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // The policy version a replica serving `identity` generates with: the base model ("") is the
  // initial policy, version 0; an identity this run never saved keeps `fallback`.
  int version_of(const std::string& identity, int fallback) const {
    if (identity.empty()) return 0;
    const SnapshotEntry* entry = find(identity);
    return entry ? entry->version : fallback;
  }

 private:
  std::unordered_map<std::string, SnapshotEntry> entries_;
};

}  // namespace weightsync::sim
