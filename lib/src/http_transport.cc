// HttpTransport: one exchange over cpp-httplib, with connect and read timeouts.
#include <httplib.h>

#include "weightsync/errors.h"
#include "weightsync/transport.h"

namespace weightsync {
namespace {

std::chrono::microseconds micros(Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

}  // namespace

HttpTransport::HttpTransport(HttpTransportOptions options) : options_(std::move(options)) {
  if (options_.base_url.rfind("http://", 0) != 0 && options_.base_url.rfind("https://", 0) != 0) {
    throw InvalidArgument("HttpTransport base_url must start with http:// or https://, got '" +
                          options_.base_url + "'");
  }
}

HttpResponse HttpTransport::exchange(const HttpRequest& request) {
  httplib::Client client(options_.base_url);
  const auto connect = micros(options_.connect_timeout);
  const auto read = micros(options_.read_timeout);
  client.set_connection_timeout(connect.count() / 1000000, connect.count() % 1000000);
  client.set_read_timeout(read.count() / 1000000, read.count() % 1000000);
  client.set_write_timeout(read.count() / 1000000, read.count() % 1000000);
  // A request's headers and body go out in separate writes: without this, Nagle's algorithm
  // holds the body back until the server's delayed ACK of the headers (about 40 ms).
  client.set_tcp_nodelay(true);

  // cpp-httplib sets Content-Type itself from the argument of a call with a body; passing it as
  // a header too would send it twice. A GET or a DELETE without a body carries it as a header.
  const std::string asked_content_type = header_value(request.headers, "Content-Type");
  const std::string content_type =
      asked_content_type.empty() ? "application/json" : asked_content_type;
  const bool bodiless =
      request.method == "GET" || (request.method == "DELETE" && request.body.empty());
  httplib::Headers headers;
  for (const auto& [key, value] : request.headers) {
    if (bodiless || header_value({{key, value}}, "Content-Type").empty()) {
      headers.emplace(key, value);
    }
  }

  httplib::Result result{nullptr, httplib::Error::Unknown};
  if (request.method == "GET") {
    result = client.Get(request.path, headers);
  } else if (request.method == "DELETE") {
    result = request.body.empty()
                 ? client.Delete(request.path, headers)
                 : client.Delete(request.path, headers, request.body, content_type);
  } else if (request.method == "POST") {
    result = client.Post(request.path, headers, request.body, content_type);
  } else if (request.method == "PUT") {
    result = client.Put(request.path, headers, request.body, content_type);
  } else if (request.method == "PATCH") {
    result = client.Patch(request.path, headers, request.body, content_type);
  } else {
    throw InvalidArgument("HttpTransport supports GET, POST, PUT, PATCH and DELETE, got '" +
                          request.method + "'");
  }
  if (!result) {
    throw TransportError(request.method + " " + options_.base_url + request.path +
                         ": no HTTP response (" + httplib::to_string(result.error()) +
                         "); check that the server is up and reachable");
  }
  HttpResponse response;
  response.status = result->status;
  response.body = result->body;
  for (const auto& [key, value] : result->headers) response.headers.emplace_back(key, value);
  return response;
}

RetryingHttpTransport::RetryingHttpTransport(HttpTransportOptions options, Clock& clock,
                                             RetryPolicy policy)
    : http_(std::move(options)), retrying_(http_, clock, policy) {}

}  // namespace weightsync
