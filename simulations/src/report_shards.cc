// A report's grid shared out over a job array, and the report rendered from the shards.
#include "weightsync/sim/report_shards.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "report_parts.h"
#include "weightsync/sim/metrics.h"
#include "weightsync/sim/sweep_shards.h"

namespace weightsync::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A run's record in a shard: the run's position and name beside the fields `run --json` writes
// for it (to_json, without wall-clock fields or the scenario, which the shard's inputs carry).
// Doubles round-trip exactly through the JSON text, so the merged report equals the unsharded
// one byte for byte.
json run_record(std::size_t position, const ReportRun& run, const RunResult& r) {
  json record = json::parse(to_json(r, /*include_wall=*/false).dump());
  record.erase("scenario");
  record["run"] = position;
  record["name"] = run.name();
  return record;
}

// Back from that record: the figures summarize() reads, under to_json's names.
RunResult result_of_record(const json& j) {
  RunResult r;
  const json& staleness = j.at("staleness");
  r.steps = j.at("steps").get<int>();
  r.staleness.mean = staleness.at("mean").get<double>();
  r.staleness.p99 = staleness.at("p99").get<int>();
  r.staleness.max = staleness.at("max").get<int>();
  r.staleness.histogram = staleness.at("histogram").get<std::vector<std::int64_t>>();
  r.steps_per_hour = j.at("steps_per_hour").get<double>();
  r.tokens_per_second = j.at("tokens_per_second").get<double>();
  r.bytes_base = j.at("bytes_base").get<std::uint64_t>();
  r.bytes_delta = j.at("bytes_delta").get<std::uint64_t>();
  r.sync_overhead_fraction = j.at("sync_overhead_fraction").get<double>();
  r.trainer_idle_fraction = j.at("trainer_idle_fraction").get<double>();
  r.samples_generated = j.at("samples_generated").get<std::int64_t>();
  r.samples_dropped = j.at("samples_dropped").get<std::int64_t>();
  r.failed_syncs = j.at("failed_syncs").get<std::int64_t>();
  r.recoveries = j.at("recoveries").get<std::int64_t>();
  r.failed_sync_seconds = j.at("failed_sync_seconds").get<double>();
  r.time_to_recover_mean_s = j.at("time_to_recover_mean_s").get<double>();
  r.simulated_seconds = j.at("simulated_seconds").get<double>();
  return r;
}

json calibration_json(const std::vector<CalibrationCheck>& checks) {
  json out = json::array();
  for (const auto& c : checks) {
    out.push_back({{"case", c.case_name},
                   {"figure", c.figure},
                   {"metric", c.metric},
                   {"published", c.published},
                   {"simulated", c.simulated},
                   {"tolerance", c.tolerance ? json(*c.tolerance) : json(nullptr)},
                   {"known_gap", c.known_gap},
                   {"source", c.source}});
  }
  return out;
}

std::vector<CalibrationCheck> calibration_of(const json& checks) {
  std::vector<CalibrationCheck> out;
  for (const auto& j : checks) {
    CalibrationCheck c;
    c.case_name = j.at("case").get<std::string>();
    c.figure = j.at("figure").get<std::string>();
    c.metric = j.at("metric").get<std::string>();
    c.published = j.at("published").get<double>();
    c.simulated = j.at("simulated").get<double>();
    if (!j.at("tolerance").is_null()) c.tolerance = j.at("tolerance").get<double>();
    c.known_gap = j.at("known_gap").get<std::string>();
    c.source = j.at("source").get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

// What every shard of one report must agree on: the inputs and the scenario as run.
json report_inputs(const ReportData& plan) {
  return {{"scenario_path", plan.options.scenario_path.string()},
          {"budget", plan.options.staleness_budget},
          {"steps", plan.options.steps ? json(*plan.options.steps) : json(nullptr)},
          {"seeds", plan.options.seeds},
          {"scenario", to_json(plan.scenario)}};
}

struct LoadedReportShard {
  fs::path dir;
  fake::JobShard shard;
  json inputs;
  std::size_t runs = 0;                                           // of the whole grid
  std::map<std::size_t, std::pair<std::string, RunResult>> rows;  // by grid position: name, figures
  std::optional<json> calibration;  // shard 0's: the checks, or null when the suite was not run
};

LoadedReportShard load_report_shard(const fs::path& dir) {
  const fs::path path = dir / kReportShardFile;
  if (!fs::exists(path)) {
    throw std::runtime_error("merge: '" + dir.string() + "' has no " + kReportShardFile +
                             "; expected the --out directory of `weightsync-sim report --shard "
                             "K/N`");
  }
  const std::string where = path.string();
  try {
    const json doc = json::parse(read_shard_file(path));
    LoadedReportShard s;
    s.dir = dir;
    s.shard = fake::parse_job_shard(
        std::to_string(doc.at("shard").get<int>()) + "/" + std::to_string(doc.at("of").get<int>()),
        "shard");
    s.inputs = doc.at("report");
    s.runs = doc.at("runs").get<std::size_t>();
    for (const auto& record : doc.at("results")) {
      const auto position = record.at("run").get<std::size_t>();
      if (position >= s.runs || !s.shard.owns(position)) {
        throw std::runtime_error("results: run " + std::to_string(position) + " is not shard " +
                                 s.shard.text() + "'s in a grid of " + std::to_string(s.runs));
      }
      s.rows.emplace(position,
                     std::pair{record.at("name").get<std::string>(), result_of_record(record)});
    }
    if (doc.contains("calibration")) s.calibration = doc.at("calibration");
    return s;
  } catch (const json::exception& e) {
    throw std::runtime_error("merge: '" + where + "' is not a report shard: " + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error("merge: '" + where + "': " + e.what());
  }
}

}  // namespace

std::size_t write_report_shard(const ReportOptions& options, const fake::JobShard& shard,
                               const std::function<void(std::size_t, std::size_t)>& progress) {
  const ReportData plan = plan_report(options);
  const std::vector<ReportRun> runs = report_runs(plan);
  std::vector<Scenario> mine;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!shard.owns(i)) continue;
    mine.push_back(runs[i].scenario);
    positions.push_back(i);
  }
  const auto outcomes = run_sweep(mine, options.jobs, progress);
  json results = json::array();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const ReportRun& run = runs[positions[i]];
    results.push_back(run_record(positions[i], run, checked_report_result(run, outcomes[i])));
  }
  json doc = {{"shard", shard.index},
              {"of", shard.count},
              {"report", report_inputs(plan)},
              {"runs", runs.size()},
              {"results", std::move(results)}};
  // The calibration status is the same for every shard; shard 0 carries it.
  if (shard.index == 0) {
    doc["calibration"] = options.calibration_dir.empty()
                             ? json(nullptr)
                             : calibration_json(run_calibration(options.calibration_dir));
  }
  fs::create_directories(options.out_dir);
  write_text(options.out_dir / kReportShardFile, doc.dump(1) + "\n");
  return mine.size();
}

bool is_report_shard(const fs::path& dir) {
  return fs::exists(dir / kReportShardFile);
}

Recommendation merge_report_shards(const std::vector<fs::path>& dirs, const fs::path& out_dir,
                                   const std::string& gnuplot) {
  if (dirs.empty()) throw std::runtime_error("merge: expected the directories of every shard");
  std::map<int, LoadedReportShard> shards;
  const LoadedReportShard first = load_report_shard(dirs.front());
  for (const auto& dir : dirs) {
    LoadedReportShard s = load_report_shard(dir);
    if (s.shard.count != first.shard.count || s.inputs != first.inputs || s.runs != first.runs) {
      throw std::runtime_error(
          "merge: '" + dir.string() + "' (shard " + s.shard.text() + ", grid of " +
          std::to_string(s.runs) + " runs) is not of the same report as '" + first.dir.string() +
          "' (shard " + first.shard.text() + ", grid of " + std::to_string(first.runs) +
          " runs): the scenario, steps, seeds or budget differ");
    }
    if (const auto seen = shards.find(s.shard.index); seen != shards.end()) {
      throw std::runtime_error("merge: shards overlap: '" + seen->second.dir.string() + "' and '" +
                               dir.string() + "' are both shard " + s.shard.text());
    }
    const int index = s.shard.index;
    shards.emplace(index, std::move(s));
  }
  std::set<int> present;
  for (const auto& entry : shards) present.insert(entry.first);
  require_every_shard(present, first.shard.count);

  ReportOptions options;
  options.scenario_path = first.inputs.at("scenario_path").get<std::string>();
  options.out_dir = out_dir;
  options.staleness_budget = first.inputs.at("budget").get<int>();
  if (!first.inputs.at("steps").is_null()) options.steps = first.inputs.at("steps").get<int>();
  options.seeds = first.inputs.at("seeds").get<std::vector<std::uint64_t>>();
  options.gnuplot = gnuplot;
  ReportData data = plan_report(options, parse_scenario(first.inputs.at("scenario")));
  const std::vector<ReportRun> runs = report_runs(data);
  if (runs.size() != first.runs) {
    throw std::runtime_error("merge: the shards name a grid of " + std::to_string(first.runs) +
                             " runs, this weightsync-sim's report has " +
                             std::to_string(runs.size()) + "; merge with the same version");
  }
  std::vector<RunResult> results;
  const auto count = static_cast<std::size_t>(first.shard.count);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const LoadedReportShard& owner = shards.at(static_cast<int>(i % count));
    const auto row = owner.rows.find(i);
    if (row == owner.rows.end()) {
      throw std::runtime_error("merge: incomplete: run " + std::to_string(i) + " (" +
                               runs[i].name() + ") of shard " + owner.shard.text() + " ('" +
                               owner.dir.string() + "') is missing; re-run that shard");
    }
    if (row->second.first != runs[i].name()) {
      throw std::runtime_error("merge: '" + (owner.dir / kReportShardFile).string() + "': run " +
                               std::to_string(i) + " is '" + row->second.first +
                               "', this weightsync-sim's report grid has '" + runs[i].name() +
                               "' there; merge with the version that ran the shards");
    }
    results.push_back(row->second.second);
  }
  const LoadedReportShard& zero = shards.at(0);
  if (!zero.calibration) {
    throw std::runtime_error("merge: '" + (zero.dir / kReportShardFile).string() + "' (shard " +
                             zero.shard.text() +
                             ") has no \"calibration\"; expected shard 0 to carry the calibration "
                             "suite's status (null when not run)");
  }
  if (!zero.calibration->is_null()) data.calibration = calibration_of(*zero.calibration);
  summarize_report(data, results);
  render_report(data);
  return data.recommendation;
}

}  // namespace weightsync::sim
