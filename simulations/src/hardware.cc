// The GPU and model-shape tables, parsed once from the compiled-in JSON.
#include "weightsync/sim/hardware.h"

#include <map>
#include <stdexcept>

#include "hardware_data.h"

namespace weightsync::sim {
namespace {

using json = nlohmann::ordered_json;

double figure(const json& entry, const std::string& key) {
  const json& v = entry.at(key);
  return v.is_object() ? v.at("value").get<double>() : v.get<double>();
}

struct Tables {
  json gpus_json = json::parse(gpu_table_text());
  json shapes_json = json::parse(model_shape_table_text());
  std::map<std::string, GpuSpec> gpus;
  std::map<std::string, ModelShape> shapes;
  EngineConstants engine;
  std::map<std::string, InferenceEngine> engines;

  Tables() {
    for (const auto& [id, g] : gpus_json.at("gpus").items()) {
      GpuSpec spec;
      spec.id = id;
      spec.name = g.at("name").get<std::string>();
      spec.hbm_bytes = figure(g, "hbm_gb") * 1e9;
      spec.hbm_bytes_per_s = figure(g, "hbm_tb_per_s") * 1e12;
      spec.bf16_flops = figure(g, "bf16_tflops") * 1e12;
      spec.fp8_flops = figure(g, "fp8_tflops") * 1e12;
      gpus[id] = spec;
    }
    for (const auto& [id, m] : shapes_json.at("shapes").items()) {
      ModelShape shape;
      shape.id = id;
      shape.params = m.at("params").get<double>();
      shape.active_params = m.at("active_params").get<double>();
      shape.layers = m.at("layers").get<int>();
      shape.kv_heads = m.value("kv_heads", 0);
      shape.head_dim = m.value("head_dim", 0);
      shape.kv_latent_dim = m.value("kv_latent_dim", 0);
      shapes[id] = shape;
    }
    const json& e = gpus_json.at("engine");
    engine.hbm_efficiency = figure(e, "hbm_efficiency");
    engine.compute_efficiency = figure(e, "compute_efficiency");
    engine.training_mfu = figure(e, "training_mfu");
    for (const auto& [id, g] : gpus_json.at("engines").items()) {
      InferenceEngine spec;
      spec.id = id;
      spec.name = g.at("name").get<std::string>();
      spec.step_overhead_s = figure(g, "step_overhead_s");
      spec.seq_overhead_s = figure(g, "seq_overhead_s");
      spec.tp_allreduce_s = figure(g, "tp_allreduce_s");
      engines[id] = spec;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// The entry `id` of one of the tables, or an error naming `what` and every id the table has.
template <typename Map>
const typename Map::mapped_type& find_in(const Map& map, const std::string& what,
                                         const std::string& id) {
  auto it = map.find(id);
  if (it != map.end()) return it->second;
  std::string list;
  for (const auto& entry : map) list += (list.empty() ? "'" : ", '") + entry.first + "'";
  throw std::invalid_argument("unknown " + what + " '" + id + "': expected one of " + list);
}

}  // namespace

double dtype_size(const std::string& dtype) {
  if (dtype == "fp32") return 4;
  if (dtype == "fp8") return 1;
  return 2;
}

double GpuSpec::flops_for(const std::string& dtype) const {
  return dtype == "fp8" ? fp8_flops : bf16_flops;
}

double ModelShape::kv_bytes_per_token(double kv_dtype_bytes) const {
  const double per_layer =
      kv_latent_dim > 0 ? kv_latent_dim : 2.0 * kv_heads * static_cast<double>(head_dim);
  return per_layer * layers * kv_dtype_bytes;
}

const GpuSpec& find_gpu(const std::string& id) { return find_in(tables().gpus, "GPU", id); }

const ModelShape& find_model_shape(const std::string& id) {
  return find_in(tables().shapes, "model shape", id);
}

const EngineConstants& engine_constants() { return tables().engine; }

const InferenceEngine& find_engine(const std::string& id) {
  return find_in(tables().engines, "inference engine", id);
}

std::vector<std::string> engine_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, e] : tables().engines) ids.push_back(id);
  return ids;
}

std::vector<std::string> gpu_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, g] : tables().gpus) ids.push_back(id);
  return ids;
}

std::vector<std::string> model_shape_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, s] : tables().shapes) ids.push_back(id);
  return ids;
}

const nlohmann::ordered_json& gpu_table() { return tables().gpus_json; }
const nlohmann::ordered_json& model_shape_table() { return tables().shapes_json; }

}  // namespace weightsync::sim
