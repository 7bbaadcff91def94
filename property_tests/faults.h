// Faults the property tests switch on and off: counters consulted by the fake deployment's
// hooks (docs/SPEC.md section 6) and by the transport wrapper (answers lost after the server
// acted).
#pragma once

#include <string>

#include "weightsync/fake/fault_hooks.h"

namespace weightsync::props {

struct Faults {
  bool enabled = true;
  int reject_posts = 0;  // the next N hotload POSTs are answered with reject_status
  int reject_status = 503;
  int lose_post_answers = 0;  // the next N hotload POSTs reach the server but answer nothing
  int failing_loads = 0;      // the next N loads (on failing_replica, -1: all) end in error
  int failing_replica = -1;
  int stuck_loads = 0;         // the next N loads never finish
  int warmup_unavailable = 0;  // the next N completions answer 503
  bool skip_cache_reset = false;

  void clear() { *this = Faults{}; }
  bool consume(int& counter);
  // Hooks for the fake deployment; they read this object, which must outlive them.
  fake::FaultHooks hooks();
  std::string describe() const;
};

}  // namespace weightsync::props
