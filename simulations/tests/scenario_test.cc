// Scenarios: presets load, round-trip through JSON, and bad input is refused with the field
// and what was expected.
#include "weightsync/sim/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "weightsync/sim/simulation.h"

namespace weightsync::sim {
namespace {

using ordered_json = nlohmann::ordered_json;

// The message of the ScenarioError that parsing `text` throws, or "" if it parses.
std::string refusal(const std::string& text) {
  try {
    parse_scenario_text(text);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

void expect_refused(const std::string& text, const std::string& field,
                    const std::string& expected) {
  const std::string message = refusal(text);
  SCOPED_TRACE(text);
  EXPECT_NE(message.find("scenario." + field + ": "), std::string::npos) << message;
  EXPECT_NE(message.find(expected), std::string::npos) << message;
}

TEST(Scenario, EveryPresetLoadsValidatesAndCitesItsSources) {
  int presets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(WEIGHTSYNC_SIM_SCENARIO_DIR)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const Scenario s = load_scenario(entry.path());
    EXPECT_NO_THROW(validate(s));
    ASSERT_TRUE(s.sources.is_array());
    EXPECT_GE(s.sources.size(), 3u);
    for (const auto& source : s.sources) {
      EXPECT_TRUE(source.contains("source"));
      EXPECT_TRUE(source.contains("status"));
    }
    ++presets;
  }
  EXPECT_GE(presets, 3);
}

TEST(Scenario, RoundTripsThroughJsonWithEveryFieldKept) {
  const Scenario s =
      load_scenario(std::filesystem::path(WEIGHTSYNC_SIM_SCENARIO_DIR) / "235b-moe.json");
  const ordered_json once = to_json(s);
  const ordered_json twice = to_json(parse_scenario(once));
  EXPECT_EQ(once.dump(), twice.dump());
  EXPECT_EQ(s.deployment.replicas, 4);
  EXPECT_EQ(s.rollout.generation_tokens.kind, DistributionKind::lognormal);
}

TEST(Scenario, AnEmptyObjectTakesTheDocumentedDefaults) {
  const Scenario s = parse_scenario_text("{}");
  EXPECT_EQ(s.policy.name, "every_step");
  EXPECT_EQ(s.model.proxy_params, 65536u);
  EXPECT_EQ(s.deployment.transition, "ASYNC");
}

TEST(Scenario, SizesFollowTheModel) {
  Scenario s;
  s.model.params = 1e12;
  s.model.dtype = "bf16";
  s.model.changed_fraction_per_step = 0.01;
  s.model.delta_compression = 2;
  EXPECT_EQ(s.base_bytes(), 2'000'000'000'000u);
  EXPECT_EQ(s.delta_bytes(1), 10'000'000'000u);
  // Two steps of 1% overlap: 1 - 0.99^2 = 1.99% changed.
  EXPECT_EQ(s.delta_bytes(2), 19'900'000'000u);
  s.trainer.save_fixed_s = 1;
  s.trainer.storage_write_gb_per_s = 10;
  EXPECT_EQ(s.save_time(s.delta_bytes(1)), seconds(2));
}

TEST(Scenario, RefusesBadFieldsNamingTheFieldAndWhatWasExpected) {
  expect_refused(R"({"rollout": {"concurrency": -3}})", "rollout.concurrency",
                 "expected an integer in [1, 1000000], got -3");
  expect_refused(R"({"rollout": {"concurrency": "many"}})", "rollout.concurrency", "got \"many\"");
  expect_refused(R"({"model": {"dtype": "int3"}})", "model.dtype", "expected one of 'bf16'");
  expect_refused(R"({"model": {"changed_fraction_per_step": 1.5}})",
                 "model.changed_fraction_per_step", "a fraction in [0, 1]");
  expect_refused(R"({"policy": {"name": "sometimes"}})", "policy.name",
                 "expected one of 'every_step', 'every_n', 'async', 'split', 'sampler_refresh'");
  expect_refused(R"({"policy": {"interval": 0}})", "policy.interval", "an integer >= 1");
  expect_refused(R"({"deployment": {"transition": "LAZY"}})", "deployment.transition",
                 "one of 'ASYNC', 'SYNC'");
  expect_refused(R"({"faults": {"load_error": 2}})", "faults.load_error", "a probability");
  expect_refused(R"({"faults": {"faults": [{"fault": "meteor", "count": 1}]}})",
                 "faults.faults[0].fault", "expected one of hotload_rejected");
  expect_refused(R"({"faults": {"seed": 3, "faults": []}})", "faults.seed",
                 "expected none (the scenario's seed derives the fault stream), got 3");
  expect_refused(R"({"steps": 0})", "steps", "an integer in [1, 100000000]");
  expect_refused(R"({"seed": -1})", "seed", "an unsigned integer");
  expect_refused(R"({"model": []})", "model", "expected a JSON object, got []");
  expect_refused(R"({"trainer": {"step_time_s": {"distribution": "gamma"}}})",
                 "trainer.step_time_s.distribution", "one of 'constant'");
  expect_refused(R"({"trainer": {"step_time_s": {"distribution": "normal", "mean": 3}}})",
                 "trainer.step_time_s", "every parameter of a normal distribution");
  expect_refused(R"({"rollout": {"generation_tokens": {"distribution": "pareto",
                    "scale": 100, "shape": 0}}})",
                 "rollout.generation_tokens.shape", "a number > 0");
  expect_refused(R"({"trainer": {"step_time_s": {"distribution": "uniform", "low": 5,
                    "high": 1}}})",
                 "trainer.step_time_s.high", "a number >= low");
}

TEST(Scenario, TheInferenceEngineIsOneOfTheTable) {
  EXPECT_EQ(parse_scenario_text("{}").hardware.engine, "trtllm");
  const std::string llama = R"("model": {"params": 8.03e9, "shape": "llama-3.1-8b"}, )";
  const Scenario s =
      parse_scenario_text("{" + llama + R"("hardware": {"gpu": "h100", "engine": "vllm"}})");
  EXPECT_EQ(s.hardware.engine, "vllm");
  EXPECT_EQ(to_json(s)["hardware"]["engine"], "vllm");
  expect_refused("{" + llama + R"("hardware": {"gpu": "h100", "engine": "tgi"}})",
                 "hardware.engine", "expected one of 'trtllm', 'vllm', got \"tgi\"");
  expect_refused("{" + llama + R"("hardware": {"gpu": "h100", "engine": 3}})", "hardware.engine",
                 "expected one of 'trtllm', 'vllm', got 3");
}

TEST(Scenario, OutputProcessingIsInTheStepOrOverlapped) {
  EXPECT_EQ(parse_scenario_text("{}").hardware.output_processing, "in_step");
  const std::string llama = R"("model": {"params": 8.03e9, "shape": "llama-3.1-8b"}, )";
  const Scenario s = parse_scenario_text(
      "{" + llama + R"("hardware": {"gpu": "h100", "output_processing": "overlapped"}})");
  EXPECT_EQ(s.hardware.output_processing, "overlapped");
  EXPECT_EQ(to_json(s)["hardware"]["output_processing"], "overlapped");
  expect_refused("{" + llama + R"("hardware": {"gpu": "h100", "output_processing": "async"}})",
                 "hardware.output_processing",
                 "expected one of 'in_step', 'overlapped', got \"async\"");
}

TEST(Scenario, RefusesUnknownFieldsAsTypos) {
  expect_refused(R"({"rollout": {"concurency": 8}})", "rollout.concurency",
                 "unknown field (extra inputs are not permitted); expected one of");
  expect_refused(R"({"stepz": 8})", "stepz", "unknown field");
}

TEST(Scenario, RefusesMalformedJsonAndMissingFiles) {
  EXPECT_NE(refusal("{").find("scenario: expected a JSON document, got a parse error"),
            std::string::npos);
  try {
    load_scenario("/nonexistent/scenario.json");
    FAIL() << "a missing file was accepted";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/scenario.json"), std::string::npos);
  }
}

TEST(Scenario, OverridesAreValidatedToo) {
  const Scenario base = parse_scenario_text("{}");
  ScenarioOverrides o;
  o.policy = "async";
  o.staleness_bound = 3;
  o.steps = 5;
  o.seed = 99;
  const Scenario s = apply_overrides(base, o);
  EXPECT_EQ(s.policy.name, "async");
  EXPECT_EQ(s.policy.staleness_bound, 3);
  EXPECT_EQ(s.steps, 5);
  EXPECT_EQ(s.seed, 99u);
  ScenarioOverrides bad;
  bad.interval = -2;
  EXPECT_THROW(apply_overrides(base, bad), ScenarioError);
}

}  // namespace
}  // namespace weightsync::sim
