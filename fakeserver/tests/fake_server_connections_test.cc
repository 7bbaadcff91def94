// The loopback server's connections: TCP_NODELAY on what it accepts, many more kept-alive
// connections served at once than it has threads, JSON answers to bytes that are not HTTP, and
// gzip when asked.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_test_support.h"
#include "weightsync/fake/fake_server.h"

namespace weightsync::fake {
namespace {

using namespace testing;

// A kept-alive HTTP/1.1 connection on a plain socket (no client library, no TCP_NODELAY).
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  int local_port() const {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    return ntohs(address.sin_port);
  }

  void send_get(const std::string& path) {
    send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
         std::string(kKey) + "\r\n\r\n");
  }

  void send(const std::string& text) {
    ASSERT_EQ(write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  // The status of the next answer, its body read to its Content-Length; 0 if none came.
  int read_status() { return std::stoi(read_answer().substr(9, 3)); }

  // The next answer, head and body read to its Content-Length; "HTTP/1.1 000" if none came.
  std::string read_answer() {
    std::string text;
    char buffer[4096];
    std::size_t header_end = std::string::npos;
    std::size_t total = 0;
    while (header_end == std::string::npos || text.size() < total) {
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) return "HTTP/1.1 000";
      text.append(buffer, static_cast<std::size_t>(n));
      if (header_end == std::string::npos && (header_end = text.find("\r\n\r\n")) != text.npos) {
        const std::size_t length = text.find("Content-Length: ");
        total = header_end + 4 +
                (length < header_end ? std::stoul(text.substr(length + 16)) : std::size_t{0});
      }
    }
    return text;
  }

 private:
  int fd_;
};

// TCP_NODELAY of this process's socket whose peer is 127.0.0.1:`peer_port`; -1 if none.
int nodelay_of_socket_with_peer(int peer_port) {
  DIR* dir = opendir("/proc/self/fd");
  int found = -1;
  while (const dirent* entry = dir ? readdir(dir) : nullptr) {
    const int fd = std::atoi(entry->d_name);
    sockaddr_in peer{};
    socklen_t size = sizeof peer;
    if (fd <= 2 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != peer_port) continue;
    int on = 0;
    socklen_t on_size = sizeof on;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &on_size) == 0) found = on;
  }
  if (dir) closedir(dir);
  return found;
}

TEST(FakeServerConnections, AcceptedSocketsSendWithoutNagleDelay) {
  CloudFixture f;
  FakeServer server(f.cloud);
  server.start();
  RawConnection client(server.port());
  client.send_get("/v1/accounts");
  ASSERT_EQ(client.read_status(), 200);
  // The server's end of this connection lives in this process: it must have TCP_NODELAY.
  EXPECT_EQ(nodelay_of_socket_with_peer(client.local_port()), 1);
}

TEST(FakeServerConnections, ServesManyMoreKeptAliveConnectionsThanItHasThreads) {
  CloudFixture f;
  FakeServerOptions options;
  options.threads = 1;
  FakeServer server(f.cloud, options);
  server.start();
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 300; ++i) clients.push_back(std::make_unique<RawConnection>(server.port()));
  // Every connection stays open after its first answer. A server with a thread per connection
  // would answer the second round only as idle connections time out (5 s each).
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < 2; ++round) {
    for (auto& c : clients) c->send_get("/v1/accounts");
    for (auto& c : clients) ASSERT_EQ(c->read_status(), 200) << "round " << round;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(FakeServerConnections, BytesThatAreNotHttpGetAJson400) {
  CloudFixture f;
  FakeServer server(f.cloud);
  server.start();
  RawConnection client(server.port());
  client.send("NOT HTTP AT ALL\r\n\r\n");
  const std::string answer = client.read_answer();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"({"error":{"code":400,"message":"malformed HTTP request: )"),
            std::string::npos)
      << answer;
}

TEST(FakeServerConnections, AnswersABodySentAfter100Continue) {
  CloudFixture f;
  FakeServer server(f.cloud);
  server.start();
  RawConnection client(server.port());
  const std::string body = "{not json";
  client.send("POST /v1/accounts/" + std::string(kAccount) +
              "/deployments?deploymentId=e HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
              "Bearer " +
              std::string(kKey) + "\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(client.read_answer(), "HTTP/1.1 100 Continue\r\n\r\n");
  client.send(body);
  // The router saw the body: it names what it could not parse.
  const std::string answer = client.read_answer();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer;
  EXPECT_NE(answer.find("application/json"), std::string::npos) << answer;
}

TEST(FakeServerConnections, GzipsJsonForAClientThatAcceptsIt) {
  CloudFixture f;
  FakeServer server(f.cloud);
  server.start();
  RawConnection client(server.port());
  const std::string head = "GET /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                           std::string(kKey) + "\r\n";
  client.send(head + "Accept-Encoding: gzip, deflate\r\n\r\n");
  const std::string packed = client.read_answer();
  EXPECT_NE(packed.find("Content-Encoding: gzip"), std::string::npos) << packed;
  EXPECT_EQ(packed.substr(packed.find("\r\n\r\n") + 4, 2), "\x1f\x8b") << packed;
  client.send(head + "\r\n");
  const std::string plain = client.read_answer();
  EXPECT_EQ(plain.find("Content-Encoding"), std::string::npos) << plain;
  EXPECT_NE(plain.find(R"({"accounts":)"), std::string::npos) << plain;
}

TEST(FakeServerConnections, RefusesANegativeThreadCount) {
  CloudFixture f;
  FakeServerOptions options;
  options.threads = -1;
  try {
    FakeServer server(f.cloud, options);
    FAIL() << "a negative thread count was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "FakeServerOptions::threads: expected >= 0, got -1");
  }
}

}  // namespace
}  // namespace weightsync::fake
