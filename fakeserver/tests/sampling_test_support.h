// The request body the reference DeploymentSampler sends, shared by the sampling tests.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_test_support.h"

namespace weightsync::fake::testing {

// The body the reference DeploymentSampler posts for one rollout (n = 1, streamed, full
// distribution), plus `extra` fields.
inline nlohmann::json sampler_body(const std::string& deployment_id, std::vector<int> prompt,
                                   int max_tokens,
                                   const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json body = {{"model", deployment_name(kAccount, deployment_id)},
                         {"prompt", std::move(prompt)},
                         {"n", 1},
                         {"max_tokens", max_tokens},
                         {"temperature", 1.0},
                         {"stream", true},
                         {"perf_metrics_in_response", true},
                         {"raw_output", true},
                         {"top_p", 1.0},
                         {"top_k", 0}};
  body.update(extra);
  return body;
}

}  // namespace weightsync::fake::testing
