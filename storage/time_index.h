// The time index of one segment (`<base offset>.timeindex`).
//
// File layout: a plain array of 12-byte entries, no header, no checksum
// (rebuilt from the log whenever it is missing or looks wrong):
//
//   0  timestamp        int64 BE    largest batch maxTimestamp seen so far
//   8  relative_offset  uint32 BE   last offset of the batch that carried it,
//                                   minus the segment base offset
//
// Entries are added alongside offset index entries (every
// `index.interval.bytes` of log) and only when the largest timestamp has grown
// since the last entry, so timestamps strictly increase and offsets never
// decrease. When a segment stops being the active one, a final entry with the
// segment's largest timestamp is added, so that a closed segment's largest
// timestamp is known without reading its log. At most
// `segment.index.bytes / 12` entries. All entries are kept in memory; the
// file's descriptor comes from the file cache (file_cache.h) when needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/file_cache.h"

namespace runnel::storage {

struct TimeIndexEntry {
  int64_t timestamp = -1;
  uint32_t relative_offset = 0;
  bool operator==(const TimeIndexEntry&) const = default;
};

class TimeIndex {
 public:
  static constexpr size_t kEntrySize = 12;

  TimeIndex() = default;
  ~TimeIndex();
  TimeIndex(const TimeIndex&) = delete;
  TimeIndex& operator=(const TimeIndex&) = delete;

  // As OffsetIndex::open: `loaded_ok` false means "rebuild me".
  bool open(const std::string& path, uint32_t max_index_bytes, bool* loaded_ok, std::string* error,
            FileCache* cache = nullptr);
  // Drops the descriptor (without syncing: the file is about to be deleted).
  void close();

  // Entries increase and relative offsets are below `max_relative_offset`
  // (exclusive; the segment's next offset minus its base).
  bool sane(uint64_t max_relative_offset) const;

  // Largest entry whose timestamp is <= `timestamp`; nullopt when none.
  std::optional<TimeIndexEntry> lookup(int64_t timestamp) const;

  bool full() const { return entries_.size() >= max_entries_; }
  size_t size() const { return entries_.size(); }
  const std::vector<TimeIndexEntry>& entries() const { return entries_; }
  std::optional<TimeIndexEntry> last() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.back();
  }

  // Appends when `timestamp` is larger than the last entry's (and, unless
  // `even_if_full`, the index is not full). False on I/O error.
  bool maybe_append(int64_t timestamp, uint32_t relative_offset, bool even_if_full = false);
  // Drops entries whose relative offset is >= `relative_offset`.
  bool truncate_to_offset(uint32_t relative_offset);
  bool rewrite(std::vector<TimeIndexEntry> entries);
  // Keeps the first `n` entries (an append that failed takes its entries back). False on I/O
  // error.
  bool truncate_to_entries(size_t n);
  // fdatasync when written since the last flush (`always`: in any case).
  bool flush(bool always = false);
  CachedFile& file() { return file_; }

 private:
  CachedFile file_;
  // A write failed part way: the file may be longer than the entries.
  bool tail_unknown_ = false;
  size_t max_entries_ = 0;
  std::vector<TimeIndexEntry> entries_;
};

}  // namespace runnel::storage
