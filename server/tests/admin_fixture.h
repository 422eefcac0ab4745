// A broker for in-process handler tests: a real LogManager in a fresh
// temporary directory under /tmp (removed afterwards), a manual clock and a
// configuration built from properties text.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/handler.h"
#include "server/log_service.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server::testing {

class AdminBroker {
 public:
  explicit AdminBroker(const std::string& properties = "",
                       const std::vector<std::string>& overrides = {})
      : config_(Config::from_text(properties, overrides)) {
    char tmpl[] = "/tmp/runnel-admin-test-XXXXXX";
    char* d = mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    dir_ = d;
    logs_ = std::make_unique<storage::LogManager>(std::vector<std::string>{dir_},
                                                  log_defaults(config_), clock_);
    std::string err;
    if (!logs_->load(&err)) throw std::runtime_error("load: " + err);
    services_ = std::make_unique<TestServices>(io_, config_, clock_, *logs_, waiters_);
    broker_ = std::make_unique<Broker>(
        services_->broker(config_, handlers_, waiters_, clock_, *logs_, "test-cluster-id"));
  }
  ~AdminBroker() {
    broker_.reset();
    services_.reset();
    logs_->close();
    logs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  AdminBroker(const AdminBroker&) = delete;
  AdminBroker& operator=(const AdminBroker&) = delete;

  Broker& broker() { return *broker_; }
  storage::LogManager& logs() { return *logs_; }
  storage::ManualClock& clock() { return clock_; }
  const std::string& dir() const { return dir_; }

 private:
  Config config_;
  storage::ManualClock clock_;
  asio::io_context io_;
  HandlerRegistry handlers_;
  FetchWaiters waiters_{io_.get_executor()};
  std::string dir_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<TestServices> services_;
  std::unique_ptr<Broker> broker_;
};

}  // namespace runnel::server::testing
