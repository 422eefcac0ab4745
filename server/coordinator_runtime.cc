#include "server/coordinator_runtime.h"

#include <algorithm>
#include <chrono>

#include "protocol/errors.h"
#include "server/log.h"
#include "server/partition_leadership.h"
#include "server/topic_admin.h"
#include "server/waiters.h"
#include "storage/io_util.h"
#include "storage/partition_log.h"

namespace runnel::server {

using protocol::ErrorCode;

namespace {

constexpr size_t kLoadChunkBytes = size_t{1} << 20;

}  // namespace

CoordinatorRuntime::CoordinatorRuntime(asio::io_context& io, const Config& config,
                                       const storage::Clock& clock, storage::LogManager& logs,
                                       FetchWaiters& waiters, std::string_view topic)
    : io_(io),
      config_(config),
      clock_(clock),
      logs_(logs),
      waiters_(waiters),
      topic_(topic),
      timer_(io) {}

CoordinatorRuntime::~CoordinatorRuntime() { stop(); }

int32_t CoordinatorRuntime::partitions_of(const storage::LogManager& logs, std::string_view topic,
                                          int32_t configured) {
  if (const auto* t = logs.topic(std::string(topic))) return static_cast<int32_t>(t->partitions);
  return configured;
}

void CoordinatorRuntime::serve(coordinator::CoordinatorStateMachine& machine) {
  machine_ = &machine;
  partition_loaded_.assign(static_cast<size_t>(std::max(machine.partition_count(), 0)), false);
}

void CoordinatorRuntime::start() {
  running_ = true;
  asio::co_spawn(io_, load(), asio::detached);
  asio::co_spawn(io_, timer_loop(), asio::detached);
}

void CoordinatorRuntime::stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
}

bool CoordinatorRuntime::partition_loaded(int32_t partition) const {
  return partition >= 0 && static_cast<size_t>(partition) < partition_loaded_.size() &&
         partition_loaded_[static_cast<size_t>(partition)];
}

ErrorCode CoordinatorRuntime::ensure_topic() {
  if (logs_.topic(topic_)) return ErrorCode::NONE;
  auto r = auto_create_topic(config_, logs_, topic_);
  if (!r.ok() && r.error != ErrorCode::TOPIC_ALREADY_EXISTS) {
    log_error("cannot create ", topic_, ": ", r.message);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  if (const auto* t = logs_.topic(topic_))
    log_info("created ", topic_, " with ", t->partitions, " partitions");
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------------------------------------
// Appending

ErrorCode CoordinatorRuntime::append(int32_t partition,
                                     const std::vector<coordinator::CoordinatorRecord>& records,
                                     std::optional<coordinator::ProducerRef> producer) {
  if (ensure_topic() != ErrorCode::NONE) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  storage::PartitionLog* log = logs_.get(topic_, partition);
  if (!log) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  const int64_t now_ms = clock_.now_ms();
  protocol::RecordBatchBuilder builder;
  for (const auto& r : records) {
    std::optional<std::span<const uint8_t>> value;
    if (r.value) value = std::span<const uint8_t>(*r.value);
    builder.add(now_ms, std::span<const uint8_t>(r.key), value);
  }
  // The coordinators' own appends are not sequence-checked, so the sequence is 0.
  if (producer) builder.producer(producer->id, producer->epoch, 0).transactional(true);
  protocol::Bytes batch = builder.build();
  if (batch.size() > static_cast<size_t>(std::max(log->config().max_message_bytes, 0)))
    return ErrorCode::RECORD_LIST_TOO_LARGE;
  auto res = log->append_as_coordinator(batch, leader_epoch(*log), now_ms);
  if (res.error != ErrorCode::NONE) {
    log_error("cannot append to ", topic_, "-", partition, ": ", protocol::error_name(res.error));
    return res.error;
  }
  waiters_.notify(topic_, partition);
  if (machine_ && partition_loaded(partition)) {
    // The bytes just stored (their offsets assigned by the append), replayed as loading would.
    if (auto view = protocol::RecordBatchView::open(batch)) replay_batch(partition, *view);
  }
  return ErrorCode::NONE;
}

ErrorCode CoordinatorRuntime::append_marker(int32_t partition, int64_t producer_id,
                                            int16_t producer_epoch, int32_t coordinator_epoch,
                                            bool commit) {
  storage::PartitionLog* log = logs_.get(topic_, partition);
  if (!log) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  auto res = log->append_control(producer_id, producer_epoch, coordinator_epoch, commit,
                                 leader_epoch(*log), clock_.now_ms());
  if (res.error != ErrorCode::NONE) return res.error;
  waiters_.notify(topic_, partition);
  if (machine_ && partition_loaded(partition))
    machine_->replay_marker(partition, producer_id, commit);
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------------------------------------
// Loading

uint64_t CoordinatorRuntime::replay_batch(int32_t partition,
                                          const protocol::RecordBatchView& batch) {
  const auto& h = batch.header();
  auto cursor = batch.cursor();
  protocol::Record rec;
  if (h.is_control()) {
    if (h.is_transactional() && cursor.next(rec)) {
      auto marker = protocol::parse_control_record(rec);
      if (marker && (marker->type == 0 || marker->type == 1))  // ABORT, COMMIT
        machine_->replay_marker(partition, h.producer_id, marker->type == 1);
    }
    return 0;
  }
  uint64_t records = 0;
  while (cursor.next(rec)) {
    if (!rec.key) continue;
    coordinator::ReplayedRecord r;
    r.key = *rec.key;
    r.value = rec.value;
    r.producer_id = h.is_transactional() ? h.producer_id : -1;
    machine_->replay(partition, r);
    ++records;
  }
  return records;
}

asio::awaitable<uint64_t> CoordinatorRuntime::replay_log(int32_t partition,
                                                         const storage::PartitionLog& log) {
  std::vector<uint8_t> buf;
  uint64_t records = 0;
  int64_t offset = log.log_start_offset();
  while (running_ && offset < log.high_watermark()) {
    auto rr = log.read(offset, kLoadChunkBytes, true);
    if (rr.error != ErrorCode::NONE || rr.slices.empty()) break;
    int64_t next = offset;
    for (const auto& slice : rr.slices) {
      buf.resize(slice.length);
      if (storage::io::pread_full(slice.file->fd(), buf.data(), slice.length,
                                  slice.file_position) != static_cast<int64_t>(slice.length)) {
        log_error("cannot read ", topic_, "-", partition, " at offset ", offset);
        co_return records;
      }
      for (auto bytes : protocol::split_batches(buf, true).batches) {
        auto view = protocol::RecordBatchView::open(bytes);
        if (!view) continue;
        const auto& h = view->header();
        next = std::max(next, h.base_offset + h.last_offset_delta + 1);
        records += replay_batch(partition, *view);
      }
    }
    if (next <= offset) break;  // no progress: stop rather than spin
    offset = next;
    // Let requests in between; they see LOAD_IN_PROGRESS for what is still loading.
    co_await asio::post(io_, asio::use_awaitable);
  }
  co_return records;
}

asio::awaitable<void> CoordinatorRuntime::load() {
  if (!machine_) co_return;
  if (!logs_.topic(topic_)) {
    machine_->mark_all_loaded();
    std::fill(partition_loaded_.begin(), partition_loaded_.end(), true);
    loaded_ = true;
    deadline_changed();
    co_return;
  }
  const auto started = std::chrono::steady_clock::now();
  uint64_t records = 0;
  for (int32_t p = 0; p < machine_->partition_count() && running_; ++p) {
    machine_->begin_load(p);
    if (const storage::PartitionLog* log = logs_.get(topic_, p))
      records += co_await replay_log(p, *log);
    // No yield between the last chunk and here: what was appended meanwhile was read.
    machine_->finish_load(p);
    partition_loaded_[static_cast<size_t>(p)] = true;
  }
  loaded_ = running_;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  log_info("loaded ", topic_, ": ", records, " records in ", ms, " ms");
  deadline_changed();  // the deadlines of what was loaded
}

// ---------------------------------------------------------------------------------------------
// Time

void CoordinatorRuntime::deadline_changed() {
  if (!running_ || !machine_) return;
  auto next = machine_->next_deadline_ms();
  if (next && (!armed_for_ms_ || *next < *armed_for_ms_)) timer_.cancel();
}

asio::awaitable<void> CoordinatorRuntime::timer_loop() {
  while (running_ && machine_) {
    armed_for_ms_ = machine_->next_deadline_ms();
    if (armed_for_ms_)
      timer_.expires_after(
          std::chrono::milliseconds(std::max<int64_t>(0, *armed_for_ms_ - clock_.now_ms())));
    else
      timer_.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    auto due = machine_->next_deadline_ms();
    if (!due || *due > clock_.now_ms()) continue;  // woken to re-arm
    try {
      machine_->tick();
    } catch (const std::exception& e) {
      // A bug in one state machine (IllegalGroupTransition): the timer keeps serving the rest.
      log_error(topic_, " deadlines: ", e.what());
    }
  }
}

}  // namespace runnel::server
