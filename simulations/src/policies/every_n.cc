// every_n: save and hotload every N steps; in between, batches come from the last synced
// weights, so a step's samples are (steps since the last sync) old: mean (N-1)/2.
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class EveryNPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "every_n"; }
  void after_step(int step, SyncSession& session) override {
    if (step % interval() == 0) session.save_and_hotload(step);
  }
};

}  // namespace

std::unique_ptr<SyncPolicy> make_every_n_policy(const PolicySettings& settings) {
  return std::make_unique<EveryNPolicy>(settings);
}

}  // namespace weightsync::sim
