// DecodeModel: how long one replica takes per decode step, as a function of the batch.
//
// Batch-aware (the scenario names a GPU and a model shape): one step of B live sequences holding
// K tokens of KV cache takes
//     t0 + c * B + max(weight_bytes_read(B) / bw, 2 * active_params * B / flops)
//        + K * kv_bytes_per_token / bw
// where t0 is the inference engine's fixed cost of a step (with, when a replica spans several
// GPUs, two tensor-parallel all-reduces per layer at the engine's cost each) and c its host
// cost per sequence (sampling, log-probabilities, output processing) when the step waits for
// it (hardware.output_processing "in_step"); "overlapped", another process handles the outputs
// while the next steps run: c * B leaves the step and a finished request is delivered once
// that process has handled every token before it (a queue per replica). bw and flops are the
// replica's (GPUs per replica x datasheet x the engine's efficiency),
// weight_bytes_read is every weight for a dense model and, for a mixture of experts, the experts
// B tokens route to (1 - (1 - active/total)^B of them, at least the active ones). Decode is
// memory-bound until the batch makes the GEMMs compute-bound; the KV term grows with what the
// live sequences hold. A P-token prompt is prefilled in one step together with the decode batch
// (inflight batching): it costs what it adds to that step, max(0, 2 * active_params * P / flops
// - headroom), where the headroom is the compute a memory-bound step leaves idle (none if
// another prefill already used this step's); the replica's decode stalls that long. A replica
// admits a request only if the KV cache it will need at its end fits in what its memory leaves
// after the weights.
//
// Constant (no GPU, or an explicit rollout.tokens_per_second_per_request): every request decodes
// at that speed whatever the batch; no prefill, no memory cap.
#pragma once

#include <string>

namespace weightsync::sim {

struct Scenario;

struct DecodeModel {
  bool batch_aware = false;
  double seconds_per_token = 0.02;  // constant mode

  double step_overhead_s = 0;
  double seq_overhead_s = 0;    // host cost per live sequence per step, in the step
  double output_s_per_token = 0;  // the same cost, paid by an overlapped output process
  double weight_bytes = 0;      // all weights of a replica, in the serving dtype
  double active_fraction = 1;   // active / total parameters
  double bytes_per_s = 0;       // a replica's effective HBM bandwidth
  double compute_s_per_seq = 0; // 2 * active_params / effective flops: compute per sequence-step
  double kv_bytes_per_token = 0;
  double kv_capacity_tokens = 0;  // tokens of KV cache a replica holds

  // Seconds of one step of `batch` sequences, before the KV term.
  double step_base_s(int batch) const;
  // The GPU part of that step: the weight reads or the GEMMs, whichever bounds it.
  double gemm_s(int batch) const;
  // Seconds one token of live KV cache adds to a step.
  double kv_s_per_token() const { return batch_aware ? kv_bytes_per_token / bytes_per_s : 0; }
  // The stall a P-token prefill adds to a step of `batch` sequences; `headroom` false when an
  // earlier prefill already filled this step's idle compute.
  double prefill_s(int batch, double prompt_tokens, bool headroom) const;
  // Whether a replica holding `reserved` tokens of KV can take `more`.
  bool fits(double reserved, double more) const {
    return !batch_aware || reserved + more <= kv_capacity_tokens;
  }
  // One line describing the model (for reports and `calibrate`).
  std::string describe() const;
};

// The scenario's decode model; throws ScenarioError when the weights do not fit a replica.
DecodeModel make_decode_model(const Scenario& scenario);

// Seconds of one training step over `tokens` (prompt + generated) on the scenario's trainer GPUs
// (hardware.trainer_gpus > 0): training_passes * 2 * active_params * tokens / (GPUs x flops x MFU).
double training_step_seconds(const Scenario& scenario, double tokens);

}  // namespace weightsync::sim
