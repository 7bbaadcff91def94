// Our own transforms from uniform bits to the distributions scenarios use.
#include "weightsync/sim/distribution.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace weightsync::sim {

std::string_view to_string(DistributionKind kind) {
  switch (kind) {
    case DistributionKind::constant:
      return "constant";
    case DistributionKind::uniform:
      return "uniform";
    case DistributionKind::normal:
      return "normal";
    case DistributionKind::lognormal:
      return "lognormal";
    case DistributionKind::exponential:
      return "exponential";
    case DistributionKind::pareto:
      return "pareto";
  }
  return "unknown";
}

double unit_open(fake::Random& random) {
  return (static_cast<double>(random.next() >> 11) + 0.5) * 0x1.0p-53;
}

double standard_normal(fake::Random& random) {
  const double u1 = unit_open(random);
  const double u2 = unit_open(random);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Distribution::sample(fake::Random& random) const {
  double x = 0;
  switch (kind) {
    case DistributionKind::constant:
      x = p1;
      break;
    case DistributionKind::uniform:
      x = p1 + (p2 - p1) * unit_open(random);
      break;
    case DistributionKind::normal:
      x = p1 + p2 * standard_normal(random);
      break;
    case DistributionKind::lognormal:
      x = p1 * std::exp(p2 * standard_normal(random));
      break;
    case DistributionKind::exponential:
      x = -p1 * std::log(unit_open(random));
      break;
    case DistributionKind::pareto:
      // Inverse CDF: P(X > x) = (scale / x)^shape.
      x = p1 / std::pow(unit_open(random), 1.0 / p2);
      break;
  }
  return std::clamp(x, min, max);
}

double Distribution::mean() const {
  switch (kind) {
    case DistributionKind::constant:
      return p1;
    case DistributionKind::uniform:
      return (p1 + p2) / 2;
    case DistributionKind::normal:
      return p1;
    case DistributionKind::lognormal:
      return p1 * std::exp(p2 * p2 / 2);
    case DistributionKind::exponential:
      return p1;
    case DistributionKind::pareto:
      return p2 <= 1 ? std::numeric_limits<double>::infinity() : p2 * p1 / (p2 - 1);
  }
  return 0;
}

}  // namespace weightsync::sim
