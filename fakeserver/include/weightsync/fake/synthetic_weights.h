// Synthetic bf16 weights and the sparse few-ULP updates an RL step makes to them, shared by the
// fake trainer and the codec measurements. Weights are bytes: little-endian bf16 pairs.
#pragma once

#include <cstddef>

#include "weightsync/fake/delta_codec.h"
#include "weightsync/fake/random.h"

namespace weightsync::fake {

// `params` bf16 values of magnitude around 0.01-1 with random signs, drawn from `random`.
Bytes random_bf16_weights(std::size_t params, Random& random);

// Changes round(fraction * params) randomly chosen parameters (chosen with replacement, so a
// few may repeat) by 1 to 3 units in the last place, up or down. Returns how many it touched.
std::size_t perturb_bf16_weights(Bytes& weights, double fraction, Random& random);

}  // namespace weightsync::fake
