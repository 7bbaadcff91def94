// DeploymentObserver: a Transport between the DeploymentManager's retries and the fake's
// in-process transport. It tells the Sampler when a hotload was accepted and when the replicas
// stopped loading (as the status polls the library makes report it), adds the warmup latency to
// completions, and counts exchanges. It changes no request or response.
// Internal to the simulator. Thread-safety: none.
#pragma once

#include <functional>
#include <optional>

#include "weightsync/sim/sampler.h"
#include "weightsync/transport.h"

namespace weightsync::sim {

class DeploymentObserver final : public Transport {
 public:
  // After a status poll, `settled` says whether every replica is done loading and, if so, the
  // policy version the deployment serves (the oldest over its replicas).
  using Settled = std::function<std::optional<int>()>;

  DeploymentObserver(Transport& inner, Clock& clock, Duration warmup_latency, Settled settled)
      : inner_(inner),
        clock_(clock),
        warmup_latency_(warmup_latency),
        settled_(std::move(settled)) {}

  HttpResponse exchange(const HttpRequest& request) override;
  void watch(Sampler* sampler) { sampler_ = sampler; }
  std::int64_t requests() const { return requests_; }

 private:
  Transport& inner_;
  Clock& clock_;
  Duration warmup_latency_;
  Settled settled_;
  Sampler* sampler_ = nullptr;
  std::int64_t requests_ = 0;
};

}  // namespace weightsync::sim
