// The log of one partition: a directory `<topic>-<partition>/` of segments
// (segment.h), the newest of which is active and receives appends.
//
// Other files in the directory:
//   partition.metadata   "version: 0\ntopic_id: <base64 topic id>\n" (Kafka's
//                        format; written by LogManager, atomically)
//   <offset>.snapshot    producer state as of that offset (producer_state.h),
//                        written when a segment rolls (at the new segment's
//                        base) and at close() (not at close_unsynced(): the log
//                        manager keeps that state in one file for all logs);
//                        the newest 2 are kept.
//
// Producer state (idempotence and transactions, Kafka's ProducerStateManager):
// every batch with a producer id is checked against it before anything is
// written (see append()). At open, after the segments are recovered, the
// newest valid snapshot at or below the log end offset is loaded (snapshots
// above it are deleted, a corrupt one is skipped and deleted) and every batch
// after it is replayed (headers, plus the control record of markers). With no
// snapshot the whole log is replayed. The `.txnindex` entries whose marker is
// at or after the replay start are dropped and rebuilt by the replay, so the
// log stays the truth and a snapshot only saves work. truncate_to() deletes
// the snapshots above the new log end and reloads the same way. Deleting
// segments (retention, DeleteRecords) drops their `.txnindex` but keeps the
// producers, which leave only by expire_producers().
//
// The log start offset: the first segment's base offset, or above it when
// DeleteRecords moved it inside that segment (increment_log_start_offset()).
// The log keeps no file of its own for it: the log manager keeps every
// partition's in one checkpoint file per log directory, as Kafka keeps
// `log-start-offset-checkpoint` (log_manager.h), and hands it back to open().
//
// The leader epoch cache (leader_epoch_cache.h, file `leader-epoch-checkpoint`): the first
// offset of every leader epoch in the log. An append whose batches start a new epoch adds it;
// truncate_to() drops the epochs that start at or after the new end; moving the log start
// (retention, DeleteRecords) moves the first epoch's start with it (Kafka's truncateFromStart).
// At open the file is checked against the log: a missing or malformed one, or one whose newest
// epoch is not the last batch's, is rebuilt from the batches' partitionLeaderEpoch; epochs
// beyond the log's ends are cut. A leader's epoch is in the cache even before anything was
// written at it (Kafka assigns it when the replica becomes leader): open() records the epoch
// the log is led at (the last batch's, never below 0) at the log end offset when it is new.
// The file is only a copy of what the log says, so a write that fails is logged and the cache
// in memory goes on; the next open checks the file again.
//
// The recovery point: every offset below it is known to be on disk (fdatasync).
// It moves when a rolled segment has been flushed and at every flush(); the log
// manager keeps it for all partitions in one checkpoint file per log directory
// (log_manager.h) and hands it back to open(): after an unclean shutdown every
// segment that reaches above it is scanned with CRC checks, not only the last
// one (Kafka's recovery point).
//
// Offsets: log_start_offset <= last_stable_offset <= high_watermark <=
// log_end_offset. On one node the high watermark follows the log end offset
// on every append, but it is kept as its own field so that replication can
// move it separately. The last stable offset is the first offset of the
// earliest open transaction (not below the log start), capped by the high
// watermark.
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
#include "protocol/records/validated_batches.h"
#include "storage/clock.h"
#include "storage/file_handle.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/producer_state.h"
#include "storage/recovery.h"
#include "storage/txn_index.h"

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
  // The batch repeats one of the producer's last 5: nothing was written and
  // base_offset / last_offset are those of the original.
  bool duplicate = false;
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
  // FetchIsolation::committed only: the aborted transactions that overlap
  // the returned batches (Kafka's collectAbortedTransactions).
  std::vector<AbortedTxn> aborted_transactions;
};

// One producer's state in this partition (DescribeProducers).
struct ProducerInfo {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_timestamp = -1;
  int32_t coordinator_epoch = -1;
  int64_t current_txn_start_offset = -1;
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
  // What the log manager kept of a log at its last checkpoint and clean close.
  struct Checkpointed {
    // The recovery point (none: 0, every segment is scanned after an unclean shutdown).
    std::optional<int64_t> recovery_point;
    // The producer state snapshot taken at a clean close (close_unsynced()); used only when
    // `clean_shutdown` and it is valid for the log end offset (else the snapshots and the log
    // are read as usual).
    std::optional<std::string> producer_snapshot;
    // The log start offset, when DeleteRecords moved it above the first segment's base offset
    // (never below that base; above the log end offset it is the log end offset).
    std::optional<int64_t> log_start_offset;
  };
  // Opens (creating the directory if needed) and recovers the log in `dir`.
  // `clean_shutdown` skips CRC checks of the last segment.
  static std::unique_ptr<PartitionLog> open(const std::string& dir, std::string topic,
                                            int32_t partition, const LogConfig& config,
                                            const Clock& clock, bool clean_shutdown,
                                            RecoveryResult* recovery, std::string* error,
                                            const Checkpointed& checkpointed = {});
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return config_; }
  void set_config(const LogConfig& config);
  void set_decompressor(Decompressor d) { decompressor_ = std::move(d); }
  // Runs `work` on another thread and then `done(ok)` back on the log's thread. With one, a
  // segment that rolls is flushed in the background (as Kafka does) and the recovery point
  // moves when that is done; without one the flush happens inside the roll.
  using BackgroundRunner =
      std::function<void(std::function<bool()> work, std::function<void(bool ok)> done)>;
  void set_background_runner(BackgroundRunner r) { runner_ = std::move(r); }

  // Appends validated magic-2 batches (one or more, back to back), reading
  // each one's header from `batches` (nothing is parsed again). Assigns
  // offsets by rewriting each baseOffset, sets partitionLeaderEpoch to
  // `leader_epoch`, and for LogAppendTime topics sets the timestamp type bit
  // and maxTimestamp = now_ms (recomputing the CRC), in the bytes and the
  // headers of `batches`. May roll first.
  //
  // All or nothing: an append either commits (the bytes written, the indexes,
  // the producer state and the high watermark updated; NONE) or changes none
  // of that and answers the error. KAFKA_STORAGE_ERROR on I/O error (writing
  // the log, its indexes or the txn index, or the flush flush.messages asks
  // for): a retry is a new append, not a duplicate. Should taking the written
  // bytes back out of the files fail too, the log still does not show them
  // and the partition goes offline. CORRUPT_MESSAGE when there is no batch.
  //
  // Every batch with a producer id is checked first, all of them before any
  // is written (Kafka's analyzeAndValidateProducerState):
  //  - a batch equal (epoch, first and last sequence) to one of the
  //    producer's last 5 is a duplicate: nothing is written, NONE, and
  //    base_offset / last_offset are the original ones (duplicate = true);
  //  - epoch below the producer's: INVALID_PRODUCER_EPOCH;
  //  - sequence out of order: OUT_OF_ORDER_SEQUENCE_NUMBER (see
  //    ProducerStateManager::append_data; an unknown producer is accepted
  //    with any sequence, as Kafka 3.9 does since KIP-360);
  //  - a non-transactional batch while the producer's transaction is open
  //    here: INVALID_TXN_STATE. A transactional batch opens the producer's
  //    transaction at its base offset when none is open.
  AppendResult append(protocol::ValidatedBatches& batches, int32_t leader_epoch, int64_t now_ms);
  // The same for bytes that are only framed here (ValidatedBatches::frame: CORRUPT_MESSAGE if
  // they are not whole magic-2 batches), without the CRC and record checks of a Produce.
  AppendResult append(std::span<uint8_t> batches, int32_t leader_epoch, int64_t now_ms);
  // The same for the broker's own coordinators (Kafka's AppendOrigin.COORDINATOR): the epoch
  // and open-transaction rules apply, sequences are neither checked nor deduplicated (the
  // group coordinator writes transactional offset commits with the producer's id and epoch).
  AppendResult append_as_coordinator(std::span<uint8_t> batches, int32_t leader_epoch,
                                     int64_t now_ms);
  // Writes a COMMIT (`commit`) or ABORT marker for the producer: one control
  // batch (transactional | control, baseSequence -1, one record with key
  // {version 0, type} and value {version 0, coordinator_epoch}, timestamp
  // now_ms) and ends its open transaction here. INVALID_PRODUCER_EPOCH when
  // `producer_epoch` is below the producer's, TRANSACTION_COORDINATOR_FENCED
  // when `coordinator_epoch` is below the last one seen. A marker for a
  // producer without an open transaction is written too. An ABORT that ends
  // an open transaction adds an entry to the txn index of the segment that
  // holds the marker.
  AppendResult append_control(int64_t producer_id, int16_t producer_epoch,
                              int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                              int64_t now_ms);

  int64_t log_start_offset() const { return log_start_offset_; }
  int64_t log_end_offset() const;
  int64_t high_watermark() const { return high_watermark_; }
  // min(first offset of the earliest open transaction, high watermark).
  int64_t last_stable_offset() const;
  // First offset of the earliest open transaction (not below the log
  // start); nullopt when none is open.
  std::optional<int64_t> first_unstable_offset() const;
  // Moves the high watermark (clamped to [log start, log end]).
  void update_high_watermark(int64_t hw);

  // Whole batches starting with the one that holds `offset`, up to
  // `max_bytes` in total; with `min_one_batch` the first batch is returned
  // even when larger. OFFSET_OUT_OF_RANGE when offset < log start or
  // offset > log end; empty (NONE) at the end. `committed` reads stop at the
  // last stable offset and list the aborted transactions whose marker is at
  // or after `offset` and that start below the offset after the last
  // returned batch (none when nothing is returned, as Kafka).
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
  // The first offset of each leader epoch (leader_epoch_cache.h).
  const LeaderEpochCache& leader_epoch_cache() const { return epoch_cache_; }
  // OffsetForLeaderEpoch (Kafka's UnifiedLog.endOffsetForEpoch): the largest epoch at or below
  // `requested` and where it ended (LeaderEpochCache::end_offset_for with the log end offset).
  EpochEntry end_offset_for_epoch(int32_t requested) const {
    return epoch_cache_.end_offset_for(requested, log_end_offset());
  }

  // Rolls when the active segment is non-empty and segment.ms has passed
  // (called from a timer so that idle partitions roll too). True if rolled.
  bool maybe_roll(int64_t now_ms);
  // Deletes old segments by retention.ms / retention.bytes / log start
  // offset, never the active one; advances the log start offset. Returns the
  // number of segments deleted.
  int apply_retention(int64_t now_ms);
  // DeleteRecords on this partition (Kafka's Partition.deleteRecordsOnLeader and
  // UnifiedLog.maybeIncrementLogStartOffset): moves the log start offset up to `offset`
  // (kHighWatermark: the high watermark), in memory only; the caller persists it (the log
  // manager's checkpoint) and then calls delete_segments_below_log_start(). A smaller offset
  // leaves it where it is (NONE). `*previous` is the log start offset before, for
  // set_log_start_offset_back(). Errors, as Kafka: KAFKA_STORAGE_ERROR (closed or offline),
  // POLICY_VIOLATION (cleanup.policy compact without delete), OFFSET_OUT_OF_RANGE (negative,
  // or above the high watermark).
  static constexpr int64_t kHighWatermark = -1;
  protocol::ErrorCode increment_log_start_offset(int64_t offset, int64_t* previous);
  // Takes back a move whose persisting failed.
  void set_log_start_offset_back(int64_t previous);
  // Deletes the segments entirely below the log start offset (never the active one). Returns
  // how many; a file that could not be removed is logged (the log has let go of it).
  int delete_segments_below_log_start();
  // What the log start offset checkpoint holds for this log: the log start offset when it is
  // above the first segment's base offset (Kafka writes only those), else nullopt.
  std::optional<int64_t> checkpointed_log_start_offset() const;
  // What to call when a truncation moves the log start offset below the checkpointed one.
  void set_log_start_offset_lowered(std::function<void()> f) {
    log_start_offset_lowered_ = std::move(f);
  }
  // Removes every batch at or after `offset` (the whole batch holding it).
  bool truncate_to(int64_t offset);

  // fdatasync of everything appended so far (group commit: one call covers
  // all earlier appends). False on I/O error.
  bool flush();
  // Flushes when flush.ms has passed since the last flush and there is
  // unflushed data.
  bool maybe_flush(int64_t now_ms);
  // Every offset below it is on disk.
  int64_t recovery_point() const { return recovery_point_; }
  // The recovery point the log manager's checkpoint file holds for this log (set when it writes
  // that file), and what to call when a truncation moves the recovery point below it: the file
  // would then name a point above data that is not on disk yet.
  void set_checkpointed_recovery_point(int64_t offset) { checkpointed_recovery_point_ = offset; }
  void set_recovery_point_lowered(std::function<void()> f) {
    recovery_point_lowered_ = std::move(f);
  }
  int64_t unflushed_messages() const { return unflushed_messages_; }
  uint64_t flush_count() const { return flush_count_; }

  size_t segment_count() const { return segments_.size(); }
  uint64_t size_bytes() const;
  // Base offsets of the segments, oldest first.
  std::vector<int64_t> segment_base_offsets() const;

  // Producers known in this partition, by id.
  std::vector<ProducerInfo> producers() const;
  const ProducerStateManager& producer_state() const { return producer_state_; }
  // The txn index entries of every segment, oldest first.
  std::vector<TxnIndexEntry> txn_index_entries() const;
  // Removes producers without an open transaction whose last append is at
  // least `expiration_ms` (producer.id.expiration.ms) before now_ms.
  size_t expire_producers(int64_t now_ms, int64_t expiration_ms);
  // Writes the producer state snapshot at the log end offset.
  bool snapshot_producer_state();

  // True when an append failed and could not be taken back out of the files,
  // or an fsync failed: every append then answers KAFKA_STORAGE_ERROR (Kafka
  // takes the log directory offline).
  bool offline() const { return offline_; }

  // Flushes what was appended since the last flush, writes a producer state snapshot (unless
  // the same one is on disk, or the log is empty and has neither producers nor snapshots),
  // and closes the files. The object is unusable afterwards. False when a flush or a write
  // failed (logged), or the log is offline. Logs of different partitions may be closed on
  // different threads at once.
  bool close();
  // Closes without an fsync and without writing a snapshot file; `*snapshot` is the producer
  // state at the log end offset (producer_state.h's snapshot bytes). The caller puts the files
  // on disk with one sys::syncfs() of their file system and keeps the snapshot where open()
  // gets it back (Checkpointed). False, with nothing in `*snapshot`, when the log is offline.
  bool close_unsynced(std::string* snapshot);
  // Background work started before now (a rolled segment's flush) will not touch the log when
  // it completes: for a log being handed to another thread (a topic being deleted).
  void forget_background_work() { alive_ = std::make_shared<int>(0); }
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
  // A truncation moved the log start offset down to `offset`.
  void lower_log_start_offset(int64_t offset);
  // Replaces every segment with one new, empty segment at `offset` (the caller sets the log
  // start offset). False, with the log as it was, when the new segment cannot be created.
  bool start_over_at(int64_t offset, std::string* error);
  // Flushes the segments below `up_to` that may hold unflushed data (in the background when a
  // runner is set), then moves the recovery point to `up_to`.
  void flush_rolled(int64_t up_to);
  void advance_recovery_point(int64_t offset);
  // An fsync failed: what is on disk is unknown (the kernel may have dropped the pages it could
  // not write, and a second fsync can succeed without writing them), so, as Kafka takes the log
  // directory offline, the partition refuses appends from now on. What was answered stays
  // answered; a restart recovers the log from what is on disk.
  void fsync_failed();
  // A failed append could not be taken back out of the files (its bytes are there although the
  // log does not show them): the partition refuses appends from now on.
  void take_offline();
  // KAFKA_STORAGE_ERROR (closed or offline), CORRUPT_MESSAGE (no bytes) or
  // RECORD_LIST_TOO_LARGE (above segment.bytes) for an append of `bytes`, before its batches
  // are looked at; else NONE.
  protocol::ErrorCode append_refusal(size_t bytes) const;
  AppendResult append_bytes(std::span<uint8_t> bytes, int32_t leader_epoch, int64_t now_ms,
                            AppendOrigin origin);
  AppendResult append_impl(protocol::ValidatedBatches& batches, int32_t leader_epoch,
                           int64_t now_ms, AppendOrigin origin);
  // Loads the newest usable snapshot and replays the log after it.
  void load_producer_state();
  void replay_producer_state(int64_t from_offset);
  bool write_producer_snapshot(int64_t offset);
  // Reads the leader epoch cache at open and checks it against the log (see the top).
  void load_leader_epoch_cache();
  void rebuild_leader_epoch_cache();
  // The epoch the log is led at (the last batch's, never below 0) starts at the log end offset
  // when the cache does not know it yet. True when the cache changed.
  bool assign_leader_epoch();
  // The log start offset moved up: the first epoch starts there now.
  void truncate_leader_epoch_cache_front();
  // Writes the cache's file; a failure is logged (see the top).
  void write_leader_epoch_cache();

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
  LeaderEpochCache epoch_cache_;
  int64_t unflushed_messages_ = 0;
  int64_t last_flush_ms_ = 0;
  uint64_t flush_count_ = 0;
  int64_t recovery_point_ = 0;                // every offset below it has been flushed
  int64_t checkpointed_recovery_point_ = -1;  // as the log manager's checkpoint holds it
  std::function<void()> recovery_point_lowered_;
  std::function<void()> log_start_offset_lowered_;
  BackgroundRunner runner_;
  // Background flushes check it before touching the log; it dies with the log.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  uint64_t truncations_ = 0;  // a background flush that saw another count is stale
  ProducerStateManager producer_state_;
  bool closed_ = false;
  // A failed append could not be taken back out of the files: no more appends.
  bool offline_ = false;
};

}  // namespace runnel::storage
