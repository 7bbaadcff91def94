// Strict scenario JSON: every field checked for type and range, unknown fields refused.
#include "weightsync/sim/scenario.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "weightsync/internal/json_fields.h"
#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/hardware.h"
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

using json = nlohmann::ordered_json;
using ordered_json = nlohmann::ordered_json;

// The project's one strict reader: its messages name the field's path ("scenario.model.dtype"),
// what was expected and what was seen; a field no getter asked for is refused by finish().
using Fields = internal::BasicJsonFields<ScenarioError, json>;
using internal::shown;

constexpr double kHuge = 1e18;

Distribution read_distribution(const json* v, const std::string& field, Distribution fallback,
                               double lowest) {
  if (!v) return fallback;
  if (v->is_number()) {  // a bare number is a constant
    if (v->get<double>() < lowest) {
      Fields::fail(field, "a number >= " + shown(json(lowest)) + " or a distribution object", *v);
    }
    return Distribution::constant(v->get<double>());
  }
  Fields f(*v, field);
  Distribution d;
  const std::vector<std::string> kinds = {"constant",  "uniform",     "normal",
                                          "lognormal", "exponential", "pareto"};
  const auto kind_read = f.one_of("distribution", kinds);
  if (!kind_read) f.missing("distribution", "a distribution name");
  const std::string kind = *kind_read;
  const std::string ge = ">= " + shown(json(lowest));
  auto number = [&](const char* key, double lo, double hi, const std::string& expected) {
    return f.number(key, lo, hi, expected).value_or(NAN);
  };
  if (kind == "constant") {
    d.kind = DistributionKind::constant;
    d.p1 = number("value", lowest, kHuge, "a number " + ge);
  } else if (kind == "uniform") {
    d.kind = DistributionKind::uniform;
    d.p1 = number("low", lowest, kHuge, "a number " + ge);
    d.p2 = number("high", d.p1, kHuge, "a number >= low");
  } else if (kind == "normal") {
    d.kind = DistributionKind::normal;
    d.p1 = number("mean", lowest, kHuge, "a number " + ge);
    d.p2 = number("stddev", 0, kHuge, "a number >= 0");
  } else if (kind == "lognormal") {
    d.kind = DistributionKind::lognormal;
    d.p1 = number("median", 0, kHuge, "a number > 0");
    d.p2 = number("sigma", 0, 20, "a number in [0, 20]");
  } else if (kind == "exponential") {
    d.kind = DistributionKind::exponential;
    d.p1 = number("mean", 0, kHuge, "a number > 0");
  } else {
    d.kind = DistributionKind::pareto;
    d.p1 = number("scale", 0, kHuge, "a number > 0");
    d.p2 = number("shape", 0, 1e6, "a number > 0");
  }
  d.min = f.number("min", lowest, kHuge, "a number " + ge).value_or(lowest);
  d.max = f.number("max", d.min, kHuge, "a number >= min").value_or(kHuge);
  if (d.max >= kHuge) d.max = std::numeric_limits<double>::infinity();
  if (std::isnan(d.p1) || (d.kind != DistributionKind::constant &&
                           d.kind != DistributionKind::exponential && std::isnan(d.p2))) {
    Fields::fail(field, "every parameter of a " + kind + " distribution (see README.md)", *v);
  }
  if ((d.kind == DistributionKind::lognormal || d.kind == DistributionKind::exponential ||
       d.kind == DistributionKind::pareto) &&
      d.p1 <= 0) {
    Fields::fail(field, "a positive " + std::string(kind == "pareto" ? "scale" : "parameter"), *v);
  }
  if (d.kind == DistributionKind::pareto && d.p2 <= 0) {
    Fields::fail(f.at("shape"), "a number > 0", *v);
  }
  f.finish();
  return d;
}

ordered_json distribution_json(const Distribution& d) {
  ordered_json j;
  j["distribution"] = std::string(to_string(d.kind));
  switch (d.kind) {
    case DistributionKind::constant:
      j["value"] = d.p1;
      break;
    case DistributionKind::uniform:
      j["low"] = d.p1;
      j["high"] = d.p2;
      break;
    case DistributionKind::normal:
      j["mean"] = d.p1;
      j["stddev"] = d.p2;
      break;
    case DistributionKind::lognormal:
      j["median"] = d.p1;
      j["sigma"] = d.p2;
      break;
    case DistributionKind::exponential:
      j["mean"] = d.p1;
      break;
    case DistributionKind::pareto:
      j["scale"] = d.p1;
      j["shape"] = d.p2;
      break;
  }
  j["min"] = d.min;
  if (std::isfinite(d.max)) j["max"] = d.max;
  return j;
}

std::string policy_names() {
  std::string list;
  for (const auto& entry : policy_registry()) {
    list += (list.empty() ? "'" : ", '") + std::string(entry.name) + "'";
  }
  return list;
}

// Whether the policy generates while the trainer trains.
bool p_overlaps(const PolicySpec& spec) {
  return make_policy(spec.name, PolicySettings{})->overlaps_generation();
}

// A section of the scenario; an empty one (every field at its default) when absent.
const json& section(Fields& top, const std::string& key) {
  static const json empty = json::object();
  const json* v = top.child(key);
  return v ? *v : empty;
}

}  // namespace

double Scenario::dtype_bytes() const {
  return dtype_size(model.dtype);
}

std::uint64_t Scenario::base_bytes() const {
  return static_cast<std::uint64_t>(std::llround(model.params * dtype_bytes()));
}

std::uint64_t Scenario::delta_bytes(std::int64_t steps_since_parent) const {
  const double n = static_cast<double>(std::max<std::int64_t>(steps_since_parent, 1));
  const double changed = 1.0 - std::pow(1.0 - model.changed_fraction_per_step, n);
  return static_cast<std::uint64_t>(
      std::llround(static_cast<double>(base_bytes()) * changed / model.delta_compression));
}

Duration Scenario::save_time(std::uint64_t bytes) const {
  return seconds(trainer.save_fixed_s +
                 static_cast<double>(bytes) / (trainer.storage_write_gb_per_s * 1e9));
}

Duration Scenario::load_time(std::uint64_t bytes) const {
  return seconds(deployment.load_fixed_s +
                 static_cast<double>(bytes) / (deployment.load_gb_per_s * 1e9) +
                 (deployment.reset_prompt_cache ? deployment.cache_reset_s : 0.0));
}

Scenario parse_scenario(const json& root) {
  Fields top(root, "scenario");
  Scenario s;
  s.name = top.text("name", true).value_or(s.name);
  s.description = top.text("description", true).value_or(s.description);
  if (const json* sources = top.child("sources")) {
    if (!sources->is_array()) Fields::fail(top.at("sources"), "an array of citations", *sources);
    s.sources = *sources;
  }
  if (const json* notes = top.child("notes")) {
    if (!notes->is_array() && !notes->is_string()) {
      Fields::fail(top.at("notes"), "a string or an array of strings", *notes);
    }
    s.notes = *notes;
  }
  s.steps = static_cast<int>(
      top.integer("steps", 1, 100'000'000, "an integer in [1, 100000000]").value_or(s.steps));
  s.seed = top.unsigned_integer("seed", "an unsigned integer").value_or(s.seed);

  {
    Fields f(section(top, "model"), top.at("model"));
    s.model.params =
        f.number("params", 1, 1e14, "a parameter count in [1, 1e14]").value_or(s.model.params);
    s.model.dtype = f.one_of("dtype", {"bf16", "fp16", "fp32", "fp8"}).value_or(s.model.dtype);
    s.model.changed_fraction_per_step =
        f.number("changed_fraction_per_step", 0, 1, "a fraction in [0, 1]")
            .value_or(s.model.changed_fraction_per_step);
    s.model.delta_compression = f.number("delta_compression", 0.01, 1e6, "a ratio in [0.01, 1e6]")
                                    .value_or(s.model.delta_compression);
    s.model.proxy_params = static_cast<std::uint64_t>(
        f.integer("proxy_params", 64, std::int64_t{1} << 28, "an integer in [64, 268435456]")
            .value_or(static_cast<std::int64_t>(s.model.proxy_params)));
    s.model.shape = f.text("shape", true).value_or(s.model.shape);
    if (!s.model.shape.empty()) {
      try {
        find_model_shape(s.model.shape);
      } catch (const std::invalid_argument& e) {
        Fields::fail(f.at("shape"), std::string("a known shape (") + e.what() + ")",
                     json(s.model.shape));
      }
    }
    f.finish();
  }
  {
    Fields f(section(top, "trainer"), top.at("trainer"));
    s.trainer.step_time_s =
        read_distribution(f.child("step_time_s"), f.at("step_time_s"), s.trainer.step_time_s, 0);
    s.trainer.batch_size =
        static_cast<int>(f.integer("batch_size", 1, 1'000'000, "an integer in [1, 1000000]")
                             .value_or(s.trainer.batch_size));
    s.trainer.save_fixed_s =
        f.number("save_fixed_s", 0, 1e6, "seconds in [0, 1e6]").value_or(s.trainer.save_fixed_s);
    s.trainer.storage_write_gb_per_s =
        f.number("storage_write_gb_per_s", 1e-6, 1e6, "GB/s in [1e-6, 1e6]")
            .value_or(s.trainer.storage_write_gb_per_s);
    f.finish();
  }
  {
    Fields f(section(top, "rollout"), top.at("rollout"));
    s.rollout.generation_tokens = read_distribution(
        f.child("generation_tokens"), f.at("generation_tokens"), s.rollout.generation_tokens, 0);
    s.rollout.concurrency =
        static_cast<int>(f.integer("concurrency", 1, 1'000'000, "an integer in [1, 1000000]")
                             .value_or(s.rollout.concurrency));
    s.rollout.prompt_tokens = read_distribution(f.child("prompt_tokens"), f.at("prompt_tokens"),
                                                s.rollout.prompt_tokens, 0);
    if (auto tps =
            f.number("tokens_per_second_per_request", 1e-3, 1e9, "tokens/s in [0.001, 1e9]")) {
      s.rollout.tokens_per_second_per_request = tps;
    }
    f.finish();
  }
  {
    Fields f(section(top, "hardware"), top.at("hardware"));
    auto& h = s.hardware;
    h.gpu = f.text("gpu", true).value_or(h.gpu);
    if (!h.gpu.empty()) {
      try {
        find_gpu(h.gpu);
      } catch (const std::invalid_argument& e) {
        Fields::fail(f.at("gpu"), std::string("a known GPU (") + e.what() + ")", json(h.gpu));
      }
      if (s.model.shape.empty()) {
        Fields::fail(top.at("model.shape"), "a model shape when hardware.gpu is set", json(""));
      }
    }
    h.placement = f.one_of("placement", {"split", "colocated"}).value_or(h.placement);
    h.trainer_gpus =
        static_cast<int>(f.integer("trainer_gpus", 0, 1'000'000, "an integer in [0, 1000000]")
                             .value_or(h.trainer_gpus));
    if (h.trainer_gpus > 0 && h.gpu.empty()) {
      Fields::fail(f.at("trainer_gpus"), "0 unless hardware.gpu names the GPU",
                   json(h.trainer_gpus));
    }
    h.gpus_per_replica =
        static_cast<int>(f.integer("gpus_per_replica", 1, 1024, "an integer in [1, 1024]")
                             .value_or(h.gpus_per_replica));
    h.engine = f.one_of("engine", engine_ids()).value_or(h.engine);
    h.output_processing =
        f.one_of("output_processing", {"in_step", "overlapped"}).value_or(h.output_processing);
    h.serving_dtype =
        f.one_of("serving_dtype", {"", "bf16", "fp16", "fp32", "fp8"}).value_or(h.serving_dtype);
    h.kv_dtype = f.one_of("kv_dtype", {"", "bf16", "fp16", "fp32", "fp8"}).value_or(h.kv_dtype);
    h.memory_utilization = f.number("memory_utilization", 0.01, 1, "a fraction in [0.01, 1]")
                               .value_or(h.memory_utilization);
    h.training_mfu = f.number("training_mfu", 0, 1, "a fraction in [0, 1] (0: the default)")
                         .value_or(h.training_mfu);
    h.training_passes =
        f.number("training_passes", 1, 100, "a number in [1, 100]").value_or(h.training_passes);
    f.finish();
  }
  {
    Fields f(section(top, "deployment"), top.at("deployment"));
    auto& d = s.deployment;
    d.replicas = static_cast<int>(
        f.integer("replicas", 1, 64, "an integer in [1, 64]").value_or(d.replicas));
    d.transition = f.one_of("transition", {"ASYNC", "SYNC"}).value_or(d.transition);
    d.load_gb_per_s =
        f.number("load_gb_per_s", 1e-6, 1e6, "GB/s in [1e-6, 1e6]").value_or(d.load_gb_per_s);
    d.load_fixed_s =
        f.number("load_fixed_s", 0, 1e6, "seconds in [0, 1e6]").value_or(d.load_fixed_s);
    d.warmup_s = f.number("warmup_s", 0, 1e6, "seconds in [0, 1e6]").value_or(d.warmup_s);
    d.reset_prompt_cache = f.boolean("reset_prompt_cache").value_or(d.reset_prompt_cache);
    d.cache_reset_s =
        f.number("cache_reset_s", 0, 1e6, "seconds in [0, 1e6]").value_or(d.cache_reset_s);
    d.poll_interval_s = f.number("poll_interval_s", 1e-3, 3600, "seconds in [0.001, 3600]")
                            .value_or(d.poll_interval_s);
    d.hotload_timeout_s =
        f.number("hotload_timeout_s", 0, 1e6, "seconds in [0, 1e6]").value_or(d.hotload_timeout_s);
    f.finish();
  }
  {
    Fields f(section(top, "policy"), top.at("policy"));
    auto& p = s.policy;
    p.name = f.text("name", true).value_or(p.name);
    if (!find_policy(p.name)) {
      Fields::fail(f.at("name"), "one of " + policy_names(), json(p.name));
    }
    p.interval = static_cast<int>(
        f.integer("interval", 1, 1'000'000, "an integer >= 1").value_or(p.interval));
    p.staleness_bound = static_cast<int>(
        f.integer("staleness_bound", 0, 1'000'000, "an integer >= 0").value_or(p.staleness_bound));
    p.stale_samples = f.one_of("stale_samples", {"drop", "downweight"}).value_or(p.stale_samples);
    p.downweight_factor =
        f.number("downweight_factor", 0, 1, "a factor in [0, 1]").value_or(p.downweight_factor);
    f.finish();
  }
  if (s.hardware.placement == "colocated") {
    if (p_overlaps(s.policy)) {
      Fields::fail(top.at("policy.name"),
                   "a synchronous policy with hardware.placement 'colocated' (the same GPUs "
                   "cannot generate while they train)",
                   json(s.policy.name));
    }
    if (s.hardware.trainer_gpus > 0 && s.hardware.trainer_gpus != s.inference_gpus()) {
      Fields::fail(top.at("hardware.trainer_gpus"),
                   "the inference GPUs (deployment.replicas x hardware.gpus_per_replica = " +
                       std::to_string(s.inference_gpus()) + ") with placement 'colocated'",
                   json(s.hardware.trainer_gpus));
    }
  }
  if (!s.hardware.gpu.empty()) make_decode_model(s);  // refuses weights that do not fit
  if (const json& faults = section(top, "faults");
      faults.is_object() && faults.contains("faults")) {
    s.faults = fault_plan_from_json(faults, top.at("faults"));
  } else {
    Fields f(faults, top.at("faults"));
    using fake::FaultKind;
    const std::string p = "a probability in [0, 1]";
    const auto rate = [&](FaultKind kind, const char* key) {
      return set_fault_probability(s.faults, kind, f.number(key, 0, 1, p).value_or(0));
    };
    rate(FaultKind::save_failure, "save_failure");
    fake::FaultSpec* rejected = rate(FaultKind::hotload_rejected, "hotload_rejected");
    const auto status =
        f.integer("hotload_reject_status", 400, 599, "an HTTP status in [400, 599]").value_or(503);
    if (rejected) rejected->status = static_cast<int>(status);
    rate(FaultKind::load_error, "load_error");
    rate(FaultKind::load_stuck, "load_stuck");
    fake::FaultSpec* slow = rate(FaultKind::slow_download, "slow_download");
    const double factor = f.number("slow_download_factor", 1, 1e6, "a factor >= 1").value_or(4);
    if (slow) slow->factor = factor;
    rate(FaultKind::replica_restart, "replica_restart");
    rate(FaultKind::warmup_unavailable, "warmup_unavailable");
    f.finish();
  }
  top.finish();
  return s;
}

Scenario parse_scenario_text(const std::string& text) {
  return parse_scenario(internal::parse_json<ScenarioError, json>(text, "scenario"));
}

Scenario load_scenario(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw ScenarioError("scenario file '" + path.string() + "': expected a readable file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_scenario_text(text.str());
  } catch (const ScenarioError& e) {
    throw ScenarioError(path.string() + ": " + e.what());
  }
}

void validate(const Scenario& scenario) {
  parse_scenario(to_json(scenario));
}

ordered_json to_json(const Scenario& s) {
  ordered_json j;
  j["name"] = s.name;
  j["description"] = s.description;
  j["sources"] = s.sources;
  j["notes"] = s.notes;
  j["model"] = {{"params", s.model.params},
                {"dtype", s.model.dtype},
                {"changed_fraction_per_step", s.model.changed_fraction_per_step},
                {"delta_compression", s.model.delta_compression},
                {"proxy_params", s.model.proxy_params},
                {"shape", s.model.shape}};
  j["trainer"] = {{"step_time_s", distribution_json(s.trainer.step_time_s)},
                  {"batch_size", s.trainer.batch_size},
                  {"save_fixed_s", s.trainer.save_fixed_s},
                  {"storage_write_gb_per_s", s.trainer.storage_write_gb_per_s}};
  j["rollout"] = {{"generation_tokens", distribution_json(s.rollout.generation_tokens)},
                  {"prompt_tokens", distribution_json(s.rollout.prompt_tokens)},
                  {"concurrency", s.rollout.concurrency}};
  if (s.rollout.tokens_per_second_per_request) {
    j["rollout"]["tokens_per_second_per_request"] = *s.rollout.tokens_per_second_per_request;
  }
  const auto& d = s.deployment;
  j["deployment"] = {{"replicas", d.replicas},
                     {"transition", d.transition},
                     {"load_gb_per_s", d.load_gb_per_s},
                     {"load_fixed_s", d.load_fixed_s},
                     {"warmup_s", d.warmup_s},
                     {"reset_prompt_cache", d.reset_prompt_cache},
                     {"cache_reset_s", d.cache_reset_s},
                     {"poll_interval_s", d.poll_interval_s},
                     {"hotload_timeout_s", d.hotload_timeout_s}};
  const auto& h = s.hardware;
  j["hardware"] = {{"gpu", h.gpu},
                   {"placement", h.placement},
                   {"trainer_gpus", h.trainer_gpus},
                   {"gpus_per_replica", h.gpus_per_replica},
                   {"engine", h.engine},
                   {"output_processing", h.output_processing},
                   {"serving_dtype", h.serving_dtype},
                   {"kv_dtype", h.kv_dtype},
                   {"memory_utilization", h.memory_utilization},
                   {"training_mfu", h.training_mfu},
                   {"training_passes", h.training_passes}};
  const auto& p = s.policy;
  j["policy"] = {{"name", p.name},
                 {"interval", p.interval},
                 {"staleness_bound", p.staleness_bound},
                 {"stale_samples", p.stale_samples},
                 {"downweight_factor", p.downweight_factor}};
  j["faults"] = faults_to_json(s.faults);
  j["steps"] = s.steps;
  j["seed"] = s.seed;
  return j;
}

}  // namespace weightsync::sim
