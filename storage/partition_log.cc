#include "storage/partition_log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "protocol/records/record_batch.h"
#include "protocol/wire.h"
#include "storage/io_util.h"
#include "storage/segment.h"
#include "storage/sys.h"

namespace runnel::storage {

using protocol::BatchHeader;
using protocol::ErrorCode;

namespace {
// Batches larger than this are not read into memory to find a record by
// timestamp (the batch's own offset is answered instead).
constexpr size_t kMaxBatchReadForTimestamp = 64u << 20;
// A control batch holds one small record; anything larger is not a marker.
constexpr size_t kMaxControlBatch = 1u << 20;
constexpr size_t kSnapshotsToKeep = 2;

// The COMMIT / ABORT record of a control batch (the whole batch in `batch`, its header
// parsed from it in `header`).
std::optional<protocol::ControlRecord> parse_marker(std::span<const uint8_t> batch,
                                                    const BatchHeader& header) {
  auto view = protocol::RecordBatchView::open(batch, header, kMaxControlBatch);
  if (!view) return std::nullopt;
  auto cursor = view->cursor();
  protocol::Record rec;
  if (!cursor.next(rec)) return std::nullopt;
  auto c = protocol::parse_control_record(rec);
  if (!c || (c->type != 0 && c->type != 1)) return std::nullopt;
  return c;
}
}  // namespace

SegmentOptions PartitionLog::segment_options() const {
  SegmentOptions o;
  o.index_interval_bytes = static_cast<uint32_t>(std::max(0, config_.index_interval_bytes));
  o.max_index_bytes = static_cast<uint32_t>(std::max(16, config_.segment_index_bytes));
  return o;
}

std::unique_ptr<PartitionLog> PartitionLog::open(const std::string& dir, std::string topic,
                                                 int32_t partition, const LogConfig& config,
                                                 const Clock& clock, bool clean_shutdown,
                                                 RecoveryResult* recovery, std::string* error,
                                                 const Checkpointed& checkpointed) {
  std::unique_ptr<PartitionLog> log(new PartitionLog());
  log->dir_ = dir;
  log->topic_ = std::move(topic);
  log->partition_ = partition;
  log->config_ = config;
  log->clock_ = &clock;
  RecoveryResult local;
  if (!recovery) recovery = &local;
  // Without a recovery point (a new log, or one the checkpoint does not name yet) every segment
  // is scanned after an unclean shutdown.
  const int64_t stored_recovery_point = checkpointed.recovery_point.value_or(0);
  if (!load_segments(dir, log->segment_options(), clean_shutdown, 0, clock, &log->segments_,
                     recovery, error, stored_recovery_point)) {
    // Nothing to flush or snapshot: a log that did not open is dropped as it is.
    log->segments_.clear();
    log->closed_ = true;
    return nullptr;
  }
  int64_t leo = log->log_end_offset();
  log->log_start_offset_ = log->segments_.front()->base_offset();
  if (auto v = checkpointed.log_start_offset; v && *v > log->log_start_offset_) {
    if (*v > leo) {
      // The log ends below its checkpointed start (what a DeleteRecords up to the high
      // watermark left was not on disk yet at a power loss): as Kafka, start over, empty, at
      // the checkpointed offset, so that no offset handed out before is handed out again.
      io::log_line(dir + ": log end offset " + std::to_string(leo) +
                   " is below the checkpointed log start offset " + std::to_string(*v) +
                   "; starting the log over at " + std::to_string(*v));
      if (!log->start_over_at(*v, error)) {
        log->segments_.clear();
        log->closed_ = true;
        return nullptr;
      }
      leo = *v;
    }
    log->log_start_offset_ = *v;
  }
  // A single replica: everything in the log is committed.
  log->high_watermark_ = leo;
  // What survived an unclean shutdown was read back from the page cache, which a power loss
  // would still lose: flush it before calling it recovered.
  // An fsync that fails here fails the open (Kafka: the log directory fails at start-up).
  if (!clean_shutdown)
    for (const auto& seg : log->segments_)
      if (seg->next_offset() > stored_recovery_point && !seg->flush(true)) {
        if (error) *error = io::errno_message("fsync of segment", seg->log_path());
        log->segments_.clear();
        log->closed_ = true;
        return nullptr;
      }
  log->recovery_point_ = leo;
  log->last_flush_ms_ = clock.now_ms();
  if (leo > log->log_start_offset_)
    log->latest_epoch_ = log->epoch_for_offset(leo - 1).value_or(-1);
  log->load_leader_epoch_cache();
  // After a clean close the state it left describes the log as it is: nothing to replay.
  recovery->producer_state_kept =
      clean_shutdown && checkpointed.producer_snapshot &&
      log->producer_state_.decode_snapshot(*checkpointed.producer_snapshot, leo);
  if (!recovery->producer_state_kept) log->load_producer_state();
  return log;
}

PartitionLog::~PartitionLog() { close(); }

void PartitionLog::set_config(const LogConfig& config) { config_ = config; }

int64_t PartitionLog::log_end_offset() const { return active().next_offset(); }

void PartitionLog::update_high_watermark(int64_t hw) {
  high_watermark_ = std::clamp(hw, log_start_offset_, log_end_offset());
}

uint64_t PartitionLog::size_bytes() const {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  return total;
}

std::vector<int64_t> PartitionLog::segment_base_offsets() const {
  std::vector<int64_t> out;
  for (const auto& s : segments_) out.push_back(s->base_offset());
  return out;
}

size_t PartitionLog::segment_index_for(int64_t offset) const {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](int64_t v, const std::unique_ptr<Segment>& s) { return v < s->base_offset(); });
  if (it == segments_.begin()) return 0;
  return static_cast<size_t>(it - segments_.begin()) - 1;
}

AppendResult PartitionLog::append(protocol::ValidatedBatches& batches, int32_t leader_epoch,
                                  int64_t now_ms) {
  return append_impl(batches, leader_epoch, now_ms, AppendOrigin::client);
}

AppendResult PartitionLog::append(std::span<uint8_t> batches, int32_t leader_epoch,
                                  int64_t now_ms) {
  return append_bytes(batches, leader_epoch, now_ms, AppendOrigin::client);
}

AppendResult PartitionLog::append_as_coordinator(std::span<uint8_t> batches, int32_t leader_epoch,
                                                 int64_t now_ms) {
  return append_bytes(batches, leader_epoch, now_ms, AppendOrigin::coordinator);
}

AppendResult PartitionLog::append_control(int64_t producer_id, int16_t producer_epoch,
                                          int32_t coordinator_epoch, bool commit,
                                          int32_t leader_epoch, int64_t now_ms) {
  if (producer_id < 0) {
    AppendResult r;
    r.log_start_offset = log_start_offset_;
    r.error = ErrorCode::INVALID_PRODUCER_ID_MAPPING;
    return r;
  }
  protocol::RecordBatchBuilder b;
  b.producer(producer_id, producer_epoch, -1).transactional(true);
  b.add_control(now_ms, commit ? 1 : 0, coordinator_epoch);
  auto bytes = b.build();
  return append_bytes(bytes, leader_epoch, now_ms, AppendOrigin::coordinator);
}

ErrorCode PartitionLog::append_refusal(size_t bytes) const {
  if (closed_ || offline_) return ErrorCode::KAFKA_STORAGE_ERROR;
  if (bytes == 0) return ErrorCode::CORRUPT_MESSAGE;
  if (bytes > static_cast<size_t>(config_.segment_bytes)) return ErrorCode::RECORD_LIST_TOO_LARGE;
  return ErrorCode::NONE;
}

AppendResult PartitionLog::append_bytes(std::span<uint8_t> bytes, int32_t leader_epoch,
                                        int64_t now_ms, AppendOrigin origin) {
  AppendResult r;
  r.log_start_offset = log_start_offset_;
  r.error = append_refusal(bytes.size());
  if (r.error != ErrorCode::NONE) return r;
  auto batches = protocol::ValidatedBatches::frame(bytes, &r.error);
  if (r.error != ErrorCode::NONE) return r;
  return append_impl(batches, leader_epoch, now_ms, origin);
}

AppendResult PartitionLog::append_impl(protocol::ValidatedBatches& batches, int32_t leader_epoch,
                                       int64_t now_ms, AppendOrigin origin) {
  AppendResult r;
  r.log_start_offset = log_start_offset_;
  r.error = append_refusal(batches.bytes().size());
  if (r.error != ErrorCode::NONE) return r;
  const bool append_time = config_.message_timestamp_type == TimestampType::log_append_time;
  r.records = batches.record_count();
  r.batches = static_cast<uint32_t>(batches.size());
  const int64_t incoming_max_ts =
      append_time ? std::max<int64_t>(now_ms, -1) : batches.max_timestamp();
  const int64_t base = log_end_offset();
  const int64_t last = base + batches.offset_count() - 1;
  // Producer state: every batch is checked (on copies) before any is written.
  ProducerStateManager::Update update;
  std::vector<CompletedTxn> completed;
  bool has_producers = false;
  {
    int64_t next = base;
    for (const protocol::ValidatedBatch& b : batches.batches()) {
      BatchHeader h = b.header;  // as it will be stored
      h.base_offset = next;
      next += b.offset_count();
      if (h.producer_id < 0) continue;
      has_producers = true;
      const int64_t ts = append_time ? now_ms : h.max_timestamp;
      ErrorCode e = ErrorCode::NONE;
      if (h.is_control()) {
        auto marker = parse_marker(b.bytes, b.header);
        if (!marker) {
          r.error = ErrorCode::INVALID_RECORD;
          return r;
        }
        std::optional<CompletedTxn> done;
        e = producer_state_.append_marker(update, h.producer_id, h.producer_epoch,
                                          marker->coordinator_epoch, marker->type == 1,
                                          h.base_offset, ts, origin, &done);
        if (done) completed.push_back(*done);
      } else {
        if (origin == AppendOrigin::client) {
          if (const BatchMetadata* d = producer_state_.find_duplicate(h)) {
            r.duplicate = true;
            r.base_offset = d->first_offset();
            r.last_offset = d->last_offset;
            r.log_append_time = append_time ? d->timestamp : -1;
            r.batches = 0;
            r.records = 0;
            return r;
          }
        }
        e = producer_state_.append_data(update, h, ts, origin);
      }
      if (e != ErrorCode::NONE) {
        r.error = e;
        return r;
      }
    }
  }
  const uint64_t size = batches.bytes().size();
  Segment* seg = &active();
  if (!seg->empty() && (seg->size() + size > static_cast<uint64_t>(config_.segment_bytes) ||
                        seg->time_waited_for_roll(now_ms, incoming_max_ts) > config_.segment_ms ||
                        seg->indexes_full() || !seg->can_hold_offset(last))) {
    if (!roll(base, now_ms)) {
      r.error = ErrorCode::KAFKA_STORAGE_ERROR;
      return r;
    }
    seg = &active();
  }
  // Assign offsets and the leader epoch (both outside the CRC); LogAppendTime rewrites the
  // timestamp and so the CRC. The headers follow, for the segment's indexes.
  {
    const std::optional<int64_t> append_time_ms =
        append_time ? std::optional<int64_t>(now_ms) : std::nullopt;
    int64_t next = base;
    for (protocol::ValidatedBatch& b : batches.batches()) {
      b.assign_offset(next, leader_epoch, append_time_ms);
      next += b.offset_count();
    }
  }
  const Segment::AppendMark before = seg->mark();
  std::string err;
  if (!seg->append(batches, &err)) {
    // Nothing of the append stayed (Segment::append is all or nothing) and the producer state
    // is not committed: the answer, the log and a retry agree.
    io::log_line(dir_ + ": append at offset " + std::to_string(base) + " failed: " + err);
    if (seg->rollback_incomplete()) take_offline();
    r.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return r;
  }
  // What can still fail comes before anything is committed: the txn index entries of aborted
  // transactions, then the flush flush.messages may ask for. A failure takes the bytes and
  // their index entries back out of the segment and leaves the producer state, the high
  // watermark and the counters as they were, so the refusal and the log agree.
  auto take_back = [&](const std::string& why) {
    io::log_line(dir_ + ": append at offset " + std::to_string(base) + " taken back: " + why);
    if (!seg->rollback(before)) take_offline();
    AppendResult failed;
    failed.error = ErrorCode::KAFKA_STORAGE_ERROR;
    failed.log_start_offset = log_start_offset_;
    return failed;
  };
  for (const CompletedTxn& txn : completed) {
    if (!txn.aborted) continue;
    TxnIndexEntry entry{txn.producer_id, txn.first_offset, txn.last_offset,
                        producer_state_.last_stable_offset_after(txn, update)};
    if (!seg->txn_index().append(entry)) return take_back("writing the transaction index failed");
  }
  const int64_t unflushed_before = unflushed_messages_;
  unflushed_messages_ += static_cast<int64_t>(r.records);
  if (unflushed_messages_ >= config_.flush_messages && !flush()) {
    // The partition is offline now (see flush()); appends answered before stay.
    unflushed_messages_ = unflushed_before;
    return take_back("its flush failed");
  }
  latest_epoch_ = leader_epoch;
  if (epoch_cache_.assign(leader_epoch, base)) write_leader_epoch_cache();
  if (has_producers) producer_state_.commit(std::move(update));
  // A single replica: the high watermark follows the log end offset.
  high_watermark_ = log_end_offset();
  r.base_offset = base;
  r.last_offset = last;
  r.log_append_time = append_time ? now_ms : -1;
  return r;
}

void PartitionLog::take_offline() {
  if (offline_) return;
  // The files hold bytes the log does not show; stop writing here, as Kafka takes a log
  // directory offline on an I/O error.
  offline_ = true;
  io::log_line(dir_ + ": partition taken offline: appends answer KAFKA_STORAGE_ERROR");
}

bool PartitionLog::roll(int64_t next_base, int64_t now_ms) {
  std::string err;
  active().on_become_inactive();
  // The snapshot must not claim txn index entries that a crash could lose.
  active().txn_index().flush();
  write_producer_snapshot(next_base);
  auto seg = Segment::open(dir_, next_base, segment_options(), true, now_ms, &err);
  if (!seg) {
    io::log_line("roll failed: " + err);
    return false;
  }
  segments_.push_back(std::move(seg));
  flush_rolled(next_base);
  return true;
}

void PartitionLog::flush_rolled(int64_t up_to) {
  std::vector<Segment*> pending;
  for (const auto& seg : segments_)
    if (seg.get() != &active() && seg->next_offset() > recovery_point_)
      pending.push_back(seg.get());
  if (!runner_) {
    bool ok = true;
    for (Segment* seg : pending) ok = seg->flush() && ok;
    if (ok)
      advance_recovery_point(up_to);
    else
      fsync_failed();
    return;
  }
  // The handles keep the descriptors open on the other thread even when the file cache closes
  // them here meanwhile (the files stay marked as written until synced here, so a flush() before
  // this one is done syncs them too).
  std::vector<std::shared_ptr<FileHandle>> files;
  bool failed_before = false;
  for (Segment* seg : pending) {
    auto f = seg->files_to_sync(&failed_before);
    files.insert(files.end(), f.begin(), f.end());
  }
  std::weak_ptr<int> alive = alive_;
  const uint64_t truncations = truncations_;
  runner_(
      [files = std::move(files), failed_before]() {
        bool ok = !failed_before;
        for (const auto& f : files) ok = sys::fdatasync(f->fd()) == 0 && ok;
        return ok;
      },
      [this, alive, truncations, up_to](bool ok) {
        if (alive.expired() || closed_ || truncations != truncations_) return;
        if (!ok) {
          io::log_line(dir_ + ": flushing a rolled segment failed");
          fsync_failed();
          return;
        }
        advance_recovery_point(up_to);
      });
}

void PartitionLog::fsync_failed() {
  if (offline_) return;
  offline_ = true;
  io::log_line(dir_ + ": fsync failed; partition taken offline: appends answer " +
               "KAFKA_STORAGE_ERROR until a restart recovers it");
}

void PartitionLog::advance_recovery_point(int64_t offset) {
  offset = std::min(offset, log_end_offset());
  if (offset <= recovery_point_) return;
  recovery_point_ = offset;
}

bool PartitionLog::maybe_roll(int64_t now_ms) {
  if (closed_ || active().empty() ||
      active().time_waited_for_roll(now_ms, now_ms) <= config_.segment_ms)
    return false;
  return roll(log_end_offset(), now_ms);
}

ReadResult PartitionLog::read(int64_t offset, size_t max_bytes, bool min_one_batch,
                              FetchIsolation isolation) const {
  ReadResult r;
  r.high_watermark = high_watermark_;
  r.last_stable_offset = last_stable_offset();
  r.log_start_offset = log_start_offset_;
  r.log_end_offset = log_end_offset();
  if (offset < log_start_offset_ || offset > r.log_end_offset) {
    r.error = ErrorCode::OFFSET_OUT_OF_RANGE;
    return r;
  }
  int64_t limit = isolation == FetchIsolation::log_end          ? r.log_end_offset
                  : isolation == FetchIsolation::high_watermark ? r.high_watermark
                                                                : r.last_stable_offset;
  if (offset >= limit) return r;
  int64_t end_of_read = -1;  // offset after the last returned batch
  for (size_t i = segment_index_for(offset); i < segments_.size(); ++i) {
    const Segment& seg = *segments_[i];
    std::string err;
    auto file = seg.log_file(&err);
    if (!file) {
      // Out of descriptors or the file is gone: what was read so far is answered, else the
      // error.
      io::log_line(dir_ + ": read at offset " + std::to_string(offset) + " failed: " + err);
      if (r.slices.empty()) r.error = ErrorCode::KAFKA_STORAGE_ERROR;
      break;
    }
    auto first = seg.find_batch(std::max(offset, seg.base_offset()));
    if (!first) continue;
    FileSlice slice{std::move(file), first->position, 0};
    uint64_t pos = first->position;
    std::optional<BatchHeader> h = first->header;
    bool stop = false;
    while (h) {
      if (h->base_offset >= limit) {
        stop = true;
        break;
      }
      size_t size = h->total_size();
      bool first_batch = r.slices.empty() && slice.length == 0;
      if (r.bytes + size > max_bytes && !(min_one_batch && first_batch)) {
        stop = true;
        break;
      }
      if (first_batch) {
        r.first_batch_base_offset = h->base_offset;
        r.first_batch_last_offset = h->last_offset();
      }
      slice.length += static_cast<uint32_t>(size);
      r.bytes += size;
      end_of_read = h->last_offset() + 1;
      pos += size;
      h = seg.read_header(pos);
    }
    if (slice.length > 0) r.slices.push_back(std::move(slice));
    if (stop) break;
  }
  if (isolation == FetchIsolation::committed && end_of_read >= 0) {
    for (size_t i = segment_index_for(offset); i < segments_.size(); ++i)
      if (segments_[i]->txn_index().collect(offset, end_of_read, &r.aborted_transactions)) break;
  }
  return r;
}

TimestampOffset PartitionLog::exact_timestamp_offset(const Segment& seg, const BatchPosition& b,
                                                     int64_t target_ts) const {
  const BatchHeader& h = b.header;
  TimestampOffset fallback{std::max(h.base_offset, log_start_offset_), h.max_timestamp,
                           h.partition_leader_epoch};
  if (h.log_append_time() || h.total_size() > kMaxBatchReadForTimestamp) return fallback;
  std::vector<uint8_t> bytes(h.total_size());
  if (!seg.read_bytes(b.position, bytes)) return fallback;
  std::span<const uint8_t> records = std::span<const uint8_t>(bytes).subspan(BatchHeader::kSize);
  std::vector<uint8_t> plain;
  if (h.compression() != protocol::Compression::none) {
    if (!decompressor_ || !decompressor_(h.compression(), records, &plain)) return fallback;
    records = plain;
  }
  protocol::Reader rd(records);
  for (int32_t i = 0; i < h.record_count && rd.ok(); ++i) {
    int32_t len = rd.varint();
    if (!rd.ok() || len < 0 || static_cast<size_t>(len) > rd.remaining()) break;
    size_t end = rd.position() + static_cast<size_t>(len);
    rd.i8();  // attributes
    int64_t ts = h.record_timestamp(rd.varlong());
    int64_t offset = h.base_offset + rd.varint();
    if (!rd.ok()) break;
    if (ts >= target_ts && offset >= log_start_offset_)
      return {offset, ts, h.partition_leader_epoch};
    rd.take(end - rd.position());
  }
  return fallback;
}

TimestampOffset PartitionLog::offset_for_timestamp(int64_t timestamp) const {
  for (const auto& seg : segments_) {
    if (seg->max_timestamp() < timestamp || seg->next_offset() <= log_start_offset_) continue;
    auto b = seg->find_batch_by_timestamp(timestamp, log_start_offset_);
    if (!b || b->header.base_offset >= high_watermark_) break;
    return exact_timestamp_offset(*seg, *b, timestamp);
  }
  return {};
}

TimestampOffset PartitionLog::max_timestamp_offset() const {
  int64_t max_ts = -1;
  for (const auto& seg : segments_)
    if (seg->next_offset() > log_start_offset_) max_ts = std::max(max_ts, seg->max_timestamp());
  if (max_ts < 0) return {};
  return offset_for_timestamp(max_ts);
}

std::optional<int32_t> PartitionLog::epoch_for_offset(int64_t offset) const {
  int64_t leo = log_end_offset();
  if (offset < log_start_offset_ || offset > leo) return std::nullopt;
  if (offset == leo) return latest_epoch_;
  for (size_t i = segment_index_for(offset); i < segments_.size(); ++i)
    if (auto b = segments_[i]->find_batch(std::max(offset, segments_[i]->base_offset())))
      return b->header.partition_leader_epoch;
  return std::nullopt;
}

bool PartitionLog::delete_oldest_segment() {
  if (segments_.size() <= 1) return false;
  bool ok = segments_.front()->remove();
  segments_.erase(segments_.begin());
  log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
  high_watermark_ = std::max(high_watermark_, log_start_offset_);
  return ok;
}

int PartitionLog::apply_retention(int64_t now_ms) {
  if (closed_) return 0;
  int deleted = 0;
  if (config_.cleanup_delete) {
    if (config_.retention_ms >= 0) {
      while (segments_.size() > 1) {
        int64_t ts = segments_.front()->max_timestamp();
        // A segment without timestamps is kept (nothing tells its age).
        if (ts < 0 || now_ms - ts <= config_.retention_ms) break;
        delete_oldest_segment();
        ++deleted;
      }
    }
    if (config_.retention_bytes >= 0) {
      int64_t excess = static_cast<int64_t>(size_bytes()) - config_.retention_bytes;
      while (segments_.size() > 1 &&
             excess - static_cast<int64_t>(segments_.front()->size()) >= 0) {
        excess -= static_cast<int64_t>(segments_.front()->size());
        delete_oldest_segment();
        ++deleted;
      }
    }
  }
  deleted += delete_segments_below_log_start();
  if (deleted > 0)
    io::log_line(dir_ + ": retention deleted " + std::to_string(deleted) +
                 " segment(s), log start offset " + std::to_string(log_start_offset_));
  return deleted;
}

int PartitionLog::delete_segments_below_log_start() {
  int deleted = 0;
  while (segments_.size() > 1 && segments_[1]->base_offset() <= log_start_offset_) {
    const std::string path = segments_.front()->log_path();
    if (!delete_oldest_segment()) io::log_line("cannot delete every file of segment " + path);
    ++deleted;
  }
  truncate_leader_epoch_cache_front();
  return deleted;
}

ErrorCode PartitionLog::increment_log_start_offset(int64_t offset, int64_t* previous) {
  *previous = log_start_offset_;
  if (closed_ || offline_) return ErrorCode::KAFKA_STORAGE_ERROR;
  if (config_.cleanup_compact && !config_.cleanup_delete) return ErrorCode::POLICY_VIOLATION;
  if (offset == kHighWatermark) offset = high_watermark_;
  if (offset < 0 || offset > high_watermark_) return ErrorCode::OFFSET_OUT_OF_RANGE;
  if (offset <= log_start_offset_) return ErrorCode::NONE;
  log_start_offset_ = offset;
  return ErrorCode::NONE;
}

void PartitionLog::set_log_start_offset_back(int64_t previous) {
  log_start_offset_ = std::min(log_start_offset_, previous);
}

std::optional<int64_t> PartitionLog::checkpointed_log_start_offset() const {
  if (segments_.empty() || log_start_offset_ <= segments_.front()->base_offset())
    return std::nullopt;
  return log_start_offset_;
}

void PartitionLog::lower_log_start_offset(int64_t offset) {
  const bool was_checkpointed = checkpointed_log_start_offset().has_value();
  log_start_offset_ = offset;
  if (was_checkpointed && log_start_offset_lowered_) log_start_offset_lowered_();
}

bool PartitionLog::start_over_at(int64_t offset, std::string* error) {
  // The new segment is opened before the old ones go, so that a failure leaves the log as it
  // was (never without a segment).
  auto seg = Segment::open(dir_, offset, segment_options(), true, clock_->now_ms(), error);
  if (!seg) return false;
  for (auto& old : segments_)
    if (!old->remove()) io::log_line("cannot delete every file of segment " + old->log_path());
  segments_.clear();
  segments_.push_back(std::move(seg));
  return true;
}

bool PartitionLog::truncate_to(int64_t offset) {
  if (closed_) return false;
  if (offset >= log_end_offset()) return true;
  bool ok = true;
  while (segments_.size() > 1 && segments_.back()->base_offset() >= offset) {
    ok = segments_.back()->remove() && ok;
    segments_.pop_back();
  }
  if (segments_.back()->base_offset() > offset) {
    // Nothing below `offset` is left: start over, empty, at `offset`.
    std::string err;
    if (!start_over_at(offset, &err)) {
      io::log_line(err);
      return false;
    }
    lower_log_start_offset(offset);
  } else {
    ok = active().truncate_to(offset) && ok;
    if (log_start_offset_ > offset) lower_log_start_offset(offset);
  }
  int64_t leo = log_end_offset();
  high_watermark_ = std::min(high_watermark_, leo);
  recovery_point_ = std::min(recovery_point_, leo);
  ++truncations_;  // a background flush started before this must not move the point
  if (recovery_point_ < checkpointed_recovery_point_ && recovery_point_lowered_)
    recovery_point_lowered_();
  latest_epoch_ = leo > log_start_offset_ ? epoch_for_offset(leo - 1).value_or(-1) : -1;
  bool epochs_changed = epoch_cache_.truncate_from_end(leo);
  epochs_changed = epoch_cache_.truncate_from_start(log_start_offset_) || epochs_changed;
  epochs_changed = assign_leader_epoch() || epochs_changed;
  if (epochs_changed) write_leader_epoch_cache();
  // Snapshots above the new end are stale; rebuild from the newest one left.
  load_producer_state();
  return ok;
}

bool PartitionLog::flush() {
  if (closed_) return true;
  bool ok = true;
  for (const auto& seg : segments_)
    if (seg->next_offset() > recovery_point_ || seg.get() == &active()) ok = seg->flush() && ok;
  if (ok) {
    recovery_point_ = log_end_offset();
    unflushed_messages_ = 0;
  } else {
    fsync_failed();
  }
  last_flush_ms_ = clock_->now_ms();
  ++flush_count_;
  return ok;
}

bool PartitionLog::maybe_flush(int64_t now_ms) {
  if (unflushed_messages_ == 0 || config_.flush_ms == LogConfig::kNever ||
      now_ms - last_flush_ms_ < config_.flush_ms)
    return true;
  return flush();
}

bool PartitionLog::close() {
  if (closed_) return true;
  if (segments_.empty()) {
    closed_ = true;
    return true;
  }
  bool ok = true;
  if (unflushed_messages_ > 0 || recovery_point_ < log_end_offset()) ok = flush();
  // After a failed fsync nothing on disk can be vouched for: no snapshot, and the close is
  // reported as failed, so that no clean shutdown is recorded and the next start recovers.
  if (offline_) ok = false;
  // Only a durable log may be described by a snapshot at its end. An empty log without
  // producers and without snapshots needs none: replaying it rebuilds the same nothing (a
  // topic created and closed again writes no snapshot per partition).
  const bool nothing_to_describe = log_end_offset() == log_start_offset_ &&
                                   producer_state_.entries().empty() &&
                                   ProducerStateManager::list_snapshots(dir_).empty();
  if (ok && !nothing_to_describe) ok = write_producer_snapshot(log_end_offset());
  closed_ = true;
  return ok;
}

bool PartitionLog::close_unsynced(std::string* snapshot) {
  snapshot->clear();
  if (closed_) return !segments_.empty();
  closed_ = true;
  if (segments_.empty() || offline_) return false;
  *snapshot = producer_state_.encode_snapshot(log_end_offset());
  return true;
}

int64_t PartitionLog::last_stable_offset() const {
  auto f = first_unstable_offset();
  return f ? std::min(*f, high_watermark_) : high_watermark_;
}

std::optional<int64_t> PartitionLog::first_unstable_offset() const {
  int64_t f = producer_state_.first_unstable_offset();
  if (f < 0) return std::nullopt;
  return std::max(f, log_start_offset_);
}

std::vector<ProducerInfo> PartitionLog::producers() const {
  std::vector<ProducerInfo> out;
  for (const auto& [pid, e] : producer_state_.entries())
    out.push_back({pid, e.epoch, e.last_seq(), e.last_timestamp, e.coordinator_epoch,
                   e.current_txn_first_offset});
  return out;
}

std::vector<TxnIndexEntry> PartitionLog::txn_index_entries() const {
  std::vector<TxnIndexEntry> out;
  for (const auto& seg : segments_) {
    const auto& e = seg->txn_index().entries();
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

size_t PartitionLog::expire_producers(int64_t now_ms, int64_t expiration_ms) {
  return producer_state_.expire(now_ms, expiration_ms);
}

bool PartitionLog::snapshot_producer_state() {
  if (closed_) return false;
  if (!flush()) return false;
  return write_producer_snapshot(log_end_offset());
}

bool PartitionLog::write_producer_snapshot(int64_t offset) {
  std::string err;
  bool ok = producer_state_.write_snapshot(dir_, offset, &err);
  if (!ok) io::log_line(err);
  auto offsets = ProducerStateManager::list_snapshots(dir_);
  std::error_code ec;
  for (size_t i = 0; i + kSnapshotsToKeep < offsets.size(); ++i)
    sys::remove(dir_ + "/" + ProducerStateManager::snapshot_file_name(offsets[i]), ec);
  return ok;
}

void PartitionLog::load_producer_state() {
  producer_state_.clear();
  const int64_t leo = log_end_offset();
  int64_t start = -1;
  auto offsets = ProducerStateManager::list_snapshots(dir_);
  std::error_code ec;
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    std::string path = dir_ + "/" + ProducerStateManager::snapshot_file_name(*it);
    if (*it > leo) {
      sys::remove(path, ec);
      continue;
    }
    if (start >= 0) continue;
    if (producer_state_.load_snapshot(dir_, *it)) {
      start = *it;
    } else {
      io::log_line(path + ": not a valid producer state snapshot, ignored");
      sys::remove(path, ec);
    }
  }
  if (start < 0) {
    producer_state_.clear();
    start = segments_.front()->base_offset();
  }
  // The replay rewrites every txn index entry from `start` on.
  for (auto& seg : segments_) seg->txn_index().truncate_to(start);
  replay_producer_state(start);
}

void PartitionLog::replay_producer_state(int64_t from_offset) {
  std::vector<uint8_t> buf;
  for (size_t i = segment_index_for(from_offset); i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    auto first = seg.find_batch(std::max(from_offset, seg.base_offset()));
    if (!first) continue;
    uint64_t pos = first->position;
    for (std::optional<BatchHeader> h = first->header; h; h = seg.read_header(pos)) {
      const uint64_t at = pos;
      pos += h->total_size();
      if (h->base_offset < from_offset || h->producer_id < 0) continue;
      ProducerStateManager::Update update;
      if (h->is_control()) {
        if (h->total_size() > kMaxControlBatch) continue;
        buf.resize(h->total_size());
        if (!seg.read_bytes(at, buf)) continue;
        auto marker = parse_marker(buf, *h);
        if (!marker) continue;
        std::optional<CompletedTxn> done;
        producer_state_.append_marker(update, h->producer_id, h->producer_epoch,
                                      marker->coordinator_epoch, marker->type == 1, h->base_offset,
                                      h->max_timestamp, AppendOrigin::replay, &done);
        producer_state_.commit(std::move(update));
        if (done && done->aborted)
          seg.txn_index().append({done->producer_id, done->first_offset, done->last_offset,
                                  producer_state_.last_stable_offset_after(*done)});
      } else {
        producer_state_.append_data(update, *h, h->max_timestamp, AppendOrigin::replay);
        producer_state_.commit(std::move(update));
      }
    }
  }
}

void PartitionLog::load_leader_epoch_cache() {
  const int64_t leo = log_end_offset();
  bool present = false;
  std::string err;
  auto entries = LeaderEpochCache::read(dir_, &present, &err);
  bool changed = false;
  if (entries) {
    epoch_cache_ = LeaderEpochCache(std::move(*entries));
    changed = epoch_cache_.truncate_from_end(leo);
    changed = epoch_cache_.truncate_from_start(log_start_offset_) || changed;
  }
  // The newest epoch must be the last batch's: a file that says otherwise missed a change.
  const bool stale = leo > log_start_offset_ && epoch_cache_.latest_epoch() != latest_epoch_;
  if (!entries || stale) {
    if (!err.empty()) io::log_line(err + "; rebuilding the leader epoch cache from the log");
    rebuild_leader_epoch_cache();
    changed = true;
  }
  changed = assign_leader_epoch() || changed;
  if (changed) write_leader_epoch_cache();
}

void PartitionLog::rebuild_leader_epoch_cache() {
  epoch_cache_ = LeaderEpochCache();
  for (size_t i = segment_index_for(log_start_offset_); i < segments_.size(); ++i) {
    Segment& seg = *segments_[i];
    auto first = seg.find_batch(std::max(log_start_offset_, seg.base_offset()));
    if (!first) continue;
    uint64_t pos = first->position;
    for (std::optional<BatchHeader> h = first->header; h; h = seg.read_header(pos)) {
      pos += h->total_size();
      epoch_cache_.assign(h->partition_leader_epoch, std::max(h->base_offset, log_start_offset_));
    }
  }
}

bool PartitionLog::assign_leader_epoch() {
  const int32_t epoch = std::max(0, latest_epoch_);
  if (epoch_cache_.latest_epoch() >= epoch) return false;
  return epoch_cache_.assign(epoch, log_end_offset());
}

void PartitionLog::truncate_leader_epoch_cache_front() {
  if (epoch_cache_.truncate_from_start(log_start_offset_)) write_leader_epoch_cache();
}

void PartitionLog::write_leader_epoch_cache() {
  std::string err;
  if (!epoch_cache_.write(dir_, &err))
    io::log_line(dir_ + ": writing the leader epoch cache failed (" + err +
                 "); the next start-up rebuilds it from the log");
}

bool PartitionLog::remove_all() {
  closed_ = true;
  segments_.clear();
  std::error_code ec;
  return sys::remove_all(dir_, ec);
}

}  // namespace runnel::storage
