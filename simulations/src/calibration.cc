// Runs the calibration cases: closed-loop inference loads for inter-token latency, RL runs for
// step times and throughput, and compares them with the published figures.
#include "weightsync/sim/calibration.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/virtual_clock.h"

namespace weightsync::sim {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

[[noreturn]] void bad(const fs::path& file, const std::string& what) {
  throw std::runtime_error("calibration case '" + file.string() + "': " + what);
}

const json& need(const fs::path& file, const json& object, const std::string& key,
                 const std::string& expected) {
  auto it = object.find(key);
  if (it == object.end()) bad(file, "expected field '" + key + "' (" + expected + "), found none");
  return *it;
}

double need_number(const fs::path& file, const json& object, const std::string& key) {
  const json& v = need(file, object, key, "a number");
  if (!v.is_number()) bad(file, "field '" + key + "': expected a number, got " + v.dump());
  return v.get<double>();
}

// Mean inter-token latency (ms) of a closed-loop load: `concurrency` requests in flight on one
// replica, new ones started as others finish. The first requests start spread over one request's
// duration, so that, as with real clients, completions (and prefills) do not come in waves; the
// first 2 x concurrency requests are a warm-up.
double itl_ms(const Scenario& scenario, int concurrency, int requests) {
  VirtualClock clock;
  SamplerOptions o;
  o.generation_tokens = scenario.rollout.generation_tokens;
  o.prompt_tokens = scenario.rollout.prompt_tokens;
  o.concurrency = concurrency;
  o.replicas = 1;
  o.decode = make_decode_model(scenario);
  Sampler sampler(clock, fake::Random(scenario.seed), o, 0);
  const double request_s =
      o.decode.step_base_s(concurrency) * o.generation_tokens.mean();
  const double gap_s = request_s / concurrency;
  for (int i = 1; i <= concurrency; ++i) {
    clock.schedule_at(seconds(gap_s * (i - 1)), [&sampler, i] { sampler.admit_up_to(i); });
  }
  const int total = std::max(requests, 3 * concurrency);
  clock.schedule_at(seconds(gap_s * concurrency), [&sampler, total] { sampler.admit_up_to(total); });
  while (clock.run_next()) {
  }
  double decode_s = 0, steps = 0;
  const auto& done = sampler.finished();
  for (std::size_t i = static_cast<std::size_t>(2 * concurrency); i < done.size(); ++i) {
    decode_s += done[i].decode_seconds;
    // From the end of its prefill to its last token a request takes one step per token: the
    // mean step is the latency between two tokens.
    steps += static_cast<double>(done[i].tokens);
  }
  return steps > 0 ? 1e3 * decode_s / steps : 0;
}

std::map<std::string, double> rl_metrics(const Scenario& scenario) {
  const RunResult r = run_simulation(scenario);
  return {{"seconds_per_step", r.simulated_seconds / r.steps},
          {"tokens_per_second", r.tokens_per_second},
          {"steps_per_hour", r.steps_per_hour}};
}

}  // namespace

std::string CalibrationCheck::status() const {
  if (!tolerance) return "shown";
  if (!known_gap.empty()) return within() ? "gap closed" : "known gap";
  return within() ? "pass" : "FAIL";
}

bool CalibrationCheck::ok() const {
  const std::string s = status();
  return s == "pass" || s == "shown" || s == "known gap";
}

std::vector<CalibrationCheck> run_calibration_case(const fs::path& file) {
  std::ifstream in(file);
  if (!in) bad(file, "expected a readable file");
  json c;
  try {
    c = json::parse(in);
  } catch (const json::parse_error& e) {
    bad(file, std::string("expected JSON, got a parse error: ") + e.what());
  }
  const std::string name = need(file, c, "name", "the case's name").get<std::string>();
  const std::string source = need(file, c, "source", "where the figures are published").dump();
  const json base = need(file, c, "scenario", "the scenario that expresses the case");
  const json& runs = need(file, c, "runs", "an object of named runs");

  std::map<std::string, std::map<std::string, double>> measured;
  for (const auto& [run_name, run] : runs.items()) {
    const std::string kind = need(file, run, "kind", "'itl' or 'rl'").get<std::string>();
    json patched = base;
    if (run.contains("overrides")) patched.merge_patch(run["overrides"]);
    Scenario s;
    try {
      s = parse_scenario(patched);
    } catch (const ScenarioError& e) {
      bad(file, "run '" + run_name + "': " + e.what());
    }
    if (kind == "itl") {
      const int concurrency = static_cast<int>(need_number(file, run, "concurrency"));
      const int requests = run.contains("requests") ? run["requests"].get<int>() : 0;
      if (concurrency < 1) bad(file, "run '" + run_name + "': expected concurrency >= 1");
      measured[run_name]["itl_ms"] = itl_ms(s, concurrency, requests);
    } else if (kind == "rl") {
      measured[run_name] = rl_metrics(s);
    } else {
      bad(file, "run '" + run_name + "': expected kind 'itl' or 'rl', got '" + kind + "'");
    }
  }

  auto value = [&](const std::string& run, const std::string& metric) {
    auto r = measured.find(run);
    if (r == measured.end()) bad(file, "a check names run '" + run + "', which is not in runs");
    auto m = r->second.find(metric);
    if (m == r->second.end()) {
      bad(file, "run '" + run + "' has no metric '" + metric + "'");
    }
    return m->second;
  };

  std::vector<CalibrationCheck> checks;
  for (const json& k : need(file, c, "checks", "an array of checks")) {
    CalibrationCheck check;
    check.case_name = name;
    check.source = source;
    check.figure = need(file, k, "figure", "what is compared").get<std::string>();
    check.metric = need(file, k, "metric", "itl_ms, seconds_per_step or tokens_per_second")
                       .get<std::string>();
    check.published = need_number(file, k, "published");
    if (k.contains("tolerance")) check.tolerance = k["tolerance"].get<double>();
    if (k.contains("known_gap")) check.known_gap = k["known_gap"].get<std::string>();
    if (k.contains("ratio")) {
      const json& pair = k["ratio"];
      if (!pair.is_array() || pair.size() != 2) {
        bad(file, "check '" + check.figure + "': expected ratio [numerator run, denominator run]");
      }
      check.simulated = value(pair[0].get<std::string>(), check.metric) /
                        value(pair[1].get<std::string>(), check.metric);
      check.metric = "ratio of " + check.metric;
    } else {
      check.simulated = value(need(file, k, "run", "the run measured").get<std::string>(),
                              check.metric);
    }
    checks.push_back(check);
  }
  return checks;
}

std::vector<CalibrationCheck> run_calibration(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw std::runtime_error("calibration: expected a directory of case files, got '" +
                             dir.string() + "'");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    throw std::runtime_error("calibration: no *.json case in '" + dir.string() + "'");
  }
  std::vector<CalibrationCheck> all;
  for (const auto& file : files) {
    auto checks = run_calibration_case(file);
    all.insert(all.end(), checks.begin(), checks.end());
  }
  return all;
}

std::string calibration_table(const std::vector<CalibrationCheck>& checks, bool markdown) {
  auto number = [](double v) {
    std::ostringstream out;
    out.precision(v >= 100 ? 0 : (v >= 10 ? 1 : 3));
    out << std::fixed << v;
    return out.str();
  };
  auto percent = [](double v) {
    std::ostringstream out;
    out.precision(1);
    out << std::fixed << std::showpos << 100 * v << "%";
    return out.str();
  };
  std::ostringstream out;
  if (markdown) {
    out << "| case | figure | published | simulated | error | tolerance | status |\n"
        << "|---|---|---:|---:|---:|---:|---|\n";
  }
  for (const auto& c : checks) {
    const std::string tol = c.tolerance ? "±" + number(100 * *c.tolerance) + "%" : "-";
    if (markdown) {
      out << "| " << c.case_name << " | " << c.figure << " | " << number(c.published) << " | "
          << number(c.simulated) << " | " << percent(c.error()) << " | " << tol << " | "
          << c.status() << " |\n";
    } else {
      out << c.case_name << ": " << c.figure << "\n    published " << number(c.published)
          << ", simulated " << number(c.simulated) << " (" << c.metric << "), error "
          << percent(c.error()) << ", tolerance " << tol << ": " << c.status() << "\n";
      if (!c.known_gap.empty()) out << "    known gap: " << c.known_gap << "\n";
    }
  }
  return out.str();
}

}  // namespace weightsync::sim
