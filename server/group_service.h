// The group coordinator on the event loop: coordinator::GroupCoordinator (pure) plus what it
// needs from the broker.
//
//   - __consumer_offsets: created on first use (FindCoordinator) with the offsets.topic.*
//     settings; the coordinator's records are appended to it as one uncompressed batch per
//     change, and fetch waiters on that partition are woken (a consumer may read it).
//   - Loading: at start() every partition is replayed in order, a chunk at a time, yielding
//     to the event loop between chunks, so requests for groups of partitions not yet loaded
//     are answered COORDINATOR_LOAD_IN_PROGRESS meanwhile.
//   - Waiting: JoinGroup and SyncGroup suspend their handler until the coordinator answers
//     under their token (join()/sync() below).
//   - Timers: one timer fires the groups' deadlines (session, rebalance, initial delay);
//     another runs offset expiry every offsets.retention.check.interval.ms.
//
// The number of partitions is that of the existing __consumer_offsets topic when there is one
// (a changed offsets.topic.num.partitions must not move groups), else the configured one.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/group_coordinator.h"
#include "protocol/records/record_batch.h"
#include "server/config.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server {

class FetchWaiters;

inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";

// The coordinator settings from the broker keys.
coordinator::CoordinatorConfig coordinator_config(const Config& config);

class GroupService final : public coordinator::OffsetsTopic {
 public:
  // `logs` may be null (tests without storage): then nothing is stored.
  GroupService(asio::io_context& io, const Config& config, const storage::Clock& clock,
               storage::LogManager* logs, FetchWaiters* waiters);
  ~GroupService() override;

  // Starts loading and the timers.
  void start();
  // Stops the timers; waiting joins and syncs are answered COORDINATOR_NOT_AVAILABLE.
  void stop();
  // True once every partition is loaded.
  bool loaded() const { return loaded_; }

  coordinator::GroupCoordinator& coordinator() { return *coordinator_; }

  // Creates __consumer_offsets when missing. NONE, or why it cannot be created.
  protocol::ErrorCode ensure_offsets_topic();

  // Calls the coordinator and suspends until the response is ready.
  asio::awaitable<coordinator::JoinResponse> join(const std::string& group_id,
                                                  coordinator::JoinRequest req);
  asio::awaitable<coordinator::SyncResponse> sync(const std::string& group_id,
                                                  coordinator::SyncRequest req);

  // coordinator::OffsetsTopic
  protocol::ErrorCode append(int32_t partition,
                             const std::vector<coordinator::OffsetsTopicRecord>& records) override;
  protocol::ErrorCode append_transactional(
      int32_t partition, const std::vector<coordinator::OffsetsTopicRecord>& records,
      int64_t producer_id, int16_t producer_epoch) override;

 private:
  // The coordinator's change listener: hands out responses that became ready and re-arms the
  // timer when a deadline comes before the one it sleeps until.
  void changed();
  struct Waiting;
  // Calls `call(token)`; when it gives no answer, suspends until the coordinator hands one
  // out under that token (stored in Waiting::*answer), or the service stops (`if_stopped`).
  template <typename Resp, typename Call>
  asio::awaitable<Resp> call_and_wait(Call call, std::optional<Resp> Waiting::*answer,
                                      Resp if_stopped);
  protocol::ErrorCode append_batch(int32_t partition,
                                   const std::vector<coordinator::OffsetsTopicRecord>& records,
                                   const std::pair<int64_t, int16_t>* producer);
  // Applies one batch of __consumer_offsets while loading; returns the records applied.
  uint64_t replay_batch(int32_t partition, const protocol::RecordBatchView& batch);
  asio::awaitable<void> load();
  asio::awaitable<void> timer_loop();
  asio::awaitable<void> retention_loop();
  void deliver();
  int32_t partition_count() const;

  asio::io_context& io_;
  const Config& config_;
  const storage::Clock& clock_;
  storage::LogManager* logs_;
  FetchWaiters* waiters_;
  std::unique_ptr<coordinator::GroupCoordinator> coordinator_;
  std::map<uint64_t, Waiting*> waiting_;
  uint64_t next_token_ = 1;
  asio::steady_timer timer_;
  std::optional<int64_t> scheduled_ms_;
  asio::steady_timer retention_timer_;
  bool running_ = false;
  bool loaded_ = false;
};

}  // namespace runnel::server
