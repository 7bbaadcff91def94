// Library overhead on loopback: one full save_and_hotload cycle (delta, small model, no faults)
// against the fake deployment over real HTTP, beside bare HTTP round trips of the same count to
// a trivial handler (account listing) on the same server, interleaved with the syncs. The cycle
// includes the fake's own work on the model bytes (save, delta, apply, checksums), so it runs at
// two model sizes: 4 Ki parameters, where that work is negligible and the ratio is the library
// and HTTP alone, and 64 Ki.
#include <benchmark/benchmark.h>

#include <chrono>

#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/weight_syncer.h"

namespace {

using namespace weightsync;

constexpr const char* kAccount = "bench";
constexpr const char* kKey = "bench-key";

// Counts exchanges, so the bare baseline sends exactly as many requests as a sync.
class CountingTransport final : public Transport {
 public:
  explicit CountingTransport(Transport& inner) : inner_(inner) {}
  HttpResponse exchange(const HttpRequest& request) override {
    ++count;
    return inner_.exchange(request);
  }
  std::int64_t count = 0;

 private:
  Transport& inner_;
};

fake::FakeCloudOptions instant_loads() {
  fake::FakeCloudOptions o;
  o.timing.creation_time = Duration::zero();
  o.timing.hotload_startup_delay = Duration::zero();
  o.timing.load_pending = Duration::zero();
  o.timing.load_overhead = Duration::zero();
  o.timing.bandwidth_bytes_per_s = 1e15;
  o.replicas_per_deployment = 1;
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_SaveAndHotloadOverLoopback(benchmark::State& state) {
  ManualClock clock;  // loads finish at once; nothing sleeps, so only the library and HTTP count
  fake::FakeCloud cloud(clock, instant_loads());
  cloud.create_account(kAccount, kKey);
  fake::TrainerOptions to;
  to.params = static_cast<std::size_t>(state.range(0));
  to.changed_fraction = 0.01;
  fake::FakeTrainingClient& trainer = cloud.create_trainer(kAccount, "t", to);
  DeploymentConfig dc;
  dc.base_model = "accounts/fireworks/models/bench";
  dc.hot_load_trainer_job = trainer.job_name();
  cloud.create_deployment(kAccount, "d", dc);
  fake::FakeServer server(cloud);
  server.start();

  HttpTransport http({server.base_url(), seconds(5), seconds(30)});
  CountingTransport counting(http);
  DeploymentManagerOptions mo;
  mo.api_key = kKey;
  mo.account_id = kAccount;
  mo.hotload_poll_interval = seconds(0.01);
  DeploymentManager manager(counting, clock, mo);
  WeightSyncerOptions so;
  so.deploy_mgr = &manager;
  so.deployment_id = "d";
  so.base_model = dc.base_model;
  WeightSyncer syncer(trainer, so, clock);
  syncer.save_and_hotload("step-0");  // the base and the one-time check, outside the timing

  // Each sync is followed by as many bare round trips as it made, so both see the same load on
  // a shared machine; the bare trips are left out of the benchmark's own time.
  HttpRequest bare{
      "GET", "/v1/accounts?pageSize=2", {{"Authorization", std::string("Bearer ") + kKey}}, ""};
  std::int64_t step = 0;
  std::int64_t requests = 0;
  double cycle_seconds = 0;
  double bare_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    trainer.step();
    state.ResumeTiming();
    const std::int64_t requests_before = counting.count;
    const auto t0 = std::chrono::steady_clock::now();
    syncer.save_and_hotload("step-" + std::to_string(++step));
    cycle_seconds += seconds_since(t0);
    if (syncer.last_sync().kind != CheckpointKind::delta) {
      state.SkipWithError("expected every timed sync to be a delta");
      return;
    }
    state.PauseTiming();
    const std::int64_t trips = counting.count - requests_before;
    requests += trips;
    const auto t1 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < trips; ++i) {
      if (http.exchange(bare).status != 200) {
        state.SkipWithError("bare round trip failed");
        return;
      }
    }
    bare_seconds += seconds_since(t1);
    state.ResumeTiming();
  }
  server.stop();

  const double syncs = static_cast<double>(step);
  state.counters["requests_per_sync"] = static_cast<double>(requests) / syncs;
  state.counters["sync_us"] = cycle_seconds / syncs * 1e6;
  state.counters["bare_trip_us"] = bare_seconds / static_cast<double>(requests) * 1e6;
  state.counters["overhead_ratio"] = cycle_seconds / bare_seconds;
}
BENCHMARK(BM_SaveAndHotloadOverLoopback)
    ->ArgName("params")
    ->Arg(4 << 10)
    ->Arg(64 << 10)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
