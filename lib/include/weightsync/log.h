// Logging hook: the library reports what it does through one sink the user can replace.
//
// Thread-safety: set_log_sink and set_log_level may be called at any time from any thread.
// The sink is called from whichever thread logs, with no lock of the library held, so:
//   - it must be thread-safe: two threads may call it at once;
//   - it may itself call log(), set_log_sink() or set_log_level() without deadlocking (a sink
//     that logs from inside itself must stop somewhere, or it recurses forever);
//   - a sink that set_log_sink() replaced may still be finishing a call that began before the
//     replacement, on another thread: what it captures must outlive those calls.
// A message below the level is never built when it is passed as a callable (the overload
// below); pass a plain string only when it costs nothing to make.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace weightsync {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

std::string_view to_string(LogLevel level);

using LogSink = std::function<void(LogLevel, std::string_view message)>;

// Replaces the sink; an empty function restores the default (stderr).
void set_log_sink(LogSink sink);
// Messages below `level` never reach the sink. Default: warning.
void set_log_level(LogLevel level);
LogLevel log_level();
// True when a message at `level` would reach the sink.
bool log_enabled(LogLevel level);

void log(LogLevel level, std::string_view message);

// Calls `make_message` (returning the text) only when `level` is enabled, so a message below
// the level costs one comparison: log(LogLevel::debug, [&] { return method + " " + path; }).
template <typename MakeMessage>
requires std::is_invocable_r_v<std::string, MakeMessage&>
void log(LogLevel level, MakeMessage&& make_message) {
  if (!log_enabled(level)) return;
  const std::string message = make_message();
  log(level, std::string_view(message));
}

}  // namespace weightsync
