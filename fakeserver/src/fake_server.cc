// cpp-httplib 0.11 has no wait-until-ready, and a stop() before listening starts is lost, so
// start() binds first, listens on a thread, and waits for is_running().
#include "weightsync/fake/fake_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

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

}  // namespace

FakeServer::FakeServer(FakeCloud& cloud) : cloud_(cloud) {}

FakeServer::~FakeServer() {
  stop();
}

void FakeServer::start(const std::string& host, int port) {
  if (server_) throw std::runtime_error("FakeServer::start: already started on " + base_url());
  auto server = std::make_unique<httplib::Server>();
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    const HttpResponse answer = cloud_.handle(to_request(req));
    res.status = answer.status;
    std::string content_type = "application/json";
    for (const auto& [name, value] : answer.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        res.set_header(name, value);
      }
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

void FakeServer::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::string FakeServer::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

}  // namespace weightsync::fake
