// Sharded sweeps: `weightsync-sim sweep --shard K/N` runs every N-th run of the grid (round
// robin from run K) and writes, beside its run JSONs and its summary.csv, a manifest naming the
// whole grid and which of its runs the rows are. merge_sweep_shards joins the directories of
// all N shards into the summary.csv the unsharded sweep writes, refusing shards of different
// sweeps, overlapping shards and missing shards or runs.
//
// Thread-safety: pure functions of their arguments and the files they read.
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/fake/job_shard.h"

namespace weightsync::sim {

inline constexpr const char* kShardManifestFile = "shard.json";

struct ShardManifest {
  fake::JobShard shard;
  std::vector<std::string> grid;  // the file name of every run of the whole sweep, in order
  std::vector<std::size_t> rows;  // grid positions of this shard's summary.csv rows, in order
  bool wall = true;               // whether wall-clock figures were written
};

std::string encode_shard_manifest(const ShardManifest& manifest);
// Throws std::runtime_error naming `where` and the field for a manifest it cannot use.
ShardManifest decode_shard_manifest(std::string_view text, const std::string& where);

// What merging sweep and report shards shares. The whole file; throws std::runtime_error
// "merge: cannot read '<path>'".
std::string read_shard_file(const std::filesystem::path& path);
// Throws "merge: incomplete: shard(s) 2 of 3 missing; got 2 of 3" unless every index of
// 0..count-1 is present.
void require_every_shard(const std::set<int>& present, int count);

struct MergedSweep {
  std::string summary_csv;                       // header, then one row per run in grid order
  std::vector<std::filesystem::path> run_files;  // every run's JSON, in grid order
};

// Joins the output directories of the N shards of one sweep (any order). Throws
// std::runtime_error with the directory and what is wrong: no manifest, another sweep's grid,
// a shard given twice, shards missing, runs of a shard missing (a run that failed).
MergedSweep merge_sweep_shards(const std::vector<std::filesystem::path>& dirs);

}  // namespace weightsync::sim
