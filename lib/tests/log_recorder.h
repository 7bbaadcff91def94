// LogRecorder: while alive, the library's log goes to memory at debug level, so tests stay quiet
// and can assert on warnings; the default sink and level come back on destruction.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weightsync/log.h"

namespace weightsync::testing {

class LogRecorder {
 public:
  LogRecorder() : saved_level_(log_level()) {
    set_log_level(LogLevel::debug);
    set_log_sink([this](LogLevel level, std::string_view message) {
      lines_.emplace_back(level, std::string(message));
    });
  }
  ~LogRecorder() {
    set_log_sink({});
    set_log_level(saved_level_);
  }
  LogRecorder(const LogRecorder&) = delete;
  LogRecorder& operator=(const LogRecorder&) = delete;

  // True if some line at `level` or above contains `text`.
  bool contains(LogLevel level, std::string_view text) const {
    for (const auto& [l, line] : lines_) {
      if (l >= level && line.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  LogLevel saved_level_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

}  // namespace weightsync::testing
