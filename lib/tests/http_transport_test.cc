// HttpTransport against a real cpp-httplib server on a loopback ephemeral port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weightsync/clock.h"
#include "weightsync/errors.h"
#include "weightsync/transport.h"

namespace weightsync {
namespace {

// What the server saw of the last request.
struct Seen {
  std::string method;
  std::string target;
  std::string authorization;
  std::string model_header;
  std::string body;
  std::string content_type;
  std::size_t content_types = 0;  // how many Content-Type headers arrived
  std::string api_key;
};

// A loopback server that echoes requests back and records them; stopped on destruction.
class LoopbackServer {
 public:
  LoopbackServer() {
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      int n = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen_ = Seen{req.method,
                     req.target,
                     req.get_header_value("Authorization"),
                     req.get_header_value("fireworks-model"),
                     req.body,
                     req.get_header_value("Content-Type"),
                     req.get_header_value_count("Content-Type"),
                     req.get_header_value("X-Api-Key")};
        n = ++count_;
      }
      if (req.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(600));
      if (req.path == "/busy-once" && n == 1) {
        res.status = 503;
        res.set_content("busy", "text/plain");
        return;
      }
      res.status = req.path == "/teapot" ? 418 : 200;
      res.set_header("X-Echo-Method", req.method);
      res.set_content("echo:" + req.body, "application/json");
    };
    const std::string any = R"(/.*)";
    server_.Get(any, handler);
    server_.Post(any, handler);
    server_.Patch(any, handler);
    server_.Delete(any, handler);
    server_.Put(any, handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Seen seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  int count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  Seen seen_;
  int count_ = 0;
};

HttpTransportOptions loopback_options(const std::string& base_url) {
  return HttpTransportOptions{base_url, seconds(2), seconds(5)};
}

TEST(HttpTransport, PostRoundTripsMethodPathQueryHeadersAndBody) {
  LoopbackServer server;
  HttpTransport transport(loopback_options(server.base_url()));
  EXPECT_EQ(transport.base_url(), server.base_url());
  const HttpResponse response = transport.exchange(
      HttpRequest{"POST",
                  "/v1/accounts/a/deployments?deploymentId=d1",
                  {{"Authorization", "Bearer key-1"}, {"fireworks-model", "llama"}},
                  R"({"identity":"s-1"})"});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"(echo:{"identity":"s-1"})");
  EXPECT_EQ(header_value(response.headers, "x-echo-method"), "POST");
  const Seen seen = server.seen();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/accounts/a/deployments?deploymentId=d1");
  EXPECT_EQ(seen.authorization, "Bearer key-1");
  EXPECT_EQ(seen.model_header, "llama");
  EXPECT_EQ(seen.body, R"({"identity":"s-1"})");
}

TEST(HttpTransport, EveryMethodReachesTheServerWithItsBody) {
  LoopbackServer server;
  HttpTransport transport(loopback_options(server.base_url()));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET", ""},    {"POST", "{}"},   {"PATCH", R"({"a":1})"},
      {"DELETE", ""}, {"DELETE", "{}"}, {"PUT", "[]"}};
  for (const auto& [method, body] : cases) {
    const HttpResponse response =
        transport.exchange(HttpRequest{method, "/v1/things/1?updateMask=a", {}, body});
    EXPECT_EQ(response.status, 200) << method;
    EXPECT_EQ(header_value(response.headers, "X-Echo-Method"), method);
    const Seen seen = server.seen();
    EXPECT_EQ(seen.method, method);
    EXPECT_EQ(seen.target, "/v1/things/1?updateMask=a") << method;
    EXPECT_EQ(seen.body, body) << method;
  }
}

// The reference client sends Content-Type: application/json on every request, a GET or a
// bodiless DELETE included; the transport passes it once, whatever the method.
TEST(HttpTransport, ContentTypeAndApiKeyArriveOnceWithOrWithoutABody) {
  LoopbackServer server;
  HttpTransport transport(loopback_options(server.base_url()));
  for (const auto& [method, body] : std::vector<std::pair<std::string, std::string>>{
           {"GET", ""}, {"DELETE", ""}, {"POST", ""}, {"POST", "{}"}, {"PATCH", "{}"}}) {
    transport.exchange(HttpRequest{
        method, "/v1/x", {{"Content-Type", "application/json"}, {"X-Api-Key", "k1"}}, body});
    const Seen seen = server.seen();
    EXPECT_EQ(seen.content_type, "application/json") << method << " " << body;
    EXPECT_EQ(seen.content_types, 1u) << method << " " << body;
    EXPECT_EQ(seen.api_key, "k1") << method;
  }
}

TEST(HttpTransport, NonSuccessStatusIsAResponseNotAnError) {
  LoopbackServer server;
  HttpTransport transport(loopback_options(server.base_url()));
  const HttpResponse response = transport.exchange(HttpRequest{"GET", "/teapot", {}, ""});
  EXPECT_EQ(response.status, 418);
  EXPECT_EQ(response.body, "echo:");
}

TEST(HttpTransport, ConnectionRefusedThrowsTransportError) {
  // A socket bound but not listening owns the port, so nothing else can accept on it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  HttpTransport transport(loopback_options("http://127.0.0.1:" + std::to_string(port)));
  EXPECT_THROW(transport.exchange(HttpRequest{"GET", "/v1/accounts?pageSize=2", {}, ""}),
               TransportError);
  ::close(fd);
}

TEST(HttpTransport, ReadTimeoutThrowsTransportError) {
  LoopbackServer server;
  HttpTransport transport(HttpTransportOptions{server.base_url(), seconds(2), seconds(0.1)});
  EXPECT_THROW(transport.exchange(HttpRequest{"GET", "/slow", {}, ""}), TransportError);
}

TEST(HttpTransport, RejectsABaseUrlWithoutHttpScheme) {
  EXPECT_THROW(HttpTransport(HttpTransportOptions{"127.0.0.1:8080", seconds(1), seconds(1)}),
               InvalidArgument);
}

TEST(HttpTransport, RejectsAnUnsupportedMethodWithoutSending) {
  LoopbackServer server;
  HttpTransport transport(loopback_options(server.base_url()));
  EXPECT_THROW(transport.exchange(HttpRequest{"TRACE", "/x", {}, ""}), InvalidArgument);
  EXPECT_EQ(server.count(), 0);
}

TEST(RetryingHttpTransport, RetriesA503FromTheServerOnTheInjectedClock) {
  LoopbackServer server;
  ManualClock clock;
  RetryingHttpTransport transport(loopback_options(server.base_url()), clock);
  const HttpResponse response = transport.exchange(HttpRequest{"GET", "/busy-once", {}, ""});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(server.count(), 2);
  EXPECT_EQ(clock.now(), seconds(0.5));
}

}  // namespace
}  // namespace weightsync
