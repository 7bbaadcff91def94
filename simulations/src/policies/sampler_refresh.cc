// sampler_refresh: the service-client pattern new code uses. Every N steps the loop asks the
// ServiceClient for a fresh sampler (save_weights_for_sampler, then create_sampling_client);
// the client keeps the chain, so timing and staleness match every_n with the same interval.
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class SamplerRefreshPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "sampler_refresh"; }
  void after_step(int step, SyncSession& session) override {
    if (step % interval() == 0) session.refresh_sampler(step);
  }
};

}  // namespace

std::unique_ptr<SyncPolicy> make_sampler_refresh_policy(const PolicySettings& settings) {
  return std::make_unique<SamplerRefreshPolicy>(settings);
}

}  // namespace weightsync::sim
