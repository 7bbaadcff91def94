// weightsync-sync-demo: trains a synthetic policy and syncs it every N steps with the production
// WeightSyncer over loopback HTTP to the fake deployment, in real time, while a fault plan
// injects the failures users meet. Prints one line per sync and checks, after every successful
// one, that every replica serves exactly the trainer's bytes. Exits non-zero if one does not.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "weightsync/deployment_manager.h"
#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/log.h"
#include "weightsync/weight_syncer.h"

namespace {

using namespace weightsync;

// A load fails on step 4's sync, a replica restarts mid-run, warmup stalls once: the loop must
// recover from each with a base.
constexpr const char* kDefaultPlan = R"({
  "faults": [
    {"fault": "load_error", "count": 1, "after": 6, "message": "injected: download failed"},
    {"fault": "replica_restart", "atSeconds": 1.0, "replica": 1,
     "deployment": "accounts/demo/deployments/policy"},
    {"fault": "warmup_unavailable", "count": 2, "after": 10, "status": 503}
  ]
})";

struct Options {
  int steps = 16;
  int interval = 1;
  int replicas = 2;
  std::size_t params = std::size_t{1} << 20;
  std::uint64_t seed = 7;
  std::string faults_file;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read fault plan '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fake::FakeCloudOptions fast_cloud(const Options& o) {
  fake::FakeCloudOptions c;
  c.seed = o.seed;
  c.replicas_per_deployment = o.replicas;
  c.timing.creation_time = seconds(0.05);
  c.timing.hotload_startup_delay = seconds(0.2);
  c.timing.load_pending = seconds(0.02);
  c.timing.load_overhead = seconds(0.05);
  c.timing.bandwidth_bytes_per_s = 200e6;
  return c;
}

// Every ready replica serves exactly `trainer`'s current bytes.
bool served_everywhere(fake::FakeCloud& cloud, const fake::FakeTrainingClient& trainer) {
  bool ok = true;
  for (const auto& r : cloud.replicas("demo", "policy")) {
    if (!r.readiness) continue;
    if (!r.served_bytes || *r.served_bytes != trainer.weights()) {
      std::printf("  !! replica %s serves '%s' (checksum %08x), trainer has %08x\n", r.name.c_str(),
                  r.served_identity.c_str(), r.served_checksum, trainer.checksum());
      ok = false;
    }
  }
  return ok;
}

int run(const Options& o) {
  // The library's own log lines, in order with the table rather than on stderr after it.
  set_log_sink([](LogLevel level, std::string_view message) {
    std::printf("        %s: %.*s\n", std::string(to_string(level)).c_str(),
                static_cast<int>(message.size()), message.data());
  });
  fake::FakeCloud cloud(system_clock(), fast_cloud(o));
  cloud.create_account("demo", "demo-key");
  fake::TrainerOptions to;
  to.params = o.params;
  fake::FakeTrainingClient& trainer = cloud.create_trainer("demo", "trainer", to);
  fake::FakeServer server(cloud);
  server.start();
  std::printf("fake deployment on %s, %d replicas, %zu bf16 params (%.1f MiB)\n",
              server.base_url().c_str(), o.replicas, o.params,
              static_cast<double>(o.params) * 2 / (1 << 20));

  RetryingHttpTransport http({server.base_url(), seconds(5), seconds(30)}, system_clock(),
                             RetryPolicy{4, seconds(0.05), seconds(0.5)});
  DeploymentManagerOptions mo;
  mo.api_key = "demo-key";
  mo.hotload_poll_interval = seconds(0.02);
  mo.warmup_retry_interval = seconds(0.05);
  DeploymentManager manager(http, system_clock(), mo);
  DeploymentConfig dc;
  dc.base_model = "accounts/fireworks/models/demo-1b";
  dc.min_replica_count = dc.max_replica_count = o.replicas;
  dc.hot_load_trainer_job = trainer.job_name();
  manager.create_or_get_deployment("policy", dc);
  manager.wait_for_deployment_ready("policy", seconds(10));

  const std::string plan_text = o.faults_file.empty() ? kDefaultPlan : read_file(o.faults_file);
  cloud.set_fault_plan(fake::parse_fault_plan(plan_text, o.faults_file));

  WeightSyncerOptions so;
  so.deploy_mgr = &manager;
  so.deployment_id = "policy";
  so.base_model = dc.base_model;
  so.hotload_timeout = seconds(10);
  so.warmup_max_retries = 1;
  so.hotload_ready_poll_interval = std::chrono::milliseconds(50);
  WeightSyncer syncer(trainer, so);

  std::printf("%5s %-6s %10s %8s %10s %9s %9s  %s\n", "step", "kind", "bytes", "save_ms",
              "hotload_ms", "warmup_ms", "checksum", "outcome");
  int ok = 0, failed = 0, wrong = 0;
  std::uint64_t base_bytes = 0, delta_bytes = 0;
  for (int step = 1; step <= o.steps; ++step) {
    trainer.step();
    if (step % o.interval != 0) continue;
    std::string outcome = "served on every replica";
    bool synced = false;
    try {
      syncer.save_and_hotload("step-" + std::to_string(step));
      synced = true;
    } catch (const WarmupFailed& e) {
      synced = true;
      outcome = "loaded; warmup failed (reported, chain advanced)";
    } catch (const Error& e) {
      // Any error out of a sync has reset the chain; the remedy says what else to do.
      outcome =
          "FAILED (" + std::string(to_string(e.remedy())) + "), next save is a base: " + e.what();
      if (outcome.size() > 110) outcome = outcome.substr(0, 107) + "...";
    }
    const SyncRecord& r = syncer.last_sync();
    const fake::SnapshotRecord* snap = trainer.find_snapshot(r.snapshot_name);
    const std::uint64_t stored = snap ? snap->stored_size : 0;
    (r.kind == CheckpointKind::delta ? delta_bytes : base_bytes) += stored;
    std::printf(
        "%5d %-6s %10llu %8.1f %10.1f %9.1f %9s  %s\n", step,
        std::string(to_string(r.kind)).c_str(), static_cast<unsigned long long>(stored),
        to_seconds(r.timings.save) * 1e3, to_seconds(r.timings.hotload) * 1e3,
        to_seconds(r.timings.warmup) * 1e3,
        synced ? (std::ostringstream() << std::hex << trainer.checksum()).str().c_str() : "-",
        outcome.c_str());
    if (synced) {
      ++ok;
      if (!served_everywhere(cloud, trainer)) ++wrong;
    } else {
      ++failed;
    }
  }
  std::printf("\nsyncs: %d ok, %d failed; bytes sent: %llu base, %llu delta; wrong replicas: %d\n",
              ok, failed, static_cast<unsigned long long>(base_bytes),
              static_cast<unsigned long long>(delta_bytes), wrong);
  std::printf("fault log:\n%s", cloud.fault_log_text().c_str());
  server.stop();
  return wrong == 0 && ok > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Save-and-hotload loop against the fake deployment over loopback HTTP"};
  app.add_option("--steps", o.steps, "training steps")->check(CLI::PositiveNumber);
  app.add_option("--interval", o.interval, "sync every N steps")->check(CLI::PositiveNumber);
  app.add_option("--replicas", o.replicas, "deployment replicas")->check(CLI::Range(1, 16));
  app.add_option("--params", o.params, "bf16 parameters of the synthetic model")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 28));
  app.add_option("--seed", o.seed, "seed of the fake world and its faults");
  app.add_option("--faults", o.faults_file, "fault plan JSON (default: a built-in plan)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weightsync-sync-demo: %s\n", e.what());
    return 2;
  }
}
