// The engine's host cost per sequence: paid inside each decode step (in_step), or by a separate
// output process that delays deliveries when it falls behind but never slows decode (overlapped).
#include <gtest/gtest.h>

#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/hardware.h"
#include "weightsync/sim/sampler.h"
#include "weightsync/sim/scenario.h"

namespace weightsync::sim {
namespace {

Scenario llama_on_h100_vllm(const std::string& output_processing) {
  Scenario s;
  s.model.params = 8.03e9;
  s.model.shape = "llama-3.1-8b";
  s.hardware.gpu = "h100";
  s.hardware.engine = "vllm";
  s.hardware.output_processing = output_processing;
  return s;
}

TEST(OutputProcessing, InStepEachLiveSequenceAddsTheEnginesCostToTheStep) {
  const double c = find_engine("vllm").seq_overhead_s;
  ASSERT_GT(c, 0);
  const DecodeModel in_step = make_decode_model(llama_on_h100_vllm("in_step"));
  const DecodeModel apart = make_decode_model(llama_on_h100_vllm("overlapped"));
  EXPECT_EQ(in_step.seq_overhead_s, c);
  EXPECT_EQ(in_step.output_s_per_token, 0);
  EXPECT_EQ(apart.seq_overhead_s, 0);
  EXPECT_EQ(apart.output_s_per_token, c);
  for (int batch : {1, 8, 256, 4096}) {
    EXPECT_NEAR(in_step.step_base_s(batch) - apart.step_base_s(batch), c * batch, 1e-12) << batch;
  }
  // A prefill fills the compute a memory-bound step leaves idle: host time is not idle compute.
  for (int batch : {1, 8, 256}) {
    EXPECT_NEAR(in_step.prefill_s(batch, 2000, true), apart.prefill_s(batch, 2000, true), 1e-12)
        << batch;
  }
}

// One replica, 64 requests of 100 tokens, no prompt, no KV term: each step takes 5 ms on the GPU.
DecodeModel five_ms_steps(double output_s_per_token) {
  DecodeModel m;
  m.batch_aware = true;
  m.step_overhead_s = 0.001;
  m.weight_bytes = 4e9;
  m.bytes_per_s = 1e12;  // 4 ms of reads
  m.compute_s_per_seq = 1e-9;
  m.kv_bytes_per_token = 0;
  m.kv_capacity_tokens = 1e9;
  m.output_s_per_token = output_s_per_token;
  return m;
}

std::vector<double> delivery_times(double output_s_per_token) {
  SamplerOptions o;
  o.decode = five_ms_steps(output_s_per_token);
  o.generation_tokens = Distribution::constant(100);
  o.concurrency = 64;
  VirtualClock clock;
  Sampler sampler(clock, fake::Random(1), o, 0);
  sampler.admit_up_to(64);
  std::vector<double> times;
  while (clock.run_next()) {
    while (times.size() < sampler.finished().size()) times.push_back(to_seconds(clock.now()));
  }
  EXPECT_EQ(sampler.finished().size(), 64u);
  for (const Sample& s : sampler.finished()) {
    EXPECT_NEAR(s.decode_seconds, 0.5, 1e-9);  // decode itself is never slowed
  }
  return times;
}

TEST(OutputProcessing, AnOutputProcessThatKeepsUpDelaysOnlyTheLastStepsOutputs) {
  // 64 x 50 us = 3.2 ms of outputs per 5 ms step: the process keeps up.
  for (double t : delivery_times(50e-6)) EXPECT_NEAR(t, 0.5 + 64 * 50e-6, 1e-9);
}

TEST(OutputProcessing, AnOutputProcessThatFallsBehindDeliversWhenItHasCaughtUp) {
  // 64 x 100 us = 6.4 ms per 5 ms step: it ends 6,400 tokens x 100 us after it started.
  for (double t : delivery_times(100e-6)) EXPECT_NEAR(t, 0.64, 1e-9);
  // Without the cost every request is delivered when its last step ends.
  for (double t : delivery_times(0)) EXPECT_NEAR(t, 0.5, 1e-9);
}

}  // namespace
}  // namespace weightsync::sim
