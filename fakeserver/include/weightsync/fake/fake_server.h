// FakeServer: a FakeCloud's API served over HTTP/1.1 on loopback, for tests and for the
// standalone weightsync-fakeserver. start() returns only once the server accepts connections;
// stop() is prompt and safe at any time (and the destructor calls it). Transport faults of a
// fault plan are acted out on the socket: a delay is waited on the cloud's clock (cut short by
// stop()), a reset closes the connection before any byte of the answer, a truncated body
// announces the full Content-Length and sends half (a streamed completion: half its tokens, no
// [DONE]). A streamed completion is written chunk by chunk as its tokens come due, never
// holding the cloud's lock while writing; a client that hangs up ends its stream at the next
// write. start() ignores SIGPIPE for the process, so writing to a connection the peer closed
// cannot kill it.
//
// The server is event-driven (Boost.Asio and Beast): a few event-loop threads serve every
// connection, so an idle kept-alive connection or an open stream costs a socket and a little
// memory, not a thread. Waits never block a loop thread: on the system clock they are timers;
// on another clock (a ManualClock in tests) they are slept on a separate small pool, since only
// the clock knows what sleeping means. Sockets are TCP_NODELAY, so a small answer is not held
// back by Nagle's algorithm waiting for the peer's delayed ACK.
//
// Thread-safety: start/stop from one thread; requests are handled on the loop threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "weightsync/clock.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/sampling.h"

namespace weightsync::fake {

struct FakeServerOptions {
  // Event-loop threads that read requests, run the router and write answers; 0: one per core.
  // Any number of connections is served at once whatever this is.
  int threads = 0;
  // Requests one kept-alive connection carries before the server closes it, and how long an
  // idle kept-alive connection (or a started request) may wait for its next bytes.
  std::size_t keep_alive_max_count = 1000;
  std::chrono::seconds keep_alive_timeout{5};
};

class FakeServer {
 public:
  // Throws std::invalid_argument for a negative thread count.
  explicit FakeServer(FakeCloud& cloud, FakeServerOptions options = {});
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  // Binds `host`:`port` (0: an ephemeral port) and serves. Throws std::runtime_error if it
  // cannot bind or is already started.
  void start(const std::string& host = "127.0.0.1", int port = 0);
  void stop();
  int port() const { return port_; }
  // "http://host:port"
  std::string base_url() const;

  struct Loop;  // the event loop and its connections (fake_server.cc)

 private:
  FakeCloud& cloud_;
  FakeServerOptions options_;
  std::unique_ptr<Loop> loop_;
  std::string host_;
  int port_ = 0;
};

}  // namespace weightsync::fake
