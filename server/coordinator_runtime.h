// The runtime of a coordinator on the event loop: one internal topic (__consumer_offsets,
// __transaction_state) and the state machine that lives in it (coordinator/runtime.h).
//
//   - The topic: created on first use (ensure_topic(), called by FindCoordinator and by the
//     first append) with the settings auto_create_topic() gives internal topics. Its number
//     of partitions is that of the existing topic when there is one (a changed
//     offsets.topic.num.partitions must not move groups), else the configured one.
//   - Loading: start() replays every partition in order, a chunk (1 MiB) at a time, yielding
//     to the event loop between chunks: begin_load(p), replay() / replay_marker() of every
//     record of p, finish_load(p). Requests for partitions not loaded yet are answered by the
//     state machine (COORDINATOR_LOAD_IN_PROGRESS).
//   - Appending (CoordinatorLog): the records become one uncompressed batch written by the
//     broker itself (Kafka's AppendOrigin.COORDINATOR), transactional for a producer when
//     asked; once stored, fetchers of the partition are woken and the batch is replayed into
//     the state machine by the same code loading uses. While a partition is still loading,
//     what is appended to it is replayed by the loader when it gets there, not twice.
//   - Markers: a transaction's COMMIT or ABORT marker on one of this topic's partitions is
//     written here (append_marker) and replayed like a loaded one.
//   - Time: one timer, armed at the state machine's next deadline and moved earlier by
//     deadline_changed(); it calls tick(). Nothing polls.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/runtime.h"
#include "protocol/records/record_batch.h"
#include "server/config.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server {

class FetchWaiters;

class CoordinatorRuntime final : public coordinator::CoordinatorLog {
 public:
  CoordinatorRuntime(asio::io_context& io, const Config& config, const storage::Clock& clock,
                     storage::LogManager& logs, FetchWaiters& waiters, std::string_view topic);
  ~CoordinatorRuntime() override;

  // The partitions of `topic`: those of the existing topic, else `configured`.
  static int32_t partitions_of(const storage::LogManager& logs, std::string_view topic,
                               int32_t configured);

  const std::string& topic() const { return topic_; }
  // The state machine this runtime serves; set once, before start().
  void serve(coordinator::CoordinatorStateMachine& machine);
  // Starts loading and the timer.
  void start();
  // Stops the timer (and the loading).
  void stop();
  // True once every partition is loaded.
  bool loaded() const { return loaded_; }

  // Creates the topic when missing. NONE, or COORDINATOR_NOT_AVAILABLE when it cannot be.
  protocol::ErrorCode ensure_topic();

  // coordinator::CoordinatorLog
  protocol::ErrorCode append(
      int32_t partition, const std::vector<coordinator::CoordinatorRecord>& records,
      std::optional<coordinator::ProducerRef> producer = std::nullopt) override;

  // Writes the COMMIT (`commit`) or ABORT marker of a producer's transaction to `partition`
  // and replays it. The log's error, UNKNOWN_TOPIC_OR_PARTITION when there is no such
  // partition.
  protocol::ErrorCode append_marker(int32_t partition, int64_t producer_id, int16_t producer_epoch,
                                    int32_t coordinator_epoch, bool commit);

  // The state machine's next deadline may have come earlier: the timer is armed again.
  void deadline_changed();

 private:
  bool partition_loaded(int32_t partition) const;
  // Replays one batch of `partition` into the state machine; returns its records.
  uint64_t replay_batch(int32_t partition, const protocol::RecordBatchView& batch);
  // Replays `log` from its start to its high watermark, a chunk at a time.
  asio::awaitable<uint64_t> replay_log(int32_t partition, const storage::PartitionLog& log);
  asio::awaitable<void> load();
  asio::awaitable<void> timer_loop();

  asio::io_context& io_;
  const Config& config_;
  const storage::Clock& clock_;
  storage::LogManager& logs_;
  FetchWaiters& waiters_;
  const std::string topic_;
  coordinator::CoordinatorStateMachine* machine_ = nullptr;
  std::vector<bool> partition_loaded_;
  asio::steady_timer timer_;
  std::optional<int64_t> armed_for_ms_;  // the deadline timer_ waits for
  bool running_ = false;
  bool loaded_ = false;
};

}  // namespace runnel::server
