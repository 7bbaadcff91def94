// Sampler: the rollout side of the RL loop as discrete events on the VirtualClock. Up to
// `concurrency` requests generate at once; each draws a generation length and takes
// length / tokens-per-second. Every finished sample carries the policy version served when it
// started and when it finished: a request that spans an ASYNC hotload pauses during the load
// and resumes on the new weights (mixed); under SYNC it drains on the old weights. No request
// starts while a load is in flight.
//
// Thread-safety: none; it lives on one VirtualClock.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "weightsync/fake/random.h"
#include "weightsync/sim/distribution.h"
#include "weightsync/sim/virtual_clock.h"

namespace weightsync::sim {

struct Sample {
  int version_start = 0;  // policy version served when generation started
  int version_end = 0;    // ... and when it finished
  std::int64_t tokens = 0;
  bool mixed() const { return version_start != version_end; }
};

struct SamplerOptions {
  Distribution generation_tokens = Distribution::constant(1000);
  int concurrency = 1;
  double tokens_per_second_per_request = 50;
  bool pause_during_load = true;  // ASYNC transition; false: SYNC (in-flight requests drain)
};

class Sampler {
 public:
  Sampler(VirtualClock& clock, fake::Random random, SamplerOptions options, int served_version);
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Lets requests start until `total` have been started since the beginning (never lowers it).
  void admit_up_to(std::int64_t total);
  // A hotload was accepted: under ASYNC requests in flight pause; no new request starts.
  void load_started();
  // The load ended (served or failed); the deployment now serves `version`. Paused requests
  // resume on it and new requests may start again.
  void load_finished(int version);
  bool loading() const { return loading_; }
  int served_version() const { return served_version_; }

  // Finished samples in completion order; the trainer takes them from the front.
  std::deque<Sample>& finished() { return finished_; }
  std::int64_t started() const { return started_; }
  std::int64_t admitted() const { return admitted_; }
  int in_flight() const { return in_flight_; }
  std::int64_t mixed_samples() const { return mixed_; }
  // Slot-seconds spent generating (paused requests do not count) up to now.
  double busy_slot_seconds() const;
  int concurrency() const { return options_.concurrency; }

 private:
  static constexpr int kSlotBits = 24;  // concurrency is at most 2^24 slots

  struct Slot {
    bool active = false;
    bool paused = false;
    bool draining = false;  // SYNC: finishes on the weights it started with
    int version_start = 0;
    std::int64_t tokens = 0;
    Duration ends_at{};
    Duration remaining{};      // while paused
    std::uint64_t ticket = 0;  // completions scheduled under an older ticket are void (< 2^40)
  };

  void fill();
  void start(int slot);
  void complete(int slot, std::uint64_t ticket);
  void schedule_completion(int slot);
  void account_busy();

  VirtualClock& clock_;
  fake::Random random_;
  SamplerOptions options_;
  std::vector<Slot> slots_;
  std::vector<int> free_slots_;
  std::deque<Sample> finished_;
  int served_version_;
  bool loading_ = false;
  std::int64_t admitted_ = 0;
  std::int64_t started_ = 0;
  std::int64_t mixed_ = 0;
  int in_flight_ = 0;
  int generating_ = 0;
  Duration busy_since_{};
  double busy_slot_seconds_ = 0;
};

}  // namespace weightsync::sim
