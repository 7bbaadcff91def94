// The server's routing order: which requests count as control, and that the queue hands out a
// control request ahead of sampling requests queued before it, runs every task, and keeps the
// order within a class.
#include "request_order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weightsync::fake::detail {
namespace {

TEST(RequestOrder, OnlyAPostUnderInferenceIsSampling) {
  struct Case {
    const char* method;
    const char* target;
    RequestClass expected;
  };
  const Case cases[] = {
      {"POST", "/inference/v1/completions", RequestClass::sampling},
      {"POST", "/inference/v1/chat/completions?x=1", RequestClass::sampling},
      // The control plane: hotload, deployments, trainer jobs, the fake's own API, metrics.
      {"GET", "/hot_load/v1/models/hot_load", RequestClass::control},
      {"POST", "/hot_load/v1/models/hot_load", RequestClass::control},
      {"GET", "/v1/accounts/a/deployments/d1", RequestClass::control},
      {"PATCH", "/v1/accounts/a/deployments/d1?updateMask=x", RequestClass::control},
      {"POST", "/v1/accounts/a/rlorTrainerJobs/t1:resume", RequestClass::control},
      {"POST", "/_fake/v1/accounts/a/trainers/t1:step", RequestClass::control},
      {"GET", "/metrics", RequestClass::control},
      // Not sampling: another method on the completions path, a look-alike prefix, a query that
      // names the path.
      {"GET", "/inference/v1/completions", RequestClass::control},
      {"POST", "/inferences/v1/completions", RequestClass::control},
      {"POST", "/v1?next=/inference/v1/completions", RequestClass::control},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(classify_request(c.method, c.target), c.expected) << c.method << " " << c.target;
  }
}

TEST(RequestOrder, AControlRequestQueuedBehindManyCompletionsRunsFirst) {
  ReadyQueue queue(1);
  std::vector<std::string> ran;
  EXPECT_TRUE(queue.push(RequestClass::sampling, [&] { ran.push_back("completion 0"); }));
  for (int i = 1; i < 300; ++i) {
    EXPECT_FALSE(queue.push(RequestClass::sampling,
                            [&ran, i] { ran.push_back("completion " + std::to_string(i)); }));
  }
  EXPECT_FALSE(queue.push(RequestClass::control, [&] { ran.push_back("hotload POST"); }));
  EXPECT_FALSE(queue.push(RequestClass::control, [&] { ran.push_back("hotload status"); }));
  EXPECT_EQ(queue.size(), 302u);
  // The one runner takes control requests first (oldest first), then the completions in order.
  while (auto task = queue.next()) task();
  ASSERT_EQ(ran.size(), 302u);
  EXPECT_EQ(ran[0], "hotload POST");
  EXPECT_EQ(ran[1], "hotload status");
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(ran[static_cast<std::size_t>(i) + 2], "completion " + std::to_string(i));
  }
  EXPECT_EQ(queue.size(), 0u);
}

TEST(RequestOrder, AControlRequestArrivingWhileCompletionsRunOvertakesTheRest) {
  ReadyQueue queue(1);
  std::vector<std::string> ran;
  for (int i = 0; i < 5; ++i) {
    queue.push(RequestClass::sampling, [&, i] {
      ran.push_back("completion " + std::to_string(i));
      // Parsed while the runner is busy with the second completion.
      if (i == 1) queue.push(RequestClass::control, [&] { ran.push_back("hotload status"); });
    });
  }
  while (auto task = queue.next()) task();
  EXPECT_EQ(ran, (std::vector<std::string>{"completion 0", "completion 1", "hotload status",
                                           "completion 2", "completion 3", "completion 4"}));
}

TEST(RequestOrder, ControlRequestsCannotStarveCompletions) {
  ReadyQueue queue(1);
  std::string ran;
  for (int i = 0; i < 3; ++i) queue.push(RequestClass::sampling, [&] { ran += 's'; });
  for (int i = 0; i < 2 * kControlInARow + 8; ++i) {
    queue.push(RequestClass::control, [&] { ran += 'c'; });
  }
  while (auto task = queue.next()) task();
  const std::string burst(static_cast<std::size_t>(kControlInARow), 'c');
  EXPECT_EQ(ran, burst + "s" + burst + "s" + "cccccccc" + "s");
}

TEST(RequestOrder, RunnersStartOnlyUpToTheLimitAndRestartAfterStopping) {
  ReadyQueue queue(2);
  int runs = 0;
  const auto task = [&] { ++runs; };
  EXPECT_TRUE(queue.push(RequestClass::sampling, task));   // starts runner 1
  EXPECT_TRUE(queue.push(RequestClass::control, task));    // starts runner 2
  EXPECT_FALSE(queue.push(RequestClass::sampling, task));  // both run: none more
  for (int i = 0; i < 3; ++i) queue.next()();
  EXPECT_EQ(runs, 3);
  EXPECT_FALSE(queue.next());  // runner 1 stops
  EXPECT_TRUE(queue.push(RequestClass::sampling, task));  // one free again
  EXPECT_TRUE(static_cast<bool>(queue.next()));
  EXPECT_FALSE(queue.next());
  EXPECT_FALSE(queue.next());  // runner 2 stops too
  EXPECT_TRUE(queue.push(RequestClass::sampling, task));  // one runs
  // A runner that has run a task stops only if nothing is left.
  EXPECT_TRUE(queue.push(RequestClass::sampling, task));  // two run
  EXPECT_TRUE(static_cast<bool>(queue.next()));
  EXPECT_FALSE(queue.stop_if_empty());  // one task is left
  EXPECT_TRUE(static_cast<bool>(queue.next()));
  EXPECT_TRUE(queue.stop_if_empty());  // one runs
  EXPECT_TRUE(queue.push(RequestClass::control, task));  // two run
  EXPECT_FALSE(queue.push(RequestClass::control, task));
  EXPECT_EQ(queue.size(), 2u);
  // A queue for no runners still allows one (the server has at least one loop thread).
  ReadyQueue at_least_one(0);
  EXPECT_TRUE(at_least_one.push(RequestClass::control, task));
  EXPECT_FALSE(at_least_one.push(RequestClass::control, task));
}

}  // namespace
}  // namespace weightsync::fake::detail
