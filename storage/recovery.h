// Start-up recovery of a partition directory.
//
// At open, every `<base>.log` in the directory is loaded in base-offset order:
//  - an index (`.index` / `.timeindex`) that is missing, has a size that is
//    not a multiple of its entry size, or disagrees with the log (entries not
//    increasing, pointing past the end of the log) makes its segment be
//    scanned and both indexes rebuilt;
//  - the LAST segment is always scanned batch by batch; the CRC-32C of each
//    batch is checked unless the previous shutdown was clean (then only the
//    header sanity is checked); after an unclean shutdown the earlier
//    segments above the recovery point (not yet known to be on disk) are
//    scanned with CRC checks too;
//  - a scan checks each batch header (magic 2, batchLength >= 49, the batch
//    fits in the file, offsets increase) and, when asked, the CRC (bytes 21
//    to the end of the batch). The log is cut (ftruncate) at the first torn or
//    corrupt batch (a read error is not one: it fails the load, nothing is
//    cut); if that happens in a segment that is not the last, every
//    later segment is deleted too.
// Stray index files (`.index`, `.timeindex`, `.txnindex`) without a `.log`
// are deleted. Producer state and the `.txnindex` entries are rebuilt after
// this by PartitionLog (snapshot + replay, see partition_log.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace runnel::storage {

class Segment;
struct SegmentOptions;
class Clock;

// What the scan of one segment found.
struct SegmentScan {
  uint64_t valid_bytes = 0;      // log size after the scan
  uint64_t bytes_truncated = 0;  // bytes cut at the first bad batch
  bool corrupt = false;          // a bad batch was found (and cut)
  bool indexes_rebuilt = false;  // index files were rewritten
  uint64_t batches = 0;          // valid batches seen
  // Non-empty when the log could not be opened or read (stat or read failed): the scan stopped
  // there, nothing was cut, and the segment must not be used.
  std::string error;
};

// What the recovery of a partition found.
struct RecoveryResult {
  int64_t last_valid_offset = -1;  // last offset kept in the log; -1 when empty
  int64_t log_end_offset = 0;
  uint64_t bytes_truncated = 0;  // total cut from logs (not counting deleted segments)
  uint32_t segments_loaded = 0;
  uint32_t segments_scanned = 0;
  uint32_t segments_deleted = 0;  // segments after a corrupt one, removed
  uint32_t indexes_rebuilt = 0;   // segments whose indexes were rewritten
  bool crc_checked = false;       // some segment was scanned with CRC checks
  // The producer state came from what the last clean close left (no snapshot file read, no
  // batch replayed). Set by PartitionLog::open.
  bool producer_state_kept = false;
  std::string summary() const;
};

// Loads all segments of `dir` (creating one at `initial_base_offset` when
// there is none). On success `segments` is non-empty and sorted. After an
// unclean shutdown, every segment that holds offsets at or above
// `recovery_point` (everything below it is known to be on disk) is scanned
// with CRC checks, not only the last one.
bool load_segments(const std::string& dir, const SegmentOptions& options, bool clean_shutdown,
                   int64_t initial_base_offset, const Clock& clock,
                   std::vector<std::unique_ptr<Segment>>* segments, RecoveryResult* result,
                   std::string* error, int64_t recovery_point = INT64_MAX);

}  // namespace runnel::storage
