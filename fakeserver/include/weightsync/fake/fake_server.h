// FakeServer: a FakeCloud's API served over HTTP on loopback by cpp-httplib, for tests that
// exercise the real HttpTransport. start() returns only once the server accepts connections;
// stop() is prompt and safe at any time (and the destructor calls it). Transport faults of a
// fault plan are acted out on the socket: a delay is slept on the cloud's clock (cut short by
// stop()), a reset closes the connection before any byte of the answer, a truncated body
// announces the full Content-Length and sends half (a streamed completion: half its tokens, no
// [DONE]). A streamed completion is written piece by piece as its tokens come due, never
// holding the cloud's lock while writing. start() ignores SIGPIPE for the process,
// so writing to a connection the peer closed cannot kill it.
//
// Each kept-alive connection holds one of the server's worker threads for its whole life (the
// server is cpp-httplib's threaded one): a connection beyond `threads` waits, accepted but
// unanswered, until a worker is free. Sockets are TCP_NODELAY, so a small answer is not held
// back by Nagle's algorithm waiting for the peer's delayed ACK.
//
// Thread-safety: start/stop from one thread; requests are handled on the server's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "weightsync/clock.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/sampling.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace weightsync::fake {

struct FakeServerOptions {
  // Worker threads, so at most this many connections are served at once; 0: cpp-httplib's
  // default (the larger of 8 and the cores less one).
  int threads = 0;
  // Requests one kept-alive connection carries before the server closes it, and how long an
  // idle kept-alive connection (and so its worker) is kept.
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

 private:
  void sleep_unless_stopped(Duration duration);
  void serve_stream(httplib::Response& res, std::shared_ptr<CompletionStream> stream,
                    const std::string& content_type, bool truncate);

  FakeCloud& cloud_;
  FakeServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace weightsync::fake
