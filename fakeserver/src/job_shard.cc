// Parsing "K/N".
#include "weightsync/fake/job_shard.h"

#include <charconv>

#include "weightsync/errors.h"

namespace weightsync::fake {
namespace {

constexpr int kMaxShards = 1000000;

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

JobShard parse_job_shard(std::string_view text, std::string_view what) {
  const std::string seen = "'" + std::string(text) + "'";
  const auto slash = text.find('/');
  JobShard shard;
  if (slash == std::string_view::npos || !parse_int(text.substr(0, slash), shard.index) ||
      !parse_int(text.substr(slash + 1), shard.count)) {
    throw InvalidArgument(std::string(what) +
                          ": expected K/N (task K of N, from 0, e.g. 0/4), got " + seen);
  }
  if (shard.count < 1 || shard.count > kMaxShards) {
    throw InvalidArgument(std::string(what) + ": expected N in 1.." + std::to_string(kMaxShards) +
                          " in K/N, got " + seen);
  }
  if (shard.index < 0 || shard.index >= shard.count) {
    throw InvalidArgument(std::string(what) + ": expected K in 0.." +
                          std::to_string(shard.count - 1) + " in K/N (tasks count from 0), got " +
                          seen);
  }
  return shard;
}

}  // namespace weightsync::fake
