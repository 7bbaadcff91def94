// Watching the wire for the moments the rollout model cares about.
#include "deployment_observer.h"

#include "weightsync/wire.h"

namespace weightsync::sim {

HttpResponse DeploymentObserver::exchange(const HttpRequest& request) {
  ++requests_;
  if (request.method == "POST" && request.path == kCompletionsPath) {
    clock_.sleep_for(warmup_latency_);
  }
  HttpResponse response = inner_.exchange(request);
  if (!sampler_ || request.path != kHotloadPath) return response;
  if (request.method == "POST" && response.status >= 200 && response.status < 300) {
    sampler_->load_started();
  } else if (request.method == "GET" && response.status == 200 && sampler_->loading()) {
    if (const std::optional<int> version = settled_()) sampler_->load_finished(*version);
  }
  return response;
}

}  // namespace weightsync::sim
