// SimWorld: the fake world of one run on its virtual clock: the cloud with one trainer and one
// deployment, the library's transport and DeploymentManager over it, the trainer as the library
// sees it (timed saves), the load model (each load takes the simulated snapshot's time), the
// scenario's fault plan, and the sampler once generation starts.
// Internal to the simulator. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "deployment_observer.h"
#include "snapshot_book.h"
#include "timed_trainer.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/sim/virtual_clock.h"

namespace weightsync::sim {

inline constexpr const char* kAccount = "sim";
inline constexpr const char* kApiKey = "sim-api-key";
inline constexpr const char* kTrainerId = "trainer";
inline constexpr const char* kDeploymentId = "sim-deployment";

// Independent streams from one seed, so that e.g. turning faults on does not change the
// generation lengths.
enum class Stream : std::uint64_t { rollout = 1, step_time = 2, faults = 3, fake_world = 4 };
std::uint64_t stream_seed(std::uint64_t seed, Stream stream);

class SimWorld {
 public:
  explicit SimWorld(const Scenario& scenario);

  // The deployment comes up serving the base model, and the load model is installed.
  void bring_up();
  // Installs the scenario's fault plan, seeded from the scenario's fault stream (after the
  // initial sync: faults are for the measured part of the run).
  void start_faults();
  // Generation starts; loads that end serving a snapshot tell the sampler from then on.
  Sampler& start_sampler(SamplerOptions options);

  VirtualClock& clock() { return clock_; }
  SnapshotBook& book() { return book_; }
  DeploymentManager& manager() { return manager_; }
  Transport& transport() { return retrying_; }
  DeploymentObserver& observer() { return observer_; }
  TimedTrainingClient& trainer() { return *trainer_; }
  fake::FakeTrainingClient& fake_trainer() { return *fake_trainer_; }
  Sampler* sampler() { return sampler_.get(); }
  std::string base_model() const { return "accounts/sim/models/" + scenario_.name; }

  // The oldest policy version the replicas serve; nothing if a replica is still loading and
  // `only_if_settled`.
  std::optional<int> served_version(bool only_if_settled);
  // Why the replicas do not all serve `snapshot` with the trainer's checksum, or nothing.
  std::optional<std::string> served_mismatch(const std::string& snapshot);
  // How many faults of each kind the plan injected.
  std::map<std::string, std::int64_t> faults_injected();

 private:
  void plan_load(fake::LoadPlan& plan) const;
  void load_planned(const fake::LoadPlan& plan);

  const Scenario& scenario_;
  VirtualClock clock_;
  SnapshotBook book_;
  fake::FakeCloud cloud_;
  fake::InProcessTransport in_process_;
  DeploymentObserver observer_;
  RetryingTransport retrying_;
  DeploymentManager manager_;
  fake::FakeTrainingClient* fake_trainer_ = nullptr;
  std::unique_ptr<TimedTrainingClient> trainer_;
  std::unique_ptr<Sampler> sampler_;
};

}  // namespace weightsync::sim
