// Clock: the library's only source of time, so that tests and simulations can replace it.
//
// Thread-safety: both clocks are safe to share between threads (a test's client thread may
// advance a ManualClock while a fake server thread reads it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace weightsync {

// Durations and instants are integer nanoseconds: exact, so virtual-time runs replay bit for bit.
using Duration = std::chrono::nanoseconds;

constexpr Duration seconds(double s) {
  return Duration(static_cast<std::int64_t>(s * 1e9));
}
constexpr double to_seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}

class Clock {
 public:
  virtual ~Clock() = default;
  // Time since this clock's own epoch (not the Unix epoch); only differences are meaningful.
  virtual Duration now() const = 0;
  // Blocks (or, for a virtual clock, advances) for `d`; a non-positive `d` returns at once.
  virtual void sleep_for(Duration d) = 0;
};

// Real time: std::chrono::steady_clock and std::this_thread::sleep_for.
class SystemClock final : public Clock {
 public:
  Duration now() const override;
  void sleep_for(Duration d) override;
};

// The time limit of one poll loop, started when made: how long it has waited, whether the limit
// has passed, and a sleep that never goes past it (a poll interval longer than what is left is
// cut short, so a wait ends at its timeout, not after it).
class Deadline {
 public:
  Deadline(Clock& clock, Duration timeout)
      : clock_(clock), start_(clock.now()), timeout_(timeout) {}
  Duration waited() const { return clock_.now() - start_; }
  bool passed() const { return waited() >= timeout_; }
  void sleep(Duration interval) const {
    const Duration left = timeout_ - waited();
    clock_.sleep_for(interval < left ? interval : left);
  }

 private:
  Clock& clock_;
  Duration start_;
  Duration timeout_;
};

// Time that moves only when told: sleep_for advances it instantly. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Duration start = Duration::zero()) : now_ns_(start.count()) {}
  Duration now() const override { return Duration(now_ns_.load()); }
  void sleep_for(Duration d) override {
    if (d > Duration::zero()) now_ns_ += d.count();
  }
  void advance(Duration d) { sleep_for(d); }

 private:
  std::atomic<std::int64_t> now_ns_;
};

// The process-wide SystemClock, for callers that do not inject their own.
Clock& system_clock();

}  // namespace weightsync
