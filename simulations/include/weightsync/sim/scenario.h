// Scenario: everything one simulated run needs, read from JSON (simulations/scenarios/*.json,
// schema in simulations/README.md). Sizes and times describe the real model (up to 1T
// parameters); the fake deployment holds only a small proxy of `proxy_params` parameters, so
// the chain is verified by checksum without materialising the model.
//
// Parsing is strict: an unknown field, a wrong type or an out-of-range value is refused with a
// ScenarioError naming the field and what was expected. Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/sim/distribution.h"

namespace weightsync::sim {

class ScenarioError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ModelSpec {
  double params = 8e9;
  std::string dtype = "bf16";  // bf16, fp16, fp32, fp8
  // Fraction of parameters whose stored bytes change in one optimizer step.
  double changed_fraction_per_step = 0.01;
  // Changed bytes per encoded delta byte (sparse index + value + entropy coding): delta bytes =
  // base bytes * changed fraction since the parent / delta_compression.
  double delta_compression = 1.0;
  // Parameters of the proxy weights the fake trainer and deployment really hold.
  std::uint64_t proxy_params = 65536;
  // A model shape of simulations/data/model_shapes.json (layers, KV layout, active parameters)
  // for the batch-aware decode model and the FLOPs of a training step; "" for none.
  std::string shape;
};

struct TrainerSpec {
  Distribution step_time_s = Distribution::constant(30);
  int batch_size = 256;               // samples consumed per optimizer step
  double save_fixed_s = 0.5;          // per sampler save, before the bytes move
  double storage_write_gb_per_s = 2;  // snapshot bytes into the bucket
};

struct RolloutSpec {
  Distribution generation_tokens = Distribution::constant(1000);
  Distribution prompt_tokens = Distribution::constant(0);  // prefilled before decoding
  int concurrency = 256;  // requests in flight at most, over all replicas
  // Constant decode speed of one request. Without hardware.gpu it is the decode model (50 when
  // absent); with a GPU, giving it overrides the batch-aware model.
  std::optional<double> tokens_per_second_per_request;
};

// Where generation and training run, and on what. Without `gpu`, decode runs at the constant
// rollout.tokens_per_second_per_request and the trainer takes trainer.step_time_s.
struct HardwareSpec {
  std::string gpu;                  // an id of simulations/data/gpus.json, "" for none
  std::string placement = "split";  // split: own GPUs, hotload; colocated: the same GPUs alternate
  int trainer_gpus = 0;             // > 0: a step takes its FLOPs on these GPUs
  int gpus_per_replica = 1;         // tensor parallel size of an inference replica
  std::string engine = "trtllm";    // an inference engine of gpus.json's `engines`
  // in_step: the engine processes each step's outputs before the next step (vLLM's LLM with
  // its engine core in the caller's process); overlapped: another process does while the next
  // steps run (vLLM's AsyncLLM, or LLM with its default engine-core process).
  std::string output_processing = "in_step";
  std::string serving_dtype;        // "" : model.dtype
  std::string kv_dtype;             // "" : the serving dtype
  double memory_utilization = 0.9;  // share of a replica's memory for weights + KV cache
  double training_mfu = 0;          // 0: the engine table's
  // Forward-pass equivalents per token per step: 3 for forward + backward, + 1 per extra
  // log-probability pass (the policy's own before the update; a reference model adds another).
  double training_passes = 4;
};

struct DeploymentSpec {
  int replicas = 1;
  std::string transition = "ASYNC";  // ASYNC: in-flight requests pause; SYNC: they drain
  double load_gb_per_s = 2;          // bucket -> replica, per replica (in parallel)
  double load_fixed_s = 1;           // per load, besides the bytes (prepare, swap)
  double warmup_s = 0.2;             // the first completion after a load
  bool reset_prompt_cache = true;
  double cache_reset_s = 0.05;    // added to a load that resets the prompt cache
  double poll_interval_s = 0.25;  // DeploymentManager's hotload status poll
  double hotload_timeout_s = 600;
};

struct PolicySpec {
  std::string name = "every_step";
  int interval = 1;                    // sync every `interval` steps
  int staleness_bound = 1;             // async: samples older than this are not used as is
  std::string stale_samples = "drop";  // async: "drop" or "downweight"
  double downweight_factor = 0.5;      // weight per step beyond the bound (downweight)
};

struct Scenario {
  std::string name = "unnamed";
  std::string description;
  // Where the numbers come from: kept verbatim (an array of objects or strings).
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  // Free-text remarks (calibration caveats), kept verbatim.
  nlohmann::ordered_json notes = nlohmann::ordered_json::array();
  ModelSpec model;
  TrainerSpec trainer;
  RolloutSpec rollout;
  DeploymentSpec deployment;
  HardwareSpec hardware;
  PolicySpec policy;
  fake::FaultPlan faults;  // probability entries fire per opportunity (below)
  int steps = 100;
  std::uint64_t seed = 1;

  // Bytes per parameter of model.dtype.
  double dtype_bytes() const;
  std::string serving_dtype() const {
    return hardware.serving_dtype.empty() ? model.dtype : hardware.serving_dtype;
  }
  std::string kv_dtype() const {
    return hardware.kv_dtype.empty() ? serving_dtype() : hardware.kv_dtype;
  }
  // GPUs the inference replicas use.
  int inference_gpus() const { return deployment.replicas * hardware.gpus_per_replica; }
  // Simulated bytes of a full snapshot.
  std::uint64_t base_bytes() const;
  // Simulated bytes of a delta spanning `steps_since_parent` optimizer steps (changes of
  // independent steps overlap: 1 - (1 - f)^n of the parameters differ).
  std::uint64_t delta_bytes(std::int64_t steps_since_parent) const;
  Duration save_time(std::uint64_t bytes) const;
  // One replica's load of `bytes`, prompt-cache reset included when configured.
  Duration load_time(std::uint64_t bytes) const;
};

// The scenario's faults are a fault plan (weightsync/fake/fault_plan.h), installed on the fake
// after the initial sync and seeded from the scenario's fault stream. A scenario file gives it
// either as a probability per kind (the original form, which every shipped scenario uses):
//   {"save_failure": 0.01, "hotload_rejected": 0.02, "hotload_reject_status": 503,
//    "load_error": 0.02, "load_stuck": 0.005, "slow_download": 0.05, "slow_download_factor": 4,
//    "replica_restart": 0, "warmup_unavailable": 0.05}
// or as a fault plan document without a seed: {"faults": [{"fault": "load_error", ...}, ...]}.
// The plan document form, found at `where` ("scenario.faults"); throws ScenarioError naming the
// field.
fake::FaultPlan fault_plan_from_json(const nlohmann::ordered_json& faults,
                                     const std::string& where);
// Sets the probability of `kind`'s random entry (adding it; 0 removes it) and returns the entry,
// or null when removed.
fake::FaultSpec* set_fault_probability(fake::FaultPlan& plan, fake::FaultKind kind, double p);
// The probability of `kind`'s random entry; 0 if there is none.
double fault_probability(const fake::FaultPlan& plan, fake::FaultKind kind);
// `faults` as the scenario file writes it: the per-kind form when it says the same, else the
// plan document.
nlohmann::ordered_json faults_to_json(const fake::FaultPlan& plan);

// Reads and validates. Throws ScenarioError ("scenario.x.y: expected ..., got ..."; a null
// field takes its default).
Scenario parse_scenario(const nlohmann::ordered_json& json);
Scenario parse_scenario_text(const std::string& text);
// Throws ScenarioError for an unreadable file or bad JSON too, naming the path.
Scenario load_scenario(const std::filesystem::path& path);
// Re-checks a scenario built or changed in code (e.g. after command-line overrides).
void validate(const Scenario& scenario);
// Every field, normalised: parse_scenario(to_json(s)) == s.
nlohmann::ordered_json to_json(const Scenario& scenario);

}  // namespace weightsync::sim
