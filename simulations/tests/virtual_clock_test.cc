// The event queue and virtual clock: time order, deterministic ties, sleeping through events.
#include "weightsync/sim/virtual_clock.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weightsync::sim {
namespace {

TEST(EventQueue, PopsEarliestFirstAndBreaksTiesByInsertionOrder) {
  EventQueue queue;
  std::vector<std::string> order;
  queue.schedule(seconds(2), [&] { order.push_back("b@2"); });
  queue.schedule(seconds(1), [&] { order.push_back("a@1"); });
  queue.schedule(seconds(2), [&] { order.push_back("c@2"); });
  queue.schedule(seconds(1), [&] { order.push_back("d@1"); });
  queue.schedule(seconds(2), [&] { order.push_back("e@2"); });
  while (!queue.empty()) {
    Duration at{};
    queue.pop(at)();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a@1", "d@1", "b@2", "c@2", "e@2"}));
}

TEST(EventQueue, ManyTiesKeepInsertionOrder) {
  EventQueue queue;
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i)
    queue.schedule(seconds(i % 3), [&order, i] { order.push_back(i); });
  std::vector<int> expected;
  for (int t = 0; t < 3; ++t) {
    for (int i = t; i < 1000; i += 3) expected.push_back(i);
  }
  while (!queue.empty()) {
    Duration at{};
    queue.pop(at)();
  }
  EXPECT_EQ(order, expected);
}

TEST(VirtualClock, SleepRunsDueEventsInOrderAtTheirTimesThenJumpsToTheEnd) {
  VirtualClock clock;
  std::vector<std::pair<std::string, Duration>> seen;
  clock.schedule_after(seconds(3), [&] { seen.emplace_back("three", clock.now()); });
  clock.schedule_after(seconds(1), [&] { seen.emplace_back("one", clock.now()); });
  clock.schedule_after(seconds(10), [&] { seen.emplace_back("ten", clock.now()); });
  clock.sleep_for(seconds(5));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("one"), seconds(1)));
  EXPECT_EQ(seen[1], std::make_pair(std::string("three"), seconds(3)));
  EXPECT_EQ(clock.now(), seconds(5));
  EXPECT_EQ(clock.pending(), 1u);
}

TEST(VirtualClock, AnEventAtTheEndOfASleepIsDue) {
  VirtualClock clock;
  bool ran = false;
  clock.schedule_after(seconds(2), [&] { ran = true; });
  clock.sleep_for(seconds(2));
  EXPECT_TRUE(ran);
}

TEST(VirtualClock, EventsScheduledByEventsInsideTheWindowRunToo) {
  VirtualClock clock;
  std::vector<Duration> times;
  clock.schedule_after(seconds(1), [&] {
    times.push_back(clock.now());
    clock.schedule_after(seconds(1), [&] { times.push_back(clock.now()); });
    clock.schedule_after(seconds(5), [&] { times.push_back(clock.now()); });
  });
  clock.sleep_for(seconds(3));
  EXPECT_EQ(times, (std::vector<Duration>{seconds(1), seconds(2)}));
  EXPECT_EQ(clock.now(), seconds(3));
}

TEST(VirtualClock, RunNextJumpsToTheNextEventOrReportsNone) {
  VirtualClock clock(seconds(7));
  EXPECT_FALSE(clock.run_next());
  EXPECT_EQ(clock.now(), seconds(7));
  int runs = 0;
  clock.schedule_at(seconds(9), [&] { ++runs; });
  EXPECT_TRUE(clock.run_next());
  EXPECT_EQ(clock.now(), seconds(9));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.events_run(), 1u);
}

TEST(VirtualClock, NonPositiveSleepDoesNothingAndThePastIsRefused) {
  VirtualClock clock(seconds(4));
  bool ran = false;
  clock.schedule_after(Duration::zero(), [&] { ran = true; });
  clock.sleep_for(Duration::zero());
  clock.sleep_for(seconds(-1));
  EXPECT_FALSE(ran);
  EXPECT_EQ(clock.now(), seconds(4));
  EXPECT_THROW(clock.schedule_at(seconds(3), [] {}), std::logic_error);
}

}  // namespace
}  // namespace weightsync::sim
