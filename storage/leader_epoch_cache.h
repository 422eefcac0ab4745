// The leader epoch cache of one partition (Kafka's LeaderEpochFileCache): the first offset
// written at each leader epoch, so that OffsetForLeaderEpoch can tell where an epoch ended.
// It is kept in the partition's directory as `leader-epoch-checkpoint`, in Kafka's layout,
// text:
//
//   0                          version
//   <count>                    number of entries that follow
//   <epoch> <start offset>     one line per epoch, both ascending
//
// The file is written atomically (temp file, fsync, rename, fsync of the directory) whenever
// the entries change. It only saves reading the log: every batch carries its
// partitionLeaderEpoch, so a missing or malformed file is rebuilt from the batches (the
// owner, partition_log.h, does that at open).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::storage {

struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
inline constexpr int32_t kUndefinedEpoch = -1;
inline constexpr int64_t kUndefinedEpochOffset = -1;

class LeaderEpochCache {
 public:
  static constexpr std::string_view kFileName = "leader-epoch-checkpoint";

  LeaderEpochCache() = default;
  explicit LeaderEpochCache(std::vector<EpochEntry> entries) : entries_(std::move(entries)) {}

  const std::vector<EpochEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  // The newest epoch; nullopt when there is none.
  std::optional<int32_t> latest_epoch() const;

  // Records that `epoch` starts at `start_offset` (Kafka's assign): nothing when the newest
  // entry already is `epoch` at or below that offset; otherwise every entry at `epoch` or
  // above, or starting at or after `start_offset`, goes first. True when the entries changed.
  // Negative values are ignored (a batch of an old message format has no epoch).
  bool assign(int32_t epoch, int64_t start_offset);
  // Removes the entries that start at or after `end_offset` (the log was cut there). True
  // when the entries changed.
  bool truncate_from_end(int64_t end_offset);
  // The log now starts at `start_offset`: the entries at or below it are replaced by one, the
  // newest of them, starting at `start_offset` (Kafka's truncateFromStart). True when the
  // entries changed.
  bool truncate_from_start(int64_t start_offset);

  // Kafka's endOffsetFor: the largest epoch <= `requested` with the end offset of that epoch
  // (the start offset of the next larger epoch, or `log_end_offset` for the newest epoch).
  // A requested epoch below every entry answers itself with the first entry's start offset;
  // UNDEFINED_EPOCH, a requested epoch above the newest and an empty cache answer
  // {kUndefinedEpoch, kUndefinedEpochOffset}.
  EpochEntry end_offset_for(int32_t requested, int64_t log_end_offset) const;

  static std::string encode(const std::vector<EpochEntry>& entries);
  // Nullopt with `error` set when `text` is not a checkpoint of version 0 with epochs and
  // offsets that are not negative and ascend.
  static std::optional<std::vector<EpochEntry>> decode(std::string_view text, std::string* error);
  // Reads the file in `dir`: nullopt when it is absent (`*present` false) or cannot be read or
  // decoded (`error` set).
  static std::optional<std::vector<EpochEntry>> read(const std::string& dir, bool* present,
                                                     std::string* error);
  // Writes the entries to the file in `dir`, atomically. False with `error` set on failure
  // (the file is then as it was).
  bool write(const std::string& dir, std::string* error) const;

 private:
  std::vector<EpochEntry> entries_;  // epochs and start offsets both ascending
};

}  // namespace runnel::storage
