// The services of a Broker for in-process tests, over a log manager the test owns: a fetch
// session cache and the group and transaction services, built as main() builds them and
// loaded (from the log directory as it is), then stopped, so that no timer of theirs keeps
// the test's event loop busy: JoinGroup and SyncGroup that would wait are answered
// COORDINATOR_NOT_AVAILABLE, everything else is served.
// TestLogDir gives a fixture that needs no storage of its own a log directory in a fresh
// temporary directory, removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "server/config.h"
#include "server/features.h"
#include "server/fetch_sessions.h"
#include "server/group_service.h"
#include "server/handler.h"
#include "server/log_service.h"
#include "server/server.h"
#include "server/txn_service.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server::testing {

class TestServices {
 public:
  TestServices(asio::io_context& io, const Config& config, const storage::Clock& clock,
               storage::LogManager& logs, FetchWaiters& waiters)
      : sessions_(1000),
        groups_(io, config, clock, logs, waiters),
        txns_(io, config, clock, logs, waiters, {&groups_.runtime()}) {
    std::string error;
    EXPECT_TRUE(txns_.init(&error)) << error;
    txns_.follow(features_);
    groups_.start();
    txns_.start();
    io.restart();
    io.poll();
    EXPECT_TRUE(groups_.loaded() && txns_.loaded());
    groups_.stop();
    txns_.stop();
    io.poll();
    io.restart();
  }

  // A Broker over these services.
  Broker broker(const Config& config, const HandlerRegistry& handlers, FetchWaiters& waiters,
                const storage::Clock& clock, storage::LogManager& logs,
                std::string cluster_id = "test-cluster") {
    return Broker{config,    handlers, waiters, clock,     logs,
                  sessions_, groups_,  txns_,   features_, std::move(cluster_id),
                  1};
  }

  FetchSessionCache& sessions() { return sessions_; }
  GroupService& groups() { return groups_; }
  TxnService& txns() { return txns_; }
  Features& features() { return features_; }

 private:
  FetchSessionCache sessions_;
  GroupService groups_;
  TxnService txns_;
  Features features_;
};

class TestLogDir {
 public:
  TestLogDir(const Config& config, const storage::Clock& clock) {
    char tmpl[] = "/tmp/runnel-test-logs-XXXXXX";
    char* d = ::mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    dir_ = d;
    logs_ = std::make_unique<storage::LogManager>(std::vector<std::string>{dir_},
                                                  log_defaults(config), clock);
    std::string error;
    if (!logs_->load(&error)) throw std::runtime_error("load: " + error);
  }
  ~TestLogDir() {
    logs_->close();
    logs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestLogDir(const TestLogDir&) = delete;
  TestLogDir& operator=(const TestLogDir&) = delete;

  storage::LogManager& logs() { return *logs_; }

 private:
  std::string dir_;
  std::unique_ptr<storage::LogManager> logs_;
};

// A Server on a free 127.0.0.1 port, on a thread of its own, over a whole Broker (its own log
// directory and services), for tests that talk to it through real sockets. A fixture sets
// `config` and `handlers`, calls start_server(), and stop_server() at the end.
struct RunningServer {
  void start_server() {
    log_dir = std::make_unique<TestLogDir>(config, clock);
    services = std::make_unique<TestServices>(io, config, clock, log_dir->logs(), waiters);
    broker = std::make_unique<Broker>(
        services->broker(config, handlers, waiters, clock, log_dir->logs()));
    server = std::make_unique<Server>(io, *broker);
    server->start();
    port = server->endpoints().at(0).port();
    thread = std::thread([this] { io.run(); });
  }
  void stop_server() {
    asio::post(io, [this] {
      server->abort();
      waiters.notify_all();
      work.reset();
    });
    thread.join();
  }
  // `f()` run on the server's thread; its result.
  template <typename F>
  auto on_server_thread(F f) {
    std::promise<decltype(f())> p;
    asio::post(io, [&] { p.set_value(f()); });
    return p.get_future().get();
  }

  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Config config;
  HandlerRegistry handlers;
  FetchWaiters waiters{io.get_executor()};
  storage::ManualClock clock;
  std::unique_ptr<TestLogDir> log_dir;
  std::unique_ptr<TestServices> services;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::thread thread;
};

}  // namespace runnel::server::testing
