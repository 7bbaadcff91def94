// weightsync-fakeserver: the fake deployment and fake trainers as a standalone HTTP server, for
// training loops written outside C++ (see fakeserver/README.md). Prints
// "listening on http://HOST:PORT" as its first line; SIGINT or SIGTERM stop it cleanly.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "weightsync/clock.h"
#include "weightsync/errors.h"
#include "weightsync/fake/fake_cloud.h"
#include "weightsync/fake/fake_server.h"
#include "weightsync/fake/server_config.h"

namespace {

constexpr const char* kDefaultAccount = "fake-account";
constexpr const char* kDefaultKey = "fake-key";

int fail(const std::string& message, int code) {
  std::cerr << "weightsync-fakeserver: " << message << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The weightsync fake deployment and fake trainers over HTTP"};
  std::string host = "127.0.0.1";
  int port = 0;
  std::string config_path;
  std::string state_dir;
  std::uint64_t seed = 1;
  app.add_option("--host", host, "Address to bind")->capture_default_str();
  app.add_option("--port", port, "Port to bind; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--config", config_path,
                 "JSON file: accounts, trainers, deployments, timing, fault plan")
      ->check(CLI::ExistingFile);
  app.add_option("--state-dir", state_dir, "Directory that keeps bucket objects durably");
  app.add_option("--seed", seed, "Seed of every generated setting and random fault")
      ->capture_default_str();
  weightsync::fake::FakeServerOptions server_options;
  app.add_option("--threads", server_options.threads,
                 "Event-loop threads that run requests (any number of connections is served "
                 "at once); 0: one per core")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--keep-alive-max", server_options.keep_alive_max_count,
                 "Requests one kept-alive connection carries before the server closes it")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken by sigwait on this thread alone; server threads inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  weightsync::fake::ServerConfig config;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return fail("cannot read config " + config_path, 2);
    try {
      config = weightsync::fake::parse_server_config(text.str());
    } catch (const weightsync::InvalidArgument& e) {
      return fail("config " + config_path + ": " + e.what(), 2);
    }
  }
  weightsync::fake::FakeCloudOptions base;
  base.seed = seed;
  if (!state_dir.empty()) base.state_dir = state_dir;
  std::unique_ptr<weightsync::fake::FakeCloud> cloud;
  try {
    cloud = std::make_unique<weightsync::fake::FakeCloud>(
        weightsync::system_clock(), weightsync::fake::cloud_options(config, base));
  } catch (const std::exception& e) {
    return fail("state dir " + state_dir + ": " + e.what(), 1);
  }
  const bool default_account = config.accounts.empty();
  try {
    if (default_account) cloud->create_account(kDefaultAccount, kDefaultKey);
    weightsync::fake::apply_server_config(*cloud, config);
  } catch (const weightsync::InvalidArgument& e) {
    return fail("config " + config_path + ": " + e.what(), 2);
  }

  weightsync::fake::FakeServer server(*cloud, server_options);
  try {
    server.start(host, port);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
  std::cout << "listening on " << server.base_url() << std::endl;
  if (default_account) {
    std::cout << "account " << kDefaultAccount << std::endl;
    std::cout << "api key " << kDefaultKey << std::endl;
  }
  std::cout << "seed " << seed << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "weightsync-fakeserver: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << ": stopping" << std::endl;
  server.stop();
  return 0;
}
