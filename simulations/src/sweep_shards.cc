// Shard manifests and merging shard outputs.
#include "weightsync/sim/sweep_shards.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "weightsync/errors.h"
#include "weightsync/sim/metrics.h"

namespace weightsync::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct LoadedShard {
  fs::path dir;
  ShardManifest manifest;
  std::vector<std::string> rows;  // summary.csv without its header
};

LoadedShard load_shard(const fs::path& dir) {
  const fs::path manifest_path = dir / kShardManifestFile;
  if (!fs::exists(manifest_path)) {
    throw std::runtime_error("merge: '" + dir.string() + "' has no " + kShardManifestFile +
                             "; expected the --out directory of `weightsync-sim sweep --shard "
                             "K/N`");
  }
  LoadedShard shard{
      dir, decode_shard_manifest(read_shard_file(manifest_path), manifest_path.string()), {}};
  auto lines = lines_of(read_shard_file(dir / "summary.csv"));
  if (lines.empty() || lines.front() != csv_header()) {
    throw std::runtime_error("merge: '" + (dir / "summary.csv").string() +
                             "' does not start with the summary header");
  }
  lines.erase(lines.begin());
  if (lines.size() != shard.manifest.rows.size()) {
    throw std::runtime_error("merge: '" + (dir / "summary.csv").string() + "' has " +
                             std::to_string(lines.size()) + " rows, its manifest names " +
                             std::to_string(shard.manifest.rows.size()));
  }
  shard.rows = std::move(lines);
  return shard;
}

}  // namespace

std::string read_shard_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("merge: cannot read '" + path.string() + "'");
  return text.str();
}

void require_every_shard(const std::set<int>& present, int count) {
  std::string missing;
  for (int k = 0; k < count; ++k) {
    if (!present.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
  }
  if (!missing.empty()) {
    throw std::runtime_error("merge: incomplete: shard(s) " + missing + " of " +
                             std::to_string(count) + " missing; got " +
                             std::to_string(present.size()) + " of " + std::to_string(count));
  }
}

std::string encode_shard_manifest(const ShardManifest& m) {
  const json doc = {{"shard", m.shard.index},
                    {"of", m.shard.count},
                    {"wall", m.wall},
                    {"grid", m.grid},
                    {"rows", m.rows}};
  return doc.dump(1) + "\n";
}

ShardManifest decode_shard_manifest(std::string_view text, const std::string& where) {
  try {
    const json doc = json::parse(text);
    ShardManifest m;
    const auto index = doc.at("shard").get<int>();
    const auto count = doc.at("of").get<int>();
    m.shard = fake::parse_job_shard(std::to_string(index) + "/" + std::to_string(count), "shard");
    m.wall = doc.at("wall").get<bool>();
    m.grid = doc.at("grid").get<std::vector<std::string>>();
    m.rows = doc.at("rows").get<std::vector<std::size_t>>();
    for (const std::size_t row : m.rows) {
      if (row >= m.grid.size() || !m.shard.owns(row)) {
        throw std::runtime_error("rows: run " + std::to_string(row) + " is not shard " +
                                 m.shard.text() + "'s in a grid of " +
                                 std::to_string(m.grid.size()));
      }
    }
    return m;
  } catch (const json::exception& e) {
    throw std::runtime_error("merge: '" + where + "' is not a shard manifest: " + e.what());
  } catch (const InvalidArgument& e) {
    throw std::runtime_error("merge: '" + where + "': " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("merge: '" + where + "': " + e.what());
  }
}

MergedSweep merge_sweep_shards(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) throw std::runtime_error("merge: expected the directories of every shard");
  std::map<int, LoadedShard> shards;
  const LoadedShard first = load_shard(dirs.front());
  for (const auto& dir : dirs) {
    LoadedShard shard = load_shard(dir);
    const ShardManifest& m = shard.manifest;
    if (m.shard.count != first.manifest.shard.count || m.grid != first.manifest.grid ||
        m.wall != first.manifest.wall) {
      throw std::runtime_error("merge: '" + dir.string() + "' (shard " + m.shard.text() +
                               ", grid of " + std::to_string(m.grid.size()) +
                               " runs) is not of the same sweep as '" + first.dir.string() +
                               "' (shard " + first.manifest.shard.text() + ", grid of " +
                               std::to_string(first.manifest.grid.size()) + " runs)");
    }
    const int index = m.shard.index;
    if (const auto seen = shards.find(index); seen != shards.end()) {
      throw std::runtime_error("merge: shards overlap: '" + seen->second.dir.string() + "' and '" +
                               dir.string() + "' are both shard " + m.shard.text());
    }
    shards.emplace(index, std::move(shard));
  }
  const int count = first.manifest.shard.count;
  std::set<int> present;
  for (const auto& entry : shards) present.insert(entry.first);
  require_every_shard(present, count);
  const auto& grid = first.manifest.grid;
  std::vector<const std::string*> rows(grid.size(), nullptr);
  MergedSweep merged;
  for (const auto& [index, shard] : shards) {
    for (std::size_t i = 0; i < shard.rows.size(); ++i) {
      rows[shard.manifest.rows[i]] = &shard.rows[i];
    }
  }
  merged.summary_csv = csv_header() + "\n";
  for (std::size_t i = 0; i < grid.size(); ++i) {
    const LoadedShard& owner = shards.at(static_cast<int>(i % static_cast<std::size_t>(count)));
    if (!rows[i]) {
      throw std::runtime_error("merge: incomplete: run " + grid[i] + " of shard " +
                               owner.manifest.shard.text() + " ('" + owner.dir.string() +
                               "') is missing (it failed there; re-run that shard)");
    }
    merged.summary_csv += *rows[i] + "\n";
    merged.run_files.push_back(owner.dir / grid[i]);
  }
  return merged;
}

}  // namespace weightsync::sim
