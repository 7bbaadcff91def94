// cpp-httplib 0.11 has no wait-until-ready, and a stop() before listening starts is lost, so
// start() binds first, listens on a thread, and waits for is_running().
#include "weightsync/fake/fake_server.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <stdexcept>

#include "weightsync/fake/transport_faults.h"

namespace weightsync::fake {
namespace {

HttpRequest to_request(const httplib::Request& in) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.target.empty() ? in.path : in.target;
  for (const auto& [name, value] : in.headers) out.headers.emplace_back(name, value);
  out.body = in.body;
  return out;
}

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return -1;
}

// The connection a request came in on, found by its two ports (cpp-httplib does not hand the
// socket to handlers); -1 if it is gone.
int connection_of(const httplib::Request& request) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_size = sizeof local;
    socklen_t peer_size = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    if (port_of(local) == request.local_port && port_of(peer) == request.remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

// Connections that may wait in the kernel's queue before the server accepts them.
constexpr int kListenBacklog = 1024;

// Worker pool and keep-alive of `options`; TCP_NODELAY, which accepted sockets inherit from
// the listening one. Debian's cpp-httplib is a shared library built with a listen queue of 5,
// where the 6th of a burst of connects waits for a SYN retry (1 s, then 3 s): the listening
// socket is recorded in `listener` as it is made, so that start() can deepen its queue.
void configure(httplib::Server& server, const FakeServerOptions& options,
               std::shared_ptr<int> listener) {
  server.set_socket_options([listener](int sock) {
    httplib::default_socket_options(sock);
    *listener = sock;
  });
  if (options.threads > 0) {
    const auto threads = static_cast<std::size_t>(options.threads);
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  }
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(std::max<std::size_t>(options.keep_alive_max_count, 1));
  server.set_keep_alive_timeout(options.keep_alive_timeout.count());
}

}  // namespace

FakeServer::FakeServer(FakeCloud& cloud, FakeServerOptions options)
    : cloud_(cloud), options_(options) {
  if (options_.threads < 0) {
    throw std::invalid_argument("FakeServerOptions::threads: expected >= 0, got " +
                                std::to_string(options_.threads));
  }
}

FakeServer::~FakeServer() {
  stop();
}

void FakeServer::start(const std::string& host, int port) {
  if (server_) throw std::runtime_error("FakeServer::start: already started on " + base_url());
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
  stopping_ = false;
  auto server = std::make_unique<httplib::Server>();
  const auto listener = std::make_shared<int>(-1);
  configure(*server, options_, listener);
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    StreamedResponse streamed = cloud_.handle_streaming(to_request(req));
    HttpResponse& answer = streamed.head;
    const TransportFault fault = take_transport_fault(answer);
    sleep_unless_stopped(fault.delay);
    if (fault.cut == TransportFault::Cut::reset) {
      // Nothing of the answer leaves: the peer sees the connection close. The write
      // cpp-httplib then attempts fails quietly (SIGPIPE is ignored).
      if (const int fd = connection_of(req); fd >= 0) shutdown(fd, SHUT_RDWR);
      res.status = 500;
      return;
    }
    res.status = answer.status;
    std::string content_type = "application/json";
    for (const auto& [name, value] : answer.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        res.set_header(name, value);
      }
    }
    if (streamed.stream) {
      serve_stream(res, std::move(streamed.stream), content_type,
                   fault.cut == TransportFault::Cut::truncate);
      return;
    }
    if (fault.cut == TransportFault::Cut::truncate) {
      // Announce the whole body (and one byte more, so even an empty one is short), send half.
      const auto body = std::make_shared<std::string>(std::move(answer.body));
      res.set_content_provider(body->size() + 1, content_type.c_str(),
                               [body](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 sink.write(body->data(), body->size() / 2);
                                 return false;
                               });
      return;
    }
    res.set_content(answer.body, content_type.c_str());
  };
  const std::string any = ".*";
  server->Get(any, handler);
  server->Post(any, handler);
  server->Put(any, handler);
  server->Patch(any, handler);
  server->Delete(any, handler);
  server->Options(any, handler);
  // Bodies over the router's limit must reach it, so it can answer a JSON 413.
  server->set_payload_max_length(std::size_t{64} << 20);
  const int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    throw std::runtime_error("FakeServer::start: cannot bind " + host + ":" + std::to_string(port));
  }
  // Calling listen() again on a listening socket only changes its queue length.
  if (*listener >= 0) ::listen(*listener, kListenBacklog);
  host_ = host;
  port_ = bound;
  server_ = std::move(server);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([s = server_.get(), finished] {
    s->listen_after_bind();
    *finished = true;
  });
  while (!server_->is_running() && !*finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    stop();
    throw std::runtime_error("FakeServer::start: the server stopped before it could listen on " +
                             host + ":" + std::to_string(bound));
  }
}

void FakeServer::sleep_unless_stopped(Duration duration) {
  // In slices, so that stop() is not held up by a long injected delay or a slow stream.
  for (Duration left = duration; left > Duration::zero() && !stopping_;) {
    const Duration slice = std::min<Duration>(left, std::chrono::milliseconds(50));
    cloud_.clock().sleep_for(slice);
    left -= slice;
  }
}

void FakeServer::serve_stream(httplib::Response& res, std::shared_ptr<CompletionStream> stream,
                              const std::string& content_type, bool truncate) {
  // A truncated-body fault on a stream ends it halfway, without [DONE].
  if (truncate) stream->cut_after(stream->steps() / 2);
  // Each piece is generated under the cloud's lock and written after it is released; a write
  // that fails (the client went away) or stop() ends the stream and drops it.
  res.set_chunked_content_provider(
      content_type, [this, stream](std::size_t, httplib::DataSink& sink) {
        sleep_unless_stopped(stream->next_due() - cloud_.clock().now());
        if (stopping_) return false;
        const auto piece = cloud_.next_chunk(*stream);
        if (!piece) {
          if (stream->cut()) return false;
          sink.done();
          return true;
        }
        return sink.write(piece->data(), piece->size());
      });
}

void FakeServer::stop() {
  if (!server_) return;
  stopping_ = true;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::string FakeServer::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

}  // namespace weightsync::fake
