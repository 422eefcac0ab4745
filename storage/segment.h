// One segment of a partition log: `<base>.log` plus its `.index`,
// `.timeindex` and, once a transaction aborted in it, `.txnindex` (layouts in
// offset_index.h, time_index.h and txn_index.h). File names are
// the base offset as 20 zero-padded decimal digits.
//
// `.log` layout: record batches of magic 2 back to back, byte for byte as the
// producer sent them except baseOffset (and partitionLeaderEpoch, both outside
// the CRC) rewritten by the broker. Each batch is the 61-byte header described
// in protocol/records/batch_header.h followed by its records. There is no
// segment header or trailer; a batch's size is 12 + batchLength.
//
// Positions are 32-bit: a segment never grows past 4 GiB (segment.bytes is an
// int32 in Kafka) and relative offsets fit in int32.
//
// Descriptors: every file of a segment gets its descriptor from the file cache
// (file_cache.h) when it needs one, so a segment may hold none. An operation
// whose file cannot be opened again fails as an I/O error.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/records/batch_header.h"
#include "protocol/records/validated_batches.h"
#include "storage/file_cache.h"
#include "storage/file_handle.h"
#include "storage/offset_index.h"
#include "storage/recovery.h"
#include "storage/time_index.h"
#include "storage/txn_index.h"

namespace runnel::storage {

struct SegmentOptions {
  uint32_t index_interval_bytes = 4096;         // index.interval.bytes
  uint32_t max_index_bytes = 10 * 1024 * 1024;  // segment.index.bytes
  FileCache* files = nullptr;                   // null: FileCache::process()
};

// A batch header and the position of the batch in its segment's log.
struct BatchPosition {
  protocol::BatchHeader header;
  uint32_t position = 0;
};

class Segment {
 public:
  // "00000000000000000042" + ext (ext like ".log").
  static std::string file_name(int64_t base_offset, std::string_view ext);
  // Opens (or, with `create`, creates) the files of the segment at
  // `base_offset` in `dir`. `created_ms` is used for segment.ms when the
  // segment has no batch timestamp yet.
  static std::unique_ptr<Segment> open(const std::string& dir, int64_t base_offset,
                                       const SegmentOptions& options, bool create,
                                       int64_t created_ms, std::string* error);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  // One past the last offset in this segment (base offset when empty).
  int64_t next_offset() const { return next_offset_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Largest batch maxTimestamp, and the last offset of the batch carrying it
  // (-1 / -1 when there is none).
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // Leader epoch of the last batch (-1 when unknown or empty).
  int32_t last_epoch() const { return last_epoch_; }
  // The open log file (opened again when it was evicted); null with `error`
  // set when it cannot be opened.
  std::shared_ptr<FileHandle> log_file(std::string* error) const { return log_.handle(error); }
  const std::string& log_path() const { return log_.path(); }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  // Aborted transactions whose ABORT marker is in this segment.
  const TxnIndex& txn_index() const { return txn_index_; }
  TxnIndex& txn_index() { return txn_index_; }
  // True when the index files were missing or inconsistent at open.
  bool indexes_need_rebuild() const { return indexes_need_rebuild_; }

  // --- roll decisions ---
  // Whether `offset` can be stored here (relative offset fits in int32).
  bool can_hold_offset(int64_t offset) const;
  bool indexes_full() const { return offset_index_.full() || time_index_.full(); }
  // Kafka's timeWaitedForRoll: incoming batch max timestamp minus the first
  // batch's max timestamp, or now - created when there is no timestamp.
  int64_t time_waited_for_roll(int64_t now_ms, int64_t incoming_max_timestamp) const;

  // --- writing ---
  // What rollback() takes the segment back to: its state before an append.
  struct AppendMark {
    uint64_t size;
    int64_t next_offset;
    int64_t max_timestamp;
    int64_t offset_of_max_timestamp;
    int64_t first_batch_timestamp;
    uint64_t bytes_since_index_entry;
    int32_t last_epoch;
    size_t offset_entries;
    size_t time_entries;
    size_t txn_entries;
  };
  AppendMark mark() const;
  // Appends `batches` (with their final offsets; the indexes are updated from
  // their headers, nothing is parsed) with one pwrite. False on I/O error,
  // and then nothing of it stays: the log bytes and index entries written
  // are cut back and the segment is as before (all or nothing).
  bool append(const protocol::ValidatedBatches& batches, std::string* error);
  // Takes back everything appended since `mark` (log bytes, offset, time and
  // txn index entries): the in-memory state first, so the segment no longer
  // shows any of it whatever happens next, then the files. False when the
  // files could not be cut (rollback_incomplete() is then set).
  bool rollback(const AppendMark& mark);
  // A rollback could not cut its bytes back out of the files (only the
  // in-memory state was restored): the files hold bytes the log must not
  // show, and the owner should take the log offline.
  bool rollback_incomplete() const { return rollback_incomplete_; }
  // fdatasync of the log and the indexes written since their last sync (with
  // `always`, of all of them, e.g. data found after an unclean shutdown).
  bool flush(bool always = false);
  // The descriptors of the files written since their last sync, for another
  // thread to fdatasync while this segment is read (or even deleted) here.
  // `*failed` is set when an earlier sync (at eviction) failed.
  std::vector<std::shared_ptr<FileHandle>> files_to_sync(bool* failed);
  // Called when a newer segment becomes active: adds the final time index entry.
  void on_become_inactive();
  // Removes every batch whose last offset is >= `offset` (the whole batch
  // holding `offset` goes), rebuilding indexes; txn index entries whose
  // marker is at or after `offset` go too. False on I/O error.
  bool truncate_to(int64_t offset);
  // Closes and unlinks the files (open FileHandles stay readable).
  bool remove();

  // --- reading ---
  // Header of the batch starting at `position`, nullopt past the end. The
  // last few headers read are kept (see header_cache_), so that a fetch
  // that starts where the previous one stopped reads them only once.
  std::optional<protocol::BatchHeader> read_header(uint64_t position) const;
  // Reads `len` bytes at `position`. False on short read.
  bool read_bytes(uint64_t position, std::span<uint8_t> out) const;
  // The first batch whose last offset is >= `offset` (index lookup, then a
  // scan of headers); nullopt when this segment has none.
  std::optional<BatchPosition> find_batch(int64_t offset) const;
  // The first batch at or after `start_offset` whose maxTimestamp >= `ts`.
  std::optional<BatchPosition> find_batch_by_timestamp(int64_t ts, int64_t start_offset) const;

  // --- loading (recovery.cc) ---
  // Scans the log from the start: header sanity, the CRC when `verify_crc`,
  // cuts the log at the first bad batch, recomputes next offset / largest
  // timestamp and rewrites the indexes when they differ from the scan.
  SegmentScan recover(bool verify_crc);
  // Trusts the indexes of a closed segment: the next offset is
  // `next_segment_base`, the largest timestamp comes from the time index (or
  // a header scan when it is empty).
  void load_closed(int64_t next_segment_base);

 private:
  Segment() = default;
  // Updates offsets and timestamps for a batch appended or scanned; true when
  // an index entry is due for it.
  bool track_batch(const protocol::BatchHeader& h);
  // Drops the cached headers of batches that reach `position` or beyond
  // (their bytes are about to be cut or written again).
  void forget_headers_from(uint64_t position);

  // Headers read lately, by position (allocated on the first read, so that a
  // segment nobody reads costs a pointer). The bytes of a batch never change
  // while the log holds them; only truncate_to() cuts the log, and only
  // append() writes, always at the end: both drop the entries they reach.
  // Eight entries: a consumer's fetch touches three headers, two of them
  // read by its previous fetch, so a few consumers of one partition share it.
  struct CachedHeader {
    uint64_t position = UINT64_MAX;  // UINT64_MAX: empty
    protocol::BatchHeader header;
  };
  static constexpr size_t kCachedHeaders = 8;
  struct HeaderCache {
    std::array<CachedHeader, kCachedHeaders> entries{};
    size_t next = 0;
  };
  mutable std::unique_ptr<HeaderCache> header_cache_;

  std::string dir_;
  int64_t base_offset_ = 0;
  int64_t next_offset_ = 0;
  uint64_t size_ = 0;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_ = -1;
  int64_t first_batch_timestamp_ = -1;
  int64_t created_ms_ = 0;
  int32_t last_epoch_ = -1;
  uint64_t bytes_since_index_entry_ = 0;
  bool indexes_need_rebuild_ = false;
  bool rollback_incomplete_ = false;
  SegmentOptions options_;
  mutable CachedFile log_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  TxnIndex txn_index_;
};

}  // namespace runnel::storage
