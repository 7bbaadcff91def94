// The loopback server: serves as soon as start() returns, stops promptly, speaks the same API.
#include "weightsync/fake/fake_server.h"

#include <gtest/gtest.h>

#include <chrono>

#include "fake_test_support.h"
#include "weightsync/errors.h"
#include "weightsync/fake/in_process_transport.h"
#include "weightsync/transport.h"

namespace weightsync::fake {
namespace {

using namespace testing;

TEST(FakeServer, AnswersTheApiOverLoopbackRightAfterStart) {
  CloudFixture f;
  FakeServer server(f.cloud);
  server.start();
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()));
  HttpTransport http({server.base_url(), seconds(2), seconds(5)});
  const auto r = http.exchange(request("GET", "/v1/accounts?pageSize=2"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(decode_account_list(r.body), std::vector<std::string>{kAccount});
  const auto unknown = http.exchange(request("GET", "/v1/accounts", "", "bad"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(error_message(unknown.body), "unknown API key");
}

TEST(FakeServer, KeepsQueryStringsAndHeadersIntact) {
  CloudFixture f;
  f.make_ready_deployment("d");
  FakeServer server(f.cloud);
  server.start();
  HttpTransport http({server.base_url(), seconds(2), seconds(5)});
  const auto created = http.exchange(request("POST", "/v1/accounts/acme/deployments?deploymentId=e",
                                             encode(config_for(f.trainer->job_name()))));
  EXPECT_EQ(created.status, 200) << created.body;
  const auto status = http.exchange(hotload_request("GET", "d", ""));
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(decode_hotload_status(status.body).replicas.size(), 1u);
}

TEST(FakeServer, StopRightAfterStartIsPromptAndRestartable) {
  CloudFixture f;
  for (int i = 0; i < 5; ++i) {
    FakeServer server(f.cloud);
    const auto t0 = std::chrono::steady_clock::now();
    server.start();
    server.stop();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  }
}

TEST(FakeServer, AStoppedServerRefusesConnections) {
  CloudFixture f;
  std::string url;
  {
    FakeServer server(f.cloud);
    server.start();
    url = server.base_url();
  }
  HttpTransport http({url, seconds(1), seconds(1)});
  EXPECT_THROW(http.exchange(request("GET", "/v1/accounts")), TransportError);
}

TEST(InProcessTransport, GivesTheSameAnswersAsTheRouter) {
  CloudFixture f;
  InProcessTransport transport(f.cloud);
  const auto a = transport.exchange(request("GET", "/v1/accounts?pageSize=2"));
  const auto b = f.cloud.handle(request("GET", "/v1/accounts?pageSize=2"));
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.body, b.body);
}

}  // namespace
}  // namespace weightsync::fake
