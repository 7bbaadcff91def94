// split: the resume ordering of docs/SPEC.md section 4 — save_only, then wait for the hotload
// manager, then hotload the saved snapshot — every `interval` steps. A hotload that does not
// happen leaves the saved snapshot unserved, and the library makes the next save a base.
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class SplitPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "split"; }
  void after_step(int step, SyncSession& session) override {
    if (step % interval() != 0) return;
    const std::optional<std::string> snapshot = session.save_only(step);
    if (!snapshot || !session.wait_for_hotload_ready()) return;
    session.hotload(*snapshot);
  }
};

}  // namespace

std::unique_ptr<SyncPolicy> make_split_policy(const PolicySettings& settings) {
  return std::make_unique<SplitPolicy>(settings);
}

}  // namespace weightsync::sim
