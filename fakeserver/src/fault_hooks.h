// The points where the fake's own code (the fault plan's injector, the fake's tests) can bend the
// fake deployment. Private to the fake: outside it, faults are a fault plan (fault_plan.h). Every
// hook is optional: an empty std::function means "no fault". Hooks run under FakeCloud's lock
// and must not call back into it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/fake/cloud_model.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/load_plan.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::fake {

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

// Replaces the caller's hooks (they run before the fault plan): for the fake's own tests.
inline void set_fault_hooks(FakeCloud& cloud, FaultHooks hooks) {
  cloud.with_model([&](CloudModel& model) { model.hooks() = std::move(hooks); });
}

}  // namespace weightsync::fake
