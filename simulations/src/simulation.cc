// One run: the world (sim_world.h), the library in the loop (library_session.h) and what the
// run measures (run_metrics.h), played step by step under a sync policy: generation fills the
// batch, the trainer trains, the policy syncs.
#include "weightsync/sim/simulation.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "library_session.h"
#include "run_metrics.h"
#include "sim_world.h"
#include "weightsync/fake/random.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

constexpr int kMaxResyncAttempts = 1000;

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

// The RL loop over one world.
class Run {
 public:
  explicit Run(const Scenario& scenario)
      : scenario_(scenario),
        step_random_(stream_seed(scenario.seed, Stream::step_time)),
        world_(scenario),
        session_(scenario, world_, metrics_),
        policy_(make_policy(scenario.policy.name, policy_settings(scenario.policy))) {}

  RunResult run();

 private:
  void setup();
  double take_batch(int step);

  const Scenario& scenario_;
  fake::Random step_random_;
  SimWorld world_;
  RunMetrics metrics_;
  LibrarySession session_;
  std::unique_ptr<SyncPolicy> policy_;
  Duration resync_time_{};  // catch-up syncs made while waiting for samples
};

// The deployment comes up and serves the trainer's initial weights (policy version 0), outside
// the measured part of the run: faults start after it.
void Run::setup() {
  world_.bring_up();
  session_.initial_sync();
  world_.start_faults();
  world_.trainer().reset_counters();
}

// Waits until `batch_size` usable samples are there and uses them: FIFO, staleness measured
// against the trainer's version before this step, stale ones dropped or down-weighted. Returns
// the batch's tokens (prompts and generations).
double Run::take_batch(int step) {
  Sampler& sampler = *world_.sampler();
  RunResult& result = metrics_.result();
  const int batch = scenario_.trainer.batch_size;
  const std::optional<int> bound = policy_->staleness_bound();
  const bool drop = policy_->settings().stale_samples == StaleSamples::drop;
  if (policy_->overlaps_generation()) {
    // At most bound + 1 batches ahead of the trainer, plus replacements for dropped samples.
    sampler.admit_up_to(static_cast<std::int64_t>(step + bound.value_or(0)) * batch +
                        result.samples_dropped);
  } else {
    sampler.admit_up_to(sampler.admitted() + batch);
  }
  int used = 0;
  int resync_attempts = 0;
  double tokens = 0;
  while (used < batch) {
    auto& ready = sampler.finished();
    // Replicas further behind than the bound can only produce samples that will be dropped: the
    // trainer syncs its current weights before waiting any longer (an asynchronous loop's
    // catch-up after failed syncs).
    if (ready.empty() && bound && drop && !sampler.loading() &&
        (step - 1) - sampler.served_version() > *bound) {
      if (++resync_attempts > kMaxResyncAttempts) {
        throw SimulationError(scenario_,
                              "the deployment stayed more than " + std::to_string(*bound) +
                                  " versions behind at step " + std::to_string(step) + " after " +
                                  std::to_string(kMaxResyncAttempts) + " catch-up syncs");
      }
      const Duration start = world_.clock().now();
      ++result.resyncs;
      session_.save_and_hotload_named("step-" + std::to_string(step - 1) + "-resync-" +
                                      std::to_string(result.resyncs));
      resync_time_ += world_.clock().now() - start;
      continue;
    }
    if (ready.empty()) {
      if (!world_.clock().run_next()) {
        throw SimulationError(scenario_,
                              "the simulated world stalled at step " + std::to_string(step) +
                                  ": the trainer waits for samples and no event is "
                                  "pending (" +
                                  std::to_string(sampler.in_flight()) + " requests in flight)");
      }
      continue;
    }
    const Sample sample = ready.front();
    ready.pop_front();
    const int staleness = (step - 1) - sample.version_start;
    double weight = 1;
    if (bound && staleness > *bound) {
      if (drop) {
        ++result.samples_dropped;
        sampler.admit_up_to(sampler.admitted() + 1);
        continue;
      }
      ++result.samples_downweighted;
      weight = std::pow(policy_->settings().downweight_factor, staleness - *bound);
    }
    metrics_.sample_used(staleness, weight);
    tokens += static_cast<double>(sample.tokens + sample.prompt_tokens);
    if (sample.mixed()) ++result.samples_mixed;
    ++used;
  }
  result.samples_used += used;
  result.tokens_used += tokens;
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
  const Sampler& sampler = world_.start_sampler(std::move(sampler_options));
  VirtualClock& clock = world_.clock();
  const std::int64_t requests_at_start = world_.observer().requests();
  const Duration start = clock.now();
  Duration train{}, sync{}, wait{};

  for (int step = 1; step <= scenario_.steps; ++step) {
    const Duration wait_start = clock.now();
    const Duration resync_before = resync_time_;
    const double batch_tokens = take_batch(step);
    // Catch-up syncs block the trainer as syncs, not as waiting for samples.
    wait += clock.now() - wait_start - (resync_time_ - resync_before);
    sync += resync_time_ - resync_before;

    const Duration step_time = scenario_.hardware.trainer_gpus > 0
                                   ? seconds(training_step_seconds(scenario_, batch_tokens))
                                   : seconds(scenario_.trainer.step_time_s.sample(step_random_));
    // A sync overlapping the step (split's hotload) delays the trainer only beyond the step.
    const Duration overlap_start = clock.now();
    policy_->during_step(step, session_);
    const Duration overlapped = clock.now() - overlap_start;
    if (overlapped < step_time) clock.sleep_for(step_time - overlapped);
    if (overlapped > step_time) sync += overlapped - step_time;
    train += step_time;
    world_.fake_trainer().step();
    world_.trainer().set_version(step);

    const Duration sync_start = clock.now();
    policy_->after_step(step, session_);
    sync += clock.now() - sync_start;
  }

  const Duration total = clock.now() - start;
  const double total_s = to_seconds(total);
  metrics_.finish();
  RunResult& r = metrics_.result();
  r.scenario = scenario_;
  r.policy = std::string(policy_->name());
  r.interval = policy_->interval();
  r.staleness_bound = policy_->staleness_bound();
  r.steps = scenario_.steps;
  r.seed = scenario_.seed;
  r.samples_generated = sampler.started() - sampler.in_flight();
  r.simulated_seconds = total_s;
  r.train_seconds = to_seconds(train);
  r.sync_seconds = to_seconds(sync);
  r.wait_seconds = to_seconds(wait);
  r.sync_overhead_fraction =
      train + sync > Duration::zero() ? to_seconds(sync) / to_seconds(train + sync) : 0;
  r.trainer_idle_fraction = total_s > 0 ? to_seconds(wait) / total_s : 0;
  r.sampler_idle_fraction =
      total_s > 0 ? 1.0 - sampler.busy_slot_seconds() / (sampler.concurrency() * total_s) : 0;
  r.steps_per_hour = total_s > 0 ? scenario_.steps * 3600.0 / total_s : 0;
  r.tokens_per_second = total_s > 0 ? r.tokens_used / total_s : 0;
  const TimedTrainingClient& trainer = world_.trainer();
  r.bytes_base = trainer.bytes_base();
  r.bytes_delta = trainer.bytes_delta();
  r.snapshots_base = trainer.snapshots_base();
  r.snapshots_delta = trainer.snapshots_delta();
  r.faults_injected = world_.faults_injected();
  r.http_requests = world_.observer().requests() - requests_at_start;
  r.events = clock.events_run();

  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  r.cpu_seconds = thread_cpu_seconds() - cpu_start;
  r.cycles_per_second =
      r.wall_seconds > 0 ? static_cast<double>(r.syncs + r.failed_syncs) / r.wall_seconds : 0;
  r.sim_to_wall_ratio = r.wall_seconds > 0 ? total_s / r.wall_seconds : 0;
  return r;
}

}  // namespace

SimulationError::SimulationError(const Scenario& scenario, const std::string& message)
    : std::runtime_error("scenario '" + scenario.name + "' seed " + std::to_string(scenario.seed) +
                         ": " + message) {}

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
  } catch (const SimulationError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw SimulationError(scenario, e.what());
  }
}

}  // namespace weightsync::sim
