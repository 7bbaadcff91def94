// Runs a property with the suite's case budget: WS_PROPERTY_CASES=N (default: a CI-sized
// number), or everything RC_PARAMS says when it is set (e.g. to replay a reported failure).
#pragma once

#include <rapidcheck.h>

#include <cstdlib>
#include <string>

namespace weightsync::props {

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
