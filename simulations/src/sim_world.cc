// Building the fake world of one run, its load model and its fault plan.
#include "sim_world.h"

#include <algorithm>

#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/fault_injector.h"
#include "weightsync/fake/random.h"

namespace weightsync::sim {
namespace {

fake::FakeCloudOptions cloud_options(const Scenario& s) {
  fake::FakeCloudOptions o;
  o.seed = stream_seed(s.seed, Stream::fake_world);
  o.replicas_per_deployment = s.deployment.replicas;
  // The load's duration is set per load from the simulated size (plan_load); the stage
  // boundaries only name what the replica reports while it waits.
  o.timing.load_pending = Duration::zero();
  o.timing.load_overhead = Duration::zero();
  o.timing.bandwidth_bytes_per_s = 0;
  return o;
}

DeploymentManagerOptions manager_options(const Scenario& s) {
  DeploymentManagerOptions o;
  o.api_key = kApiKey;
  o.account_id = kAccount;
  o.hotload_poll_interval = seconds(s.deployment.poll_interval_s);
  o.deployment_poll_interval = seconds(1);
  return o;
}

}  // namespace

std::uint64_t stream_seed(std::uint64_t seed, Stream stream) {
  std::uint64_t state = seed ^ (static_cast<std::uint64_t>(stream) * 0x9e3779b97f4a7c15ULL);
  return fake::splitmix64(state);
}

SimWorld::SimWorld(const Scenario& scenario)
    : scenario_(scenario),
      cloud_(clock_, cloud_options(scenario)),
      in_process_(cloud_),
      observer_(in_process_, clock_, seconds(scenario.deployment.warmup_s),
                [this] { return served_version(true); }),
      retrying_(observer_, clock_),
      manager_(retrying_, clock_, manager_options(scenario)) {
  cloud_.create_account(kAccount, kApiKey);
  fake::TrainerOptions trainer_options;
  trainer_options.params = static_cast<std::size_t>(scenario.model.proxy_params);
  trainer_options.changed_fraction = scenario.model.changed_fraction_per_step;
  trainer_options.seed = stream_seed(scenario.seed, Stream::fake_world);
  // Checks compare checksums, not bytes: only the next delta's parent must stay in memory.
  trainer_options.keep_snapshot_weights = 2;
  fake_trainer_ = &cloud_.create_trainer(kAccount, kTrainerId, trainer_options);
  trainer_ =
      std::make_unique<TimedTrainingClient>(*fake_trainer_, clock_, scenario_, book_, cloud_);
}

void SimWorld::bring_up() {
  DeploymentConfig config;
  config.base_model = base_model();
  config.min_replica_count = scenario_.deployment.replicas;
  config.max_replica_count = scenario_.deployment.replicas;
  config.hot_load_trainer_job = fake_trainer_->job_name();
  config.hot_load_transition_type = scenario_.deployment.transition;
  manager_.create_or_get_deployment(kDeploymentId, config);
  manager_.wait_for_deployment_ready(kDeploymentId, seconds(3600));
  fake::LoadModel model;
  model.plan = [this](fake::LoadPlan& plan) { plan_load(plan); };
  model.planned = [this](const fake::LoadPlan& plan) { load_planned(plan); };
  cloud_.set_load_model(std::move(model));
}

void SimWorld::start_faults() {
  if (scenario_.faults.faults.empty()) return;
  fake::FaultPlan plan = scenario_.faults;
  plan.seed = stream_seed(scenario_.seed, Stream::faults);
  cloud_.set_fault_plan(std::move(plan));
}

Sampler& SimWorld::start_sampler(SamplerOptions options) {
  sampler_ = std::make_unique<Sampler>(
      clock_, fake::Random(stream_seed(scenario_.seed, Stream::rollout)), options, 0);
  observer_.watch(sampler_.get());
  return *sampler_;
}

// The load model: a replica's load takes the simulated snapshot's time, whatever the size of
// the proxy bytes it really applies.
void SimWorld::plan_load(fake::LoadPlan& plan) const {
  if (const SnapshotEntry* entry = book_.find(plan.identity)) {
    plan.duration = scenario_.load_time(entry->simulated_bytes);
  }
}

// A load that will end serving its snapshot tells the sampler when it does, so that replica
// serves the new weights from then on while the others may still load. Failing, stuck or
// interrupted loads are left to the end of the library's call. A restart the fault plan decided
// happens at its own time: the world advances the fake to it then, as a real replica would go
// down then, not when someone next asks.
void SimWorld::load_planned(const fake::LoadPlan& plan) {
  if (plan.restart_after) {
    clock_.schedule_after(*plan.restart_after, [this] {
      cloud_.with_model([](fake::CloudModel& model) { model.advance_faults(); });
    });
    return;
  }
  if (plan.fail_with || plan.stuck || plan.corrupt_parent) return;
  const SnapshotEntry* entry = book_.find(plan.identity);
  if (!entry) return;
  const int replica = plan.replica;
  const int version = entry->version;
  clock_.schedule_after(plan.duration, [this, replica, version] {
    if (sampler_) sampler_->replica_loaded(replica, version);
  });
}

// Read straight from the model: the status poll that asks has just advanced it.
std::optional<int> SimWorld::served_version(bool only_if_settled) {
  const int current = sampler_ ? sampler_->served_version() : 0;
  return cloud_.with_model([&](fake::CloudModel& model) -> std::optional<int> {
    auto it = model.deployments().find(deployment_name(kAccount, kDeploymentId));
    if (it == model.deployments().end() || it->second->replicas().empty()) return std::nullopt;
    std::optional<int> oldest;
    for (const fake::Replica& replica : it->second->replicas()) {
      if (only_if_settled && replica.loading()) return std::nullopt;
      const int v = book_.version_of(replica.served_identity(), current);
      oldest = oldest ? std::min(*oldest, v) : v;
    }
    return oldest;
  });
}

std::optional<std::string> SimWorld::served_mismatch(const std::string& snapshot) {
  const fake::SnapshotRecord* record = fake_trainer_->find_snapshot(snapshot);
  for (const auto& replica : cloud_.replicas(kAccount, kDeploymentId)) {
    if (record && replica.served_identity == snapshot &&
        replica.served_checksum == record->checksum) {
      continue;
    }
    return "replica " + replica.name + " serves '" + replica.served_identity + "' (checksum " +
           std::to_string(replica.served_checksum) + ") after a successful sync of '" + snapshot +
           "'";
  }
  return std::nullopt;
}

std::map<std::string, std::int64_t> SimWorld::faults_injected() {
  return cloud_.with_model([](fake::CloudModel& model) {
    std::map<std::string, std::int64_t> counts;
    if (const fake::FaultInjector* injector = model.fault_injector()) {
      for (const auto& [kind, n] : injector->fired()) {
        counts[kind] = static_cast<std::int64_t>(n);
      }
    }
    return counts;
  });
}

}  // namespace weightsync::sim
