// FaultInjector: runs a FaultPlan inside a CloudModel. The model calls it at every opportunity
// (a request, a hotload POST, a replica's load start, a prompt-cache reset, a completion) and
// whenever it advances to the clock (timed and scheduled faults fire then, at their own time:
// docs/DESIGN.md section 4, "Time without threads"). Every random decision comes from one generator
// seeded once, and every fault that fires is appended to the log, so a plan and a seed replay
// exactly.
//
// Thread-safety: none; it lives inside CloudModel, under FakeCloud's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/load_plan.h"
#include "weightsync/fake/random.h"
#include "weightsync/fake/transport_faults.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

class CloudModel;

class FaultInjector {
 public:
  FaultInjector(FaultPlan plan, std::uint64_t seed, Clock& clock);

  // A request before routing: decides its transport faults. Returns an answer to give instead
  // when the connection is to be cut before the request takes effect.
  std::optional<HttpResponse> on_request(const HttpRequest& request);
  // The answer to that request: marks the transport faults decided for it.
  void on_response(HttpResponse& response);
  // A valid hotload POST: environment faults (re-attach, stale bucket, ...) act first, then a
  // rejection or a lost answer may be decided.
  std::optional<HttpResponse> on_hotload(CloudModel& model, const std::string& deployment,
                                         const HotloadRequest& request);
  void on_load_start(LoadPlan& plan);
  // False: skip the reset.
  bool on_prompt_cache_reset(const std::string& deployment, int replica);
  std::optional<int> on_completion(const std::string& deployment);
  // A trainer's sampler save (its job name): true if save_failure fires.
  bool on_save(const std::string& trainer_job);
  // Appends an entry while the plan runs and returns its index. A count entry's `after` grows by
  // the matching opportunities that already went by (those no earlier entry took), and a timed
  // entry's time counts from now, so plan() replayed from the start fires the entry exactly
  // where it fired here. Probability entries would shift the random stream and are refused, as
  // are transport faults filtered by path (InvalidArgument).
  std::size_t add(FaultSpec spec);
  // A deployment is created: a failure message (deployment_failed), or nothing.
  std::optional<std::string> on_deployment_created(const std::string& deployment);
  // Fires every timed or scheduled fault due by `now`, each at its own time.
  void advance(CloudModel& model, Duration now);

  const FaultPlan& plan() const { return plan_; }
  std::uint64_t seed() const { return seed_; }
  const std::vector<FaultEvent>& log() const { return log_; }
  // How many faults of each kind fired.
  const std::map<std::string, std::uint64_t>& fired() const { return fired_; }

 private:
  struct Opportunity {
    std::string deployment;
    int replica = -1;
    std::string method;
    std::string path;
    std::string trainer;
    std::string target;  // for the log
  };
  // An opportunity no entry took, as add() matches it (transport faults without their path).
  using Passed = std::tuple<FaultKind, std::string, int, std::string, std::string>;
  struct Pending {  // a timed entry or a scheduled consequence, due at `due`
    Duration due{};
    std::uint64_t order = 0;
    std::size_t entry = 0;
    std::string deployment;
    int replica = -1;
  };

  // The first entry of `kind` that fires at this opportunity (and logs it), or none.
  std::optional<std::size_t> fire(FaultKind kind, const Opportunity& at, const std::string& detail);
  bool matches(const FaultSpec& spec, const Opportunity& at) const;
  void record(std::size_t entry, std::string trigger, std::string target, std::string detail,
              Duration when);
  // Performs an environment fault; returns what it did (or why it could not).
  std::string act(CloudModel& model, const FaultSpec& spec, const std::string& deployment,
                  int replica, Duration when);
  void environment_faults(CloudModel& model, const std::string& deployment);

  FaultPlan plan_;
  std::uint64_t seed_;
  Clock& clock_;
  Duration installed_at_;
  Random random_;
  std::vector<int> seen_;  // matching opportunities per entry
  std::vector<int> fired_count_;
  std::vector<Pending> pending_;
  std::uint64_t pending_order_ = 0;
  bool advancing_ = false;
  std::vector<FaultEvent> log_;
  std::map<std::string, std::uint64_t> fired_;
  std::map<Passed, int> passed_;  // how often each opportunity went by with no fault
  // Per exchange (all under the one lock): the transport fault decided for the current request,
  // and an identity whose download is to find nothing (stale bucket, wrong-bucket variant).
  TransportFault transport_;
  std::optional<std::pair<std::string, std::string>> missing_;  // deployment, identity
};

}  // namespace weightsync::fake
