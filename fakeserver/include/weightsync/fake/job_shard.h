// JobShard: one task's share of work split over a job array (a Slurm array task, a Kubernetes
// indexed Job's pod), written "K/N": task K of N, counting from 0 as both schedulers do. The
// simulator's sweeps and the property suite use it to give every task a disjoint part.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weightsync::fake {

struct JobShard {
  int index = 0;  // K, 0 <= K < count
  int count = 1;  // N >= 1
  // Whether the item at `position` of an ordered list of work is this shard's: round robin,
  // so neighbouring items (often of similar cost) spread over the tasks.
  bool owns(std::size_t position) const {
    return position % static_cast<std::size_t>(count) == static_cast<std::size_t>(index);
  }
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// Parses "K/N" with 0 <= K < N <= 1,000,000. Throws weightsync::InvalidArgument naming `what`
// (e.g. "--shard"), the expected form and what was given.
JobShard parse_job_shard(std::string_view text, std::string_view what);

}  // namespace weightsync::fake
