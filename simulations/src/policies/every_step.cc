// every_step: the on-policy baseline. Save and hotload after every step; the next batch is
// generated on the new weights, so every sample is used at staleness 0.
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class EveryStepPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "every_step"; }
  int interval() const override { return 1; }
  void after_step(int step, SyncSession& session) override { session.save_and_hotload(step); }
};

}  // namespace

std::unique_ptr<SyncPolicy> make_every_step_policy(const PolicySettings& settings) {
  return std::make_unique<EveryStepPolicy>(settings);
}

}  // namespace weightsync::sim
