#include "server/txn_service.h"

#include <algorithm>
#include <chrono>

#include "protocol/records/record_batch.h"
#include "server/group_service.h"
#include "server/internal_topic.h"
#include "server/log.h"
#include "server/topic_admin.h"
#include "server/waiters.h"
#include "storage/partition_log.h"

namespace runnel::server {

using protocol::ErrorCode;

namespace {

// The leader epoch of this single broker's partitions (as Produce writes).
constexpr int32_t kLeaderEpoch = 0;

}  // namespace

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
                       storage::LogManager* logs, FetchWaiters* waiters, GroupService* groups)
    : io_(io),
      config_(config),
      clock_(clock),
      logs_(logs),
      waiters_(waiters),
      groups_(groups),
      producer_ids_(logs ? logs->log_dir() : std::string()),
      abort_timer_(io),
      expiry_timer_(io) {
  auto cfg = txn_config(config);
  if (logs_) {
    // A changed transaction.state.log.num.partitions must not move transactional ids.
    if (const auto* t = logs_->topic(std::string(kTransactionStateTopic)))
      cfg.log_partitions = static_cast<int32_t>(t->partitions);
  }
  coordinator_ =
      std::make_unique<coordinator::TransactionCoordinator>(cfg, clock_, *this, *this, *this);
  coordinator_->set_event_log([](const std::string& line) { log_info(line); }, false);
  // A new deadline earlier than the one the timer waits for wakes the loop to arm it again.
  coordinator_->set_deadline_added([this] {
    auto next = coordinator_->next_deadline_ms();
    if (next && (!armed_for_ms_ || *next < *armed_for_ms_)) abort_timer_.cancel();
  });
}

TxnService::~TxnService() { stop(); }

bool TxnService::init(std::string* error) { return producer_ids_.load(error); }

int32_t TxnService::partition_count() const { return txn_config(config_).log_partitions; }

void TxnService::start() {
  running_ = true;
  asio::co_spawn(io_, load(), asio::detached);
  asio::co_spawn(io_, abort_loop(), asio::detached);
  asio::co_spawn(io_, producer_expiry_loop(), asio::detached);
}

void TxnService::stop() {
  if (!running_) return;
  running_ = false;
  abort_timer_.cancel();
  expiry_timer_.cancel();
}

ErrorCode TxnService::ensure_state_topic() {
  if (!logs_) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (logs_->topic(std::string(kTransactionStateTopic))) return ErrorCode::NONE;
  auto r = auto_create_topic(config_, *logs_, std::string(kTransactionStateTopic));
  if (!r.ok() && r.error != ErrorCode::TOPIC_ALREADY_EXISTS) {
    log_error("cannot create ", kTransactionStateTopic, ": ", r.message);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  log_info("created ", kTransactionStateTopic, " with ",
           logs_->topic(std::string(kTransactionStateTopic))->partitions, " partitions");
  return ErrorCode::NONE;
}

ErrorCode TxnService::append(int32_t partition,
                             const std::vector<coordinator::TxnLogRecord>& records) {
  if (!logs_) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (ensure_state_topic() != ErrorCode::NONE) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  storage::PartitionLog* log = logs_->get(std::string(kTransactionStateTopic), partition);
  if (!log) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  ErrorCode e = append_internal(*log, kTransactionStateTopic, records, clock_.now_ms());
  if (e == ErrorCode::NONE && waiters_) waiters_->notify(kTransactionStateTopic, partition);
  return e;
}

ErrorCode TxnService::write_marker(const coordinator::TopicPartition& tp, int64_t producer_id,
                                   int16_t producer_epoch, int32_t coordinator_epoch, bool commit) {
  storage::PartitionLog* log = logs_ ? logs_->get(tp.topic, tp.partition) : nullptr;
  if (!log) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  auto res = log->append_control(producer_id, producer_epoch, coordinator_epoch, commit,
                                 kLeaderEpoch, clock_.now_ms());
  if (res.error != ErrorCode::NONE) {
    log_error("cannot write the ", commit ? "COMMIT" : "ABORT", " marker of producer ", producer_id,
              " to ", tp.topic, "-", tp.partition, ": error ", static_cast<int>(res.error));
    return res.error;
  }
  if (groups_ && tp.topic == kOffsetsTopic) {
    groups_->coordinator().complete_txn(tp.partition, producer_id, commit);
  }
  if (waiters_) waiters_->notify(tp.topic, tp.partition);
  return ErrorCode::NONE;
}

std::optional<int64_t> TxnService::next_producer_id() { return producer_ids_.next(); }

asio::awaitable<void> TxnService::load() {
  const auto* topic = logs_ ? logs_->topic(std::string(kTransactionStateTopic)) : nullptr;
  if (!topic) {
    coordinator_->mark_all_loaded();
    loaded_ = true;
    co_return;
  }
  const auto started = std::chrono::steady_clock::now();
  const int32_t partitions = static_cast<int32_t>(topic->partitions);
  uint64_t records = 0;
  for (int32_t p = 0; p < partitions && running_; ++p) {
    coordinator_->begin_load(p);
    if (const storage::PartitionLog* log = logs_->get(std::string(kTransactionStateTopic), p)) {
      co_await replay_internal(io_, *log, kTransactionStateTopic, running_,
                               [&](const protocol::RecordBatchView& batch) {
                                 if (batch.header().is_control()) return;
                                 auto cursor = batch.cursor();
                                 protocol::Record rec;
                                 while (cursor.next(rec)) {
                                   if (!rec.key) continue;
                                   coordinator_->replay(p, *rec.key, rec.value);
                                   ++records;
                                 }
                               });
    }
    coordinator_->finish_load(p);
  }
  loaded_ = running_;
  abort_timer_.cancel();  // the deadlines of what was loaded
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  log_info("loaded ", kTransactionStateTopic, ": ", records, " records in ", ms, " ms");
}

asio::awaitable<void> TxnService::abort_loop() {
  // One timer at the coordinator's next deadline (a transaction's timeout, markers to write
  // again, the expiry check); woken earlier when a sooner deadline is added or loading ends.
  while (running_) {
    armed_for_ms_ = loaded_ ? coordinator_->next_deadline_ms() : std::nullopt;
    if (armed_for_ms_)
      abort_timer_.expires_after(
          std::chrono::milliseconds(std::max<int64_t>(0, *armed_for_ms_ - clock_.now_ms())));
    else
      abort_timer_.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    co_await abort_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    if (!loaded_) continue;
    auto due = coordinator_->next_deadline_ms();
    if (due && *due <= clock_.now_ms()) coordinator_->tick();
  }
}

asio::awaitable<void> TxnService::producer_expiry_loop() {
  const auto interval =
      std::chrono::milliseconds(config_.get_long("producer.id.expiration.check.interval.ms"));
  const int64_t expiration_ms = config_.get_long("producer.id.expiration.ms");
  while (running_) {
    expiry_timer_.expires_after(interval);
    std::error_code ec;
    co_await expiry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    if (!logs_) continue;
    size_t n = logs_->expire_producers(clock_.now_ms(), expiration_ms);
    if (n) log_info("expired ", n, " idle producer ids");
  }
}

}  // namespace runnel::server
