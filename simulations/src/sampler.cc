// The rollout model: replicas as pools decoding their live requests together, routing, pauses
// and drains around hotloads. Decode advances in closed form between events.
#include "weightsync/sim/sampler.h"

#include <algorithm>
#include <cmath>

namespace weightsync::sim {
namespace {

constexpr int kPoolBits = 8;  // replicas are at most 64
constexpr double kTokenSlack = 1e-6;

}  // namespace

Sampler::Sampler(VirtualClock& clock, fake::Random random, SamplerOptions options,
                 int served_version)
    : clock_(clock),
      random_(random),
      options_(std::move(options)),
      pools_(static_cast<std::size_t>(std::max(options_.replicas, 1))),
      busy_since_(clock.now()) {
  for (Pool& pool : pools_) {
    pool.updated_at = clock.now();
    pool.stall_until = clock.now();
    pool.version = served_version;
  }
}

int Sampler::served_version() const {
  int oldest = pools_.front().version;
  for (const Pool& pool : pools_) oldest = std::min(oldest, pool.version);
  return oldest;
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

// Seconds per token of progress at the pool's current point: the step time.
double Sampler::rate_a(const Pool& pool) const {
  const DecodeModel& m = options_.decode;
  return m.step_base_s(pool.live) + m.kv_s_per_token() * (pool.kv_base + pool.live * pool.g);
}

// Progress since the last update. Between events the batch is fixed and the live KV grows by
// `live` tokens per step, so dt/dg = a + b g is linear in g: the progress in dt solves
// b/2 g^2 + a g = dt.
void Sampler::advance(Pool& pool) {
  const Duration now = clock_.now();
  if (!pool.paused && pool.live > 0) {
    const Duration from = std::max(pool.updated_at, pool.stall_until);
    if (now > from) {
      const double dt = to_seconds(now - from);
      const double a = rate_a(pool);
      const double b = options_.decode.kv_s_per_token() * pool.live;
      move_to(pool, pool.g + (b > 0 ? 2 * dt / (a + std::sqrt(a * a + 2 * b * dt)) : dt / a));
    }
  }
  pool.updated_at = now;
}

void Sampler::move_to(Pool& pool, double g) {
  pool.output_pending_tokens += pool.live * (g - pool.g);
  pool.g = g;
}

// Hands a finished request to the trainer. With an overlapped output process it arrives once
// that process has handled every token generated before it and its last step's outputs: the
// process is one server per replica, busy output_s_per_token per token.
void Sampler::deliver(Pool& pool, Sample sample) {
  const double per_token = options_.decode.output_s_per_token;
  const Duration now = clock_.now();
  if (per_token <= 0) {
    finished_.push_back(sample);
    return;
  }
  const Duration backlog = pool.output_free + seconds(per_token * pool.output_pending_tokens);
  pool.output_free = std::max(backlog, now + seconds(per_token * pool.live));
  pool.output_pending_tokens = 0;
  pool.outbox.push_back(sample);
  const auto index = static_cast<std::size_t>(&pool - pools_.data());
  clock_.schedule_at(pool.output_free, [this, index] {
    Pool& p = pools_[index];
    finished_.push_back(p.outbox.front());
    p.outbox.pop_front();
  });
}

void Sampler::schedule(int index) {
  Pool& pool = pools_[static_cast<std::size_t>(index)];
  ++pool.ticket;
  if (pool.paused || pool.due.empty()) return;
  const double target = pool.due.top().finish_g;
  const double dg = std::max(0.0, target - pool.g);
  const double a = rate_a(pool);
  const double b = options_.decode.kv_s_per_token() * pool.live;
  const Duration from = std::max(clock_.now(), pool.stall_until);
  pool.scheduled_g = target;
  // Pool and ticket packed in one word keep the capture within std::function's local buffer:
  // no allocation per event.
  const std::uint64_t key = (pool.ticket << kPoolBits) | static_cast<std::uint64_t>(index);
  clock_.schedule_at(from + seconds(a * dg + 0.5 * b * dg * dg), [this, key] {
    complete(static_cast<int>(key & ((std::uint64_t{1} << kPoolBits) - 1)), key >> kPoolBits);
  });
}

void Sampler::fill() {
  std::uint64_t touched = 0;
  while (started_ < admitted_ && in_flight_ < options_.concurrency) {
    if (!next_) {
      Drawn d;
      d.tokens =
          std::max<std::int64_t>(1, std::llround(options_.generation_tokens.sample(random_)));
      d.prompt = std::max<std::int64_t>(0, std::llround(options_.prompt_tokens.sample(random_)));
      next_ = d;
    }
    const int pool = pick_pool(*next_);
    if (pool < 0) break;  // no replica is serving with KV room: wait
    start(pool, *next_);
    next_.reset();
    touched |= std::uint64_t{1} << pool;
  }
  for (int i = 0; i < static_cast<int>(pools_.size()); ++i) {
    if (touched & (std::uint64_t{1} << i)) schedule(i);
  }
}

// The load balancer: the serving replica with the fewest live requests that has KV room (an
// empty replica always takes a request, however long); ties go to the lowest index.
int Sampler::pick_pool(const Drawn& drawn) const {
  int best = -1;
  for (int i = 0; i < static_cast<int>(pools_.size()); ++i) {
    const Pool& pool = pools_[static_cast<std::size_t>(i)];
    if (pool.loading) continue;
    const double need = static_cast<double>(drawn.prompt + drawn.tokens);
    if (pool.live > 0 && !options_.decode.fits(pool.kv_reserved, need)) continue;
    if (best < 0 || pool.live < pools_[static_cast<std::size_t>(best)].live) best = i;
  }
  return best;
}

void Sampler::start(int index, const Drawn& drawn) {
  Pool& pool = pools_[static_cast<std::size_t>(index)];
  account_busy();
  advance(pool);
  int slot;
  if (pool.free.empty()) {
    slot = static_cast<int>(pool.requests.size());
    pool.requests.emplace_back();
  } else {
    slot = pool.free.back();
    pool.free.pop_back();
  }
  Request& r = pool.requests[static_cast<std::size_t>(slot)];
  const Duration now = clock_.now();
  const bool headroom = pool.stall_until <= now;  // no other prefill in this step yet
  pool.stall_until =
      std::max(now, pool.stall_until) +
      seconds(options_.decode.prefill_s(pool.live, static_cast<double>(drawn.prompt), headroom));
  r.tokens = drawn.tokens;
  r.prompt = drawn.prompt;
  r.start_g = pool.g;
  r.finish_g = pool.g + static_cast<double>(drawn.tokens);
  r.version_start = pool.version;
  r.active = true;
  r.draining = false;
  r.first_token_at = pool.stall_until;
  pool.kv_base += static_cast<double>(r.prompt) - r.start_g;
  pool.kv_reserved += static_cast<double>(r.prompt + r.tokens);
  ++pool.live;
  pool.due.push(Due{r.finish_g, order_++, slot});
  ++started_;
  ++in_flight_;
  if (!pool.paused) ++generating_;
}

void Sampler::finish(Pool& pool, int slot) {
  Request& r = pool.requests[static_cast<std::size_t>(slot)];
  Sample sample;
  sample.version_start = r.version_start;
  sample.version_end = r.draining ? r.version_start : pool.version;
  sample.tokens = r.tokens;
  sample.prompt_tokens = r.prompt;
  sample.decode_seconds = to_seconds(clock_.now() - r.first_token_at);
  sample.replica = static_cast<int>(&pool - pools_.data());
  if (sample.mixed()) ++mixed_;
  deliver(pool, sample);
  pool.kv_base -= static_cast<double>(r.prompt) - r.start_g;
  pool.kv_reserved -= static_cast<double>(r.prompt + r.tokens);
  r.active = false;
  pool.free.push_back(slot);
  --pool.live;
  --in_flight_;
  --generating_;
  if (pool.live == 0) {  // start the pool's counters afresh: no drift
    pool.g = 0;
    pool.kv_base = 0;
    pool.kv_reserved = 0;
  }
}

void Sampler::complete(int index, std::uint64_t ticket) {
  Pool& pool = pools_[static_cast<std::size_t>(index)];
  if (pool.paused || pool.ticket != ticket) return;
  account_busy();
  move_to(pool, pool.scheduled_g);
  pool.updated_at = clock_.now();
  while (!pool.due.empty() && pool.due.top().finish_g <= pool.g + kTokenSlack) {
    const int slot = pool.due.top().index;
    pool.due.pop();
    finish(pool, slot);
  }
  fill();
  schedule(index);
}

void Sampler::load_started() {
  if (loading_) return;
  loading_ = true;
  account_busy();
  const Duration now = clock_.now();
  for (Pool& pool : pools_) {
    pool.loading = true;
    if (!options_.pause_during_load) {
      for (Request& r : pool.requests) r.draining = r.draining || r.active;
      continue;
    }
    if (pool.paused) continue;
    advance(pool);
    pool.stall_left = std::max(Duration::zero(), pool.stall_until - now);
    pool.paused = true;
    ++pool.ticket;
    generating_ -= pool.live;
  }
}

void Sampler::resume(int index) {
  Pool& pool = pools_[static_cast<std::size_t>(index)];
  pool.loading = false;
  if (!pool.paused) return;
  const Duration now = clock_.now();
  pool.paused = false;
  pool.updated_at = now;
  pool.stall_until = now + pool.stall_left;
  generating_ += pool.live;
  schedule(index);
}

void Sampler::replica_loaded(int replica, int version) {
  if (replica < 0 || replica >= static_cast<int>(pools_.size())) return;
  Pool& pool = pools_[static_cast<std::size_t>(replica)];
  if (!loading_ || !pool.loading) return;
  account_busy();
  pool.version = version;
  resume(replica);
  fill();
}

void Sampler::load_finished(int version) {
  if (!loading_) return;
  loading_ = false;
  account_busy();
  for (int i = 0; i < static_cast<int>(pools_.size()); ++i) {
    Pool& pool = pools_[static_cast<std::size_t>(i)];
    if (!pool.loading) continue;
    pool.version = version;
    resume(i);
  }
  fill();
}

}  // namespace weightsync::sim
