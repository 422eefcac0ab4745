// The transaction coordinator on the event loop: coordinator::TransactionCoordinator (pure)
// served by a CoordinatorRuntime on __transaction_state (server/coordinator_runtime.h: the
// topic, loading, appends and their replay, one timer at the coordinator's next deadline),
// plus what only transactions need:
//
//   - Markers: a COMMIT or ABORT control batch is appended to each partition of a transaction
//     (storage::PartitionLog::append_control), waking the partition's fetch waiters. A marker
//     for a partition of another coordinator's topic (__consumer_offsets) is written by that
//     topic's runtime, which replays it into its coordinator as loading does.
//   - Producer ids: from ProducerIds (a block file in the log directory), so they stay unique
//     across restarts.
//   - Producers idle longer than producer.id.expiration.ms are forgotten every
//     producer.id.expiration.check.interval.ms.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/transaction_coordinator.h"
#include "server/config.h"
#include "server/coordinator_runtime.h"
#include "server/partition_leadership.h"
#include "server/producer_ids.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server {

class FetchWaiters;
class Features;

coordinator::TxnConfig txn_config(const Config& config);

class TxnService final : public coordinator::TxnMarkerWriter, public coordinator::ProducerIdSource {
 public:
  // `coordinator_topics`: the runtimes of the other coordinators' topics, which write (and
  // replay) the markers of their own partitions.
  TxnService(asio::io_context& io, const Config& config, const storage::Clock& clock,
             storage::LogManager& logs, FetchWaiters& waiters,
             std::vector<CoordinatorRuntime*> coordinator_topics);
  ~TxnService() override;

  // Reads the producer id file. False with `error` when it cannot be read.
  bool init(std::string* error);
  // Starts loading and the timers.
  void start();
  void stop();
  bool loaded() const { return runtime_.loaded(); }

  coordinator::TransactionCoordinator& coordinator() { return *coordinator_; }

  // Keeps the coordinator at the transaction.version in force in `features`.
  void follow(Features& features);

  // Creates __transaction_state when missing. NONE, or why it cannot be created.
  protocol::ErrorCode ensure_state_topic() { return runtime_.ensure_topic(); }

  // coordinator::TxnMarkerWriter
  protocol::ErrorCode write_marker(const coordinator::TopicPartition& tp, int64_t producer_id,
                                   int16_t producer_epoch, int32_t coordinator_epoch,
                                   bool commit) override;
  // coordinator::ProducerIdSource
  std::optional<int64_t> next_producer_id() override;

 private:
  asio::awaitable<void> producer_expiry_loop();

  asio::io_context& io_;
  const Config& config_;
  const storage::Clock& clock_;
  storage::LogManager& logs_;
  FetchWaiters& waiters_;
  std::vector<CoordinatorRuntime*> coordinator_topics_;
  CoordinatorRuntime runtime_;
  ProducerIds producer_ids_;
  std::unique_ptr<coordinator::TransactionCoordinator> coordinator_;
  asio::steady_timer expiry_timer_;
  bool running_ = false;
};

}  // namespace runnel::server
