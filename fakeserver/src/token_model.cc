// The fake language model: next-token logits hashed from (weights checksum, context), then the
// usual sampling cuts. Cheap (one hash per vocabulary entry), deterministic on every toolchain
// up to libm rounding, and sensitive to every byte of the weights through their checksum.
#include <algorithm>
#include <cmath>

#include "weightsync/fake/sampling.h"

namespace weightsync::fake {
namespace {

std::uint64_t mix(std::uint64_t x) {
  return splitmix64(x);
}

double unit(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// Logits in [0, 6), the end-of-sequence token drawn like any other: at temperature 1 a
// completion ends on its own after about kVocabulary tokens on average.
std::vector<double> logits(std::uint32_t weights_checksum, std::uint64_t context) {
  const std::uint64_t base = mix(context ^ (std::uint64_t{weights_checksum} << 17));
  std::vector<double> out(kVocabulary);
  for (int j = 0; j < kVocabulary; ++j) {
    out[static_cast<std::size_t>(j)] = 6.0 * unit(mix(base + static_cast<std::uint64_t>(j)));
  }
  return out;
}

double log_sum_exp(const std::vector<double>& values, const std::vector<int>& keep, double scale) {
  double best = -INFINITY;
  for (const int j : keep) best = std::max(best, values[static_cast<std::size_t>(j)] * scale);
  double sum = 0;
  for (const int j : keep) sum += std::exp(values[static_cast<std::size_t>(j)] * scale - best);
  return best + std::log(sum);
}

}  // namespace

std::uint64_t extend_context(std::uint64_t context, int token) {
  std::uint64_t state = context * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(token) + 1;
  return mix(state);
}

std::uint64_t prompt_context(const std::vector<int>& prompt) {
  std::uint64_t context = 0x70726f6d7074ULL;  // "prompt"
  for (const int token : prompt) context = extend_context(context, token);
  return context;
}

std::string token_text(int token) {
  return token == kEndOfSequence ? "" : " t" + std::to_string(token);
}

TokenDraw draw_token(std::uint32_t weights_checksum, std::uint64_t context,
                     const SamplingRequest& request, double uniform, int top_alternatives) {
  const std::vector<double> l = logits(weights_checksum, context);
  // Highest logit first, ties by token: a total order, so the ranking is unique. Sorting the
  // (logit, token) pairs themselves spares the comparisons a lookup into `l` each.
  struct Ranked {
    double logit;
    int token;
  };
  std::vector<Ranked> ranked(kVocabulary);
  for (int j = 0; j < kVocabulary; ++j) {
    ranked[static_cast<std::size_t>(j)] = Ranked{l[static_cast<std::size_t>(j)], j};
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.token < b.token;
  });
  std::vector<int> order(kVocabulary);
  for (int i = 0; i < kVocabulary; ++i) {
    order[static_cast<std::size_t>(i)] = ranked[static_cast<std::size_t>(i)].token;
  }
  const double raw_norm = log_sum_exp(l, order, 1.0);
  const auto raw_logprob = [&](int j) { return l[static_cast<std::size_t>(j)] - raw_norm; };

  TokenDraw draw;
  for (int i = 0; i < std::min(top_alternatives, kVocabulary); ++i) {
    draw.top.emplace_back(order[static_cast<std::size_t>(i)],
                          raw_logprob(order[static_cast<std::size_t>(i)]));
  }
  // Greedy (the distribution is a point mass) at temperature 0, and below 1e-4, where dividing
  // the logits would overflow long before the draw could differ from greedy.
  if (request.temperature < 1e-4) {
    draw.token = order.front();
    draw.logprob = raw_logprob(draw.token);
    draw.sampling_logprob = 0;
    return draw;
  }
  // Temperature, then top-k, then top-p over what is left, as serving stacks apply them.
  const double scale = 1.0 / request.temperature;
  std::vector<int> keep = order;
  if (request.top_k > 0 && request.top_k < kVocabulary) {
    keep.resize(static_cast<std::size_t>(request.top_k));
  }
  double norm = log_sum_exp(l, keep, scale);
  if (request.top_p < 1.0) {
    double mass = 0;
    std::size_t kept = 0;
    while (kept < keep.size() && (kept == 0 || mass < request.top_p)) {
      mass += std::exp(l[static_cast<std::size_t>(keep[kept])] * scale - norm);
      ++kept;
    }
    keep.resize(kept);
    norm = log_sum_exp(l, keep, scale);
  }
  double cumulative = 0;
  draw.token = keep.back();
  for (const int j : keep) {
    cumulative += std::exp(l[static_cast<std::size_t>(j)] * scale - norm);
    if (uniform < cumulative) {
      draw.token = j;
      break;
    }
  }
  draw.logprob = raw_logprob(draw.token);
  draw.sampling_logprob = l[static_cast<std::size_t>(draw.token)] * scale - norm;
  return draw;
}

}  // namespace weightsync::fake
