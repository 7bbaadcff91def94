// Several training loops at once against one FakeServer over loopback: threads that each drive
// their own trainer and deployment with the production WeightSyncer and, after each sync, sample
// theirs and one shared deployment; one more thread runs the shared deployment's own training
// loop, and two samplers send completions to every deployment all the while. Nothing may be
// lost (every replica ends serving its trainer's bytes, every sync is counted once, every
// replica loaded each snapshot once) and no completion may be answered from a half-applied
// load (its provenance checksum is always one its trainer saved, or the base model's).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fake_test_support.h"
#include "weightsync/deployment_manager.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/weight_syncer.h"

namespace weightsync::fake {
namespace {

using namespace testing;

constexpr int kOwnLoops = 3;  // threads with a trainer and deployment each
constexpr int kSteps = 20;    // save-and-hotload cycles per loop
constexpr int kSamplers = 2;  // threads that only send completions

// One trainer and the deployment it hotloads, with every checksum the deployment may serve.
struct Loop {
  std::string deployment;
  FakeTrainingClient* trainer = nullptr;
  std::mutex mutex;
  std::set<std::uint32_t> allowed;  // the base model's and every saved snapshot's
  std::vector<std::string> names;   // what save_and_hotload returned, in order
  std::atomic<int> served{0};       // completions answered 200
};

class ConcurrentClients : public ::testing::Test {
 protected:
  ConcurrentClients() : cloud(clock, test_options(2)) {
    cloud.create_account(kAccount, kKey);
    server.start();
    for (int i = 0; i <= kOwnLoops; ++i) {
      // The last loop is the shared deployment.
      const std::string id = i < kOwnLoops ? "own-" + std::to_string(i) : "shared";
      auto loop = std::make_unique<Loop>();
      loop->deployment = id;
      loop->trainer = &cloud.create_trainer(kAccount, "t-" + id, small_trainer(4096));
      loops.push_back(std::move(loop));
    }
    auto transport = make_transport();
    DeploymentManager manager(*transport, clock, manager_options());
    for (auto& loop : loops) {
      manager.create_or_get_deployment(loop->deployment, config_for(loop->trainer->job_name()));
    }
    for (auto& loop : loops) {
      manager.wait_for_deployment_ready(loop->deployment, seconds(60));
      for (const auto& r : cloud.replicas(kAccount, loop->deployment)) {
        loop->allowed.insert(r.served_checksum);
      }
    }
  }

  std::unique_ptr<Transport> make_transport() {
    return std::make_unique<RetryingHttpTransport>(
        HttpTransportOptions{server.base_url(), seconds(5), seconds(30)}, clock);
  }

  static DeploymentManagerOptions manager_options() {
    DeploymentManagerOptions options;
    options.api_key = kKey;
    return options;
  }

  void fail(const std::string& what) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(what);
  }

  // Steps, records the new weights' checksum (before any replica can serve them), then saves
  // and hotloads with the production WeightSyncer and samples, kSteps times.
  void run_loop(Loop& loop, Loop& shared) {
    try {
      auto transport = make_transport();
      DeploymentManager manager(*transport, clock, manager_options());
      WeightSyncerOptions options;
      options.deploy_mgr = &manager;
      options.deployment_id = loop.deployment;
      options.base_model = kBaseModel;
      options.hotload_timeout = seconds(120);
      WeightSyncer syncer(*loop.trainer, options, clock);
      for (int step = 0; step < kSteps; ++step) {
        loop.trainer->step();
        {
          std::lock_guard lock(loop.mutex);
          loop.allowed.insert(loop.trainer->checksum());
        }
        const std::string name = syncer.save_and_hotload("step-" + std::to_string(step));
        {
          std::lock_guard lock(loop.mutex);
          loop.names.push_back(name);
        }
        sample(*transport, loop);
        if (&loop != &shared) sample(*transport, shared);
      }
    } catch (const std::exception& e) {
      fail(loop.deployment + ": " + e.what());
    }
  }

  // One completion to `loop`'s deployment; 503 (every replica loading) is the fake's
  // documented answer, anything else but 200 is a failure, and so is a 200 whose provenance
  // checksum the trainer never saved.
  void sample(Transport& transport, Loop& loop) {
    HttpRequest request{"POST", "/inference/v1/completions",
                        {{"Authorization", std::string("Bearer ") + kKey},
                         {"Content-Type", "application/json"}},
                        completion_body(loop.deployment)};
    const HttpResponse answer = transport.exchange(request);
    if (answer.status == 503) return;
    if (answer.status != 200) {
      fail(loop.deployment + ": completion answered " + std::to_string(answer.status) + ": " +
           answer.body);
      return;
    }
    const std::string checksum = header_value(answer.headers, "x-weightsync-snapshot-checksum");
    const std::string identity = header_value(answer.headers, "x-weightsync-snapshot-identity");
    std::lock_guard lock(loop.mutex);
    if (checksum.empty() || !loop.allowed.count(static_cast<std::uint32_t>(std::stoul(checksum)))) {
      fail(loop.deployment + ": a completion was answered from weights with checksum '" +
           checksum + "' (snapshot '" + identity + "'), which its trainer never saved");
      return;
    }
    ++loop.served;
  }

  ManualClock clock;
  FakeCloud cloud;
  FakeServer server{cloud};
  std::vector<std::unique_ptr<Loop>> loops;
  std::mutex failures_mutex;
  std::vector<std::string> failures;
};

TEST_F(ConcurrentClients, NothingLostAndNoAnswerFromAHalfAppliedLoad) {
  std::atomic<int> running{kOwnLoops + 1};
  std::vector<std::thread> threads;
  for (auto& loop : loops) {
    threads.emplace_back([&, l = loop.get()] {
      run_loop(*l, *loops.back());
      --running;
    });
  }
  for (int s = 0; s < kSamplers; ++s) {
    threads.emplace_back([&] {
      try {
        HttpTransport transport(HttpTransportOptions{server.base_url(), seconds(5), seconds(30)});
        // Until every loop has finished, then once more each, so that each sampler also sees
        // the final weights.
        for (bool last = false; !last;) {
          last = running == 0;
          for (auto& loop : loops) sample(transport, *loop);
        }
      } catch (const std::exception& e) {
        fail(std::string("sampler: ") + e.what());
      }
    });
  }
  for (auto& t : threads) t.join();

  for (const auto& f : failures) ADD_FAILURE() << f;
  for (const auto& loop : loops) {
    SCOPED_TRACE(loop->deployment);
    // Every sync counted once: one name and one saved snapshot per step, in order.
    ASSERT_EQ(loop->names.size(), static_cast<std::size_t>(kSteps));
    EXPECT_EQ(loop->trainer->snapshots().size(), static_cast<std::size_t>(kSteps));
    for (int step = 0; step < kSteps; ++step) {
      EXPECT_EQ(loop->names[step],
                "step-" + std::to_string(step) + "-" + loop->trainer->session_id());
    }
    // Every replica loaded every snapshot once, and none failed.
    const LoadTally loads = cloud.with_model([&](CloudModel& m) {
      return m.deployments().at(deployment_name(kAccount, loop->deployment))->tally();
    });
    EXPECT_EQ(loads.done, static_cast<std::uint64_t>(2 * kSteps));
    EXPECT_EQ(loads.error, 0u);
    // Every replica serves exactly the trainer's last weights.
    const auto replicas = cloud.replicas(kAccount, loop->deployment);
    ASSERT_EQ(replicas.size(), 2u);
    for (const auto& r : replicas) {
      EXPECT_EQ(r.served_identity, loop->names.back()) << r.name;
      EXPECT_EQ(r.served_checksum, loop->trainer->checksum()) << r.name;
      ASSERT_TRUE(r.served_bytes) << r.name;
      EXPECT_EQ(*r.served_bytes, loop->trainer->weights()) << r.name;
    }
    EXPECT_GT(loop->served.load(), 0) << "no completion was answered 200";
    RecordProperty("completions_" + loop->deployment, loop->served.load());
  }
}

}  // namespace
}  // namespace weightsync::fake
