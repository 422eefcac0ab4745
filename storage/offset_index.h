// The sparse offset index of one segment (`<base offset>.index`).
//
// File layout: a plain array of 8-byte entries, no header, no checksum
// (it is rebuilt from the log whenever it is missing or looks wrong):
//
//   0  relative_offset  uint32 BE   offset - segment base offset
//   4  position         uint32 BE   byte position of a batch in the .log
//
// An entry is written for a batch once more than `index.interval.bytes` of
// log have been appended since the previous entry; it maps the batch's LAST
// offset to the position where that batch starts (as Kafka does). Entries are
// strictly increasing in both fields. The file holds exactly
// entries * 8 bytes (it is not preallocated); it may hold at most
// `segment.index.bytes / 8` entries, after which the segment rolls.
// All entries are also kept in memory, so the file is needed only to be
// written, cut or flushed; its descriptor comes from the file cache
// (file_cache.h) when it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/file_cache.h"

namespace runnel::storage {

struct OffsetIndexEntry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
  bool operator==(const OffsetIndexEntry&) const = default;
};

class OffsetIndex {
 public:
  static constexpr size_t kEntrySize = 8;

  OffsetIndex() = default;
  ~OffsetIndex();
  OffsetIndex(const OffsetIndex&) = delete;
  OffsetIndex& operator=(const OffsetIndex&) = delete;

  // Opens (creating if absent) the file and loads its entries. `loaded_ok`
  // is false when the file was absent or its size is not a multiple of 8;
  // such an index must be rebuilt. Returns false on an I/O error.
  bool open(const std::string& path, uint32_t max_index_bytes, bool* loaded_ok, std::string* error,
            FileCache* cache = nullptr);
  // Drops the descriptor (without syncing: the file is about to be deleted).
  void close();

  // Checks that entries increase and point inside a log of `log_size` bytes.
  bool sane(uint64_t log_size) const;

  // Largest entry whose relative offset is <= `relative_offset`; {0, 0} when
  // there is none.
  OffsetIndexEntry lookup(uint32_t relative_offset) const;
  // Largest entry whose position is <= `position`; {0, 0} when none.
  OffsetIndexEntry lookup_position(uint32_t position) const;

  bool full() const { return entries_.size() >= max_entries_; }
  size_t size() const { return entries_.size(); }
  const std::vector<OffsetIndexEntry>& entries() const { return entries_; }
  std::optional<OffsetIndexEntry> last() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.back();
  }

  // Appends an entry (ignored when not increasing or full). False on I/O error.
  bool append(uint32_t relative_offset, uint32_t position);
  // Drops entries whose position is >= `position`. False on I/O error.
  bool truncate_to_position(uint32_t position);
  // Replaces the whole content (used by recovery). False on I/O error.
  bool rewrite(std::vector<OffsetIndexEntry> entries);
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
  std::vector<OffsetIndexEntry> entries_;
};

}  // namespace runnel::storage
