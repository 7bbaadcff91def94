// A replica's prompt (prefix) cache: completions add their prompts, a later prompt that starts
// with a cached one is a hit. Reset on request after a hotload so stale KV entries are not
// served with new weights. Thread-safety: none (guarded by FakeCloud's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace weightsync::fake {

class PromptCache {
 public:
  // Records a prompt; returns how many leading tokens were already cached (0: a miss).
  std::size_t record(const std::vector<int>& prompt);
  void clear() { entries_.clear(); }
  std::size_t entries() const { return entries_.size(); }
  std::uint64_t hits() const { return hits_; }

 private:
  std::map<std::vector<int>, std::uint64_t> entries_;  // prompt -> times it was a prefix hit
  std::uint64_t hits_ = 0;
};

}  // namespace weightsync::fake
