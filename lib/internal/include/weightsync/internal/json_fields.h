// The one strict JSON reader of the project: the deployment API's bodies (the client's decoders
// and the fake server's), the fake's server config, control-API bodies and fault plans, and the
// simulator's scenarios all read their documents through it. Internal: built into the library
// and the fake, never installed.
//
// Every complaint names the field's path and has one of these forms:
//   <path>: expected <what>, got <the value seen>
//   <path>: missing; expected <what>
//   <path>: unknown field (extra inputs are not permitted); expected one of <names>
//   <what>: expected a JSON document, got a parse error (<the parser's words>)
// The words in parentheses on the third line are the real deployment API's; clients (the
// reference SDK among them) look for them to spot an unknown field. A null value counts as an
// absent field. Each user picks the exception type: BasicJsonFields<WireError>, and so on.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/errors.h"

namespace weightsync::internal {

// A short, printable rendering of a JSON value for messages (invalid UTF-8 replaced).
template <typename Json>
std::string shown(const Json& value) {
  std::string text = value.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// "path[i]": the path of an array's element.
inline std::string index_path(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

// Parses `text` as one JSON document; `what` names it in the message.
template <typename Error, typename Json = nlohmann::json>
Json parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const typename Json::exception& e) {
    throw Error(std::string(what) + ": expected a JSON document, got a parse error (" + e.what() +
                ")");
  }
}

// Reads the fields of one JSON object. Each getter returns nothing when the field is absent (or
// null) and throws Error when it has the wrong type or range; finish() then refuses the fields
// nobody asked for, so that a typo is never silently ignored.
template <typename Error, typename Json = nlohmann::json>
class BasicJsonFields {
 public:
  // `path` names this object in messages ("" for a document's top level).
  BasicJsonFields(const Json& value, std::string path) : value_(value), path_(std::move(path)) {
    if (!value_.is_object()) fail(path_.empty() ? "document" : path_, "a JSON object", value_);
  }

  bool has(const std::string& key) const { return value_.contains(key); }

  std::optional<std::string> text(const std::string& key, bool allow_empty = false) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_string() || (!allow_empty && v->template get_ref<const std::string&>().empty())) {
      fail(at(key), allow_empty ? "a string" : "a non-empty string", *v);
    }
    return v->template get<std::string>();
  }
  std::string required_text(const std::string& key, bool allow_empty = false) {
    auto v = text(key, allow_empty);
    if (!v) missing(key, allow_empty ? "a string" : "a non-empty string");
    return *v;
  }

  // One of the `allowed` strings.
  std::optional<std::string> one_of(const std::string& key,
                                    const std::vector<std::string>& allowed) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (v->is_string()) {
      const auto& s = v->template get_ref<const std::string&>();
      if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
    }
    fail(at(key), one_of_text(allowed), *v);
  }
  std::string required_one_of(const std::string& key, const std::vector<std::string>& allowed) {
    auto v = one_of(key, allowed);
    if (!v) missing(key, one_of_text(allowed));
    return *v;
  }

  // An integer in [lo, hi]; `expected` overrides the message's "an integer in [lo, hi]".
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi,
                                      const std::string& expected = {}) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    const std::string what =
        expected.empty() ? "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"
                         : expected;
    if (!v->is_number_integer()) fail(at(key), what, *v);
    if (v->is_number_unsigned()) {
      const auto u = v->template get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi) || static_cast<std::int64_t>(u) < lo) {
        fail(at(key), what, *v);
      }
      return static_cast<std::int64_t>(u);
    }
    const auto i = v->template get<std::int64_t>();
    if (i < lo || i > hi) fail(at(key), what, *v);
    return i;
  }

  // A 32-bit integer as the deployment API's (protobuf-style) JSON sends one: a number or a
  // decimal string.
  std::optional<int> int32(const std::string& key) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (v->is_number_integer() && !v->is_number_unsigned()) {
      const auto n = v->template get<std::int64_t>();
      if (n >= std::numeric_limits<int>::min() && n <= std::numeric_limits<int>::max()) {
        return static_cast<int>(n);
      }
    } else if (v->is_number_unsigned()) {
      const auto n = v->template get<std::uint64_t>();
      if (n <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        return static_cast<int>(n);
      }
    } else if (v->is_string()) {
      const auto& s = v->template get_ref<const std::string&>();
      try {
        std::size_t used = 0;
        const int n = std::stoi(s, &used);
        if (used == s.size()) return n;
      } catch (const std::exception&) {
      }
    }
    fail(at(key), "a 32-bit integer (a number or a decimal string)", *v);
  }

  std::optional<std::uint64_t> unsigned_integer(
      const std::string& key, const std::string& expected = "a non-negative integer") {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_number_unsigned()) fail(at(key), expected, *v);
    return v->template get<std::uint64_t>();
  }

  // A finite number in [lo, hi]; `expected` says so in the caller's words.
  std::optional<double> number(const std::string& key, double lo, double hi,
                               const std::string& expected) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(at(key), expected, *v);
    const double d = v->template get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) fail(at(key), expected, *v);
    return d;
  }

  std::optional<bool> boolean(const std::string& key) {
    const Json* v = take(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(at(key), "true or false", *v);
    return v->template get<bool>();
  }

  // A child value of any type (the caller checks it), or null when absent.
  const Json* child(const std::string& key) { return take(key); }

  // A JSON array; an empty one when absent.
  const Json& array(const std::string& key) {
    static const Json empty = Json::array();
    const Json* v = take(key);
    if (!v) return empty;
    if (!v->is_array()) fail(at(key), "a JSON array", *v);
    return *v;
  }

  // An array of strings; empty when absent.
  std::vector<std::string> strings(const std::string& key) {
    const Json& list = array(key);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) fail(index_path(at(key), i), "a string", list[i]);
      out.push_back(list[i].template get<std::string>());
    }
    return out;
  }

  // An object whose values are all strings; empty when absent.
  std::map<std::string, std::string> string_map(const std::string& key) {
    std::map<std::string, std::string> out;
    const Json* v = take(key);
    if (!v) return out;
    if (!v->is_object()) fail(at(key), "a JSON object of strings", *v);
    for (const auto& [name, value] : v->items()) {
      if (!value.is_string()) fail(at(key) + "." + name, "a string", value);
      out[name] = value.template get<std::string>();
    }
    return out;
  }

  // The path of a field of this object.
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& path() const { return path_; }

  // Refuses every field not in `accepted`.
  void finish(const std::vector<std::string>& accepted) const {
    for (const auto& [key, value] : value_.items()) {
      if (std::find(accepted.begin(), accepted.end(), key) == accepted.end()) {
        unknown(key, accepted);
      }
    }
  }
  // Refuses every field no getter asked for.
  void finish() const { finish(read_); }

  [[noreturn]] static void fail(const std::string& path, const std::string& expected,
                                const Json& got) {
    throw Error(path + ": expected " + expected + ", got " + shown(got));
  }
  [[noreturn]] void missing(const std::string& key, const std::string& expected) const {
    throw Error(at(key) + ": missing; expected " + expected);
  }

 private:
  static std::string one_of_text(const std::vector<std::string>& allowed) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "'" : ", '") + a + "'";
    return "one of " + list;
  }
  [[noreturn]] void unknown(const std::string& key,
                            const std::vector<std::string>& accepted) const {
    std::string names;
    for (const auto& name : accepted) names += (names.empty() ? "" : ", ") + name;
    throw Error(at(key) + ": unknown field (extra inputs are not permitted); expected " +
                (names.empty() ? std::string("no fields") : "one of " + names));
  }

  const Json* take(const std::string& key) {
    if (std::find(read_.begin(), read_.end(), key) == read_.end()) read_.push_back(key);
    const auto found = value_.find(key);
    if (found == value_.end() || found->is_null()) return nullptr;
    return &*found;
  }

  const Json& value_;
  std::string path_;
  std::vector<std::string> read_;  // every key a getter asked for, in order
};

// The fake's documents (server config, fault plans, control-API and sampling bodies).
using JsonFields = BasicJsonFields<InvalidArgument>;

}  // namespace weightsync::internal
