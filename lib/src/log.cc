// The library's log sink: stderr at warning level unless the user installs their own.
#include "weightsync/log.h"

#include <atomic>
#include <iostream>
#include <mutex>

namespace weightsync {
namespace {

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

LogSink& current_sink() {
  static LogSink sink;
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
  std::lock_guard lock(sink_mutex());
  current_sink() = std::move(sink);
}

void set_log_level(LogLevel level) {
  current_level() = level;
}

LogLevel log_level() {
  return current_level();
}

void log(LogLevel level, std::string_view message) {
  if (level < current_level().load()) return;
  std::lock_guard lock(sink_mutex());
  if (current_sink()) {
    current_sink()(level, message);
  } else {
    std::cerr << "weightsync " << to_string(level) << ": " << message << '\n';
  }
}

}  // namespace weightsync
