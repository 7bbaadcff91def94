// Logging hook: the library reports what it does through one sink the user can replace.
//
// Thread-safety: set_log_sink and set_log_level may be called at any time from any thread;
// the sink itself is called from whichever thread logs, so it must be thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace weightsync {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

std::string_view to_string(LogLevel level);

using LogSink = std::function<void(LogLevel, std::string_view message)>;

// Replaces the sink; an empty function restores the default (stderr).
void set_log_sink(LogSink sink);
// Messages below `level` are dropped before formatting reaches the sink. Default: warning.
void set_log_level(LogLevel level);
LogLevel log_level();

void log(LogLevel level, std::string_view message);

}  // namespace weightsync
