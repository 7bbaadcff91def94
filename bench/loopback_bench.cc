// Library overhead on loopback: one full save_and_hotload cycle (delta, small model, no faults)
// against the fake deployment over real HTTP, beside bare HTTP round trips of the same count to
// a trivial handler (account listing) on the same server, measured in the same run.
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
  to.params = std::size_t{64} << 10;
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

  std::int64_t step = 0;
  double cycle_seconds = 0;
  const std::int64_t requests_before = counting.count;
  for (auto _ : state) {
    state.PauseTiming();
    trainer.step();
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    syncer.save_and_hotload("step-" + std::to_string(++step));
    cycle_seconds += seconds_since(t0);
    if (syncer.last_sync().kind != CheckpointKind::delta) {
      state.SkipWithError("expected every timed sync to be a delta");
      return;
    }
  }
  const double requests_per_sync =
      static_cast<double>(counting.count - requests_before) / static_cast<double>(step);

  // The baseline: bare round trips to a trivial handler, the same count per "sync".
  HttpRequest bare{
      "GET", "/v1/accounts?pageSize=2", {{"Authorization", std::string("Bearer ") + kKey}}, ""};
  const int trips = 200;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < trips; ++i) {
    if (http.exchange(bare).status != 200) {
      state.SkipWithError("bare round trip failed");
      return;
    }
  }
  const double trip_seconds = seconds_since(t0) / trips;
  server.stop();

  const double sync_seconds = cycle_seconds / static_cast<double>(step);
  state.counters["requests_per_sync"] = requests_per_sync;
  state.counters["sync_us"] = sync_seconds * 1e6;
  state.counters["bare_trip_us"] = trip_seconds * 1e6;
  state.counters["overhead_ratio"] = sync_seconds / (requests_per_sync * trip_seconds);
}
BENCHMARK(BM_SaveAndHotloadOverLoopback)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
