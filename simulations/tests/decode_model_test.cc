// The batch-aware decode model: step times from the GPU table and the model shape, a straggler
// decoding faster alone, concurrency capped by KV memory, one event per request (not per
// token), placements and the calibration checks' verdicts.
#include <gtest/gtest.h>

#include <cmath>

#include "weightsync/sim/calibration.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/hardware.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/scenario.h"
#include "weightsync/sim/simulation.h"

namespace weightsync::sim {
namespace {

Scenario llama_on_h100() {
  Scenario s;
  s.model.params = 8.03e9;
  s.model.shape = "llama-3.1-8b";
  s.hardware.gpu = "h100";
  return s;
}

TEST(DecodeModel, StepTimeFollowsWeightsComputeAndKvFromTheTables) {
  const Scenario s = llama_on_h100();
  const DecodeModel m = make_decode_model(s);
  ASSERT_TRUE(m.batch_aware);
  const GpuSpec& h100 = find_gpu("h100");
  const EngineConstants& e = engine_constants();
  const double t0 = find_engine("trtllm").step_overhead_s;
  // 32 layers x 8 KV heads x 128 x (K and V) x 2 bytes.
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token, 32.0 * 8 * 128 * 2 * 2);
  const double bw = h100.hbm_bytes_per_s * e.hbm_efficiency;
  EXPECT_NEAR(m.step_base_s(1), t0 + 8.03e9 * 2 / bw, 1e-12);
  // Memory-bound at small batches (same step for 1 and 8), compute-bound at large ones.
  EXPECT_DOUBLE_EQ(m.step_base_s(8), m.step_base_s(1));
  const double flops = h100.bf16_flops * e.compute_efficiency;
  EXPECT_NEAR(m.step_base_s(4096), t0 + 2 * 8.03e9 * 4096 / flops, 1e-9);
  EXPECT_NEAR(m.kv_s_per_token(), m.kv_bytes_per_token / bw, 1e-18);
  // What the weights leave of 90% of 80 GB, in tokens of KV.
  EXPECT_NEAR(m.kv_capacity_tokens, (80e9 * 0.9 - 8.03e9 * 2) / m.kv_bytes_per_token, 1e-6);
  // An explicit speed overrides the batch-aware model.
  Scenario fixed = s;
  fixed.rollout.tokens_per_second_per_request = 40;
  EXPECT_FALSE(make_decode_model(fixed).batch_aware);
  EXPECT_DOUBLE_EQ(make_decode_model(fixed).seconds_per_token, 1.0 / 40);
}

TEST(DecodeModel, TheEngineAddsItsFixedCostToEveryDecodeStepAndNotToPrefill) {
  const Scenario trt = llama_on_h100();
  ASSERT_EQ(trt.hardware.engine, "trtllm");
  Scenario vllm = trt;
  vllm.hardware.engine = "vllm";
  vllm.hardware.output_processing = "overlapped";  // its per-sequence cost leaves the step
  const double delta = find_engine("vllm").step_overhead_s - find_engine("trtllm").step_overhead_s;
  ASSERT_GT(delta, 0);
  const DecodeModel a = make_decode_model(trt);
  const DecodeModel b = make_decode_model(vllm);
  for (int batch : {1, 8, 256, 4096}) {
    EXPECT_NEAR(b.step_base_s(batch) - a.step_base_s(batch), delta, 1e-12) << batch;
  }
  EXPECT_NEAR(b.prefill_s(8, 1000, true), a.prefill_s(8, 1000, true), 1e-12);
  EXPECT_THROW(find_engine("tgi"), std::invalid_argument);
}

// One replica, every-step sync, every answer the same length and the whole batch in flight at
// once: each RL step decodes `tokens` steps of the same batch of 32, so an engine whose steps
// cost `delta` more, and c more per sequence (processed in the step), lengthens every RL step by
// tokens x (delta + 32 c), and nothing else.
TEST(Placement, AColocatedSyncStepPaysTheEngineCostOncePerDecodeStep) {
  const int tokens = 600;
  Scenario s = llama_on_h100();
  s.hardware.placement = "colocated";
  s.hardware.trainer_gpus = 1;
  s.deployment.replicas = 1;
  s.trainer.batch_size = 32;
  s.rollout.concurrency = 32;
  s.rollout.generation_tokens = Distribution::constant(tokens);
  s.rollout.prompt_tokens = Distribution::constant(100);
  s.policy.name = "every_step";
  s.steps = 6;
  Scenario v = s;
  v.hardware.engine = "vllm";
  const RunResult trt = run_simulation(s);
  const RunResult vllm = run_simulation(v);
  const double delta = find_engine("vllm").step_overhead_s - find_engine("trtllm").step_overhead_s;
  const double c = find_engine("vllm").seq_overhead_s;
  ASSERT_EQ(find_engine("trtllm").seq_overhead_s, 0);
  EXPECT_NEAR(vllm.simulated_seconds / vllm.steps - trt.simulated_seconds / trt.steps,
              tokens * (delta + 32 * c), 1e-6);
}

// A replica of several GPUs: its bandwidth and FLOP/s scale with them, and each step adds two
// all-reduces per layer at the engine's cost (none on one GPU).
TEST(DecodeModel, ATensorParallelReplicaPaysTwoAllReducesPerLayerPerStep) {
  Scenario one = llama_on_h100();
  one.hardware.engine = "vllm";
  one.hardware.output_processing = "overlapped";
  Scenario four = one;
  four.hardware.gpus_per_replica = 4;
  const double allreduce = find_engine("vllm").tp_allreduce_s;
  ASSERT_GT(allreduce, 0);
  const DecodeModel a = make_decode_model(one);
  const DecodeModel b = make_decode_model(four);
  EXPECT_NEAR(a.step_overhead_s, find_engine("vllm").step_overhead_s, 1e-15);
  EXPECT_NEAR(b.step_overhead_s - a.step_overhead_s, 2 * 32 * allreduce, 1e-15);
  // Memory-bound at batch 1: a quarter of the reads on each GPU, plus the all-reduces.
  EXPECT_NEAR(b.step_base_s(1) - b.step_overhead_s, (a.step_base_s(1) - a.step_overhead_s) / 4,
              1e-12);
  // Each engine at its own cost.
  Scenario trt = four;
  trt.hardware.engine = "trtllm";
  const InferenceEngine& t = find_engine("trtllm");
  EXPECT_NEAR(make_decode_model(trt).step_overhead_s, t.step_overhead_s + 2 * 32 * t.tp_allreduce_s,
              1e-15);
}

TEST(DecodeModel, MixtureOfExpertsReadsMoreExpertsAsTheBatchGrows) {
  Scenario s;
  s.model.params = 235e9;
  s.model.shape = "qwen3-235b-a22b";
  s.hardware.gpu = "h200";
  s.hardware.gpus_per_replica = 8;
  const DecodeModel m = make_decode_model(s);
  EXPECT_LT(m.step_base_s(1), m.step_base_s(16));
  EXPECT_LT(m.step_base_s(16), m.step_base_s(256));
}

TEST(DecodeModel, AStragglerAloneDecodesFasterThanInAFullBatch) {
  Scenario s = llama_on_h100();
  SamplerOptions o;
  o.decode = make_decode_model(s);
  o.generation_tokens = Distribution::constant(1000);
  o.concurrency = 256;
  VirtualClock crowded_clock;
  Sampler crowded(crowded_clock, fake::Random(1), o, 0);
  crowded.admit_up_to(256);
  while (crowded_clock.run_next()) {
  }
  o.concurrency = 1;
  VirtualClock alone_clock;
  Sampler alone(alone_clock, fake::Random(1), o, 0);
  alone.admit_up_to(1);
  while (alone_clock.run_next()) {
  }
  ASSERT_EQ(crowded.finished().size(), 256u);
  ASSERT_EQ(alone.finished().size(), 1u);
  const double per_token_alone = alone.finished()[0].decode_seconds / 1000;
  const double per_token_crowded = crowded.finished()[0].decode_seconds / 1000;
  EXPECT_NEAR(per_token_alone, o.decode.step_base_s(1) + o.decode.kv_s_per_token() * 500, 1e-5);
  EXPECT_GT(per_token_crowded, 1.8 * per_token_alone);
  // Decode advances in closed form between events: a few events per request, not one per token.
  EXPECT_LT(crowded_clock.events_run(), 4u * 256u);
}

TEST(DecodeModel, KvMemoryCapsTheRequestsAReplicaRuns) {
  Scenario s = llama_on_h100();
  s.hardware.memory_utilization = 0.25;  // 20 GB: 16 GB of weights leave ~30k tokens of KV
  SamplerOptions o;
  o.decode = make_decode_model(s);
  o.generation_tokens = Distribution::constant(4000);
  o.concurrency = 64;
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), o, 0);
  sampler.admit_up_to(64);
  const int fits = static_cast<int>(o.decode.kv_capacity_tokens / 4000);
  EXPECT_EQ(sampler.in_flight(), fits);
  while (clock.run_next()) {
  }
  EXPECT_EQ(sampler.finished().size(), 64u);
}

TEST(DecodeModel, RequestsAreBalancedOverTheReplicas) {
  SamplerOptions o;
  o.generation_tokens = Distribution::constant(10);
  o.concurrency = 12;
  o.replicas = 3;
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), o, 0);
  sampler.admit_up_to(12);
  while (clock.run_next()) {
  }
  int per_replica[3] = {0, 0, 0};
  for (const Sample& x : sampler.finished()) ++per_replica[x.replica];
  EXPECT_EQ(per_replica[0], 4);
  EXPECT_EQ(per_replica[1], 4);
  EXPECT_EQ(per_replica[2], 4);
}

TEST(DecodeModel, AReplicaThatFinishedLoadingServesTheNewWeightsBeforeTheOthers) {
  SamplerOptions o;
  o.generation_tokens = Distribution::constant(100);
  o.concurrency = 4;
  o.replicas = 2;
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), o, 0);
  sampler.admit_up_to(4);  // two per replica, on version 0
  clock.sleep_for(seconds(1));
  sampler.load_started();
  sampler.replica_loaded(0, 1);
  EXPECT_TRUE(sampler.loading());
  EXPECT_EQ(sampler.served_version(), 0);  // replica 1 still serves version 0
  clock.sleep_for(seconds(10));            // replica 0's requests finish, on version 1 (mixed)
  ASSERT_EQ(sampler.finished().size(), 2u);
  for (const Sample& x : sampler.finished()) {
    EXPECT_EQ(x.replica, 0);
    EXPECT_EQ(x.version_start, 0);
    EXPECT_EQ(x.version_end, 1);
  }
  sampler.admit_up_to(6);  // new requests go to the replica that serves
  sampler.load_finished(1);
  EXPECT_EQ(sampler.served_version(), 1);
  while (clock.run_next()) {
  }
  ASSERT_EQ(sampler.finished().size(), 6u);
  int fresh_on_0 = 0;
  for (std::size_t i = 2; i < 6; ++i) {
    const Sample& x = sampler.finished()[i];
    if (x.replica == 0 && x.version_start == 1) ++fresh_on_0;
  }
  EXPECT_EQ(fresh_on_0, 2);
}

TEST(Placement, ColocatedRefusesOverlappingPoliciesAndMismatchedGpus) {
  Scenario s = llama_on_h100();
  s.hardware.placement = "colocated";
  s.hardware.trainer_gpus = 8;
  s.deployment.replicas = 8;
  s.policy.name = "every_step";
  EXPECT_NO_THROW(validate(s));
  s.policy.name = "async";
  EXPECT_THROW(validate(s), ScenarioError);
  s.policy.name = "every_step";
  s.hardware.trainer_gpus = 4;
  EXPECT_THROW(validate(s), ScenarioError);
  s.hardware.trainer_gpus = 8;
  s.hardware.gpu = "tpu";
  EXPECT_THROW(validate(s), ScenarioError);
  s.hardware.gpu = "a100";
  s.model.shape = "kimi-k2";  // 2 TB of weights on one 80 GB GPU
  s.model.params = 1.04e12;
  EXPECT_THROW(validate(s), ScenarioError);
}

TEST(Calibration, ChecksPassFailAndKeepKnownGapsHonest) {
  CalibrationCheck c;
  c.published = 10;
  c.simulated = 11;
  c.tolerance = 0.15;
  EXPECT_EQ(c.status(), "pass");
  c.simulated = 12;
  EXPECT_EQ(c.status(), "FAIL");
  EXPECT_FALSE(c.ok());
  c.known_gap = "an effect the model lacks";
  EXPECT_EQ(c.status(), "known gap");
  EXPECT_TRUE(c.ok());
  c.simulated = 10.5;  // the gap closed: the note must go
  EXPECT_EQ(c.status(), "gap closed");
  EXPECT_FALSE(c.ok());
  c.tolerance.reset();
  EXPECT_EQ(c.status(), "shown");
}

}  // namespace
}  // namespace weightsync::sim
