// The event queue and the clock that drains it.
#include "weightsync/sim/virtual_clock.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace weightsync::sim {

void EventQueue::schedule(Duration at, Action action) {
  std::uint32_t slot = 0;
  if (free_actions_.empty()) {
    slot = static_cast<std::uint32_t>(actions_.size());
    actions_.push_back(std::move(action));
  } else {
    slot = free_actions_.back();
    free_actions_.pop_back();
    actions_[slot] = std::move(action);
  }
  heap_.push_back(Entry{at, next_sequence_++, slot});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

EventQueue::Action EventQueue::pop(Duration& at) {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const Entry entry = heap_.back();
  heap_.pop_back();
  at = entry.at;
  Action action = std::move(actions_[entry.action]);
  actions_[entry.action] = nullptr;
  free_actions_.push_back(entry.action);
  return action;
}

void VirtualClock::run_one() {
  Duration at{};
  Action action = queue_.pop(at);
  now_ = at;
  ++events_run_;
  action();
}

void VirtualClock::sleep_for(Duration d) {
  if (d <= Duration::zero()) return;
  const Duration end = now_ + d;
  while (!queue_.empty() && queue_.next_time() <= end) run_one();
  now_ = end;
}

void VirtualClock::schedule_at(Duration at, Action action) {
  if (at < now_) {
    throw std::logic_error("VirtualClock::schedule_at: expected a time >= now (" +
                           std::to_string(now_.count()) + " ns), got " +
                           std::to_string(at.count()) + " ns");
  }
  queue_.schedule(at, std::move(action));
}

void VirtualClock::schedule_after(Duration delay, Action action) {
  queue_.schedule(now_ + std::max(delay, Duration::zero()), std::move(action));
}

bool VirtualClock::run_next() {
  if (queue_.empty()) return false;
  run_one();
  return true;
}

}  // namespace weightsync::sim
