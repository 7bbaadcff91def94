// Wire helpers shared by the router's handlers: the request target split into path segments
// and query, and JSON answers. Internal to fakeserver/src.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weightsync/fake/http_error.h"
#include "weightsync/internal/server_wire.h"
#include "weightsync/transport.h"
#include "weightsync/wire.h"

namespace weightsync::fake::detail {

struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  std::string path;
};

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) {
        throw HttpError(400, "malformed percent-escape in '" + std::string(text) + "'");
      }
      const int hi = hex_digit(text[i + 1]);
      const int lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) {
        throw HttpError(400, "malformed percent-escape in '" + std::string(text) + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

inline Target parse_target(const std::string& raw) {
  Target target;
  const auto question = raw.find('?');
  target.path = raw.substr(0, question);
  if (question != std::string::npos) {
    std::string_view query(raw);
    query.remove_prefix(question + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      if (!pair.empty()) {
        target.query[percent_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  std::string_view path(target.path);
  if (path.empty() || path.front() != '/') return target;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    target.segments.push_back(percent_decode(path.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return target;
}

inline HttpResponse json_response(int status, std::string body) {
  return HttpResponse{status, {{"Content-Type", "application/json"}}, std::move(body)};
}

// `text` with every byte that is not valid UTF-8 replaced (U+FFFD): messages quote raw input,
// and JSON can only carry valid UTF-8.
inline std::string valid_utf8(std::string_view text) {
  const std::string quoted = nlohmann::json(std::string(text))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

inline HttpResponse error_response(int status, std::string_view message) {
  return json_response(status, encode_error(status, valid_utf8(message)));
}

}  // namespace weightsync::fake::detail
