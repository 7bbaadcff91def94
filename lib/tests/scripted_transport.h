// ScriptedTransport: a thread-free Transport double that answers from a script, in order, and
// records every request, so a test states exactly which exchanges it expects.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weightsync/errors.h"
#include "weightsync/transport.h"

namespace weightsync::testing {

// One expected exchange: the request's method and exact path (query included) and what to
// answer. `times` < 0 makes it the sticky last step: it answers every later request.
struct ScriptStep {
  std::string method;
  std::string path;
  std::optional<HttpResponse> response;
  std::optional<std::string> transport_error;
  int times = 1;
};

class ScriptedTransport final : public Transport {
 public:
  ScriptedTransport& expect(std::string method, std::string path, int status, std::string body = "",
                            int times = 1) {
    script_.push_back(ScriptStep{std::move(method), std::move(path),
                                 HttpResponse{status, {}, std::move(body)}, std::nullopt, times});
    return *this;
  }
  ScriptedTransport& expect_always(std::string method, std::string path, int status,
                                   std::string body = "") {
    return expect(std::move(method), std::move(path), status, std::move(body), -1);
  }
  ScriptedTransport& expect_transport_error(std::string method, std::string path,
                                            std::string message, int times = 1) {
    script_.push_back(
        ScriptStep{std::move(method), std::move(path), std::nullopt, std::move(message), times});
    return *this;
  }

  HttpResponse exchange(const HttpRequest& request) override {
    requests_.push_back(request);
    if (script_.empty()) {
      ADD_FAILURE() << "unscripted request " << request.method << " " << request.path
                    << " body: " << request.body;
      throw TransportError("scripted transport: no exchange left for " + request.method + " " +
                           request.path);
    }
    ScriptStep& step = script_.front();
    EXPECT_EQ(request.method, step.method)
        << "request #" << requests_.size() << " " << request.path;
    EXPECT_EQ(request.path, step.path) << "request #" << requests_.size();
    std::optional<HttpResponse> response = step.response;
    std::optional<std::string> error = step.transport_error;
    if (step.times > 0 && --step.times == 0) script_.pop_front();
    if (error) throw TransportError(*error);
    return *response;
  }

  // True when every non-sticky step was used.
  bool finished() const {
    for (const ScriptStep& step : script_) {
      if (step.times > 0) return false;
    }
    return true;
  }
  const std::vector<HttpRequest>& requests() const { return requests_; }
  const HttpRequest& request(std::size_t i) const { return requests_.at(i); }
  std::size_t count(const std::string& method, const std::string& path) const {
    std::size_t n = 0;
    for (const HttpRequest& r : requests_) {
      if (r.method == method && r.path == path) ++n;
    }
    return n;
  }

 private:
  std::deque<ScriptStep> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace weightsync::testing
