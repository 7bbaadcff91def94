// Longest cached prefix wins; hit counts survive only until the next reset.
#include "weightsync/fake/prompt_cache.h"

#include <algorithm>

namespace weightsync::fake {

std::size_t PromptCache::record(const std::vector<int>& prompt) {
  std::uint64_t* best_hits = nullptr;
  std::size_t best = 0;
  for (auto& [cached, count] : entries_) {
    if (cached.size() > prompt.size() || cached.size() <= best || cached.empty()) continue;
    if (std::equal(cached.begin(), cached.end(), prompt.begin())) {
      best = cached.size();
      best_hits = &count;
    }
  }
  if (best_hits) {
    ++*best_hits;
    ++hits_;
  }
  entries_.try_emplace(prompt, 0);
  return best;
}

}  // namespace weightsync::fake
