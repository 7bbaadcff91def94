// The points where a fault plan can bend the fake deployment. Every hook is optional: an empty
// std::function means "no fault", so the fake behaves well until a test or plan says otherwise.
// Hooks run under FakeCloud's lock and must not call back into it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

// One replica's load as planned at its start; on_load_start may change it.
struct LoadPlan {
  std::string deployment;  // accounts/{a}/deployments/{id}
  int replica = 0;
  std::string identity;
  Duration duration{};                   // total time from start to done
  std::optional<std::string> fail_with;  // ends in `error` with this message
  bool stuck = false;                    // never finishes
  bool delta = false;                    // the load applies a delta (it carries metadata)
  // The delta is applied to bytes that differ from what the replica serves under the parent's
  // name, so the rebuilt weights fail their checksum (a parent the replica does not really hold).
  bool corrupt_parent = false;
};

struct FaultHooks {
  // Any request, before routing (after authentication): a response to answer instead.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> on_request;
  // A valid hotload POST for `deployment`: a response to reject it with, or nothing.
  std::function<std::optional<HttpResponse>(const std::string& deployment, const HotloadRequest&)>
      on_hotload;
  // A replica starts a load.
  std::function<void(LoadPlan&)> on_load_start;
  // A requested prompt-cache reset on a finished load: false skips it.
  std::function<bool(const std::string& deployment, int replica)> on_prompt_cache_reset;
  // A deployment is created: a message makes it FAILED instead of READY.
  std::function<std::optional<std::string>(const std::string& deployment)> on_deployment_created;
  // A completion that would answer 200: a status to answer instead (e.g. 503 during warmup).
  std::function<std::optional<int>(const std::string& deployment)> on_completion;
  // Any response to an authenticated request, after routing: may change it (e.g. add the
  // transport-fault headers of transport_faults.h).
  std::function<void(const HttpRequest&, HttpResponse&)> on_response;
};

}  // namespace weightsync::fake
