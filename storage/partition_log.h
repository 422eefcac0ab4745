// The log of one partition: a directory `<topic>-<partition>/` of segments
// (segment.h), the newest of which is active and receives appends.
//
// Other files in the directory:
//   partition.metadata   "version: 0\ntopic_id: <base64 topic id>\n" (Kafka's
//                        format; written by LogManager, atomically)
//   log-start-offset     "<decimal offset>\n": written (atomically) only when
//                        delete_records moves the log start offset inside a
//                        segment; otherwise the log start offset is the first
//                        segment's base offset.
//
// Offsets: log_start_offset <= last_stable_offset <= high_watermark <=
// log_end_offset. On one node the high watermark follows the log end offset
// on every append, but it is kept as its own field so that replication can
// move it separately. The last stable offset equals the high watermark until
// transactions exist.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"
#include "storage/clock.h"
#include "storage/file_handle.h"
#include "storage/log_config.h"
#include "storage/recovery.h"

namespace runnel::storage {

class Segment;
struct SegmentOptions;
struct BatchPosition;

struct AppendResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;  // now_ms for LogAppendTime topics, else -1
  int64_t log_start_offset = 0;
  uint32_t batches = 0;
  uint64_t records = 0;
};

// Up to where a read may go.
enum class FetchIsolation { log_end, high_watermark, committed };

struct ReadResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;  // OFFSET_OUT_OF_RANGE...
  std::vector<FileSlice> slices;         // whole batches, in order, to send as they are
  uint64_t bytes = 0;                    // sum of slice lengths
  int64_t first_batch_base_offset = -1;  // -1 when nothing was read
  int64_t first_batch_last_offset = -1;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

// Offset of a record found by timestamp; offset -1 when there is none.
struct TimestampOffset {
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// Decompresses the records part of a compressed batch (the bytes after the
// 61-byte header). Returns false on failure. Used to find the exact record
// for a timestamp inside compressed batches; without it, such a lookup
// answers with the batch's base offset and maxTimestamp.
using Decompressor = std::function<bool(
    protocol::Compression codec, std::span<const uint8_t> compressed, std::vector<uint8_t>* out)>;

class PartitionLog {
 public:
  // Opens (creating the directory if needed) and recovers the log in `dir`.
  // `clean_shutdown` skips CRC checks of the last segment.
  static std::unique_ptr<PartitionLog> open(const std::string& dir, std::string topic,
                                            int32_t partition, const LogConfig& config,
                                            const Clock& clock, bool clean_shutdown,
                                            RecoveryResult* recovery, std::string* error);
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return config_; }
  void set_config(const LogConfig& config);
  void set_decompressor(Decompressor d) { decompressor_ = std::move(d); }

  // Appends already validated magic-2 batches (one or more, back to back).
  // Assigns offsets by rewriting each baseOffset, sets partitionLeaderEpoch
  // to `leader_epoch`, and for LogAppendTime topics sets the timestamp type
  // bit and maxTimestamp = now_ms (recomputing the CRC). May roll first.
  // KAFKA_STORAGE_ERROR on I/O error, CORRUPT_MESSAGE if the bytes are not
  // whole batches.
  AppendResult append(std::span<uint8_t> batches, int32_t leader_epoch, int64_t now_ms);

  int64_t log_start_offset() const { return log_start_offset_; }
  int64_t log_end_offset() const;
  int64_t high_watermark() const { return high_watermark_; }
  int64_t last_stable_offset() const { return high_watermark_; }
  // Moves the high watermark (clamped to [log start, log end]).
  void update_high_watermark(int64_t hw);

  // Whole batches starting with the one that holds `offset`, up to
  // `max_bytes` in total; with `min_one_batch` the first batch is returned
  // even when larger. OFFSET_OUT_OF_RANGE when offset < log start or
  // offset > log end; empty (NONE) at the end.
  ReadResult read(int64_t offset, size_t max_bytes, bool min_one_batch,
                  FetchIsolation isolation = FetchIsolation::high_watermark) const;

  // First offset whose record timestamp is >= `timestamp`, with that
  // record's timestamp and its batch's leader epoch; offset -1 when none.
  TimestampOffset offset_for_timestamp(int64_t timestamp) const;
  // The record with the largest timestamp (ListOffsets MAX_TIMESTAMP);
  // offset -1 when the log is empty.
  TimestampOffset max_timestamp_offset() const;
  // Leader epoch of the batch holding `offset`; for the log end offset, the
  // epoch of the last batch. nullopt when unknown / out of range.
  std::optional<int32_t> epoch_for_offset(int64_t offset) const;
  // Epoch of the last appended batch (-1 when the log is empty).
  int32_t latest_epoch() const { return latest_epoch_; }

  // Rolls when the active segment is non-empty and segment.ms has passed
  // (called from a timer so that idle partitions roll too). True if rolled.
  bool maybe_roll(int64_t now_ms);
  // Deletes old segments by retention.ms / retention.bytes / log start
  // offset, never the active one; advances the log start offset. Returns the
  // number of segments deleted.
  int apply_retention(int64_t now_ms);
  // Moves the log start offset up to `offset` (<= high watermark) and
  // deletes the segments entirely below it. OFFSET_OUT_OF_RANGE when beyond.
  protocol::ErrorCode delete_records(int64_t offset);
  // Removes every batch at or after `offset` (the whole batch holding it).
  bool truncate_to(int64_t offset);

  // fdatasync of everything appended so far (group commit: one call covers
  // all earlier appends). False on I/O error.
  bool flush();
  // Flushes when flush.ms has passed since the last flush and there is
  // unflushed data.
  bool maybe_flush(int64_t now_ms);
  int64_t unflushed_messages() const { return unflushed_messages_; }
  uint64_t flush_count() const { return flush_count_; }

  size_t segment_count() const { return segments_.size(); }
  uint64_t size_bytes() const;
  // Base offsets of the segments, oldest first.
  std::vector<int64_t> segment_base_offsets() const;

  // Flushes and closes the files. The object is unusable afterwards.
  void close();
  // Closes and deletes the directory with everything in it.
  bool remove_all();

 private:
  PartitionLog() = default;
  Segment& active() const { return *segments_.back(); }
  bool roll(int64_t next_base, int64_t now_ms);
  bool delete_oldest_segment();
  // Index of the segment that would hold `offset` (the last one whose base
  // offset is <= offset; 0 when offset is below every segment).
  size_t segment_index_for(int64_t offset) const;
  TimestampOffset exact_timestamp_offset(const Segment& seg, const BatchPosition& batch,
                                         int64_t target_ts) const;
  SegmentOptions segment_options() const;
  bool write_log_start_offset();

  std::string dir_;
  std::string topic_;
  int32_t partition_ = 0;
  LogConfig config_;
  const Clock* clock_ = nullptr;
  Decompressor decompressor_;
  std::vector<std::unique_ptr<Segment>> segments_;
  int64_t log_start_offset_ = 0;
  int64_t high_watermark_ = 0;
  int32_t latest_epoch_ = -1;
  int64_t unflushed_messages_ = 0;
  int64_t last_flush_ms_ = 0;
  uint64_t flush_count_ = 0;
  int64_t recovery_point_ = 0;  // every offset below it has been flushed
  bool closed_ = false;
};

}  // namespace runnel::storage
