// VirtualClock: the library's Clock for simulations. Time moves only when someone sleeps, and
// sleeping runs the events that fall due on the way, in time order, before jumping to the end:
// a 600 s hotload timeout costs microseconds and a run replays exactly from its seed.
//
// Thread-safety: none. One simulated world, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "weightsync/clock.h"

namespace weightsync::sim {

// A min-heap of timed actions. Events at the same instant come out in the order they were
// scheduled (a sequence number breaks ties), so a run never depends on heap internals.
class EventQueue {
 public:
  using Action = std::function<void()>;

  void schedule(Duration at, Action action);
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The time of the earliest event; requires !empty().
  Duration next_time() const { return heap_.front().at; }
  // Removes the earliest event, stores its time in `at` and returns its action; requires
  // !empty().
  Action pop(Duration& at);

 private:
  // The heap holds small trivially copyable entries; the actions wait in a slot table, so
  // sifting never moves a std::function.
  struct Entry {
    Duration at;
    std::uint64_t sequence;
    std::uint32_t action;
  };
  // std::push_heap keeps the greatest element first; "greater" here means "later".
  static bool later(const Entry& a, const Entry& b) {
    return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
  }
  std::vector<Entry> heap_;
  std::vector<Action> actions_;
  std::vector<std::uint32_t> free_actions_;
  std::uint64_t next_sequence_ = 0;
};

class VirtualClock final : public Clock {
 public:
  using Action = EventQueue::Action;

  explicit VirtualClock(Duration start = Duration::zero()) : now_(start) {}

  Duration now() const override { return now_; }
  // Runs every event due in (now, now + d] in time order (including events those events
  // schedule inside the window), then sets the time to now + d. Non-positive d: returns at once.
  void sleep_for(Duration d) override;

  // Schedules `action` to run at `at`. Throws std::logic_error for a time in the past.
  void schedule_at(Duration at, Action action);
  // Schedules `action` to run `delay` from now (a negative delay counts as zero).
  void schedule_after(Duration delay, Action action);
  // Jumps to the earliest pending event and runs it. False (time unchanged) when none is pending.
  bool run_next();

  std::size_t pending() const { return queue_.size(); }
  std::uint64_t events_run() const { return events_run_; }

 private:
  void run_one();

  Duration now_;
  EventQueue queue_;
  std::uint64_t events_run_ = 0;
};

}  // namespace weightsync::sim
