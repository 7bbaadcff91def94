// What the deployment API's client side (lib/src/wire.cc) and server side (server_wire.cc)
// share to read and write JSON bodies. Internal; never installed.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "weightsync/internal/json_fields.h"
#include "weightsync/wire.h"

namespace weightsync::internal {

using WireFields = BasicJsonFields<WireError>;

// Serializes without throwing on invalid UTF-8 in a string (replaced by U+FFFD): a name or an
// error message quoting bad input must not turn into an exception of the JSON library.
inline std::string to_text(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A body that must be one JSON document; `where` names it ("hotload request").
inline nlohmann::json parse_body(std::string_view body, std::string_view where) {
  return parse_json<WireError>(body, where);
}

template <typename T>
void put_opt(nlohmann::json& o, const char* field, const std::optional<T>& v) {
  if (v) o[field] = *v;
}

// The fields a deployment PATCH may update: the body's camelCase name and the update mask's
// snake_case path.
struct UpdatableField {
  std::string_view camel;
  std::string_view snake;
};
inline constexpr UpdatableField kUpdatable[] = {
    {"hotLoadTrainerJob", "hot_load_trainer_job"},
    {"hotLoadTransitionType", "hot_load_transition_type"},
    {"minReplicaCount", "min_replica_count"},
    {"maxReplicaCount", "max_replica_count"},
};

}  // namespace weightsync::internal
