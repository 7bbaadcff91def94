// The event-driven HTTP/1.1 server behind the router. Boost.Beast is heavy to compile, so it is
// included here and nowhere else.
//
// One Connection per accepted socket, on its own strand: read a request (header, then the body,
// after a "100 Continue" if asked), queue its routing in the loop's ReadyQueue (control requests
// are routed before sampling ones that are ready at the same time: request_order.h), hand it to
// FakeCloud::handle_streaming, wait out an injected delay, then write the answer whole, or a
// stream's head and then one chunk per piece as each comes due, and read the next request. Every
// step is an asynchronous operation whose handler holds the connection alive; stop() stops the
// loop and destroys whatever is pending with it.
#include "weightsync/fake/fake_server.h"

#include <zlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http_support.h"
#include "request_order.h"
#include "weightsync/fake/transport_faults.h"

namespace weightsync::fake {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Connections that may wait in the kernel's queue before the server accepts them.
constexpr int kListenBacklog = 1024;
// Bodies over the router's limit must reach it, so it can answer a JSON 413; a body beyond
// this is refused by the server itself, with the same kind of answer.
constexpr std::uint64_t kMaxBodyBytes = std::uint64_t{64} << 20;

// Content types worth compressing: text (but not an event stream, which is written piece by
// piece), JSON, XML, JavaScript.
bool compressible(std::string_view type) {
  if (type.starts_with("text/")) return !type.starts_with("text/event-stream");
  return type.starts_with("application/json") || type.starts_with("application/xml") ||
         type.starts_with("application/javascript") || type.starts_with("image/svg+xml") ||
         type.starts_with("application/xhtml+xml");
}

// `text` as a gzip member; nullopt if zlib fails (the answer then goes out uncompressed).
std::optional<std::string> gzip(const std::string& text) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (result != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace

struct FakeServer::Loop {
  Loop(FakeCloud& served, const FakeServerOptions& chosen, int loop_threads)
      : cloud(served),
        options(chosen),
        real_clock(dynamic_cast<SystemClock*>(&served.clock()) != nullptr),
        io(loop_threads),
        acceptor(io),
        retry(io),
        ready(loop_threads),
        thread_count(loop_threads) {}

  void accept();
  // Queues `task` (a parsed request's routing) and starts a runner if one is free.
  void submit(detail::RequestClass request_class, std::function<void()> task);
  // A runner: one queued task, then back to the event loop (so that requests ready meanwhile are
  // queued before the next is chosen), until the queue is empty.
  void run_ready();
  // Calls `then` on `timer`'s executor once `duration` has passed on the cloud's clock.
  void wait(Duration duration, net::steady_timer& timer, std::function<void()> then);

  FakeCloud& cloud;
  const FakeServerOptions options;
  const bool real_clock;
  net::io_context io;
  tcp::acceptor acceptor;
  net::steady_timer retry;  // after a failed accept (say, out of descriptors)
  // Parsed requests waiting to be routed; after `io`, so their connections go before it.
  detail::ReadyQueue ready;
  // Sleeps on a clock other than the system one; never on a loop thread.
  net::thread_pool clock_sleeps{2};
  int thread_count;
  std::vector<std::thread> threads;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(FakeServer::Loop& loop, tcp::socket socket)
      : loop_(loop), stream_(std::move(socket)), timer_(stream_.get_executor()) {}

  void read_request() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(loop_.options.keep_alive_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

 private:
  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      auto go_on = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                       parser_->get().version());
      http::async_write(stream_, *go_on,
                        [self = shared_from_this(), go_on](beast::error_code e, std::size_t) {
                          if (!e) self->read_body();
                        });
      return;
    }
    if (!parser_->is_done()) ack_now();
    read_body();
  }

  // A client that writes a request's headers and body in two writes without TCP_NODELAY (Python's
  // httpx.Client does) holds the body back until the headers are acknowledged, and Linux delays
  // that ACK by up to 40 ms. Acknowledging at once makes such a POST cost a round trip, not 40 ms.
  void ack_now() {
    const int on = 1;
    ::setsockopt(stream_.socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  // A closed or idle connection just ends; bytes that are not HTTP get a JSON 4xx, then close.
  void on_read_error(beast::error_code ec) {
    if (ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
        ec == http::error::end_of_stream || !parser_->got_some()) {
      return;
    }
    answer_ = {};
    answer_.head =
        ec == http::error::body_limit
            ? detail::error_response(413, "request body over " + std::to_string(kMaxBodyBytes) +
                                              " bytes")
            : detail::error_response(400, "malformed HTTP request: " + ec.message());
    fault_ = {};
    keep_alive_ = false;
    accepts_gzip_ = false;
    write_answer();
  }

  // The request is whole: its routing waits its turn in the loop's queue. Nothing else of this
  // connection is pending meanwhile, so route() may run off the strand.
  void on_request() {
    stream_.expires_never();
    const auto& in = parser_->get();
    const auto method = in.method_string();
    const auto target = in.target();
    loop_.submit(detail::classify_request({method.data(), method.size()},
                                          {target.data(), target.size()}),
                 [self = shared_from_this()] { self->route(); });
  }

  void route() {
    auto& in = parser_->get();
    HttpRequest request;
    request.method = std::string(in.method_string());
    request.path = std::string(in.target());
    for (const auto& field : in) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(in.body());
    try {
      answer_ = loop_.cloud.handle_streaming(request);
    } catch (const std::exception& e) {
      answer_ = {detail::error_response(500, std::string("fake server: ") + e.what()), nullptr};
    }
    fault_ = take_transport_fault(answer_.head);
    keep_alive_ = in.keep_alive() && ++served_ < loop_.options.keep_alive_max_count;
    accepts_gzip_ = in[http::field::accept_encoding].find("gzip") != beast::string_view::npos;
    loop_.wait(fault_.delay, timer_, [self = shared_from_this()] { self->respond(); });
  }

  void respond() {
    if (fault_.cut == TransportFault::Cut::reset) {
      // Nothing of the answer leaves: the peer sees the connection close.
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    if (answer_.stream) return start_stream();
    write_answer();
  }

  // The router's status and headers on `head`, with its Content-Type (JSON if none).
  template <typename Body>
  void copy_head(http::response<Body>& head) {
    head.version(parser_->get().version());
    head.result(static_cast<unsigned>(answer_.head.status));
    std::string content_type = "application/json";
    for (const auto& [name, value] : answer_.head.headers) {
      if (beast::iequals(name, "Content-Type")) {
        content_type = value;
      } else {
        head.insert(name, value);
      }
    }
    head.set(http::field::content_type, content_type);
    if (keep_alive_) {
      head.set(http::field::keep_alive,
               "timeout=" + std::to_string(loop_.options.keep_alive_timeout.count()) +
                   ", max=" + std::to_string(loop_.options.keep_alive_max_count));
    }
    head.keep_alive(keep_alive_);
  }

  void write_answer() {
    response_ = {};
    copy_head(response_);
    std::string& body = answer_.head.body;
    if (fault_.cut == TransportFault::Cut::truncate) {
      // Announce the whole body (and one byte more, so even an empty one is short), send half.
      keep_alive_ = false;
      response_.content_length(body.size() + 1);
      response_.body() = body.substr(0, body.size() / 2);
    } else {
      // A client that accepts gzip gets text and JSON answers compressed, as from most servers.
      std::optional<std::string> packed;
      if (accepts_gzip_ && !body.empty() &&
          compressible(std::string(response_[http::field::content_type]))) {
        packed = gzip(body);
      }
      if (packed) response_.set(http::field::content_encoding, "gzip");
      response_.body() = packed ? std::move(*packed) : std::move(body);
      response_.prepare_payload();
    }
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->after_answer(ec);
                      });
  }

  void after_answer(beast::error_code ec) {
    if (ec) return;
    if (!keep_alive_) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    read_request();
  }

  void start_stream() {
    // A truncated-body fault on a stream ends it halfway, without [DONE].
    if (fault_.cut == TransportFault::Cut::truncate) {
      answer_.stream->cut_after(answer_.stream->steps() / 2);
    }
    stream_head_ = {};
    copy_head(stream_head_);
    stream_head_.chunked(true);
    head_writer_.emplace(stream_head_);
    http::async_write_header(stream_, *head_writer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (!ec) self->next_piece();
                             });
  }

  void next_piece() {
    CompletionStream& stream = *answer_.stream;
    loop_.wait(stream.next_due() - loop_.cloud.clock().now(), timer_,
               [self = shared_from_this()] { self->send_piece(); });
  }

  // The next piece is generated under the cloud's lock (inside next_chunk) and written after
  // it is released; a failed write (the client went away) ends the stream and the connection.
  void send_piece() {
    auto piece = loop_.cloud.next_chunk(*answer_.stream);
    if (!piece) {
      if (answer_.stream->cut()) return;
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->answer_.stream.reset();
                         self->after_answer(ec);
                       });
      return;
    }
    piece_ = std::move(*piece);
    net::async_write(stream_, http::make_chunk(net::buffer(piece_)),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->next_piece();
                     });
  }

  FakeServer::Loop& loop_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::size_t served_ = 0;
  StreamedResponse answer_;
  TransportFault fault_;
  bool keep_alive_ = false;
  bool accepts_gzip_ = false;
  http::response<http::string_body> response_;
  http::response<http::empty_body> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> head_writer_;
  std::string piece_;
};

}  // namespace

void FakeServer::Loop::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec) {
      retry.expires_after(std::chrono::milliseconds(10));
      retry.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(*this, std::move(socket))->read_request();
    accept();
  });
}

void FakeServer::Loop::submit(detail::RequestClass request_class, std::function<void()> task) {
  if (ready.push(request_class, std::move(task))) net::post(io, [this] { run_ready(); });
}

void FakeServer::Loop::run_ready() {
  const std::function<void()> task = ready.next();
  if (!task) return;
  task();
  if (!ready.stop_if_empty()) net::post(io, [this] { run_ready(); });
}

void FakeServer::Loop::wait(Duration duration, net::steady_timer& timer,
                            std::function<void()> then) {
  if (duration <= Duration::zero()) return then();
  if (real_clock) {
    timer.expires_after(duration);
    timer.async_wait([then = std::move(then)](beast::error_code) { then(); });
    return;
  }
  net::post(clock_sleeps, [this, duration, executor = timer.get_executor(),
                           then = std::move(then)]() mutable {
    cloud.clock().sleep_for(duration);
    net::post(executor, std::move(then));
  });
}

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
  if (loop_) throw std::runtime_error("FakeServer::start: already started on " + base_url());
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
  const int threads = options_.threads > 0
                          ? options_.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto loop = std::make_unique<Loop>(cloud_, options_, threads);
  const std::string where = host + ":" + std::to_string(port);
  try {
    tcp::resolver resolver(loop->io);
    const tcp::endpoint endpoint =
        resolver.resolve(host, std::to_string(port), tcp::resolver::passive)->endpoint();
    loop->acceptor.open(endpoint.protocol());
    loop->acceptor.set_option(net::socket_base::reuse_address(true));
    // Accepted sockets get TCP_NODELAY each (Linux does not pass it on from the listener).
    loop->acceptor.bind(endpoint);
    loop->acceptor.listen(kListenBacklog);
    port_ = loop->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("FakeServer::start: cannot bind " + where + ": " + e.what());
  }
  host_ = host;
  loop->accept();
  for (int i = 0; i < loop->thread_count; ++i) {
    loop->threads.emplace_back([io = &loop->io] { io->run(); });
  }
  loop_ = std::move(loop);
}

void FakeServer::stop() {
  if (!loop_) return;
  // The listening socket is open from start(), so connects already queue; stopping the loop
  // drops every pending step, and destroying it closes every connection.
  loop_->io.stop();
  for (auto& thread : loop_->threads) thread.join();
  loop_->clock_sleeps.join();
  beast::error_code ignored;
  loop_->acceptor.close(ignored);
  loop_.reset();
}

std::string FakeServer::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

}  // namespace weightsync::fake
