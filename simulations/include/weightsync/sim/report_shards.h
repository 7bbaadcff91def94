// Sharded reports: `weightsync-sim report --shard K/N` runs task K's share of the report's grid
// (every N-th run from run K, K from 0) and writes only DIR/report-shard.json: the report's
// inputs, the scenario as run, the figures of each of its runs that the report's tables and
// plots are computed from, and (shard 0) the calibration status. merge_report_shards joins the
// directories of all N shards and renders the report the unsharded `weightsync-sim report`
// writes, byte for byte, without running a simulation; it refuses shards of different reports,
// overlapping shards and missing shards or runs.
//
// Thread-safety: call from one thread; write_report_shard runs its share on `jobs` threads.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "weightsync/fake/job_shard.h"
#include "weightsync/sim/report.h"

namespace weightsync::sim {

inline constexpr const char* kReportShardFile = "report-shard.json";

// Runs the shard's share of the report's grid and writes options.out_dir/report-shard.json.
// Throws as write_report does for a bad scenario or a failed run; then nothing is written.
// Returns how many runs the shard ran.
std::size_t write_report_shard(const ReportOptions& options, const fake::JobShard& shard,
                               const std::function<void(std::size_t, std::size_t)>& progress);

// Whether `dir` holds a report shard (rather than a sweep shard).
bool is_report_shard(const std::filesystem::path& dir);

// Joins the directories of the N shards of one report (any order) and writes the report to
// out_dir with `gnuplot`. Throws std::runtime_error naming the directory and what is wrong
// before anything is written.
Recommendation merge_report_shards(const std::vector<std::filesystem::path>& dirs,
                                   const std::filesystem::path& out_dir,
                                   const std::string& gnuplot);

}  // namespace weightsync::sim
