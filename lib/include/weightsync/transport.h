// Transport: one HTTP exchange. The library's only way to reach the network, so the same
// DeploymentManager can talk to a real deployment, to the fake server over loopback, or to the
// fake's router in-process.
//
// Thread-safety: HttpTransport and RetryingTransport may be used from several threads at once
// if the transport they wrap can; HttpTransport opens a connection per exchange.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/errors.h"

namespace weightsync {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Returns the value of the first header named `name` (case-insensitive), or "".
std::string header_value(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, DELETE, PUT
  std::string path;    // absolute path with query, e.g. /v1/accounts?pageSize=2
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // One exchange. Returns any HTTP status as a response; throws TransportError only when no
  // response was received (connection refused or reset, timeout, truncated answer).
  virtual HttpResponse exchange(const HttpRequest& request) = 0;
};

// Which failures are retried and how long to wait between tries.
struct RetryPolicy {
  int max_attempts = 4;                     // total tries, first one included; 1 = no retry
  Duration initial_backoff = seconds(0.5);  // doubled after every failed try ...
  Duration max_backoff = seconds(8);        // ... up to this cap
};

// Retries the retryable statuses (is_retryable_status, errors.h) and TransportErrors with
// capped exponential backoff, sleeping on the given Clock. After the last try it returns the
// last response (or rethrows the last TransportError), so the caller still sees what the
// server said.
class RetryingTransport final : public Transport {
 public:
  RetryingTransport(Transport& inner, Clock& clock, RetryPolicy policy = {});
  HttpResponse exchange(const HttpRequest& request) override;

 private:
  Transport& inner_;
  Clock& clock_;
  RetryPolicy policy_;
};

struct HttpTransportOptions {
  std::string base_url;  // scheme://host:port, e.g. http://127.0.0.1:8080
  Duration connect_timeout = seconds(10);
  Duration read_timeout = seconds(60);
};

// A single exchange over cpp-httplib; no retries (wrap it in RetryingTransport).
class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(HttpTransportOptions options);
  HttpResponse exchange(const HttpRequest& request) override;
  const std::string& base_url() const { return options_.base_url; }

 private:
  HttpTransportOptions options_;
};

// The usual production stack: HttpTransport wrapped in a RetryingTransport on `clock`.
class RetryingHttpTransport final : public Transport {
 public:
  RetryingHttpTransport(HttpTransportOptions options, Clock& clock, RetryPolicy policy = {});
  HttpResponse exchange(const HttpRequest& request) override { return retrying_.exchange(request); }

 private:
  HttpTransport http_;
  RetryingTransport retrying_;
};

}  // namespace weightsync
