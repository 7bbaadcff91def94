// The hardware and model tables the batch-aware decode model rests on: GPUs (memory, HBM
// bandwidth, dense tensor throughput, each with its datasheet source), model shapes (parameters,
// active parameters, layers, KV layout), the engine efficiencies every case shares and each
// inference engine's fixed cost per decode step. The tables are the files
// simulations/data/gpus.json and model_shapes.json, compiled in.
//
// Thread-safety: the tables are read once and never change; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace weightsync::sim {

struct GpuSpec {
  std::string id;  // "h100"
  std::string name;
  double hbm_bytes = 0;
  double hbm_bytes_per_s = 0;
  double bf16_flops = 0;  // dense, per second
  double fp8_flops = 0;
  // Dense throughput for weights of `dtype` (fp8 or a 2-byte type; fp32 at the bf16 rate).
  double flops_for(const std::string& dtype) const;
};

struct ModelShape {
  std::string id;
  double params = 0;
  double active_params = 0;  // per token (MoE: the routed experts)
  int layers = 0;
  int kv_heads = 0;       // GQA
  int head_dim = 0;       // GQA
  int kv_latent_dim = 0;  // MLA: cached elements per token per layer
  // Bytes of KV cache one token holds, over all layers, at `kv_dtype_bytes` per element.
  double kv_bytes_per_token(double kv_dtype_bytes) const;
};

struct EngineConstants {
  double hbm_efficiency = 0;
  double compute_efficiency = 0;
  double training_mfu = 0;
};

// What differs between inference engines: the fixed cost of one decode step besides the GEMMs
// and the reads (scheduling, input preparation, launches), the host-side cost each live
// sequence adds to a step (sampling, log-probabilities, output processing), and the cost of one
// tensor-parallel all-reduce (a step does two per layer when a replica spans several GPUs).
struct InferenceEngine {
  std::string id;  // "vllm"
  std::string name;
  double step_overhead_s = 0;
  double seq_overhead_s = 0;
  double tp_allreduce_s = 0;
};

// Throw std::invalid_argument naming the known ids when `id` is unknown.
const GpuSpec& find_gpu(const std::string& id);
const ModelShape& find_model_shape(const std::string& id);
const EngineConstants& engine_constants();
const InferenceEngine& find_engine(const std::string& id);
std::vector<std::string> gpu_ids();
std::vector<std::string> engine_ids();
std::vector<std::string> model_shape_ids();
// The tables as shipped (for reports and `calibrate`).
const nlohmann::ordered_json& gpu_table();
const nlohmann::ordered_json& model_shape_table();

// Bytes per element of a dtype name: fp32 4, bf16/fp16 2, fp8 1.
double dtype_size(const std::string& dtype);

}  // namespace weightsync::sim
