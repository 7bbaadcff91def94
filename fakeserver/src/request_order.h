// The order in which the server routes requests that are ready at the same time. Internal to
// fakeserver/src (fake_server.cc uses it; kept apart from Beast so it is cheap to test).
//
// Under load hundreds of sampling requests can be parsed and waiting to be routed at once; a
// hotload POST or a status poll from the trainer should not wait behind all of them. So the
// server does not route a request as soon as it is parsed: it queues the routing here, and a
// few runners take it out control requests first, then sampling requests, oldest first within
// a class; but never more than kControlInARow control requests in a row while a sampling request
// waits, so that clients that only poll cannot starve completions. A runner runs one task and then yields to the event loop, so the requests whose bytes
// have arrived meanwhile are parsed and queued (and may overtake) before the next is taken.
// Only the order between connections changes: a connection reads its next request only after
// answering the last, so its own answers keep their order, and every queued task runs.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>

namespace weightsync::fake::detail {

// Earlier classes are served first.
enum class RequestClass { control = 0, sampling = 1 };
inline constexpr std::size_t kRequestClasses = 2;
inline constexpr int kControlInARow = 16;

// Sampling is a POST under /inference/ (completions); everything else (hotload POST and status,
// deployments, trainer jobs, the /_fake control API, /metrics, wrong methods) is control.
RequestClass classify_request(std::string_view method, std::string_view target);

// The queued tasks. Thread-safe.
class ReadyQueue {
 public:
  // At most `runners` runners at once (the server uses one per event-loop thread); at least 1.
  explicit ReadyQueue(int runners);

  // Queues `task`. True if the caller must start a runner (fewer than `runners` are running);
  // the started runner counts as running from then on.
  bool push(RequestClass request_class, std::function<void()> task);

  // For a running runner: the next task (control before sampling, oldest first, at most
  // kControlInARow control tasks while a sampling one waits), or an empty function if there is
  // none, after which the runner has stopped and must not call again.
  std::function<void()> next();

  // For a running runner that has just run a task: true if the queue is empty, after which the
  // runner has stopped (so an idle server does not go round the event loop once more per task).
  bool stop_if_empty();

  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::array<std::deque<std::function<void()>>, kRequestClasses> tasks_;
  int max_runners_;
  int running_ = 0;
  int control_in_a_row_ = 0;
};

}  // namespace weightsync::fake::detail
