// The run's fault decisions: one seeded stream, a count per fault kind. A fault with
// probability 0 draws nothing, so turning one fault on does not reshuffle the others' absence.
// Internal to the simulator.
#pragma once

#include <map>
#include <string>

#include "weightsync/fake/random.h"

namespace weightsync::sim {

class FaultDice {
 public:
  explicit FaultDice(std::uint64_t seed) : random_(seed) {}
  bool roll(const std::string& kind, double probability) {
    if (probability <= 0 || !random_.chance(probability)) return false;
    ++injected_[kind];
    return true;
  }
  const std::map<std::string, std::int64_t>& injected() const { return injected_; }

 private:
  fake::Random random_;
  std::map<std::string, std::int64_t> injected_;
};

}  // namespace weightsync::sim
