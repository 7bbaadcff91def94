// Sampler: the rollout side of the RL loop as discrete events on the VirtualClock.
//
// Requests are routed over the replicas as a load balancer would (to the replica with the fewest
// live requests that has KV room for it); up to `concurrency` are in flight over all replicas.
// Each replica is one pool that decodes its live requests together: all advance by one token
// per step, and a step's time comes from the DecodeModel (constant, or batch-aware: weights +
// live KV cache read per step). Decode advances in closed form between events: the only event
// per pool is its next completion, rescheduled when the pool's batch changes, never one per
// token. A new request's prefill stalls its replica's decode for the prefill time.
//
// Every finished sample carries the policy version its replica served when it started and when
// it finished: a request that spans an ASYNC hotload pauses during its replica's load and
// resumes on the new weights (mixed); under SYNC it drains on the old weights. Replicas finish
// loading one by one (replica_loaded): a replica that is done serves, and takes new requests, on
// the new weights while the others still load; no request starts on a replica that is loading.
//
// Thread-safety: none; it lives on one VirtualClock.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <vector>

#include "weightsync/fake/random.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/distribution.h"
#include "weightsync/sim/virtual_clock.h"

namespace weightsync::sim {

struct Sample {
  int version_start = 0;  // policy version served when generation started
  int version_end = 0;    // ... and when it finished
  std::int64_t tokens = 0;
  std::int64_t prompt_tokens = 0;
  double decode_seconds = 0;  // from its first token (prefill done) to its last
  int replica = 0;
  bool mixed() const { return version_start != version_end; }
};

struct SamplerOptions {
  Distribution generation_tokens = Distribution::constant(1000);
  Distribution prompt_tokens = Distribution::constant(0);
  int concurrency = 1;  // over all replicas
  int replicas = 1;
  DecodeModel decode;       // default: constant 50 tokens/s per request
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
  // Replica `replica` finished its load and serves `version`: its paused requests resume on it
  // and it takes new requests, whatever the other replicas still do.
  void replica_loaded(int replica, int version);
  // The load is over everywhere (served or failed); replicas not yet reported loaded serve
  // `version`. Paused requests resume on it and new requests may start again.
  void load_finished(int version);
  bool loading() const { return loading_; }
  // The oldest version any replica serves.
  int served_version() const;

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
  struct Request {
    std::int64_t tokens = 0;
    std::int64_t prompt = 0;
    double start_g = 0;   // the pool's progress when it joined
    double finish_g = 0;  // ... when it has all its tokens
    int version_start = 0;
    bool active = false;
    bool draining = false;  // SYNC: finishes on the weights it started with
    Duration first_token_at{};
  };
  struct Due {
    double finish_g;
    std::uint64_t order;  // ties finish in the order they started
    int index;
    bool operator>(const Due& o) const {
      return finish_g != o.finish_g ? finish_g > o.finish_g : order > o.order;
    }
  };
  // One replica: its live requests advance together; `g` counts the tokens every live request
  // has generated since the pool began.
  struct Pool {
    std::vector<Request> requests;
    std::vector<int> free;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
    int live = 0;
    double g = 0;
    double kv_base = 0;      // sum of (prompt - start_g): live KV tokens = kv_base + live * g
    double kv_reserved = 0;  // sum of (prompt + tokens) of the live requests
    Duration updated_at{};
    Duration stall_until{};  // prefill: decode resumes then
    Duration stall_left{};   // while paused
    bool paused = false;
    bool loading = false;
    int version = 0;  // the policy version the replica serves
    std::uint64_t ticket = 0;  // completion events under an older ticket are void
    double scheduled_g = 0;    // the progress the pending completion event stands for
    // The overlapped output process (DecodeModel::output_s_per_token > 0): tokens generated
    // since it last took work on, when it is done with what it has, and the finished requests
    // it has yet to deliver, in order.
    double output_pending_tokens = 0;
    Duration output_free{};
    std::deque<Sample> outbox;
  };
  struct Drawn {
    std::int64_t tokens = 0;
    std::int64_t prompt = 0;
  };

  void fill();
  int pick_pool(const Drawn& drawn) const;
  void start(int pool, const Drawn& drawn);
  void advance(Pool& pool);
  void schedule(int pool);
  void complete(int pool, std::uint64_t ticket);
  void finish(Pool& pool, int index);
  void move_to(Pool& pool, double g);
  void deliver(Pool& pool, Sample sample);
  double rate_a(const Pool& pool) const;
  void account_busy();
  void resume(int pool);

  VirtualClock& clock_;
  fake::Random random_;
  SamplerOptions options_;
  std::vector<Pool> pools_;
  std::optional<Drawn> next_;  // drawn but waiting for KV room
  std::deque<Sample> finished_;
  bool loading_ = false;
  std::int64_t admitted_ = 0;
  std::int64_t started_ = 0;
  std::int64_t mixed_ = 0;
  std::uint64_t order_ = 0;
  int in_flight_ = 0;
  int generating_ = 0;
  Duration busy_since_{};
  double busy_slot_seconds_ = 0;
};

}  // namespace weightsync::sim
