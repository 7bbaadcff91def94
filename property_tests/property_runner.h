// Runs a property with the suite's case budget: WS_PROPERTY_CASES=N (default: a CI-sized
// number), or everything RC_PARAMS says when it is set (e.g. to replay a reported failure).
// WS_PROPERTY_SHARD=K/N (a job array's task K of N) runs the cases from seed
// WS_PROPERTY_SEED + K (default base 1), so N tasks explore N disjoint seeds; another array
// takes another base, at least N away.
#pragma once

#include <rapidcheck.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "weightsync/errors.h"
#include "weightsync/fake/job_shard.h"

namespace weightsync::props {

// The seed of this job array task, from WS_PROPERTY_SHARD and WS_PROPERTY_SEED; nothing when
// WS_PROPERTY_SHARD is unset. Throws InvalidArgument for a malformed value.
inline std::optional<std::uint64_t> shard_seed() {
  const char* shard_text = std::getenv("WS_PROPERTY_SHARD");
  if (!shard_text) return std::nullopt;
  const fake::JobShard shard = fake::parse_job_shard(shard_text, "WS_PROPERTY_SHARD");
  std::uint64_t base = 1;
  if (const char* seed_text = std::getenv("WS_PROPERTY_SEED")) {
    const std::string_view text(seed_text);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      throw InvalidArgument("WS_PROPERTY_SEED: expected an unsigned 64-bit integer, got '" +
                            std::string(text) + "'");
    }
  }
  return base + static_cast<std::uint64_t>(shard.index);
}

struct PropertyOutcome {
  bool passed = false;
  std::string message;  // RapidCheck's report, with the seed and how to replay it
};

template <typename Testable>
PropertyOutcome run_property(const std::string& id, int default_cases, int max_size,
                             Testable&& testable) {
  rc::detail::TestMetadata metadata{id, id};
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  if (!std::getenv("RC_PARAMS")) {
    const char* cases = std::getenv("WS_PROPERTY_CASES");
    params.maxSuccess = cases ? std::atoi(cases) : default_cases;
    params.maxSize = max_size;
    if (const auto seed = shard_seed()) {
      params.seed = *seed;
      std::cout << id << ": WS_PROPERTY_SHARD=" << std::getenv("WS_PROPERTY_SHARD") << ", seed "
                << *seed << ", " << params.maxSuccess << " cases" << std::endl;
    }
  }
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  PropertyOutcome outcome;
  outcome.passed = result.template is<rc::detail::SuccessResult>();
  std::ostringstream out;
  rc::detail::printResultMessage(result, out);
  out << "\nseed " << params.seed << "; replay with RC_PARAMS=\"seed=" << params.seed
      << " max_success=" << params.maxSuccess << " max_size=" << params.maxSize << "\" ctest -R "
      << id << " (or see the reproduce string above)";
  outcome.message = out.str();
  return outcome;
}

}  // namespace weightsync::props
