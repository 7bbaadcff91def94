// The event queue and the clock that drains it.
#include "weightsync/sim/virtual_clock.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace weightsync::sim {

void EventQueue::schedule(Duration at, Action action) {
  heap_.push_back(Event{at, next_sequence_++, std::move(action)});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

EventQueue::Action EventQueue::pop(Duration& at) {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Event event = std::move(heap_.back());
  heap_.pop_back();
  at = event.at;
  return std::move(event.action);
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
