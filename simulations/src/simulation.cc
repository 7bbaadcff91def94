// One run: build the fake world on a virtual clock, put the production library in the loop,
// and play the RL loop step by step under a sync policy.
#include "weightsync/sim/simulation.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "deployment_observer.h"
#include "fault_dice.h"
#include "snapshot_book.h"
#include "timed_trainer.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/internal/server_wire.h"
#include "weightsync/log.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/service_client.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/sync_policy.h"
#include "weightsync/sim/virtual_clock.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::sim {
namespace {

constexpr const char* kAccount = "sim";
constexpr const char* kApiKey = "sim-api-key";
constexpr const char* kTrainerId = "trainer";
constexpr const char* kDeploymentId = "sim-deployment";
constexpr int kMaxResyncAttempts = 1000;
// A failed save is retried at once, as a training loop would (the library leaves the chain
// unchanged after a failed save); the attempt fails only when every try did.
constexpr int kSaveAttempts = 3;

// Independent streams from one seed, so that e.g. turning faults on does not change the
// generation lengths.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t state = seed ^ (stream * 0x9e3779b97f4a7c15ULL);
  return fake::splitmix64(state);
}
enum Stream : std::uint64_t { kRollout = 1, kStepTime = 2, kFaults = 3, kFakeWorld = 4 };

PolicySettings policy_settings(const PolicySpec& spec) {
  PolicySettings s;
  s.interval = spec.interval;
  s.staleness_bound = spec.staleness_bound;
  s.stale_samples =
      spec.stale_samples == "downweight" ? StaleSamples::downweight : StaleSamples::drop;
  s.downweight_factor = spec.downweight_factor;
  return s;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::string with_seed(const Scenario& s, const std::string& message) {
  return "scenario '" + s.name + "' seed " + std::to_string(s.seed) + ": " + message;
}

// The simulated world and the RL loop over it.
class Run final : public SyncSession {
 public:
  explicit Run(const Scenario& scenario)
      : scenario_(scenario),
        faults_(stream_seed(scenario.seed, kFaults)),
        step_random_(stream_seed(scenario.seed, kStepTime)),
        cloud_(clock_, cloud_options(scenario)),
        in_process_(cloud_),
        observer_(in_process_, clock_, seconds(scenario.deployment.warmup_s),
                  [this] { return settled(); }),
        retrying_(observer_, clock_),
        manager_(retrying_, clock_, manager_options(scenario)),
        policy_(make_policy(scenario.policy.name, policy_settings(scenario.policy))) {
    cloud_.create_account(kAccount, kApiKey);
    fake::TrainerOptions trainer_options;
    trainer_options.params = static_cast<std::size_t>(scenario.model.proxy_params);
    trainer_options.changed_fraction = scenario.model.changed_fraction_per_step;
    trainer_options.seed = stream_seed(scenario.seed, kFakeWorld);
    // Checks compare checksums, not bytes: only the next delta's parent must stay in memory.
    trainer_options.keep_snapshot_weights = 2;
    fake_trainer_ = &cloud_.create_trainer(kAccount, kTrainerId, trainer_options);
    trainer_ =
        std::make_unique<TimedTrainingClient>(*fake_trainer_, clock_, scenario_, book_, faults_);

    WeightSyncerOptions options;
    options.deploy_mgr = &manager_;
    options.deployment_id = kDeploymentId;
    options.base_model = base_model();
    options.hotload_timeout = scenario.deployment.hotload_timeout_s;
    options.reset_prompt_cache = scenario.deployment.reset_prompt_cache;
    syncer_ = std::make_unique<WeightSyncer>(*trainer_, options, clock_);
  }

  RunResult run();

  bool save_and_hotload(int step) override;
  bool save_and_hotload_named(const std::string& name);
  std::optional<std::string> save_only(int step) override;
  bool wait_for_hotload_ready() override;
  bool hotload(const std::string& snapshot) override;
  bool refresh_sampler(int step) override;

 private:
  static fake::FakeCloudOptions cloud_options(const Scenario& s) {
    fake::FakeCloudOptions o;
    o.seed = stream_seed(s.seed, kFakeWorld);
    o.replicas_per_deployment = s.deployment.replicas;
    // The load's duration is set per load from the simulated size (plan_load); the stage
    // boundaries only name what the replica reports while it waits.
    o.timing.load_pending = Duration::zero();
    o.timing.load_overhead = Duration::zero();
    o.timing.bandwidth_bytes_per_s = 0;
    return o;
  }
  static DeploymentManagerOptions manager_options(const Scenario& s) {
    DeploymentManagerOptions o;
    o.api_key = kApiKey;
    o.account_id = kAccount;
    o.hotload_poll_interval = seconds(s.deployment.poll_interval_s);
    o.deployment_poll_interval = seconds(1);
    return o;
  }
  std::string base_model() const { return "accounts/sim/models/" + scenario_.name; }
  void plan_load(fake::LoadPlan& plan) const;
  void announce_replica_loaded(const fake::LoadPlan& plan);
  std::optional<int> served_version(bool only_if_settled);
  std::optional<int> settled() { return served_version(true); }
  fake::FaultHooks load_model_hooks();
  fake::FaultHooks run_hooks();
  void setup();
  double take_batch(int step);
  void record_sync_call(Duration start, bool attempt_ends);
  void verify_served(const std::string& snapshot);
  // The record of the last sync call: the service client's once it refreshed, else the syncer's.
  const SyncRecord& last_record() const {
    return service_ ? service_->last_sync() : syncer_->last_sync();
  }

  const Scenario& scenario_;
  VirtualClock clock_;
  SnapshotBook book_;
  FaultDice faults_;
  fake::Random step_random_;
  fake::FakeCloud cloud_;
  fake::InProcessTransport in_process_;
  DeploymentObserver observer_;
  RetryingTransport retrying_;
  DeploymentManager manager_;
  std::unique_ptr<SyncPolicy> policy_;
  fake::FakeTrainingClient* fake_trainer_ = nullptr;
  std::unique_ptr<TimedTrainingClient> trainer_;
  std::unique_ptr<WeightSyncer> syncer_;
  std::unique_ptr<ServiceClient> service_;  // sampler_refresh only, made on its first use
  std::unique_ptr<Sampler> sampler_;

  RunResult result_;
  StalenessRecorder staleness_;
  double weight_sum_ = 0;
  bool failing_ = false;      // the last sync attempt failed
  Duration failing_since_{};  // start of the first failed attempt of the current run
  Duration attempt_start_{};  // start of the attempt a split save_only opened
  double recover_total_s_ = 0;
  Duration resync_time_{};  // catch-up syncs made while waiting for samples
};

// The load model: a replica's load takes the simulated snapshot's time, whatever the size of
// the proxy bytes it really applies.
void Run::plan_load(fake::LoadPlan& plan) const {
  if (const SnapshotEntry* entry = book_.find(plan.identity)) {
    plan.duration = scenario_.load_time(entry->simulated_bytes);
  }
}

fake::FaultHooks Run::load_model_hooks() {
  fake::FaultHooks hooks;
  hooks.on_load_start = [this](fake::LoadPlan& plan) {
    plan_load(plan);
    announce_replica_loaded(plan);
  };
  return hooks;
}

// A load that will end serving its snapshot tells the sampler when it does, so that replica
// serves the new weights from then on while the others may still load. Failing, stuck or
// interrupted loads are left to the end of the library's call.
void Run::announce_replica_loaded(const fake::LoadPlan& plan) {
  if (plan.fail_with || plan.stuck || plan.corrupt_parent) return;
  const SnapshotEntry* entry = book_.find(plan.identity);
  if (!entry) return;
  const int replica = plan.replica;
  const int version = entry->version;
  clock_.schedule_after(plan.duration, [this, replica, version] {
    if (sampler_) sampler_->replica_loaded(replica, version);
  });
}

fake::FaultHooks Run::run_hooks() {
  fake::FaultHooks hooks;
  const FaultSpec& f = scenario_.faults;
  hooks.on_load_start = [this, &f](fake::LoadPlan& plan) {
    plan_load(plan);
    if (faults_.roll("slow_download", f.slow_download)) {
      plan.duration = Duration(static_cast<std::int64_t>(
          std::llround(static_cast<double>(plan.duration.count()) * f.slow_download_factor)));
    }
    if (faults_.roll("load_error", f.load_error)) {
      plan.fail_with = "injected fault: load of " + plan.identity + " failed";
    } else if (faults_.roll("load_stuck", f.load_stuck)) {
      plan.stuck = true;
    } else if (faults_.roll("replica_restart", f.replica_restart)) {
      const int replica = plan.replica;
      clock_.schedule_after(plan.duration / 2, [this, replica] {
        cloud_.restart_replica(kAccount, kDeploymentId, replica);
      });
      return;
    }
    announce_replica_loaded(plan);
  };
  if (f.hotload_rejected > 0) {
    hooks.on_hotload = [this, &f](const std::string&,
                                  const HotloadRequest&) -> std::optional<HttpResponse> {
      if (!faults_.roll("hotload_rejected", f.hotload_rejected)) return std::nullopt;
      return HttpResponse{
          f.hotload_reject_status,
          {{"Content-Type", "application/json"}},
          encode_error(f.hotload_reject_status, "injected fault: hotload rejected")};
    };
  }
  if (f.warmup_unavailable > 0) {
    hooks.on_completion = [this, &f](const std::string&) -> std::optional<int> {
      if (faults_.roll("warmup_unavailable", f.warmup_unavailable)) return 503;
      return std::nullopt;
    };
  }
  return hooks;
}

// The deployment comes up and serves the trainer's initial weights (policy version 0), outside
// the measured part of the run.
void Run::setup() {
  DeploymentConfig config;
  config.base_model = base_model();
  config.min_replica_count = scenario_.deployment.replicas;
  config.max_replica_count = scenario_.deployment.replicas;
  config.hot_load_trainer_job = fake_trainer_->job_name();
  config.hot_load_transition_type = scenario_.deployment.transition;
  manager_.create_or_get_deployment(kDeploymentId, config);
  manager_.wait_for_deployment_ready(kDeploymentId, seconds(3600));
  // The initial sync must not fail: faults (the cloud's and the trainer's) are for the measured
  // part.
  cloud_.set_fault_hooks(load_model_hooks());
  trainer_->set_version(0);
  trainer_->set_faults_enabled(false);
  syncer_->save_and_hotload("step-0", "base");
  trainer_->set_faults_enabled(true);
  cloud_.set_fault_hooks(run_hooks());
  trainer_->reset_counters();
}

// The oldest policy version the replicas serve; nothing if a replica is still loading and
// `only_if_settled`. Read straight from the model: the status poll that asks has just advanced it.
std::optional<int> Run::served_version(bool only_if_settled) {
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

void Run::verify_served(const std::string& snapshot) {
  const fake::SnapshotRecord* record = fake_trainer_->find_snapshot(snapshot);
  for (const auto& replica : cloud_.replicas(kAccount, kDeploymentId)) {
    if (record && replica.served_identity == snapshot &&
        replica.served_checksum == record->checksum) {
      continue;
    }
    ++result_.verification_failures;
    log(LogLevel::error,
        with_seed(scenario_, "replica " + replica.name + " serves '" + replica.served_identity +
                                 "' (checksum " + std::to_string(replica.served_checksum) +
                                 ") after a successful sync of '" + snapshot + "'"));
    return;
  }
  ++result_.verified_syncs;
}

// Books one syncer call: its timings, and when it ends an attempt, success or failure.
void Run::record_sync_call(Duration start, bool attempt_ends) {
  const SyncRecord& last = last_record();
  result_.save_seconds += last.timings.save_s;
  result_.hotload_seconds += last.timings.hotload_s;
  result_.warmup_seconds += last.timings.warmup_s;
  // The call is over: whatever the replicas still do (a stuck load), generation goes on with
  // what they serve.
  if (sampler_ && sampler_->loading()) {
    sampler_->load_finished(served_version(false).value_or(sampler_->served_version()));
  }
  if (!attempt_ends && last.saved && last.error.empty()) return;
  if (last.synced) {
    ++result_.syncs;
    const bool warmup = service_ ? service_->config().warmup_after_hotload
                                 : syncer_->options().warmup_after_hotload;
    if (warmup && !last.warmup_ok) ++result_.warmup_failures;
    verify_served(last.snapshot_name);
    if (failing_) {
      ++result_.recoveries;
      const double took = to_seconds(clock_.now() - failing_since_);
      recover_total_s_ += took;
      result_.time_to_recover_max_s = std::max(result_.time_to_recover_max_s, took);
      failing_ = false;
    }
    return;
  }
  ++result_.failed_syncs;
  result_.failed_sync_seconds += to_seconds(clock_.now() - start);
  if (!failing_) {
    failing_ = true;
    failing_since_ = start;
  }
}

bool Run::save_and_hotload(int step) {
  return save_and_hotload_named("step-" + std::to_string(step));
}

bool Run::save_and_hotload_named(const std::string& name) {
  const Duration start = clock_.now();
  for (int attempt = 1;; ++attempt) {
    try {
      syncer_->save_and_hotload(name);
    } catch (const Error&) {
      // SaveFailed, HotloadFailed, Timeout, ApiError, TransportError, WarmupFailed: the record
      // says which, and the library has already reset the chain where it had to.
    }
    if (syncer_->last_sync().saved || attempt == kSaveAttempts) break;
    result_.save_seconds += syncer_->last_sync().timings.save_s;
    ++result_.save_retries;
  }
  record_sync_call(start, true);
  return syncer_->last_sync().synced;
}

std::optional<std::string> Run::save_only(int step) {
  attempt_start_ = clock_.now();
  std::optional<std::string> name;
  for (int attempt = 1; attempt <= kSaveAttempts; ++attempt) {
    name = syncer_->save_only("step-" + std::to_string(step));
    if (name || attempt == kSaveAttempts) break;
    result_.save_seconds += syncer_->last_sync().timings.save_s;
    ++result_.save_retries;
  }
  record_sync_call(attempt_start_, !name.has_value());
  return name;
}

bool Run::wait_for_hotload_ready() {
  try {
    syncer_->wait_for_hotload_ready(scenario_.deployment.hotload_timeout_s,
                                    scenario_.deployment.poll_interval_s);
    return true;
  } catch (const Error&) {
    ++result_.failed_syncs;
    result_.failed_sync_seconds += to_seconds(clock_.now() - attempt_start_);
    if (!failing_) {
      failing_ = true;
      failing_since_ = attempt_start_;
    }
    return false;
  }
}

bool Run::hotload(const std::string& snapshot) {
  const SnapshotEntry* entry = book_.find(snapshot);
  const std::string kind(to_string(entry ? entry->kind : CheckpointKind::base));
  syncer_->hotload(snapshot, kind);
  record_sync_call(attempt_start_, true);
  return syncer_->last_sync().synced;
}

bool Run::refresh_sampler(int step) {
  const Duration start = clock_.now();
  if (!service_) {
    ServiceClientConfig c;
    c.base_model = base_model();
    c.trainer_job_id = kTrainerId;
    c.deployment_id = kDeploymentId;
    c.hotload_timeout = seconds(scenario_.deployment.hotload_timeout_s);
    c.reset_prompt_cache = scenario_.deployment.reset_prompt_cache;
    c.poll_interval = seconds(scenario_.deployment.poll_interval_s);
    c.deployment_timeout = seconds(300);
    service_ = std::make_unique<ServiceClient>(
        manager_, retrying_, kApiKey,
        [this](const std::string&) -> TrainingClient& { return *trainer_; }, std::move(c));
  }
  try {
    const SamplerSave saved = service_->save_weights_for_sampler("step-" + std::to_string(step));
    service_->create_sampling_client(saved.path);
  } catch (const Error&) {
    // As save_and_hotload: the record says what failed; the chain is already reset.
  }
  record_sync_call(start, true);
  return service_->last_sync().synced;
}

// Waits until `batch_size` usable samples are there and uses them: FIFO, staleness measured
// against the trainer's version before this step, stale ones dropped or down-weighted. Returns
// the batch's tokens (prompts and generations).
double Run::take_batch(int step) {
  const int batch = scenario_.trainer.batch_size;
  const std::optional<int> bound = policy_->staleness_bound();
  const bool drop = policy_->settings().stale_samples == StaleSamples::drop;
  if (policy_->overlaps_generation()) {
    // At most bound + 1 batches ahead of the trainer, plus replacements for dropped samples.
    sampler_->admit_up_to(static_cast<std::int64_t>(step + bound.value_or(0)) * batch +
                          result_.samples_dropped);
  } else {
    sampler_->admit_up_to(sampler_->admitted() + batch);
  }
  int used = 0;
  int resync_attempts = 0;
  double tokens = 0;
  while (used < batch) {
    auto& ready = sampler_->finished();
    // Replicas further behind than the bound can only produce samples that will be dropped: the
    // trainer syncs its current weights before waiting any longer (an asynchronous loop's
    // catch-up after failed syncs).
    if (ready.empty() && bound && drop && !sampler_->loading() &&
        (step - 1) - sampler_->served_version() > *bound) {
      if (++resync_attempts > kMaxResyncAttempts) {
        throw std::runtime_error(with_seed(
            scenario_, "the deployment stayed more than " + std::to_string(*bound) +
                           " versions behind at step " + std::to_string(step) + " after " +
                           std::to_string(kMaxResyncAttempts) + " catch-up syncs"));
      }
      const Duration start = clock_.now();
      ++result_.resyncs;
      save_and_hotload_named("step-" + std::to_string(step - 1) + "-resync-" +
                             std::to_string(result_.resyncs));
      resync_time_ += clock_.now() - start;
      continue;
    }
    if (ready.empty()) {
      if (!clock_.run_next()) {
        throw std::runtime_error(with_seed(
            scenario_, "the simulated world stalled at step " + std::to_string(step) +
                           ": the trainer waits for samples and no event is pending (" +
                           std::to_string(sampler_->in_flight()) + " requests in flight)"));
      }
      continue;
    }
    const Sample sample = ready.front();
    ready.pop_front();
    const int staleness = (step - 1) - sample.version_start;
    double weight = 1;
    if (bound && staleness > *bound) {
      if (drop) {
        ++result_.samples_dropped;
        sampler_->admit_up_to(sampler_->admitted() + 1);
        continue;
      }
      ++result_.samples_downweighted;
      weight = std::pow(policy_->settings().downweight_factor, staleness - *bound);
    }
    staleness_.add(staleness);
    weight_sum_ += weight;
    tokens += static_cast<double>(sample.tokens + sample.prompt_tokens);
    if (sample.mixed()) ++result_.samples_mixed;
    ++used;
  }
  result_.samples_used += used;
  result_.tokens_used += tokens;
  return tokens;
}

RunResult Run::run() {
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  setup();
  SamplerOptions sampler_options;
  sampler_options.generation_tokens = scenario_.rollout.generation_tokens;
  sampler_options.concurrency = scenario_.rollout.concurrency;
  sampler_options.prompt_tokens = scenario_.rollout.prompt_tokens;
  sampler_options.replicas = scenario_.deployment.replicas;
  sampler_options.decode = make_decode_model(scenario_);
  sampler_options.pause_during_load = scenario_.deployment.transition == "ASYNC";
  sampler_ = std::make_unique<Sampler>(clock_, fake::Random(stream_seed(scenario_.seed, kRollout)),
                                       sampler_options, 0);
  observer_.watch(sampler_.get());
  const std::int64_t requests_at_start = observer_.requests();
  const Duration start = clock_.now();
  Duration train{}, sync{}, wait{};

  for (int step = 1; step <= scenario_.steps; ++step) {
    const Duration wait_start = clock_.now();
    const Duration resync_before = resync_time_;
    const double batch_tokens = take_batch(step);
    // Catch-up syncs block the trainer as syncs, not as waiting for samples.
    wait += clock_.now() - wait_start - (resync_time_ - resync_before);
    sync += resync_time_ - resync_before;

    const Duration step_time =
        scenario_.hardware.trainer_gpus > 0
            ? seconds(training_step_seconds(scenario_, batch_tokens))
            : seconds(scenario_.trainer.step_time_s.sample(step_random_));
    // A sync overlapping the step (split's hotload) delays the trainer only beyond the step.
    const Duration overlap_start = clock_.now();
    policy_->during_step(step, *this);
    const Duration overlapped = clock_.now() - overlap_start;
    if (overlapped < step_time) clock_.sleep_for(step_time - overlapped);
    if (overlapped > step_time) sync += overlapped - step_time;
    train += step_time;
    fake_trainer_->step();
    trainer_->set_version(step);

    const Duration sync_start = clock_.now();
    policy_->after_step(step, *this);
    sync += clock_.now() - sync_start;
  }

  const Duration total = clock_.now() - start;
  const double total_s = to_seconds(total);
  RunResult& r = result_;
  r.scenario = scenario_;
  r.policy = std::string(policy_->name());
  r.interval = policy_->interval();
  r.staleness_bound = policy_->staleness_bound();
  r.steps = scenario_.steps;
  r.seed = scenario_.seed;
  r.staleness = staleness_.stats();
  r.samples_generated = sampler_->started() - sampler_->in_flight();
  r.mean_sample_weight = r.samples_used ? weight_sum_ / static_cast<double>(r.samples_used) : 1;
  r.simulated_seconds = total_s;
  r.train_seconds = to_seconds(train);
  r.sync_seconds = to_seconds(sync);
  r.wait_seconds = to_seconds(wait);
  r.sync_overhead_fraction =
      train + sync > Duration::zero() ? to_seconds(sync) / to_seconds(train + sync) : 0;
  r.trainer_idle_fraction = total_s > 0 ? to_seconds(wait) / total_s : 0;
  r.sampler_idle_fraction =
      total_s > 0 ? 1.0 - sampler_->busy_slot_seconds() / (sampler_->concurrency() * total_s) : 0;
  r.steps_per_hour = total_s > 0 ? scenario_.steps * 3600.0 / total_s : 0;
  r.tokens_per_second = total_s > 0 ? r.tokens_used / total_s : 0;
  r.bytes_base = trainer_->bytes_base();
  r.bytes_delta = trainer_->bytes_delta();
  r.snapshots_base = trainer_->snapshots_base();
  r.snapshots_delta = trainer_->snapshots_delta();
  r.time_to_recover_mean_s =
      r.recoveries ? recover_total_s_ / static_cast<double>(r.recoveries) : 0;
  r.faults_injected = faults_.injected();
  r.http_requests = observer_.requests() - requests_at_start;
  r.events = clock_.events_run();

  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  r.cpu_seconds = thread_cpu_seconds() - cpu_start;
  r.cycles_per_second =
      r.wall_seconds > 0 ? static_cast<double>(r.syncs + r.failed_syncs) / r.wall_seconds : 0;
  r.sim_to_wall_ratio = r.wall_seconds > 0 ? total_s / r.wall_seconds : 0;
  return r;
}

}  // namespace

Scenario apply_overrides(Scenario scenario, const ScenarioOverrides& o) {
  if (o.policy) scenario.policy.name = *o.policy;
  if (o.interval) scenario.policy.interval = *o.interval;
  if (o.staleness_bound) scenario.policy.staleness_bound = *o.staleness_bound;
  if (o.steps) scenario.steps = *o.steps;
  if (o.seed) scenario.seed = *o.seed;
  validate(scenario);
  return scenario;
}

RunResult run_simulation(const Scenario& scenario) {
  validate(scenario);
  try {
    Run run(scenario);
    return run.run();
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    if (what.rfind("scenario '", 0) == 0) throw;
    throw std::runtime_error(with_seed(scenario, what));
  }
}

}  // namespace weightsync::sim
