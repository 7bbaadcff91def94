// Distributions of simulated quantities (step times, generation lengths), drawn from the fake
// world's seeded generator through our own transforms: standard-library distributions differ
// between toolchains, these do not (beyond the last-ulp behaviour of the libm functions used).
//
// Stateless apart from the generator passed in; safe to share between threads.
#pragma once

#include <limits>
#include <string>
#include <string_view>

#include "weightsync/fake/random.h"

namespace weightsync::sim {

enum class DistributionKind { constant, uniform, normal, lognormal, exponential, pareto };

std::string_view to_string(DistributionKind kind);

// One distribution with its parameters; every draw is clamped to [min, max].
//   constant:    value
//   uniform:     low, high
//   normal:      mean, stddev
//   lognormal:   median, sigma (of the underlying normal): long tails
//   exponential: mean
//   pareto:      scale (the minimum), shape (alpha > 0; alpha <= 2 has infinite variance)
struct Distribution {
  DistributionKind kind = DistributionKind::constant;
  double p1 = 0;  // value, low, mean, median, mean, scale (see above)
  double p2 = 0;  // -, high, stddev, sigma, -, shape
  double min = 0;
  double max = std::numeric_limits<double>::infinity();

  static Distribution constant(double value) {
    return Distribution{DistributionKind::constant, value, 0};
  }

  double sample(fake::Random& random) const;
  // The mean before clamping, for reports (infinite for pareto with shape <= 1).
  double mean() const;
};

// Uniform in the open interval (0, 1), 53-bit resolution.
double unit_open(fake::Random& random);
// Standard normal by the Box-Muller transform (one draw per call; the partner is discarded so
// a draw consumes a fixed number of generator outputs).
double standard_normal(fake::Random& random);

}  // namespace weightsync::sim
