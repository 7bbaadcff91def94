// The batch-aware decode step and the FLOPs-based training step, from the hardware tables.
#include "weightsync/sim/decode_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "weightsync/sim/hardware.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {

double DecodeModel::gemm_s(int batch) const {
  const double b = std::max(batch, 1);
  const double touched =
      active_fraction >= 1 ? 1.0 : 1.0 - std::pow(1.0 - active_fraction, b);
  const double read_s = weight_bytes * std::max(touched, active_fraction) / bytes_per_s;
  return std::max(read_s, compute_s_per_seq * b);
}

double DecodeModel::step_base_s(int batch) const {
  if (!batch_aware) return seconds_per_token;
  return step_overhead_s + seq_overhead_s * std::max(batch, 1) + gemm_s(batch);
}

double DecodeModel::prefill_s(int batch, double prompt_tokens, bool headroom) const {
  if (!batch_aware || prompt_tokens <= 0) return 0;
  const double b = std::max(batch, 1);
  const double idle = headroom ? gemm_s(batch) - compute_s_per_seq * b : 0;
  return std::max(0.0, compute_s_per_seq * prompt_tokens - idle);
}

std::string DecodeModel::describe() const {
  std::ostringstream out;
  out.precision(3);
  if (!batch_aware) {
    out << "constant decode speed, " << 1.0 / seconds_per_token << " tokens/s per request";
    return out.str();
  }
  out << "batch-aware decode: step(1) " << step_base_s(1) * 1e3 << " ms";
  if (seq_overhead_s > 0) out << " + " << seq_overhead_s * 1e6 << " us per further sequence";
  if (output_s_per_token > 0) {
    out << ", outputs processed apart at " << output_s_per_token * 1e6 << " us/token";
  }
  out << ", KV " << kv_bytes_per_token / 1e3 << " kB/token, " << kv_capacity_tokens / 1e3
      << "k tokens of KV per replica, prefill " << compute_s_per_seq * 1e6 << " us/token";
  return out.str();
}

DecodeModel make_decode_model(const Scenario& s) {
  DecodeModel m;
  if (s.hardware.gpu.empty() || s.rollout.tokens_per_second_per_request) {
    m.seconds_per_token = 1.0 / s.rollout.tokens_per_second_per_request.value_or(50);
    return m;
  }
  const GpuSpec& gpu = find_gpu(s.hardware.gpu);
  const ModelShape& shape = find_model_shape(s.model.shape);
  const EngineConstants& e = engine_constants();
  const std::string dtype = s.serving_dtype();
  const double gpus = s.hardware.gpus_per_replica;
  m.batch_aware = true;
  const InferenceEngine& engine = find_engine(s.hardware.engine);
  m.step_overhead_s = engine.step_overhead_s;
  if (s.hardware.gpus_per_replica > 1) {
    m.step_overhead_s += 2.0 * shape.layers * engine.tp_allreduce_s;
  }
  if (s.hardware.output_processing == "overlapped") {
    m.output_s_per_token = engine.seq_overhead_s;
  } else {
    m.seq_overhead_s = engine.seq_overhead_s;
  }
  m.weight_bytes = shape.params * dtype_size(dtype);
  m.active_fraction = shape.active_params / shape.params;
  m.bytes_per_s = gpus * gpu.hbm_bytes_per_s * e.hbm_efficiency;
  const double flops = gpus * gpu.flops_for(dtype) * e.compute_efficiency;
  m.compute_s_per_seq = 2 * shape.active_params / flops;
  m.kv_bytes_per_token = shape.kv_bytes_per_token(dtype_size(s.kv_dtype()));
  const double free_bytes =
      gpus * gpu.hbm_bytes * s.hardware.memory_utilization - m.weight_bytes;
  if (free_bytes <= 0) {
    std::ostringstream msg;
    msg << "scenario.hardware.gpus_per_replica: expected enough GPUs to hold the "
        << shape.id << " weights (" << m.weight_bytes / 1e9 << " GB in " << dtype << ") in "
        << s.hardware.memory_utilization << " of their memory, got " << s.hardware.gpus_per_replica
        << " x " << gpu.id << " (" << gpus * gpu.hbm_bytes / 1e9 << " GB)";
    throw ScenarioError(msg.str());
  }
  m.kv_capacity_tokens = free_bytes / m.kv_bytes_per_token;
  return m;
}

double training_step_seconds(const Scenario& s, double tokens) {
  const GpuSpec& gpu = find_gpu(s.hardware.gpu);
  const ModelShape& shape = find_model_shape(s.model.shape);
  const double mfu =
      s.hardware.training_mfu > 0 ? s.hardware.training_mfu : engine_constants().training_mfu;
  return s.hardware.training_passes * 2 * shape.active_params * tokens /
         (s.hardware.trainer_gpus * gpu.bf16_flops * mfu);
}

}  // namespace weightsync::sim
