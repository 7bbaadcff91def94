// The one list of sync policies: adding a policy is its file plus one X(...) line here.
#include <stdexcept>
#include <string>

#include "weightsync/sim/sync_policy.h"

// X(name, summary): each policy file defines make_<name>_policy(const PolicySettings&).
#define WEIGHTSYNC_SIM_POLICIES(X)                                                           \
  X(every_step, "synchronous: save and hotload after every step; generation drained")        \
  X(every_n, "synchronous: save and hotload every `interval` steps; generation drained")     \
  X(async, "asynchronous: generation overlaps training; bounded staleness, drop/downweight") \
  X(split, "synchronous, split: save_only -> wait for hotload manager -> hotload, every N")  \
  X(sampler_refresh, "synchronous, service client: save -> create_sampling_client, every N")

namespace weightsync::sim {

#define WEIGHTSYNC_SIM_DECLARE(name, summary) \
  std::unique_ptr<SyncPolicy> make_##name##_policy(const PolicySettings& settings);
WEIGHTSYNC_SIM_POLICIES(WEIGHTSYNC_SIM_DECLARE)
#undef WEIGHTSYNC_SIM_DECLARE

namespace {

#define WEIGHTSYNC_SIM_ENTRY(name, summary) PolicyEntry{#name, summary, &make_##name##_policy},
constexpr PolicyEntry kPolicies[] = {WEIGHTSYNC_SIM_POLICIES(WEIGHTSYNC_SIM_ENTRY)};
#undef WEIGHTSYNC_SIM_ENTRY

}  // namespace

std::span<const PolicyEntry> policy_registry() {
  return kPolicies;
}

const PolicyEntry* find_policy(std::string_view name) {
  for (const auto& entry : kPolicies) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::unique_ptr<SyncPolicy> make_policy(std::string_view name, const PolicySettings& settings) {
  if (const PolicyEntry* entry = find_policy(name)) return entry->make(settings);
  std::string known;
  for (const auto& entry : kPolicies)
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  throw std::invalid_argument("sync policy: expected one of " + known + ", got '" +
                              std::string(name) + "'");
}

}  // namespace weightsync::sim
