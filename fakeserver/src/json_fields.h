// Strict reading of a JSON object for the fake's documents (fault plans, server configs,
// control-API bodies): every error names the field's path, what was expected and what was seen,
// and a field nobody asked for is rejected by finish() (a typo must not be silently ignored).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "weightsync/errors.h"

namespace weightsync::fake::detail {

// A short, printable rendering of a JSON value for messages.
inline std::string shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

inline std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

// Parses text as JSON; throws InvalidArgument naming `what` and the parser's complaint.
inline nlohmann::json parse_json(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string(what) + ": expected a JSON document, got a parse error (" +
                          e.what() + ")");
  }
}

class JsonFields {
 public:
  // `path` names this object in messages ("" for a document's top level).
  JsonFields(const nlohmann::json& value, std::string path)
      : value_(value), path_(std::move(path)) {
    if (!value_.is_object()) fail(path_.empty() ? "document" : path_, "a JSON object", value_);
  }

  bool has(const std::string& key) const { return value_.contains(key); }

  std::optional<std::string> text(const std::string& key, bool allow_empty = false) {
    const nlohmann::json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_string() || (!allow_empty && v->get_ref<const std::string&>().empty())) {
      fail(at(key), allow_empty ? "a string" : "a non-empty string", *v);
    }
    return v->get<std::string>();
  }
  std::string required_text(const std::string& key) {
    auto v = text(key);
    if (!v) missing(key, "a non-empty string");
    return *v;
  }

  std::optional<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi) {
    const nlohmann::json* v = take(key);
    if (!v) return std::nullopt;
    const std::string expected =
        "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v->is_number_integer()) fail(at(key), expected, *v);
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi) || static_cast<std::int64_t>(u) < lo) {
        fail(at(key), expected, *v);
      }
      return static_cast<std::int64_t>(u);
    }
    const auto i = v->get<std::int64_t>();
    if (i < lo || i > hi) fail(at(key), expected, *v);
    return i;
  }

  std::optional<std::uint64_t> unsigned_integer(const std::string& key) {
    const nlohmann::json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_number_unsigned()) fail(at(key), "a non-negative integer", *v);
    return v->get<std::uint64_t>();
  }

  std::optional<double> number(const std::string& key, double lo, double hi,
                               const std::string& expected) {
    const nlohmann::json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(at(key), expected, *v);
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) fail(at(key), expected, *v);
    return d;
  }

  std::optional<bool> boolean(const std::string& key) {
    const nlohmann::json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(at(key), "true or false", *v);
    return v->get<bool>();
  }

  // A child value of any type (the caller checks it), or null.
  const nlohmann::json* child(const std::string& key) { return take(key); }
  const nlohmann::json& array(const std::string& key) {
    static const nlohmann::json empty = nlohmann::json::array();
    const nlohmann::json* v = take(key);
    if (!v) return empty;
    if (!v->is_array()) fail(at(key), "a JSON array", *v);
    return *v;
  }

  std::string at(const std::string& key) const { return join_path(path_, key); }
  const std::string& path() const { return path_; }

  // Rejects every field not in `accepted`, naming the ones this object accepts.
  void finish(const std::vector<std::string>& accepted) const {
    for (const auto& [key, value] : value_.items()) {
      if (std::find(accepted.begin(), accepted.end(), key) != accepted.end()) continue;
      std::string names;
      for (const auto& name : accepted) names += (names.empty() ? "" : ", ") + name;
      throw InvalidArgument(at(key) + ": unknown field; expected one of " + names);
    }
  }

  [[noreturn]] static void fail(const std::string& path, const std::string& expected,
                                const nlohmann::json& got) {
    throw InvalidArgument(path + ": expected " + expected + ", got " + shown(got));
  }
  [[noreturn]] void missing(const std::string& key, const std::string& expected) const {
    throw InvalidArgument(at(key) + ": missing; expected " + expected);
  }

 private:
  const nlohmann::json* take(const std::string& key) const {
    const auto found = value_.find(key);
    if (found == value_.end() || found->is_null()) return nullptr;
    return &*found;
  }

  const nlohmann::json& value_;
  std::string path_;
};

}  // namespace weightsync::fake::detail
