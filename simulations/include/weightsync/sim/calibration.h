// The calibration suite: published measurements (simulations/calibration/*.json), each with its
// setup, source, the scenario that expresses it and a tolerance, run against the simulator.
//
// A case file holds a base `scenario`, named `runs` and `checks`:
//   runs:   {"c1": {"kind": "itl", "concurrency": 1, "requests": 200},
//            "sync": {"kind": "rl", "overrides": {...merge patch of the scenario...}}}
//   checks: [{"figure": "...", "run": "c1", "metric": "itl_ms", "published": 4.6,
//             "tolerance": 0.15},
//            {"figure": "...", "ratio": ["sync", "async"], "metric": "seconds_per_step", ...}]
// Metrics: itl_ms (mean inter-token latency of a closed-loop load at the run's concurrency),
// seconds_per_step, tokens_per_second (prompt + generated tokens trained on per second). A check
// without a tolerance is shown, not judged. A check with `known_gap` (text: the effect the model
// lacks) is expected outside its tolerance; if it comes within, the suite fails so that the note
// is removed.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace weightsync::sim {

struct CalibrationCheck {
  std::string case_name;
  std::string figure;
  std::string metric;
  double published = 0;
  double simulated = 0;
  std::optional<double> tolerance;  // relative
  std::string known_gap;
  std::string source;
  double error() const { return published != 0 ? simulated / published - 1 : 0; }
  bool within() const { return !tolerance || std::abs(error()) <= *tolerance; }
  // "pass", "FAIL", "known gap", "gap closed" (a known gap now within: fails), "shown".
  std::string status() const;
  bool ok() const;
};

// Runs every case file of `dir` (sorted by name). Throws std::runtime_error naming the file and
// field for a malformed case.
std::vector<CalibrationCheck> run_calibration(const std::filesystem::path& dir);
// One case file.
std::vector<CalibrationCheck> run_calibration_case(const std::filesystem::path& file);

// The table, published vs simulated side by side (plain text or Markdown).
std::string calibration_table(const std::vector<CalibrationCheck>& checks, bool markdown);

}  // namespace weightsync::sim
