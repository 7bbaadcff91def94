// Strict scenario JSON: every field checked for type and range, unknown fields refused.
#include "weightsync/sim/scenario.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "weightsync/sim/decode_model.h"
#include "weightsync/sim/hardware.h"
#include "weightsync/sim/sync_policy.h"

namespace weightsync::sim {
namespace {

using json = nlohmann::ordered_json;
using ordered_json = nlohmann::ordered_json;

std::string shown(const json& value) {
  std::string text = value.dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// Reads one JSON object, remembering which keys it used so that leftovers (typos) are refused.
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail(path_.empty() ? "scenario" : path_, "an object", object_);
  }

  [[noreturn]] static void fail(const std::string& field, const std::string& expected,
                                const json& got) {
    throw ScenarioError("scenario field '" + field + "': expected " + expected + ", got " +
                        shown(got));
  }

  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json* find(const std::string& key) {
    used_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  double number(const std::string& key, double fallback, double lo, double hi,
                const std::string& expected) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < lo ||
        v->get<double>() > hi) {
      fail(name(key), expected, *v);
    }
    return v->get<double>();
  }

  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi, const std::string& expected) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_integer() || v->get<std::int64_t>() < lo || v->get<std::int64_t>() > hi) {
      fail(name(key), expected, *v);
    }
    return v->get<std::int64_t>();
  }

  std::uint64_t unsigned_integer(const std::string& key, std::uint64_t fallback,
                                 const std::string& expected) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_unsigned()) fail(name(key), expected, *v);
    return v->get<std::uint64_t>();
  }

  bool boolean(const std::string& key, bool fallback) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(name(key), "true or false", *v);
    return v->get<bool>();
  }

  std::string one_of(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed) {
    const json* v = find(key);
    if (!v) return fallback;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("'" + a + "'");
    if (!v->is_string()) fail(name(key), "one of " + list, *v);
    const std::string text = v->get<std::string>();
    for (const auto& a : allowed) {
      if (a == text) return text;
    }
    fail(name(key), "one of " + list, *v);
  }

  std::string text(const std::string& key, const std::string& fallback) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) fail(name(key), "a string", *v);
    return v->get<std::string>();
  }

  // Refuses keys nobody asked for: they are typos or fields of another version.
  void finish() const {
    for (const auto& [key, value] : object_.items()) {
      if (!used_.count(key)) {
        throw ScenarioError("scenario field '" + name(key) +
                            "': not a known field (check its spelling against "
                            "simulations/README.md)");
      }
    }
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> used_;
};

constexpr double kHuge = 1e18;

Distribution read_distribution(const json* v, const std::string& field, Distribution fallback,
                               double lowest) {
  if (!v) return fallback;
  if (v->is_number()) {  // a bare number is a constant
    if (v->get<double>() < lowest) {
      Fields::fail(field, "a number >= " + shown(lowest) + " or a distribution object", *v);
    }
    return Distribution::constant(v->get<double>());
  }
  Fields f(*v, field);
  Distribution d;
  const std::string kind = f.one_of(
      "distribution", "", {"constant", "uniform", "normal", "lognormal", "exponential", "pareto"});
  if (kind.empty()) Fields::fail(field + ".distribution", "a distribution name", json());
  const std::string ge = ">= " + shown(lowest);
  if (kind == "constant") {
    d.kind = DistributionKind::constant;
    d.p1 = f.number("value", NAN, lowest, kHuge, "a number " + ge);
  } else if (kind == "uniform") {
    d.kind = DistributionKind::uniform;
    d.p1 = f.number("low", NAN, lowest, kHuge, "a number " + ge);
    d.p2 = f.number("high", NAN, d.p1, kHuge, "a number >= low");
  } else if (kind == "normal") {
    d.kind = DistributionKind::normal;
    d.p1 = f.number("mean", NAN, lowest, kHuge, "a number " + ge);
    d.p2 = f.number("stddev", NAN, 0, kHuge, "a number >= 0");
  } else if (kind == "lognormal") {
    d.kind = DistributionKind::lognormal;
    d.p1 = f.number("median", NAN, 0, kHuge, "a number > 0");
    d.p2 = f.number("sigma", NAN, 0, 20, "a number in [0, 20]");
  } else if (kind == "exponential") {
    d.kind = DistributionKind::exponential;
    d.p1 = f.number("mean", NAN, 0, kHuge, "a number > 0");
  } else {
    d.kind = DistributionKind::pareto;
    d.p1 = f.number("scale", NAN, 0, kHuge, "a number > 0");
    d.p2 = f.number("shape", NAN, 0, 1e6, "a number > 0");
  }
  d.min = f.number("min", lowest, lowest, kHuge, "a number " + ge);
  d.max = f.number("max", kHuge, d.min, kHuge, "a number >= min");
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
    Fields::fail(field + ".shape", "a number > 0", *v);
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

const json& member(const json& object, const std::string& key) {
  static const json empty = json::object();
  auto it = object.find(key);
  return it == object.end() ? empty : *it;
}

}  // namespace

double Scenario::dtype_bytes() const { return dtype_size(model.dtype); }

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
  Fields top(root, "");
  Scenario s;
  s.name = top.text("name", s.name);
  s.description = top.text("description", s.description);
  if (const json* sources = top.find("sources")) {
    if (!sources->is_array()) Fields::fail("sources", "an array of citations", *sources);
    s.sources = *sources;
  }
  if (const json* notes = top.find("notes")) {
    if (!notes->is_array() && !notes->is_string()) {
      Fields::fail("notes", "a string or an array of strings", *notes);
    }
    s.notes = *notes;
  }
  s.steps = static_cast<int>(
      top.integer("steps", s.steps, 1, 100'000'000, "an integer in [1, 100000000]"));
  s.seed = top.unsigned_integer("seed", s.seed, "an unsigned integer");

  {
    Fields f(member(root, "model"), "model");
    top.find("model");
    s.model.params = f.number("params", s.model.params, 1, 1e14, "a parameter count in [1, 1e14]");
    s.model.dtype = f.one_of("dtype", s.model.dtype, {"bf16", "fp16", "fp32", "fp8"});
    s.model.changed_fraction_per_step =
        f.number("changed_fraction_per_step", s.model.changed_fraction_per_step, 0, 1,
                 "a fraction in [0, 1]");
    s.model.delta_compression = f.number("delta_compression", s.model.delta_compression, 0.01, 1e6,
                                         "a ratio in [0.01, 1e6]");
    s.model.proxy_params = static_cast<std::uint64_t>(
        f.integer("proxy_params", static_cast<std::int64_t>(s.model.proxy_params), 64,
                  std::int64_t{1} << 28, "an integer in [64, 268435456]"));
    s.model.shape = f.text("shape", s.model.shape);
    if (!s.model.shape.empty()) {
      try {
        find_model_shape(s.model.shape);
      } catch (const std::invalid_argument& e) {
        Fields::fail("model.shape", std::string("a known shape (") + e.what() + ")",
                     json(s.model.shape));
      }
    }
    f.finish();
  }
  {
    Fields f(member(root, "trainer"), "trainer");
    top.find("trainer");
    s.trainer.step_time_s =
        read_distribution(f.find("step_time_s"), "trainer.step_time_s", s.trainer.step_time_s, 0);
    s.trainer.batch_size = static_cast<int>(
        f.integer("batch_size", s.trainer.batch_size, 1, 1'000'000, "an integer in [1, 1000000]"));
    s.trainer.save_fixed_s =
        f.number("save_fixed_s", s.trainer.save_fixed_s, 0, 1e6, "seconds in [0, 1e6]");
    s.trainer.storage_write_gb_per_s =
        f.number("storage_write_gb_per_s", s.trainer.storage_write_gb_per_s, 1e-6, 1e6,
                 "GB/s in [1e-6, 1e6]");
    f.finish();
  }
  {
    Fields f(member(root, "rollout"), "rollout");
    top.find("rollout");
    s.rollout.generation_tokens = read_distribution(
        f.find("generation_tokens"), "rollout.generation_tokens", s.rollout.generation_tokens, 0);
    s.rollout.concurrency = static_cast<int>(f.integer("concurrency", s.rollout.concurrency, 1,
                                                       1'000'000, "an integer in [1, 1000000]"));
    s.rollout.prompt_tokens = read_distribution(f.find("prompt_tokens"), "rollout.prompt_tokens",
                                                s.rollout.prompt_tokens, 0);
    if (f.find("tokens_per_second_per_request")) {
      s.rollout.tokens_per_second_per_request =
          f.number("tokens_per_second_per_request", 50, 1e-3, 1e9, "tokens/s in [0.001, 1e9]");
    }
    f.finish();
  }
  {
    Fields f(member(root, "hardware"), "hardware");
    top.find("hardware");
    auto& h = s.hardware;
    h.gpu = f.text("gpu", h.gpu);
    if (!h.gpu.empty()) {
      try {
        find_gpu(h.gpu);
      } catch (const std::invalid_argument& e) {
        Fields::fail("hardware.gpu", std::string("a known GPU (") + e.what() + ")", json(h.gpu));
      }
      if (s.model.shape.empty()) {
        Fields::fail("model.shape", "a model shape when hardware.gpu is set", json(""));
      }
    }
    h.placement = f.one_of("placement", h.placement, {"split", "colocated"});
    h.trainer_gpus = static_cast<int>(
        f.integer("trainer_gpus", h.trainer_gpus, 0, 1'000'000, "an integer in [0, 1000000]"));
    if (h.trainer_gpus > 0 && h.gpu.empty()) {
      Fields::fail("hardware.trainer_gpus", "0 unless hardware.gpu names the GPU",
                   json(h.trainer_gpus));
    }
    h.gpus_per_replica = static_cast<int>(
        f.integer("gpus_per_replica", h.gpus_per_replica, 1, 1024, "an integer in [1, 1024]"));
    h.serving_dtype = f.one_of("serving_dtype", h.serving_dtype, {"", "bf16", "fp16", "fp32", "fp8"});
    h.kv_dtype = f.one_of("kv_dtype", h.kv_dtype, {"", "bf16", "fp16", "fp32", "fp8"});
    h.memory_utilization = f.number("memory_utilization", h.memory_utilization, 0.01, 1,
                                    "a fraction in [0.01, 1]");
    h.training_mfu =
        f.number("training_mfu", h.training_mfu, 0, 1, "a fraction in [0, 1] (0: the default)");
    h.training_passes =
        f.number("training_passes", h.training_passes, 1, 100, "a number in [1, 100]");
    f.finish();
  }
  {
    Fields f(member(root, "deployment"), "deployment");
    top.find("deployment");
    auto& d = s.deployment;
    d.replicas =
        static_cast<int>(f.integer("replicas", d.replicas, 1, 64, "an integer in [1, 64]"));
    d.transition = f.one_of("transition", d.transition, {"ASYNC", "SYNC"});
    d.load_gb_per_s = f.number("load_gb_per_s", d.load_gb_per_s, 1e-6, 1e6, "GB/s in [1e-6, 1e6]");
    d.load_fixed_s = f.number("load_fixed_s", d.load_fixed_s, 0, 1e6, "seconds in [0, 1e6]");
    d.warmup_s = f.number("warmup_s", d.warmup_s, 0, 1e6, "seconds in [0, 1e6]");
    d.reset_prompt_cache = f.boolean("reset_prompt_cache", d.reset_prompt_cache);
    d.cache_reset_s = f.number("cache_reset_s", d.cache_reset_s, 0, 1e6, "seconds in [0, 1e6]");
    d.poll_interval_s =
        f.number("poll_interval_s", d.poll_interval_s, 1e-3, 3600, "seconds in [0.001, 3600]");
    d.hotload_timeout_s =
        f.number("hotload_timeout_s", d.hotload_timeout_s, 0, 1e6, "seconds in [0, 1e6]");
    f.finish();
  }
  {
    Fields f(member(root, "policy"), "policy");
    top.find("policy");
    auto& p = s.policy;
    p.name = f.text("name", p.name);
    if (!find_policy(p.name)) {
      Fields::fail("policy.name", "one of " + policy_names(), json(p.name));
    }
    p.interval =
        static_cast<int>(f.integer("interval", p.interval, 1, 1'000'000, "an integer >= 1"));
    p.staleness_bound = static_cast<int>(
        f.integer("staleness_bound", p.staleness_bound, 0, 1'000'000, "an integer >= 0"));
    p.stale_samples = f.one_of("stale_samples", p.stale_samples, {"drop", "downweight"});
    p.downweight_factor =
        f.number("downweight_factor", p.downweight_factor, 0, 1, "a factor in [0, 1]");
    f.finish();
  }
  if (s.hardware.placement == "colocated") {
    if (p_overlaps(s.policy)) {
      Fields::fail("policy.name",
                   "a synchronous policy with hardware.placement 'colocated' (the same GPUs "
                   "cannot generate while they train)",
                   json(s.policy.name));
    }
    if (s.hardware.trainer_gpus > 0 && s.hardware.trainer_gpus != s.inference_gpus()) {
      Fields::fail("hardware.trainer_gpus",
                   "the inference GPUs (deployment.replicas x hardware.gpus_per_replica = " +
                       std::to_string(s.inference_gpus()) + ") with placement 'colocated'",
                   json(s.hardware.trainer_gpus));
    }
  }
  if (!s.hardware.gpu.empty()) make_decode_model(s);  // refuses weights that do not fit
  if (const json& faults = member(root, "faults");
      faults.is_object() && faults.contains("faults")) {
    top.find("faults");
    s.faults = fault_plan_from_json(faults);
  } else {
    Fields f(faults, "faults");
    top.find("faults");
    using fake::FaultKind;
    const std::string p = "a probability in [0, 1]";
    const auto rate = [&](FaultKind kind, const char* key) {
      return set_fault_probability(s.faults, kind, f.number(key, 0, 0, 1, p));
    };
    rate(FaultKind::save_failure, "save_failure");
    fake::FaultSpec* rejected = rate(FaultKind::hotload_rejected, "hotload_rejected");
    const auto status =
        f.integer("hotload_reject_status", 503, 400, 599, "an HTTP status in [400, 599]");
    if (rejected) rejected->status = static_cast<int>(status);
    rate(FaultKind::load_error, "load_error");
    rate(FaultKind::load_stuck, "load_stuck");
    fake::FaultSpec* slow = rate(FaultKind::slow_download, "slow_download");
    const double factor = f.number("slow_download_factor", 4, 1, 1e6, "a factor >= 1");
    if (slow) slow->factor = factor;
    rate(FaultKind::replica_restart, "replica_restart");
    rate(FaultKind::warmup_unavailable, "warmup_unavailable");
    f.finish();
  }
  top.finish();
  return s;
}

Scenario parse_scenario_text(const std::string& text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ScenarioError(std::string("scenario: expected JSON, got a parse error: ") + e.what());
  }
  return parse_scenario(root);
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
