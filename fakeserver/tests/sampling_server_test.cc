// Streamed completions over a real socket: pieces leave as their tokens come due, a client
// that hangs up halfway leaves the server healthy, and a truncation fault cuts a stream.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_test_support.h"
#include "sampling_test_support.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/fault_plan.h"
#include "weightsync/fake/sse.h"

namespace weightsync::fake {
namespace {

using namespace testing;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

std::string streamed_request_text(int port, int max_tokens, int seed) {
  const std::string text = sampler_body("d", {1, 2, 3}, max_tokens, {{"seed", seed}}).dump();
  return "POST /inference/v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\nX-Api-Key: " + kKey + "\r\nAuthorization: Bearer " +
         kKey + "\r\nConnection: close\r\nContent-Length: " + std::to_string(text.size()) +
         "\r\n\r\n" + text;
}

// Sends `request` and passes every received piece to `on_bytes` until it returns false or
// the server closes; returns everything received.
std::string exchange_raw(int port, const std::string& request,
                         const std::function<bool(const std::string&)>& on_bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
    if (!on_bytes(received)) break;
  }
  close(fd);
  return received;
}

// A cloud on the system clock whose deployment "d" serves the base model at once.
class RealTimeStreams : public ::testing::Test {
 protected:
  explicit RealTimeStreams(Duration token_interval = seconds(0.02)) {
    FakeCloudOptions options = test_options(1);
    options.timing.creation_time = Duration::zero();
    options.timing.hotload_startup_delay = Duration::zero();
    options.timing.token_interval = token_interval;
    cloud = std::make_unique<FakeCloud>(system_clock(), options);
    cloud->create_account(kAccount, kKey);
    auto& trainer = cloud->create_trainer(kAccount, "t1", small_trainer());
    cloud->create_deployment(kAccount, "d", config_for(trainer.job_name()));
    server = std::make_unique<FakeServer>(*cloud);
    server->start();
  }

  int in_flight() {
    return cloud->with_model([](CloudModel& m) {
      const auto found = m.sampling().in_flight.find(deployment_name(kAccount, "d"));
      return found == m.sampling().in_flight.end() ? 0 : found->second->load();
    });
  }

  // Streams in flight once the server threads have let go of them (within 5 s).
  int settled_in_flight() {
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    while (in_flight() != 0 && Steady::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return in_flight();
  }

  std::unique_ptr<FakeCloud> cloud;
  std::unique_ptr<FakeServer> server;
};

TEST_F(RealTimeStreams, PiecesLeaveTheSocketAsTheirTokensComeDue) {
  std::optional<Steady::time_point> first_event;
  const auto t0 = Steady::now();
  const std::string received = exchange_raw(
      server->port(), streamed_request_text(server->port(), 30, 4), [&](const std::string& bytes) {
        if (!first_event && bytes.find("data: {") != std::string::npos) {
          first_event = Steady::now();
        }
        return true;
      });
  const auto end = Steady::now();
  ASSERT_NE(received.find("Transfer-Encoding: chunked"), std::string::npos) << received;
  ASSERT_NE(received.find("data: [DONE]"), std::string::npos);
  ASSERT_TRUE(first_event);
  // 30 tokens 20 ms apart: the first arrives at once, the last about 0.58 s later.
  EXPECT_LT(*first_event - t0, std::chrono::milliseconds(300));
  EXPECT_GT(end - *first_event, std::chrono::milliseconds(400));
  EXPECT_EQ(settled_in_flight(), 0);
}

class DroppedStreams : public RealTimeStreams {
 protected:
  DroppedStreams() : RealTimeStreams(seconds(0.005)) {}
};

TEST_F(DroppedStreams, AClientThatHangsUpHalfwayLeavesTheServerHealthy) {
  // 4096 tokens at 5 ms would take 20 s; the client leaves after the first event.
  const std::string partial = exchange_raw(
      server->port(), streamed_request_text(server->port(), 4096, 1),
      [](const std::string& bytes) { return bytes.find("data: {") == std::string::npos; });
  ASSERT_NE(partial.find("data: {"), std::string::npos);
  EXPECT_EQ(settled_in_flight(), 0) << "the dropped stream is still being generated";
  // The next stream runs to [DONE] and is the only one in flight.
  const std::string next = exchange_raw(server->port(), streamed_request_text(server->port(), 8, 2),
                                        [](const std::string&) { return true; });
  EXPECT_NE(next.find("num-concurrent-requests: 1"), std::string::npos) << next;
  EXPECT_NE(next.find("data: [DONE]"), std::string::npos);
  const auto t0 = Steady::now();
  server->stop();
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(2));
}

class SlowStreams : public RealTimeStreams {
 protected:
  SlowStreams() : RealTimeStreams(seconds(5)) {}
};

TEST_F(SlowStreams, StopEndsAnOpenStreamPromptly) {
  std::string received;
  std::atomic<bool> first_event{false};
  std::thread client([&] {
    received = exchange_raw(server->port(), streamed_request_text(server->port(), 100, 3),
                            [&](const std::string& bytes) {
                              if (bytes.find("data: {") != std::string::npos) first_event = true;
                              return true;
                            });
  });
  while (!first_event) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t0 = Steady::now();
  server->stop();
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(2)) << "stop() waited for a token 5 s away";
  client.join();
  EXPECT_EQ(received.find("[DONE]"), std::string::npos);
  EXPECT_EQ(settled_in_flight(), 0);
}

TEST(StreamFaults, ATruncationFaultCutsAStreamHalfwayWithoutDone) {
  CloudFixture f;
  f.make_ready_deployment("d");
  f.cloud.set_fault_plan(parse_fault_plan(
      R"({"faults": [{"fault": "truncated_body", "count": 1, "path": "/inference/"}]})"));
  FakeServer server(f.cloud);
  server.start();
  const auto read_all = [](const std::string&) { return true; };
  const std::string cut =
      exchange_raw(server.port(), streamed_request_text(server.port(), 40, 9), read_all);
  const std::size_t body = cut.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << cut;
  EXPECT_EQ(cut.find("[DONE]"), std::string::npos);
  // Half the tokens, then the connection closes without the chunked terminator.
  std::size_t events = 0;
  for (std::size_t at = cut.find("data: {"); at != std::string::npos;
       at = cut.find("data: {", at + 1)) {
    ++events;
  }
  EXPECT_EQ(events, 20u);
  EXPECT_FALSE(cut.ends_with("0\r\n\r\n"));
  // The fault fired once: the next stream is whole.
  const std::string whole =
      exchange_raw(server.port(), streamed_request_text(server.port(), 40, 9), read_all);
  EXPECT_NE(whole.find("data: [DONE]"), std::string::npos);
}

}  // namespace
}  // namespace weightsync::fake
