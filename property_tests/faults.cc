// The property tests' fault switches, wired into the fake deployment's hooks.
#include "faults.h"

#include "weightsync/internal/server_wire.h"
#include "weightsync/wire.h"

namespace weightsync::props {

bool Faults::consume(int& counter) {
  if (!enabled || counter <= 0) return false;
  --counter;
  return true;
}

fake::FaultHooks Faults::hooks() {
  fake::FaultHooks h;
  h.on_hotload = [this](const std::string&, const HotloadRequest&) -> std::optional<HttpResponse> {
    if (!consume(reject_posts)) return std::nullopt;
    return HttpResponse{reject_status, {}, encode_error(reject_status, "injected rejection")};
  };
  h.on_load_start = [this](fake::LoadPlan& plan) {
    if (failing_replica < 0 || plan.replica == failing_replica) {
      if (consume(failing_loads)) plan.fail_with = "injected load failure";
    }
    if (consume(stuck_loads)) plan.stuck = true;
  };
  h.on_prompt_cache_reset = [this](const std::string&, int) {
    return !(enabled && skip_cache_reset);
  };
  h.on_completion = [this](const std::string&) -> std::optional<int> {
    if (consume(warmup_unavailable)) return 503;
    return std::nullopt;
  };
  return h;
}

std::string Faults::describe() const {
  return "reject_posts=" + std::to_string(reject_posts) + "(" + std::to_string(reject_status) +
         ") lose_post_answers=" + std::to_string(lose_post_answers) +
         " failing_loads=" + std::to_string(failing_loads) + "@" + std::to_string(failing_replica) +
         " stuck_loads=" + std::to_string(stuck_loads) +
         " warmup_unavailable=" + std::to_string(warmup_unavailable) +
         (skip_cache_reset ? " skip_cache_reset" : "");
}

}  // namespace weightsync::props
