// The transaction coordinator on the event loop: coordinator::TransactionCoordinator (pure)
// plus what it needs from the broker.
//
//   - __transaction_state: created on first use (FindCoordinator for a transactional id) with
//     the transaction.state.log.* settings; the coordinator's records are appended to it as one
//     uncompressed batch per change.
//   - Markers: a COMMIT or ABORT control batch is appended to each partition of a transaction
//     (storage::PartitionLog::append_control), waking the partition's fetch waiters; for a
//     __consumer_offsets partition the group coordinator then applies or drops the
//     transaction's offsets.
//   - Producer ids: from ProducerIds (a block file in the log directory), so they stay unique
//     across restarts.
//   - Loading: at start() every partition of __transaction_state is replayed, a chunk at a
//     time, between other requests; requests for transactional ids of partitions not yet
//     loaded are answered COORDINATOR_LOAD_IN_PROGRESS.
//   - Timers: one timer armed at the coordinator's next deadline (a transaction open longer
//     than its timeout is aborted then; markers that could not be written are tried again
//     every transaction.abort.timed.out.transaction.cleanup.interval.ms), moved earlier when
//     the coordinator adds a sooner one; producers idle longer than producer.id.expiration.ms
//     are forgotten every producer.id.expiration.check.interval.ms.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/transaction_coordinator.h"
#include "server/config.h"
#include "server/producer_ids.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server {

class FetchWaiters;
class GroupService;

inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

coordinator::TxnConfig txn_config(const Config& config);

class TxnService final : public coordinator::TransactionLog,
                         public coordinator::TxnMarkerWriter,
                         public coordinator::ProducerIdSource {
 public:
  // `logs` may be null (tests without storage): then nothing is stored and producer ids are
  // kept in memory. `groups` may be null (no group coordinator).
  TxnService(asio::io_context& io, const Config& config, const storage::Clock& clock,
             storage::LogManager* logs, FetchWaiters* waiters, GroupService* groups);
  ~TxnService() override;

  // Reads the producer id file. False with `error` when it cannot be read.
  bool init(std::string* error);
  // Starts loading and the timers.
  void start();
  void stop();
  bool loaded() const { return loaded_; }

  coordinator::TransactionCoordinator& coordinator() { return *coordinator_; }

  // Creates __transaction_state when missing. NONE, or why it cannot be created.
  protocol::ErrorCode ensure_state_topic();

  // coordinator::TransactionLog
  protocol::ErrorCode append(int32_t partition,
                             const std::vector<coordinator::TxnLogRecord>& records) override;
  // coordinator::TxnMarkerWriter
  protocol::ErrorCode write_marker(const coordinator::TopicPartition& tp, int64_t producer_id,
                                   int16_t producer_epoch, int32_t coordinator_epoch,
                                   bool commit) override;
  // coordinator::ProducerIdSource
  std::optional<int64_t> next_producer_id() override;

 private:
  asio::awaitable<void> load();
  asio::awaitable<void> abort_loop();
  asio::awaitable<void> producer_expiry_loop();
  int32_t partition_count() const;

  asio::io_context& io_;
  const Config& config_;
  const storage::Clock& clock_;
  storage::LogManager* logs_;
  FetchWaiters* waiters_;
  GroupService* groups_;
  ProducerIds producer_ids_;
  std::unique_ptr<coordinator::TransactionCoordinator> coordinator_;
  asio::steady_timer abort_timer_;
  std::optional<int64_t> armed_for_ms_;  // the deadline abort_timer_ waits for
  asio::steady_timer expiry_timer_;
  bool running_ = false;
  bool loaded_ = false;
};

}  // namespace runnel::server
