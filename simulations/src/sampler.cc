// The rollout model: slots, generation lengths, pauses and drains around hotloads.
#include "weightsync/sim/sampler.h"

#include <algorithm>
#include <cmath>

namespace weightsync::sim {

Sampler::Sampler(VirtualClock& clock, fake::Random random, SamplerOptions options,
                 int served_version)
    : clock_(clock),
      random_(random),
      options_(std::move(options)),
      slots_(static_cast<std::size_t>(std::max(options_.concurrency, 1))),
      served_version_(served_version),
      busy_since_(clock.now()) {
  // Highest index first, so slot 0 is handed out first: deterministic and easy to read.
  for (int i = static_cast<int>(slots_.size()) - 1; i >= 0; --i) free_slots_.push_back(i);
}

double Sampler::busy_slot_seconds() const {
  return busy_slot_seconds_ + generating_ * to_seconds(clock_.now() - busy_since_);
}

void Sampler::account_busy() {
  const Duration now = clock_.now();
  busy_slot_seconds_ += generating_ * to_seconds(now - busy_since_);
  busy_since_ = now;
}

void Sampler::admit_up_to(std::int64_t total) {
  admitted_ = std::max(admitted_, total);
  fill();
}

void Sampler::fill() {
  while (!loading_ && started_ < admitted_ && !free_slots_.empty()) {
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    start(slot);
  }
}

void Sampler::start(int index) {
  account_busy();
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  slot.active = true;
  slot.paused = false;
  slot.draining = false;
  slot.version_start = served_version_;
  slot.tokens = std::max<std::int64_t>(1, std::llround(options_.generation_tokens.sample(random_)));
  slot.ends_at = clock_.now() +
                 seconds(static_cast<double>(slot.tokens) / options_.tokens_per_second_per_request);
  ++started_;
  ++in_flight_;
  ++generating_;
  schedule_completion(index);
}

void Sampler::schedule_completion(int index) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  // Slot and ticket packed in one word keep the capture within std::function's local buffer:
  // no allocation per request.
  const std::uint64_t key = (++slot.ticket << kSlotBits) | static_cast<std::uint64_t>(index);
  clock_.schedule_at(slot.ends_at, [this, key] {
    complete(static_cast<int>(key & ((std::uint64_t{1} << kSlotBits) - 1)), key >> kSlotBits);
  });
}

void Sampler::complete(int index, std::uint64_t ticket) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (!slot.active || slot.paused || slot.ticket != ticket) return;
  account_busy();
  Sample sample{slot.version_start, slot.draining ? slot.version_start : served_version_,
                slot.tokens};
  if (sample.mixed()) ++mixed_;
  finished_.push_back(sample);
  slot.active = false;
  --in_flight_;
  --generating_;
  free_slots_.push_back(index);
  fill();
}

void Sampler::load_started() {
  if (loading_) return;
  loading_ = true;
  if (!options_.pause_during_load) {
    for (Slot& slot : slots_) slot.draining = slot.draining || slot.active;
    return;
  }
  account_busy();
  const Duration now = clock_.now();
  for (Slot& slot : slots_) {
    if (!slot.active || slot.paused) continue;
    slot.paused = true;
    slot.remaining = slot.ends_at - now;
    ++slot.ticket;
    --generating_;
  }
}

void Sampler::load_finished(int version) {
  if (!loading_) return;
  loading_ = false;
  served_version_ = version;
  account_busy();
  const Duration now = clock_.now();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (!slot.active || !slot.paused) continue;
    slot.paused = false;
    slot.ends_at = now + slot.remaining;
    ++generating_;
    schedule_completion(static_cast<int>(i));
  }
  fill();
}

}  // namespace weightsync::sim
