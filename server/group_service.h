// The group coordinator on the event loop: coordinator::GroupCoordinator (pure) served by a
// CoordinatorRuntime on __consumer_offsets (server/coordinator_runtime.h: the topic, loading,
// appends and their replay, the deadline timer), plus what only groups need:
//
//   - Waiting: JoinGroup and SyncGroup suspend their handler until the coordinator answers
//     under their token (join()/sync() below); its change listener hands the answers out and
//     moves the runtime's timer when a group's deadline moved (offset expiry, every
//     offsets.retention.check.interval.ms, is one of the coordinator's deadlines).
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/group_coordinator.h"
#include "server/config.h"
#include "server/coordinator_runtime.h"
#include "server/partition_leadership.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server {

class FetchWaiters;

// The coordinator settings from the broker keys.
coordinator::CoordinatorConfig coordinator_config(const Config& config);
// The cluster's topics as the consumer groups see them (Kafka's metadata image): name, id and
// partition count of every topic but the internal ones, which a subscription never matches.
coordinator::TopicsImage topics_image(const storage::LogManager& logs);

class GroupService final {
 public:
  GroupService(asio::io_context& io, const Config& config, const storage::Clock& clock,
               storage::LogManager& logs, FetchWaiters& waiters);
  ~GroupService();

  // Starts loading and the timers.
  void start();
  // Stops the timers; waiting joins and syncs are answered COORDINATOR_NOT_AVAILABLE.
  void stop();
  // True once every partition is loaded.
  bool loaded() const { return runtime_.loaded(); }

  coordinator::GroupCoordinator& coordinator() { return *coordinator_; }
  CoordinatorRuntime& runtime() { return runtime_; }

  // Creates __consumer_offsets when missing. NONE, or why it cannot be created.
  protocol::ErrorCode ensure_offsets_topic() { return runtime_.ensure_topic(); }

  // Calls the coordinator and suspends until the response is ready.
  asio::awaitable<coordinator::JoinResponse> join(const std::string& group_id,
                                                  coordinator::JoinRequest req);
  asio::awaitable<coordinator::SyncResponse> sync(const std::string& group_id,
                                                  coordinator::SyncRequest req);

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
  void deliver();

  asio::io_context& io_;
  CoordinatorRuntime runtime_;
  std::unique_ptr<coordinator::GroupCoordinator> coordinator_;
  std::map<uint64_t, Waiting*> waiting_;
  uint64_t next_token_ = 1;
  bool running_ = false;
};

}  // namespace runnel::server
