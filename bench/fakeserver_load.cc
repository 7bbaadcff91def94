// The `load` experiment of bench/fakeserver_load.py with a C++ client, so that the client's own
// cost does not bound what is measured: one thread, one Asio event loop, one coroutine per
// keep-alive connection (no thread per connection), TCP_NODELAY on every socket.
//
// The control loop (the trainer's requests) runs on a second thread with its own event loop:
// in a real RL loop those requests come from the trainer, another process than the rollout
// workers that send the completions, so they should not wait in the load's queue. On one loop,
// a control answer could wait behind the load answers that became ready with it, and that wait
// would count as the server's control latency. (Measured: it was small, the client used 13-30% of
// its core at 1,024 connections; client_cpu_fraction in each row says how busy it was.)
//
//   weightsync_bench_fakeserver_load --port P --clients 1,64,256 --seconds 5 --streams 0
//
// It expects a weightsync-fakeserver on 127.0.0.1:P already set up as the Python script sets it
// up (account "bench", trainer "t1", ready deployment "d1"); `fakeserver_load.py load --client
// cpp` does that and runs this program. Per client count it prints the same JSON row as the
// script (one JSON array on stdout, a summary line per count on stderr): small requests are a
// hotload status GET and a 1-token completion, alternating; the control loop steps the trainer,
// saves, POSTs a hotload and polls its status; --streams of the clients hold streaming
// completions open instead, each read to `data: [DONE]`. Errors: non-200 answers other than a
// completion's 503 while every replica loads (counted apart), resets, timeouts, streams that end
// without [DONE]. Each count is bounded by --seconds and --max-requests.
#include <sys/resource.h>
#include <sys/time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
template <typename T>
using Task = asio::awaitable<T>;
constexpr auto kAwait = asio::use_awaitable;

// The names the Python script configures the server with.
const std::string kAccount = "bench";
const std::string kApiKey = "bench-key";
const std::string kTrainer = "t1";
const std::string kBaseModel = "accounts/fireworks/models/qwen3-8b";
const std::string kDeploymentName = "accounts/" + kAccount + "/deployments/d1";
const std::string kHotloadPath = "/hot_load/v1/models/hot_load";
const std::string kCompletionsPath = "/inference/v1/completions";

struct Options {
  unsigned short port = 0;
  std::vector<int> clients{1, 8, 64, 256, 1024};
  double seconds = 5.0;
  long max_requests = 200000;
  double timeout = 10.0;
  int streams = 0;
  int stream_tokens = 40;
};

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// value rounded to `digits` decimals (the division keeps the printed JSON short).
double round_to(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// Nearest-rank percentile in milliseconds of values in seconds (as the Python script computes
// it); null if there are none.
nlohmann::json percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return nullptr;
  std::sort(values.begin(), values.end());
  const long n = static_cast<long>(values.size());
  const long per_mille = static_cast<long>(fraction * 1000);
  const long rank = std::max(1L, (per_mille * n + 999) / 1000);
  return round_to(values[static_cast<std::size_t>(std::min(rank, n) - 1)] * 1000, 3);
}

Request make_request(http::verb method, const std::string& target, std::string body = {},
                     bool hotload_headers = false) {
  Request request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::authorization, "Bearer " + kApiKey);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  if (hotload_headers) {
    request.set("fireworks-model", kBaseModel);
    request.set("fireworks-deployment", kDeploymentName);
  }
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::string completion_body(bool stream, int tokens) {
  nlohmann::json body = {{"model", kDeploymentName},
                         {"prompt", {1, 2, 3, 4}},
                         {"max_tokens", tokens},
                         {"temperature", 0.0}};
  if (stream) body["stream"] = true;
  return body.dump();
}

// What one client count measured.
struct Level {
  Clock::time_point deadline;
  long max_requests = 0;
  std::vector<double> latencies, control, stream_seconds;
  long errors = 0, reconnects = 0, requests = 0, unavailable = 0;
  std::map<std::string, long> error_kinds;
  long open_streams = 0, streams_done = 0, stream_events = 0;
  std::optional<Clock::time_point> last_small;
  bool streaming_seen = false;

  bool more() const { return Clock::now() < deadline && requests < max_requests; }
  void error(const std::string& kind) {
    ++errors;
    ++error_kinds[kind];
  }
};

struct Answer {
  unsigned status = 0;
  std::string body;
};

// One kept-alive connection; reconnects once when the server closed it between requests.
class Connection {
 public:
  Connection(asio::any_io_executor executor, unsigned short port, Level& level, double timeout)
      : executor_(std::move(executor)),
        endpoint_(asio::ip::make_address("127.0.0.1"), port),
        level_(level),
        timeout_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(timeout))) {}

  // The answer, or nothing after counting the error (reset, timeout).
  Task<std::optional<Answer>> exchange(
      const Request& request,
      const std::function<void(const http::response_header<>&)>& on_headers = {}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string failure;
      try {
        if (!stream_) {
          stream_.emplace(executor_);
          stream_->expires_after(timeout_);
          co_await stream_->async_connect(endpoint_, kAwait);
          stream_->socket().set_option(tcp::no_delay(true));
        }
        stream_->expires_after(timeout_);
        co_await http::async_write(*stream_, request, kAwait);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        co_await http::async_read_header(*stream_, buffer_, parser, kAwait);
        if (on_headers) on_headers(parser.get().base());
        co_await http::async_read(*stream_, buffer_, parser, kAwait);
        Answer answer{parser.get().result_int(), std::move(parser.get().body())};
        if (!parser.get().keep_alive()) close();
        co_return answer;
      } catch (const boost::system::system_error& e) {
        close();
        if (e.code() == beast::error::timeout) {
          failure = "timeout";
        } else if (attempt == 0 && e.code() == http::error::end_of_stream) {
          // A kept-alive connection the server closed before answering anything: reconnect.
          ++level_.reconnects;
          continue;
        } else {
          failure = e.code().message();
        }
      }
      level_.error(failure);
      co_return std::nullopt;
    }
    co_return std::nullopt;
  }

  void close() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.reset();
    buffer_.clear();
  }

 private:
  asio::any_io_executor executor_;
  tcp::endpoint endpoint_;
  Level& level_;
  Clock::duration timeout_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

Task<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(kAwait);
}

// Whether an SSE body ends with the `data: [DONE]` event (a whole stream).
bool stream_finished(std::string_view body) {
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) {
    body.remove_suffix(1);
  }
  constexpr std::string_view kDone = "data: [DONE]";
  return body.size() >= kDone.size() && body.substr(body.size() - kDone.size()) == kDone;
}

long count_events(std::string_view body) {
  long count = 0;
  for (auto at = body.find("data: "); at != std::string_view::npos;
       at = body.find("data: ", at + 1)) {
    ++count;
  }
  return count;
}

struct Requests {
  Request status = make_request(http::verb::get, kHotloadPath, {}, true);
  Request completion = make_request(http::verb::post, kCompletionsPath, completion_body(false, 1));
  Request stream;
};

Task<void> client_loop(Level& level, const Options& options, const Requests& requests, int index,
                       bool streaming) {
  Connection connection(co_await asio::this_coro::executor, options.port, level, options.timeout);
  int turn = index;
  while (level.more()) {
    const bool status_turn = !streaming && turn % 2 == 0;
    const Request& request =
        streaming ? requests.stream : (status_turn ? requests.status : requests.completion);
    ++turn;
    std::optional<Clock::time_point> opened;
    auto on_headers = [&](const http::response_header<>& headers) {
      if (!streaming) return;
      const auto type = headers[http::field::content_type];
      const bool events = std::string_view(type.data(), type.size()).find("text/event-stream") !=
                          std::string_view::npos;
      level.streaming_seen = level.streaming_seen || events;
      if (events) {
        ++level.open_streams;
        opened = Clock::now();
      }
    };
    ++level.requests;
    const auto started = Clock::now();
    auto answer = co_await connection.exchange(request, on_headers);
    if (opened) --level.open_streams;
    if (!answer) {
      co_await pause(std::chrono::milliseconds(10));
      continue;
    }
    if (answer->status == 503 && !status_turn) {
      // The fake's documented answer while every replica loads: not a failure.
      ++level.unavailable;
      continue;
    }
    if (answer->status != 200) {
      level.error("http_" + std::to_string(answer->status));
      continue;
    }
    if (opened) {
      if (!stream_finished(answer->body)) {
        level.error("stream_without_done");
        continue;
      }
      ++level.streams_done;
      level.stream_seconds.push_back(seconds_between(*opened, Clock::now()));
      level.stream_events += count_events(answer->body);
    } else {
      level.last_small = Clock::now();
      level.latencies.push_back(seconds_between(started, *level.last_small));
    }
  }
  connection.close();
}

// Step, save, hotload POST, five status polls; the control requests' latencies.
Task<void> control_loop(Level& level, const Options& options, const Requests& requests) {
  Connection connection(co_await asio::this_coro::executor, options.port, level, options.timeout);
  const std::string control_path = "/_fake/v1/accounts/" + kAccount + "/trainers/" + kTrainer;
  int step = 0;
  while (Clock::now() < level.deadline) {
    ++step;
    std::optional<Answer> saved;
    const nlohmann::json setup[2][2] = {
        {control_path + ":step", {{"steps", 1}}},
        {control_path + ":saveWeightsForSampler",
         {{"name", "step-" + std::to_string(step)}, {"checkpointType", "base"}}}};
    for (const auto& [path, body] : setup) {
      saved = co_await connection.exchange(
          make_request(http::verb::post, path.get<std::string>(), body.dump()));
      if (!saved || saved->status != 200) {
        level.error("control_setup");
        saved.reset();
        break;
      }
    }
    if (!saved) {
      co_await pause(std::chrono::milliseconds(50));
      continue;
    }
    const auto identity = nlohmann::json::parse(saved->body).at("snapshotName");
    const Request hotload = make_request(http::verb::post, kHotloadPath,
                                         nlohmann::json{{"identity", identity}}.dump(), true);
    for (int i = 0; i < 6; ++i) {
      const auto started = Clock::now();
      auto answer = co_await connection.exchange(i == 0 ? hotload : requests.status);
      if (answer && answer->status == 200) {
        level.control.push_back(seconds_between(started, Clock::now()));
      } else if (answer) {
        level.error("control_http_" + std::to_string(answer->status));
      }
      co_await pause(std::chrono::milliseconds(10));
    }
  }
  connection.close();
}

Task<void> sample_streams(Level& level, std::vector<long>& samples) {
  while (Clock::now() < level.deadline) {
    samples.push_back(level.open_streams);
    co_await pause(std::chrono::milliseconds(50));
  }
}

struct LockCounters {
  double acquisitions = 0, wait_seconds = 0, held_seconds = 0;
};

// The fake's lock counters, from GET /metrics (a blocking exchange between levels).
LockCounters lock_counters(unsigned short port) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  Request request = make_request(http::verb::get, "/metrics");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  if (response.result_int() != 200) {
    throw std::runtime_error("GET /metrics: expected 200, got " +
                             std::to_string(response.result_int()));
  }
  std::map<std::string, double> values;
  std::istringstream lines(response.body());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("weightsync_fake_lock_", 0) != 0) continue;
    const auto space = line.find(' ');
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  const auto value = [&](const std::string& name) {
    const auto found = values.find(name);
    if (found == values.end()) throw std::runtime_error("GET /metrics: no " + name);
    return found->second;
  };
  return {value("weightsync_fake_lock_acquisitions_total"),
          value("weightsync_fake_lock_wait_seconds_total"),
          value("weightsync_fake_lock_held_seconds_total")};
}

// CPU seconds (user and system) this process has used so far, all threads.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

nlohmann::json run_level(const Options& options, int clients) {
  const LockCounters before = lock_counters(options.port);
  const double cpu_before = cpu_seconds();
  asio::io_context io(1);
  const auto started = Clock::now();
  Level level;
  level.deadline = started + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options.seconds));
  level.max_requests = options.max_requests;
  const int streams = std::min(options.streams, clients);
  Requests requests;
  requests.stream = make_request(http::verb::post, kCompletionsPath,
                                 completion_body(true, options.stream_tokens));
  std::vector<long> samples;
  const auto rethrow = [](std::exception_ptr failure) {
    if (failure) std::rethrow_exception(failure);
  };
  for (int i = 0; i < clients; ++i) {
    asio::co_spawn(io, client_loop(level, options, requests, i, i < streams), rethrow);
  }
  asio::co_spawn(io, sample_streams(level, samples), rethrow);
  // The trainer's side: its own loop on its own thread (see the file's head).
  Level control;
  control.deadline = level.deadline;
  asio::io_context control_io(1);
  asio::co_spawn(control_io, control_loop(control, options, requests), rethrow);
  std::exception_ptr control_failure;
  std::thread trainer([&] {
    try {
      control_io.run();
    } catch (...) {
      control_failure = std::current_exception();
    }
  });
  try {
    io.run();
  } catch (...) {
    control_io.stop();
    trainer.join();
    throw;
  }
  trainer.join();
  rethrow(control_failure);
  const double elapsed = seconds_between(started, Clock::now());
  const double cpu_used = cpu_seconds() - cpu_before;
  level.control = std::move(control.control);
  level.errors += control.errors;
  level.reconnects += control.reconnects;
  for (const auto& [kind, count] : control.error_kinds) level.error_kinds[kind] += count;
  // Streams open at the deadline run to their end; the small requests' rate is over the time
  // they were being sent.
  const double small_elapsed = level.last_small ? seconds_between(started, *level.last_small)
                                                : elapsed;
  const LockCounters after = lock_counters(options.port);
  const double taken = after.acquisitions - before.acquisitions;
  const double waited = after.wait_seconds - before.wait_seconds;
  const double held = after.held_seconds - before.held_seconds;
  double open_mean = 0;
  for (long s : samples) open_mean += static_cast<double>(s);
  if (!samples.empty()) open_mean /= static_cast<double>(samples.size());
  const long requests_done = static_cast<long>(level.latencies.size());
  nlohmann::json row = {
      {"clients", clients},
      {"seconds", round_to(elapsed, 3)},
      {"requests", requests_done},
      {"requests_per_s",
       round_to(static_cast<double>(requests_done) / std::max(small_elapsed, 1e-9), 1)},
      {"p50_ms", percentile(level.latencies, 0.5)},
      {"p99_ms", percentile(level.latencies, 0.99)},
      {"errors", level.errors},
      {"error_kinds", level.error_kinds},
      {"completions_503_while_loading", level.unavailable},
      {"control_requests", level.control.size()},
      {"control_p50_ms", percentile(level.control, 0.5)},
      {"control_p99_ms", percentile(level.control, 0.99)},
      {"reconnects", level.reconnects},
      {"client_cpu_fraction", round_to(cpu_used / elapsed, 3)},
      {"lock_held_fraction", round_to(held / elapsed, 3)},
      {"lock_wait_mean_ms", round_to(waited / std::max(taken, 1.0) * 1000, 3)},
      {"lock_hold_mean_us", round_to(held / std::max(taken, 1.0) * 1e6, 2)},
      {"stream_clients", streams},
      {"open_streams", round_to(open_mean, 1)},
      {"open_streams_max", samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end())},
  };
  if (streams > 0) {
    row["streaming_supported"] = level.streaming_seen;
    row["streams_completed"] = level.streams_done;
    row["stream_events_per_s"] = round_to(static_cast<double>(level.stream_events) / elapsed, 1);
    row["stream_p50_ms"] = percentile(level.stream_seconds, 0.5);
    row["stream_p99_ms"] = percentile(level.stream_seconds, 0.99);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Load on a set-up weightsync-fakeserver on 127.0.0.1 (see fakeserver_load.py)"};
  app.add_option("--port", options.port, "the server's port on 127.0.0.1")
      ->required()
      ->check(CLI::Range(1, 65535));
  app.add_option("--clients", options.clients, "client counts, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  app.add_option("--seconds", options.seconds, "time per client count")
      ->check(CLI::Range(0.001, 600.0));
  app.add_option("--max-requests", options.max_requests, "request cap per count")
      ->check(CLI::PositiveNumber);
  app.add_option("--timeout", options.timeout, "per request, seconds")
      ->check(CLI::Range(0.001, 600.0));
  app.add_option("--streams", options.streams, "streaming clients per count")
      ->check(CLI::Range(0, 4096));
  app.add_option("--stream-tokens", options.stream_tokens, "tokens per streamed completion")
      ->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);

  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = std::max<rlim_t>(files.rlim_cur, std::min<rlim_t>(files.rlim_max, 65536));
    setrlimit(RLIMIT_NOFILE, &files);
  }
  try {
    nlohmann::json rows = nlohmann::json::array();
    for (int clients : options.clients) {
      const auto row = run_level(options, clients);
      std::cerr << "  clients " << clients << ": " << row["requests_per_s"] << " req/s, p50 "
                << row["p50_ms"] << " ms, p99 " << row["p99_ms"] << " ms, errors "
                << row["errors"] << ", control p99 " << row["control_p99_ms"]
                << " ms, open streams " << row["open_streams"] << ", lock held "
                << row["lock_held_fraction"] << ", lock wait " << row["lock_wait_mean_ms"]
                << " ms\n";
      rows.push_back(row);
    }
    std::cout << rows.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "weightsync_bench_fakeserver_load: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
