// Watching the wire for the moments the rollout model cares about.
#include "deployment_observer.h"

#include <algorithm>

#include "weightsync/wire.h"

namespace weightsync::sim {
namespace {

bool in_flight(const ReplicaStatus& replica) {
  const std::string& stage = replica.loading_state.stage;
  return stage == "pending" || stage == "downloading" || stage == "preparing" || stage == "loading";
}

}  // namespace

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
    const HotloadStatus status = decode_hotload_status(response.body);
    if (status.replicas.empty() ||
        std::any_of(status.replicas.begin(), status.replicas.end(), in_flight)) {
      return response;
    }
    int version = sampler_->served_version();
    bool first = true;
    for (const auto& replica : status.replicas) {
      const int v = book_.version_of(replica.current_snapshot_identity, sampler_->served_version());
      version = first ? v : std::min(version, v);
      first = false;
    }
    sampler_->load_finished(version);
  }
  return response;
}

}  // namespace weightsync::sim
