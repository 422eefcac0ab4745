#include "server/group_service.h"

#include <algorithm>
#include <chrono>

#include "protocol/records/record_batch.h"
#include "server/internal_topic.h"
#include "server/log.h"
#include "server/topic_admin.h"
#include "server/waiters.h"
#include "storage/partition_log.h"

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
  c.offsets_partitions = config.get_int("offsets.topic.num.partitions");
  c.offsets_retention_ms = int64_t{config.get_int("offsets.retention.minutes")} * 60 * 1000;
  c.offset_metadata_max_bytes =
      static_cast<size_t>(std::max(config.get_int("offset.metadata.max.bytes"), 0));
  return c;
}

GroupService::GroupService(asio::io_context& io, const Config& config, const storage::Clock& clock,
                           storage::LogManager* logs, FetchWaiters* waiters)
    : io_(io),
      config_(config),
      clock_(clock),
      logs_(logs),
      waiters_(waiters),
      timer_(io),
      retention_timer_(io) {
  auto cfg = coordinator_config(config);
  if (logs_) {
    if (const auto* t = logs_->topic(std::string(kOffsetsTopic)))
      cfg.offsets_partitions = static_cast<int32_t>(t->partitions);
  }
  coordinator_ = std::make_unique<coordinator::GroupCoordinator>(cfg, clock_, *this);
  coordinator_->set_event_log([](const std::string& line) { log_info(line); });
  // Every answer that becomes ready and every deadline that moves reaches the waiting request
  // and the timer from here, whichever call or tick caused it.
  coordinator_->set_change_listener([this] { changed(); });
}

GroupService::~GroupService() { stop(); }

int32_t GroupService::partition_count() const { return coordinator_->config().offsets_partitions; }

void GroupService::start() {
  running_ = true;
  asio::co_spawn(io_, load(), asio::detached);
  asio::co_spawn(io_, timer_loop(), asio::detached);
  asio::co_spawn(io_, retention_loop(), asio::detached);
}

void GroupService::stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  retention_timer_.cancel();
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

ErrorCode GroupService::ensure_offsets_topic() {
  if (!logs_) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (logs_->topic(std::string(kOffsetsTopic))) return ErrorCode::NONE;
  auto r = auto_create_topic(config_, *logs_, std::string(kOffsetsTopic));
  if (!r.ok() && r.error != ErrorCode::TOPIC_ALREADY_EXISTS) {
    log_error("cannot create ", kOffsetsTopic, ": ", r.message);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  log_info("created ", kOffsetsTopic, " with ", partition_count(), " partitions");
  return ErrorCode::NONE;
}

ErrorCode GroupService::append(int32_t partition,
                               const std::vector<coordinator::OffsetsTopicRecord>& records) {
  return append_batch(partition, records, nullptr);
}

ErrorCode GroupService::append_transactional(
    int32_t partition, const std::vector<coordinator::OffsetsTopicRecord>& records,
    int64_t producer_id, int16_t producer_epoch) {
  const std::pair<int64_t, int16_t> producer{producer_id, producer_epoch};
  return append_batch(partition, records, &producer);
}

ErrorCode GroupService::append_batch(int32_t partition,
                                     const std::vector<coordinator::OffsetsTopicRecord>& records,
                                     const std::pair<int64_t, int16_t>* producer) {
  if (!logs_) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (ensure_offsets_topic() != ErrorCode::NONE) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  storage::PartitionLog* log = logs_->get(std::string(kOffsetsTopic), partition);
  if (!log) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  ErrorCode e = append_internal(*log, kOffsetsTopic, records, clock_.now_ms(), producer);
  if (e == ErrorCode::NONE && waiters_) waiters_->notify(kOffsetsTopic, partition);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Loading

uint64_t GroupService::replay_batch(int32_t partition, const protocol::RecordBatchView& batch) {
  const auto& h = batch.header();
  auto cursor = batch.cursor();
  protocol::Record rec;
  if (h.is_control()) {
    // A transaction marker: offsets the producer committed in its transaction take effect
    // here (or are dropped).
    if (h.is_transactional() && cursor.next(rec)) {
      auto marker = protocol::parse_control_record(rec);
      if (marker && (marker->type == 0 || marker->type == 1))  // ABORT, COMMIT
        coordinator_->complete_txn(partition, h.producer_id, marker->type == 1);
    }
    return 0;
  }
  uint64_t records = 0;
  while (cursor.next(rec)) {
    if (!rec.key) continue;
    if (h.is_transactional())
      coordinator_->replay_transactional(partition, h.producer_id, *rec.key, rec.value);
    else
      coordinator_->replay(partition, *rec.key, rec.value);
    ++records;
  }
  return records;
}

asio::awaitable<void> GroupService::load() {
  const auto* topic = logs_ ? logs_->topic(std::string(kOffsetsTopic)) : nullptr;
  if (!topic) {
    coordinator_->mark_all_loaded();
    loaded_ = true;
    co_return;
  }
  const auto started = std::chrono::steady_clock::now();
  uint64_t records = 0;
  for (int32_t p = 0; p < partition_count() && running_; ++p) {
    coordinator_->begin_load(p);
    if (const storage::PartitionLog* log = logs_->get(std::string(kOffsetsTopic), p)) {
      co_await replay_internal(
          io_, *log, kOffsetsTopic, running_,
          [&](const protocol::RecordBatchView& batch) { records += replay_batch(p, batch); });
    }
    coordinator_->finish_load(p);
  }
  loaded_ = running_;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  log_info("loaded ", kOffsetsTopic, ": ", records, " records, ", coordinator_->group_count(),
           " groups in ", ms, " ms",
           coordinator_->skipped_records()
               ? " (" + std::to_string(coordinator_->skipped_records()) + " malformed skipped)"
               : std::string());
  changed();
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
  if (!running_) return;
  auto d = coordinator_->next_deadline_ms();
  // Wake the timer loop only when a deadline comes before the one it sleeps until.
  if (d && (!scheduled_ms_ || *d < *scheduled_ms_)) timer_.cancel();
}

asio::awaitable<void> GroupService::timer_loop() {
  while (running_) {
    auto d = coordinator_->next_deadline_ms();
    scheduled_ms_ = d;
    if (d) {
      timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(*d - clock_.now_ms(), 0)));
    } else {
      timer_.expires_at(asio::steady_timer::time_point::max());
    }
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    try {
      coordinator_->tick();
    } catch (const std::exception& e) {
      // A bug in a state machine (IllegalGroupTransition): the timer keeps serving the others.
      log_error("group deadlines: ", e.what());
    }
    deliver();
  }
}

asio::awaitable<void> GroupService::retention_loop() {
  const auto interval =
      std::chrono::milliseconds(config_.get_long("offsets.retention.check.interval.ms"));
  while (running_) {
    retention_timer_.expires_after(interval);
    std::error_code ec;
    co_await retention_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    if (!loaded_) continue;
    size_t expired = coordinator_->expire_offsets();
    if (expired) log_info("expired ", expired, " committed offsets");
    changed();
  }
}

}  // namespace runnel::server
