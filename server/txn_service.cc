#include "server/txn_service.h"

#include <algorithm>
#include <chrono>

#include "server/features.h"
#include "server/log.h"
#include "server/partition_leadership.h"
#include "server/waiters.h"
#include "storage/partition_log.h"

namespace runnel::server {

using protocol::ErrorCode;

coordinator::TxnConfig txn_config(const Config& config) {
  coordinator::TxnConfig c;
  c.log_partitions = config.get_int("transaction.state.log.num.partitions");
  c.max_timeout_ms = config.get_int("transaction.max.timeout.ms");
  c.id_expiration_ms = config.get_long("transactional.id.expiration.ms");
  c.abort_check_interval_ms =
      config.get_long("transaction.abort.timed.out.transaction.cleanup.interval.ms");
  c.remove_expired_interval_ms =
      config.get_long("transaction.remove.expired.transaction.cleanup.interval.ms");
  return c;
}

TxnService::TxnService(asio::io_context& io, const Config& config, const storage::Clock& clock,
                       storage::LogManager& logs, FetchWaiters& waiters,
                       std::vector<CoordinatorRuntime*> coordinator_topics)
    : io_(io),
      config_(config),
      clock_(clock),
      logs_(logs),
      waiters_(waiters),
      coordinator_topics_(std::move(coordinator_topics)),
      runtime_(io, config, clock, logs, waiters, kTransactionStateTopic),
      producer_ids_(logs.log_dir()),
      expiry_timer_(io) {
  auto cfg = txn_config(config);
  // A changed transaction.state.log.num.partitions must not move transactional ids.
  cfg.log_partitions =
      CoordinatorRuntime::partitions_of(logs, kTransactionStateTopic, cfg.log_partitions);
  coordinator_ =
      std::make_unique<coordinator::TransactionCoordinator>(cfg, clock_, runtime_, *this, *this);
  coordinator_->set_event_log([](const std::string& line) { log_info(line); }, false);
  // A new deadline earlier than the one the timer waits for moves the timer.
  coordinator_->set_deadline_added([this] { runtime_.deadline_changed(); });
  runtime_.serve(*coordinator_);
}

TxnService::~TxnService() { stop(); }

bool TxnService::init(std::string* error) { return producer_ids_.load(error); }

void TxnService::start() {
  running_ = true;
  runtime_.start();
  asio::co_spawn(io_, producer_expiry_loop(), asio::detached);
}

void TxnService::stop() {
  if (!running_) return;
  running_ = false;
  runtime_.stop();
  expiry_timer_.cancel();
}

ErrorCode TxnService::write_marker(const coordinator::TopicPartition& tp, int64_t producer_id,
                                   int16_t producer_epoch, int32_t coordinator_epoch, bool commit) {
  ErrorCode e = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  auto owner = std::find_if(coordinator_topics_.begin(), coordinator_topics_.end(),
                            [&](const CoordinatorRuntime* r) { return r->topic() == tp.topic; });
  if (owner != coordinator_topics_.end()) {
    e = (*owner)->append_marker(tp.partition, producer_id, producer_epoch, coordinator_epoch,
                                commit);
  } else if (storage::PartitionLog* log = logs_.get(tp.topic, tp.partition)) {
    e = log->append_control(producer_id, producer_epoch, coordinator_epoch, commit,
                            leader_epoch(*log), clock_.now_ms())
            .error;
    if (e == ErrorCode::NONE) waiters_.notify(tp.topic, tp.partition);
  }
  if (e != ErrorCode::NONE && e != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
    log_error("cannot write the ", commit ? "COMMIT" : "ABORT", " marker of producer ", producer_id,
              " to ", tp.topic, "-", tp.partition, ": ", protocol::error_name(e));
  return e;
}

std::optional<int64_t> TxnService::next_producer_id() { return producer_ids_.next(); }

asio::awaitable<void> TxnService::producer_expiry_loop() {
  const auto interval =
      std::chrono::milliseconds(config_.get_long("producer.id.expiration.check.interval.ms"));
  const int64_t expiration_ms = config_.get_long("producer.id.expiration.ms");
  while (running_) {
    expiry_timer_.expires_after(interval);
    std::error_code ec;
    co_await expiry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    size_t n = logs_.expire_producers(clock_.now_ms(), expiration_ms);
    if (n) log_info("expired ", n, " idle producer ids");
  }
}

void TxnService::follow(Features& features) {
  coordinator_->set_transaction_version(features.level(kTransactionVersion));
  features.on_change([this](std::string_view name, int16_t level) {
    if (name == kTransactionVersion) coordinator_->set_transaction_version(level);
  });
}

}  // namespace runnel::server
