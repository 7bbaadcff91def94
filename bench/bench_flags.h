// Flags of our own beside Google Benchmark's (--steps=N, --seed=N): taken out of argv before
// benchmark::Initialize sees it, so an unknown flag is still reported as one.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weightsync::bench {

// Removes every `--name=VALUE` from argv and returns the last VALUE as an integer (nothing when
// absent). Throws std::invalid_argument for a value that is not a positive integer.
inline std::optional<std::int64_t> take_flag(int& argc, char** argv, std::string_view name) {
  const std::string prefix = "--" + std::string(name) + "=";
  std::optional<std::int64_t> value;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, prefix.size()) != prefix) {
      argv[kept++] = argv[i];
      continue;
    }
    const std::string text(arg.substr(prefix.size()));
    std::size_t used = 0;
    std::int64_t parsed = 0;
    try {
      parsed = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || parsed <= 0) {
      throw std::invalid_argument(prefix + text + ": expected a positive integer");
    }
    value = parsed;
  }
  argc = kept;
  argv[argc] = nullptr;
  return value;
}

}  // namespace weightsync::bench
