// A broker for in-process handler tests: a real LogManager in a fresh
// temporary directory under /tmp (removed afterwards, test_services.h), every
// service, a manual clock and a configuration built from properties text.
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
      : config_(Config::from_text(properties, overrides)),
        log_dir_(config_, clock_),
        services_(io_, config_, clock_, log_dir_.logs(), waiters_),
        broker_(services_.broker(config_, handlers_, waiters_, clock_, log_dir_.logs(),
                                 "test-cluster-id")) {}
  AdminBroker(const AdminBroker&) = delete;
  AdminBroker& operator=(const AdminBroker&) = delete;

  Broker& broker() { return broker_; }
  storage::LogManager& logs() { return log_dir_.logs(); }
  storage::ManualClock& clock() { return clock_; }

 private:
  Config config_;
  storage::ManualClock clock_;
  asio::io_context io_;
  HandlerRegistry handlers_;
  FetchWaiters waiters_{io_.get_executor()};
  TestLogDir log_dir_;
  TestServices services_;
  Broker broker_;
};

}  // namespace runnel::server::testing
