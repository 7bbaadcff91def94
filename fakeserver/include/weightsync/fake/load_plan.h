// A replica's load as planned when it starts, and the load model: how a caller (the simulator)
// sets each load's duration and learns each load's outcome, around the fault plan's decisions.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "weightsync/clock.h"

namespace weightsync::fake {

// One replica's load as planned at its start.
struct LoadPlan {
  std::string deployment;  // accounts/{a}/deployments/{id}
  int replica = 0;
  std::string identity;
  Duration duration{};                   // total time from start to done
  std::optional<std::string> fail_with;  // ends in `error` with this message
  bool stuck = false;                    // never finishes
  bool delta = false;                    // the load applies a delta (it carries metadata)
  // The delta is applied to bytes that differ from what the replica serves under the parent's
  // name, so the rebuilt weights fail their checksum (a parent the replica does not really hold).
  bool corrupt_parent = false;
  // The fault plan restarts the replica this long into the load (replica_restart); the restart
  // happens when the fake next advances to that time.
  std::optional<Duration> restart_after;
};

// Set with FakeCloud::set_load_model. Both run under FakeCloud's lock and must not call back
// into it; either may be empty.
struct LoadModel {
  // Before the fault plan decides: may set the load's duration (a slow download then scales it).
  std::function<void(LoadPlan&)> plan;
  // After the fault plan decided: sees the load's outcome.
  std::function<void(const LoadPlan&)> planned;
};

}  // namespace weightsync::fake
