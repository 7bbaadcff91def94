// Runs the calibration cases: closed-loop inference loads for inter-token latency, RL runs for
// step times and throughput, and compares them with the published figures.
#include "weightsync/sim/calibration.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "weightsync/internal/json_fields.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/sim/simulation.h"
#include "weightsync/sim/virtual_clock.h"

namespace weightsync::sim {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// A case file's complaints: the shared reader's wording, prefixed with the file.
class CaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
using Fields = internal::BasicJsonFields<CaseError, json>;

[[noreturn]] void bad(const fs::path& file, const std::string& what) {
  throw std::runtime_error("calibration case '" + file.string() + "': " + what);
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
          {"train_seconds_per_step", r.train_seconds / r.steps},
          {"wait_seconds_per_step", r.wait_seconds / r.steps},
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

namespace {

struct CaseRun {
  std::string name;
  std::string kind;  // "itl" or "rl"
  json scenario;     // the case's scenario with the run's overrides applied
  int concurrency = 0;
  int requests = 0;
};

struct CaseCheck {
  CalibrationCheck check;
  std::vector<std::string> runs;  // one run, or a ratio's numerator and denominator
};

struct Case {
  std::vector<CaseRun> runs;
  std::vector<CaseCheck> checks;
};

Case read_case(const json& document) {
  Case c;
  Fields top(document, "");
  const std::string name = top.required_text("name");
  top.text("title");
  top.text("setup");
  const json* source = top.child("source");
  if (!source) top.missing("source", "where the figures are published");
  const json* base = top.child("scenario");
  if (!base) top.missing("scenario", "the scenario that expresses the case");
  if (!base->is_object()) Fields::fail(top.at("scenario"), "a JSON object", *base);
  const json* runs = top.child("runs");
  if (!runs) top.missing("runs", "an object of named runs");
  if (!runs->is_object() || runs->empty()) {
    Fields::fail(top.at("runs"), "a non-empty object of named runs", *runs);
  }
  for (const auto& [run_name, run_json] : runs->items()) {
    Fields run(run_json, top.at("runs") + "." + run_name);
    CaseRun r{run_name, run.required_one_of("kind", {"itl", "rl"}), *base, 0, 0};
    if (const json* overrides = run.child("overrides")) {
      if (!overrides->is_object()) Fields::fail(run.at("overrides"), "a JSON object", *overrides);
      r.scenario.merge_patch(*overrides);
    }
    if (r.kind == "itl") {
      const auto concurrency = run.integer("concurrency", 1, 1'000'000);
      if (!concurrency) run.missing("concurrency", "an integer in [1, 1000000]");
      r.concurrency = static_cast<int>(*concurrency);
      r.requests = static_cast<int>(run.integer("requests", 0, 100'000'000).value_or(0));
    }
    run.finish();
    c.runs.push_back(std::move(r));
  }
  const json& checks = top.array("checks");
  if (checks.empty()) top.missing("checks", "a non-empty array of checks");
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Fields k(checks[i], internal::index_path(top.at("checks"), i));
    CaseCheck cc;
    CalibrationCheck& check = cc.check;
    check.case_name = name;
    check.source = source->dump();
    check.figure = k.required_text("figure");
    check.metric = k.required_one_of("metric", {"itl_ms", "seconds_per_step",
                                                "train_seconds_per_step", "wait_seconds_per_step",
                                                "tokens_per_second"});
    const auto published = k.number("published", 0, 1e300, "a positive number");
    if (!published) k.missing("published", "a positive number");
    check.published = *published;
    check.tolerance = k.number("tolerance", 0, 10, "a fraction in [0, 10]");
    check.known_gap = k.text("known_gap").value_or("");
    if (const json* pair = k.child("ratio")) {
      if (!pair->is_array() || pair->size() != 2 || !(*pair)[0].is_string() ||
          !(*pair)[1].is_string()) {
        Fields::fail(k.at("ratio"), "[numerator run, denominator run]", *pair);
      }
      cc.runs = {(*pair)[0].get<std::string>(), (*pair)[1].get<std::string>()};
    } else if (auto run = k.text("run")) {
      cc.runs = {*run};
    } else {
      k.missing("run", "the run measured (or a ratio of two runs)");
    }
    for (const auto& run : cc.runs) {
      const bool known = std::any_of(c.runs.begin(), c.runs.end(),
                                     [&](const CaseRun& r) { return r.name == run; });
      if (!known) Fields::fail(k.path(), "a check of runs named in runs", json(run));
    }
    k.finish();
    c.checks.push_back(std::move(cc));
  }
  top.finish();
  return c;
}

}  // namespace

std::vector<CalibrationCheck> run_calibration_case(const fs::path& file) {
  std::ifstream in(file);
  if (!in) bad(file, "expected a readable file");
  std::ostringstream text;
  text << in.rdbuf();
  Case c;
  try {
    c = read_case(internal::parse_json<CaseError, json>(text.str(), "case"));
  } catch (const CaseError& e) {
    bad(file, e.what());
  }

  std::map<std::string, std::map<std::string, double>> measured;
  for (const CaseRun& run : c.runs) {
    Scenario s;
    try {
      s = parse_scenario(run.scenario);
    } catch (const ScenarioError& e) {
      bad(file, "run '" + run.name + "': " + e.what());
    }
    if (run.kind == "itl") {
      measured[run.name]["itl_ms"] = itl_ms(s, run.concurrency, run.requests);
    } else {
      measured[run.name] = rl_metrics(s);
    }
  }

  auto value = [&](const std::string& run, const std::string& metric) {
    auto m = measured.at(run).find(metric);
    if (m == measured.at(run).end()) {
      bad(file, "run '" + run + "' has no metric '" + metric + "'");
    }
    return m->second;
  };

  std::vector<CalibrationCheck> checks;
  for (CaseCheck& cc : c.checks) {
    CalibrationCheck check = cc.check;
    if (cc.runs.size() == 2) {
      check.simulated = value(cc.runs[0], check.metric) / value(cc.runs[1], check.metric);
      check.metric = "ratio of " + check.metric;
    } else {
      check.simulated = value(cc.runs[0], check.metric);
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
