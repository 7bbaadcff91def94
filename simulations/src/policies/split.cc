// split: the split save / sync pattern (docs/SPEC.md section 4). Every `interval` steps the trainer
// saves after its step (save_only, then waits for the hotload manager); the hotload of that
// snapshot runs while the next step trains, so only a hotload longer than a training step delays
// the trainer. The price is one more version of staleness: the next batch was generated before the
// hotload. A hotload that does not happen leaves the saved snapshot unserved, and the library makes
// the next save a base. The last step's snapshot is saved, not loaded (no step follows it).
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

class SplitPolicy final : public SyncPolicy {
 public:
  using SyncPolicy::SyncPolicy;
  std::string_view name() const override { return "split"; }
  void after_step(int step, SyncSession& session) override {
    if (step % interval() != 0) return;
    std::optional<std::string> snapshot = session.save_only(step);
    if (snapshot && session.wait_for_hotload_ready()) pending_ = std::move(snapshot);
  }
  void during_step(int, SyncSession& session) override {
    if (!pending_) return;
    const std::string snapshot = std::move(*pending_);
    pending_.reset();
    session.hotload(snapshot);
  }

 private:
  std::optional<std::string> pending_;
};

}  // namespace

std::unique_ptr<SyncPolicy> make_split_policy(const PolicySettings& settings) {
  return std::make_unique<SplitPolicy>(settings);
}

}  // namespace weightsync::sim
