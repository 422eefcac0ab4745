#include "server/group_service.h"

#include <algorithm>
#include <chrono>

#include "server/log.h"
#include "server/topic_admin.h"

namespace runnel::server {

using protocol::ErrorCode;

struct GroupService::Waiting {
  explicit Waiting(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::optional<coordinator::JoinResponse> join;
  std::optional<coordinator::SyncResponse> sync;
  bool done = false;
};

coordinator::CoordinatorConfig coordinator_config(const Config& config) {
  coordinator::CoordinatorConfig c;
  c.group.min_session_timeout_ms = config.get_int("group.min.session.timeout.ms");
  c.group.max_session_timeout_ms = config.get_int("group.max.session.timeout.ms");
  c.group.max_size = config.get_int("group.max.size");
  c.group.initial_rebalance_delay_ms = config.get_int("group.initial.rebalance.delay.ms");
  c.consumer_group.session_timeout_ms = config.get_int("group.consumer.session.timeout.ms");
  c.consumer_group.heartbeat_interval_ms = config.get_int("group.consumer.heartbeat.interval.ms");
  c.consumer_group.max_size = config.get_int("group.consumer.max.size");
  c.consumer_group.assignors = config.get_list("group.consumer.assignors");
  coordinator::parse_migration_policy(config.get_string("group.consumer.migration.policy"),
                                      c.consumer_group);
  c.consumer_group.classic_max_size = c.group.max_size;
  c.offsets_partitions = config.get_int("offsets.topic.num.partitions");
  c.offsets_retention_ms = int64_t{config.get_int("offsets.retention.minutes")} * 60 * 1000;
  c.offsets_retention_check_interval_ms = config.get_long("offsets.retention.check.interval.ms");
  c.offset_metadata_max_bytes =
      static_cast<size_t>(std::max(config.get_int("offset.metadata.max.bytes"), 0));
  return c;
}

coordinator::TopicsImage topics_image(const storage::LogManager& logs) {
  coordinator::TopicsImage image;
  for (const storage::TopicInfo* t : logs.topics()) {
    if (is_internal_topic(t->name)) continue;
    image.add(t->name, t->topic_id, t->partitions);
  }
  return image;
}

GroupService::GroupService(asio::io_context& io, const Config& config, const storage::Clock& clock,
                           storage::LogManager& logs, FetchWaiters& waiters)
    : io_(io), runtime_(io, config, clock, logs, waiters, kOffsetsTopic) {
  auto cfg = coordinator_config(config);
  cfg.offsets_partitions =
      CoordinatorRuntime::partitions_of(logs, kOffsetsTopic, cfg.offsets_partitions);
  coordinator_ = std::make_unique<coordinator::GroupCoordinator>(cfg, clock, runtime_);
  coordinator_->set_event_log([](const std::string& line) { log_info(line); });
  coordinator_->set_topics_source([&logs] { return topics_image(logs); });
  // Every answer that becomes ready and every deadline that moves reaches the waiting request
  // and the timer from here, whichever call or tick caused it.
  coordinator_->set_change_listener([this] { changed(); });
  runtime_.serve(*coordinator_);
}

GroupService::~GroupService() { stop(); }

void GroupService::start() {
  running_ = true;
  runtime_.start();
}

void GroupService::stop() {
  if (!running_) return;
  running_ = false;
  runtime_.stop();
  for (auto& [token, w] : waiting_) {
    coordinator::JoinResponse j;
    j.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    coordinator::SyncResponse s;
    s.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    w->join = j;
    w->sync = s;
    w->done = true;
    w->timer.cancel();
  }
}

// ---------------------------------------------------------------------------------------------
// Waiting requests and timers

template <typename Resp, typename Call>
asio::awaitable<Resp> GroupService::call_and_wait(Call call, std::optional<Resp> Waiting::*answer,
                                                  Resp if_stopped) {
  Waiting w(io_);
  const uint64_t token = next_token_++;
  waiting_[token] = &w;
  // An answer that is ready during the call reaches `w` through the change listener.
  std::optional<Resp> now = call(token);
  if (!now && !w.done && running_) {
    w.timer.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  waiting_.erase(token);
  if (now) co_return std::move(*now);
  if (w.*answer) co_return std::move(*(w.*answer));
  co_return if_stopped;
}

asio::awaitable<coordinator::JoinResponse> GroupService::join(const std::string& group_id,
                                                              coordinator::JoinRequest req) {
  coordinator::JoinResponse stopped;
  stopped.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
  stopped.member_id = req.member_id;
  co_return co_await call_and_wait<coordinator::JoinResponse>(
      [&](uint64_t token) {
        req.token = token;
        return coordinator_->join(group_id, req);
      },
      &Waiting::join, std::move(stopped));
}

asio::awaitable<coordinator::SyncResponse> GroupService::sync(const std::string& group_id,
                                                              coordinator::SyncRequest req) {
  coordinator::SyncResponse stopped;
  stopped.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
  co_return co_await call_and_wait<coordinator::SyncResponse>(
      [&](uint64_t token) {
        req.token = token;
        return coordinator_->sync(group_id, req);
      },
      &Waiting::sync, std::move(stopped));
}

void GroupService::deliver() {
  auto ready = coordinator_->take_ready_responses();
  for (auto& [token, resp] : ready.joins) {
    auto it = waiting_.find(token);
    if (it == waiting_.end()) continue;
    it->second->join = std::move(resp);
    it->second->done = true;
    it->second->timer.cancel();
  }
  for (auto& [token, resp] : ready.syncs) {
    auto it = waiting_.find(token);
    if (it == waiting_.end()) continue;
    it->second->sync = std::move(resp);
    it->second->done = true;
    it->second->timer.cancel();
  }
}

void GroupService::changed() {
  deliver();
  runtime_.deadline_changed();
}

}  // namespace runnel::server
