// Scenarios for tests: constant times so results have closed forms, and a failing seed printed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "weightsync/sim/scenario.h"

namespace weightsync::sim::testing {

// T_step = 10 s, generation 1 s (100 tokens at 100 tokens/s, all requests at once), and a sync of
// exactly T_sync = save 1 s + load 2 s (a multiple of the 0.5 s poll) + warmup 0.5 s = 3.5 s:
// no bytes change (changed fraction 0), so sizes add nothing.
inline Scenario closed_form_scenario(const std::string& policy, int interval, int steps) {
  Scenario s;
  s.name = "closed-form";
  s.model.params = 1e9;
  s.model.changed_fraction_per_step = 0;
  s.model.proxy_params = 1024;
  s.trainer.step_time_s = Distribution::constant(10);
  s.trainer.batch_size = 8;
  s.trainer.save_fixed_s = 1;
  s.rollout.generation_tokens = Distribution::constant(100);
  s.rollout.concurrency = 8;
  s.rollout.tokens_per_second_per_request = 100;
  s.deployment.load_fixed_s = 2;
  s.deployment.reset_prompt_cache = false;
  s.deployment.warmup_s = 0.5;
  s.deployment.poll_interval_s = 0.5;
  s.policy.name = policy;
  s.policy.interval = interval;
  s.steps = steps;
  s.seed = 7;
  return s;
}

inline constexpr double kClosedFormStep = 10;
inline constexpr double kClosedFormSync = 3.5;

// A small run with long-tailed generation and real byte changes.
inline Scenario long_tail_scenario(const std::string& policy, int interval, int bound,
                                   std::uint64_t seed) {
  Scenario s;
  s.name = "long-tail";
  s.model.params = 8e9;
  s.model.changed_fraction_per_step = 0.01;
  s.model.delta_compression = 1.3;
  s.model.proxy_params = 2048;
  s.trainer.step_time_s = Distribution{DistributionKind::normal, 20, 4, 5};
  s.trainer.batch_size = 32;
  s.rollout.generation_tokens = Distribution{DistributionKind::pareto, 200, 1.5, 1, 20000};
  s.rollout.concurrency = 48;
  s.rollout.tokens_per_second_per_request = 40;
  s.deployment.load_gb_per_s = 2;
  s.policy.name = policy;
  s.policy.interval = interval;
  s.policy.staleness_bound = bound;
  s.steps = 120;
  s.seed = seed;
  return s;
}

inline std::string seed_note(const Scenario& s) {
  return "scenario '" + s.name + "' policy " + s.policy.name + " seed " + std::to_string(s.seed) +
         " (replay: weightsync-sim run with --seed " + std::to_string(s.seed) + ")";
}

// The whole file as bytes ("" if it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// An empty directory for the running test, named after `prefix`, the test and the process so
// that parallel runs and repeated runs do not meet.
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() /
                   (prefix + "-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `program args --shard K/count --out dir/sK` for every K as concurrent processes (a job
// array on one machine). Succeeds when every task exits 0 and wrote dir/sK/`manifest`.
inline ::testing::AssertionResult run_shards_concurrently(const std::string& program,
                                                          const std::string& args, int count,
                                                          const std::filesystem::path& dir,
                                                          const std::string& manifest) {
  std::string script;
  for (int k = 0; k < count; ++k) {
    script += "( " + program + " " + args + " --shard " + std::to_string(k) + "/" +
              std::to_string(count) + " --out " + (dir / ("s" + std::to_string(k))).string() +
              " > /dev/null || echo failed > " + (dir / "shard-failed").string() + " ) & ";
  }
  script += "wait";
  if (std::system(("bash -c '" + script + "'").c_str()) != 0 ||
      std::filesystem::exists(dir / "shard-failed")) {
    return ::testing::AssertionFailure() << "a shard failed: " << script;
  }
  for (int k = 0; k < count; ++k) {
    if (!std::filesystem::exists(dir / ("s" + std::to_string(k)) / manifest)) {
      return ::testing::AssertionFailure() << "shard " << k << " wrote no " << manifest;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace weightsync::sim::testing
