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
#include <string>
#include <utility>

#include "server/config.h"
#include "server/fetch_sessions.h"
#include "server/group_service.h"
#include "server/handler.h"
#include "server/log_service.h"
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
    return Broker{
        config, handlers, waiters, clock, logs, sessions_, groups_, txns_, std::move(cluster_id),
        1};
  }

  FetchSessionCache& sessions() { return sessions_; }
  GroupService& groups() { return groups_; }
  TxnService& txns() { return txns_; }

 private:
  FetchSessionCache sessions_;
  GroupService groups_;
  TxnService txns_;
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

}  // namespace runnel::server::testing
