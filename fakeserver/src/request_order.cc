#include "request_order.h"

#include <algorithm>

namespace weightsync::fake::detail {

RequestClass classify_request(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (method == "POST" && path.starts_with("/inference/")) return RequestClass::sampling;
  return RequestClass::control;
}

ReadyQueue::ReadyQueue(int runners) : max_runners_(std::max(1, runners)) {}

bool ReadyQueue::push(RequestClass request_class, std::function<void()> task) {
  std::lock_guard lock(mutex_);
  tasks_[static_cast<std::size_t>(request_class)].push_back(std::move(task));
  if (running_ >= max_runners_) return false;
  ++running_;
  return true;
}

std::function<void()> ReadyQueue::next() {
  std::lock_guard lock(mutex_);
  auto& control = tasks_[static_cast<std::size_t>(RequestClass::control)];
  auto& sampling = tasks_[static_cast<std::size_t>(RequestClass::sampling)];
  const auto take = [](std::deque<std::function<void()>>& queue) {
    std::function<void()> task = std::move(queue.front());
    queue.pop_front();
    return task;
  };
  if (!control.empty() && (sampling.empty() || control_in_a_row_ < kControlInARow)) {
    ++control_in_a_row_;
    return take(control);
  }
  control_in_a_row_ = 0;
  if (!sampling.empty()) return take(sampling);
  --running_;
  return {};
}

bool ReadyQueue::stop_if_empty() {
  std::lock_guard lock(mutex_);
  for (const auto& queue : tasks_) {
    if (!queue.empty()) return false;
  }
  --running_;
  return true;
}

std::size_t ReadyQueue::size() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& queue : tasks_) total += queue.size();
  return total;
}

}  // namespace weightsync::fake::detail
