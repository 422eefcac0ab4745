// The aborted-transaction index of one segment: `<base>.txnindex`, Kafka's
// layout. One entry per aborted transaction whose ABORT marker is in the
// segment, in marker order, 34 bytes each, big-endian:
//
//   0  version           int16   (0)
//   2  producerId        int64
//  10  firstOffset       int64   first offset of the transaction
//  18  lastOffset        int64   offset of the ABORT marker
//  26  lastStableOffset  int64   the last stable offset once this transaction
//                                was removed (the first offset of the earliest
//                                other open transaction, else lastOffset + 1)
//
// The file is created with the first entry. At open, a torn tail (a size that
// is not a multiple of 34) and everything from the first entry that is not in
// marker order are cut. The log is the truth: recovery replays batches and
// rewrites the entries of the replayed part (see partition_log.h). The entries
// are kept in memory; the descriptor comes from the file cache (file_cache.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/file_cache.h"

namespace runnel::storage {

// What a read_committed fetch is told about one aborted transaction.
struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  bool operator==(const AbortedTxn&) const = default;
};

struct TxnIndexEntry {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t last_stable_offset = -1;
  bool operator==(const TxnIndexEntry&) const = default;
};

class TxnIndex {
 public:
  static constexpr size_t kEntrySize = 34;

  TxnIndex() = default;
  ~TxnIndex();
  TxnIndex(const TxnIndex&) = delete;
  TxnIndex& operator=(const TxnIndex&) = delete;

  // Loads `path` when it exists (nothing is created until the first entry).
  bool open(const std::string& path, std::string* error, FileCache* cache = nullptr);
  const std::string& path() const { return file_.path(); }
  const std::vector<TxnIndexEntry>& entries() const { return entries_; }

  // Appends one entry (creating the file if needed). False on I/O error or
  // when the entry's lastOffset is not above the last one's.
  bool append(const TxnIndexEntry& e);
  // Drops the entries whose lastOffset is >= `offset`.
  bool truncate_to(int64_t offset);
  // Keeps the first `n` entries and cuts the file to them, also when a failed
  // append left part of an entry behind (memory first: the entries are cut
  // even when the file cannot be).
  bool truncate_to_entries(size_t n);
  // fdatasync when written since the last flush (`always`: in any case, when the file exists).
  bool flush(bool always = false);
  CachedFile& file() { return file_; }
  // Drops the descriptor (without syncing).
  void close();
  // Closes and unlinks the file.
  bool remove();

  // Kafka's collectAbortedTxns: adds every entry with lastOffset >=
  // `fetch_offset` and firstOffset < `upper_bound_offset` to `out`. True when
  // the search is complete (an entry's lastStableOffset >= the upper bound:
  // no later segment can hold a transaction that started below it).
  bool collect(int64_t fetch_offset, int64_t upper_bound_offset,
               std::vector<AbortedTxn>* out) const;

 private:
  bool ensure_created();
  CachedFile file_;
  bool exists_ = false;        // the file exists (it is created with the first entry)
  bool tail_unknown_ = false;  // a write failed part way: the file may be longer
  std::vector<TxnIndexEntry> entries_;
};

}  // namespace runnel::storage
