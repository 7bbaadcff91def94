// SystemClock: steady time and real sleeping.
#include "weightsync/clock.h"

#include <thread>

namespace weightsync {

Duration SystemClock::now() const {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch());
}

void SystemClock::sleep_for(Duration d) {
  if (d > Duration::zero()) std::this_thread::sleep_for(d);
}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace weightsync
