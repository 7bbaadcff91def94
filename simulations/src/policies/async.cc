// async: generation never stops; the trainer syncs every `interval` steps while requests in
// flight pause (ASYNC transition) or drain (SYNC). Samples older than the bound are dropped or
// down-weighted, and the sampler runs at most bound + 1 batches ahead of the trainer.
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class AsyncPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "async"; }
  bool overlaps_generation() const override { return true; }
  std::optional<int> staleness_bound() const override { return settings().staleness_bound; }
  void after_step(int step, SyncSession& session) override {
    if (step % interval() == 0) session.save_and_hotload(step);
  }
};

}  // namespace

std::unique_ptr<SyncPolicy> make_async_policy(const PolicySettings& settings) {
  return std::make_unique<AsyncPolicy>(settings);
}

}  // namespace weightsync::sim
