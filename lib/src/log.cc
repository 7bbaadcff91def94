// The library's log sink: stderr at warning level unless the user installs their own. The sink
// is shared, not guarded: log() takes a reference under a short lock and calls it unlocked.
#include "weightsync/log.h"

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <utility>

namespace weightsync {
namespace {

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

// Empty pointer: the default sink (stderr).
std::shared_ptr<const LogSink>& current_sink() {
  static std::shared_ptr<const LogSink> sink;
  return sink;
}

std::atomic<LogLevel>& current_level() {
  static std::atomic<LogLevel> level{LogLevel::warning};
  return level;
}

}  // namespace

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "unknown";
}

void set_log_sink(LogSink sink) {
  auto next = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
  std::shared_ptr<const LogSink> previous;  // released after the lock, in case it logs
  std::lock_guard lock(sink_mutex());
  previous = std::exchange(current_sink(), std::move(next));
}

void set_log_level(LogLevel level) {
  current_level() = level;
}

LogLevel log_level() {
  return current_level();
}

bool log_enabled(LogLevel level) {
  return level >= current_level().load();
}

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  std::shared_ptr<const LogSink> sink;
  {
    std::lock_guard lock(sink_mutex());
    sink = current_sink();
  }
  if (sink) {
    (*sink)(level, message);
  } else {
    std::cerr << "weightsync " << to_string(level) << ": " << message << '\n';
  }
}

}  // namespace weightsync
