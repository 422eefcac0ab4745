// Idempotent-producer and transaction state of one partition, as Kafka's
// ProducerStateManager / ProducerAppendInfo keep it.
//
// For every producer id seen in the partition: its epoch, the metadata of its
// last 5 batches (for duplicate detection), its coordinator epoch, the
// timestamp of its last append, and the first offset of its open transaction
// (-1 when none). Appends are checked and applied on copies (an Update) and
// the copies are committed only once the batches are written.
//
// Snapshot files `<20-digit offset>.snapshot` in the partition directory hold
// the state as of that offset (every batch below it applied). Layout, all
// big-endian:
//
//   0  magic            4 bytes  "RNPS"
//   4  version          int16    (1)
//   6  crc              uint32   CRC-32C of every byte after this field
//  10  offset           int64    equals the file name's offset
//  18  producer count   int32
//  22  producers...
//
// Each producer:
//   producerId int64, epoch int16, coordinatorEpoch int32, lastTimestamp
//   int64, currentTxnFirstOffset int64 (-1 when none), batch count int8 (0..5),
//   then per batch (oldest first): firstSeq int32, lastSeq int32, lastOffset
//   int64, offsetDelta int32, timestamp int64.
//
// Written atomically (temp file, fsync, rename). A snapshot that is short,
// has a bad CRC or trailing bytes is ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"

namespace runnel::storage {

struct BatchMetadata {
  int32_t first_seq = -1;
  int32_t last_seq = -1;
  int64_t last_offset = -1;
  int32_t offset_delta = 0;
  int64_t timestamp = -1;
  int64_t first_offset() const { return last_offset - offset_delta; }
  bool operator==(const BatchMetadata&) const = default;
};

struct ProducerStateEntry {
  static constexpr size_t kBatchesToRetain = 5;  // Kafka's NUM_BATCHES_TO_RETAIN

  int64_t producer_id = -1;
  int16_t epoch = -1;  // -1: no epoch known (Kafka's NO_PRODUCER_EPOCH)
  std::deque<BatchMetadata> batches;
  int32_t coordinator_epoch = -1;
  int64_t last_timestamp = -1;
  int64_t current_txn_first_offset = -1;

  int32_t last_seq() const { return batches.empty() ? -1 : batches.back().last_seq; }
  // The retained batch with this epoch and sequence range, if any.
  const BatchMetadata* find_duplicate(int16_t batch_epoch, int32_t first_seq,
                                      int32_t last_seq) const;
  bool operator==(const ProducerStateEntry&) const = default;
};

// A transaction ended by a marker (only for transactions that had data).
struct CompletedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;  // the marker's offset
  bool aborted = false;
};

// Who is appending: sequence and duplicate checks apply only to clients;
// replay (recovery) never fails.
enum class AppendOrigin { client, coordinator, replay };

// Sequence arithmetic with Kafka's wrap at INT32_MAX.
int32_t increment_sequence(int32_t sequence, int32_t increment);
int32_t decrement_sequence(int32_t sequence, int32_t decrement);

class ProducerStateManager {
 public:
  // Changes of one append, made on copies of the entries it touches.
  struct Update {
    struct Pending {
      ProducerStateEntry entry;
      int16_t committed_epoch = -1;  // the epoch before this append
    };
    std::map<int64_t, Pending> producers;
  };

  const ProducerStateEntry* get(int64_t producer_id) const;
  const std::map<int64_t, ProducerStateEntry>& entries() const { return producers_; }
  size_t size() const { return producers_.size(); }
  void clear();

  // The retained batch `h` duplicates (same epoch and sequence range), from
  // the committed state; nullptr when none.
  const BatchMetadata* find_duplicate(const protocol::BatchHeader& h) const;
  // Checks and applies a data batch (with its final offsets; `timestamp` is
  // its maxTimestamp as stored). Errors: INVALID_PRODUCER_EPOCH,
  // OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_TXN_STATE. Never fails for replay.
  protocol::ErrorCode append_data(Update& u, const protocol::BatchHeader& h, int64_t timestamp,
                                  AppendOrigin origin) const;
  // Checks and applies a COMMIT / ABORT marker at `offset`. Errors:
  // INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED. `completed` is
  // set when the producer had an open transaction.
  protocol::ErrorCode append_marker(Update& u, int64_t producer_id, int16_t epoch,
                                    int32_t coordinator_epoch, bool commit, int64_t offset,
                                    int64_t timestamp, AppendOrigin origin,
                                    std::optional<CompletedTxn>* completed) const;
  // Makes the updates the committed state.
  void commit(Update&& u);

  // First offset of the earliest open transaction; -1 when none.
  int64_t first_unstable_offset() const;
  // Kafka's lastStableOffset(completedTxn): the first offset of the earliest
  // open transaction of another producer, else the marker's offset + 1.
  int64_t last_stable_offset_after(const CompletedTxn& txn) const;
  // The same as it will be once `u` is committed (for the txn index entry of an
  // append that is not committed yet).
  int64_t last_stable_offset_after(const CompletedTxn& txn, const Update& u) const;

  // Removes producers without an open transaction whose last append is at
  // least `expiration_ms` old (Kafka's isProducerExpired). Returns how many.
  size_t expire(int64_t now_ms, int64_t expiration_ms);

  // --- snapshots ---
  static std::string snapshot_file_name(int64_t offset);
  // Offsets of the `<offset>.snapshot` files in `dir`, ascending.
  static std::vector<int64_t> list_snapshots(const std::string& dir);
  std::string encode_snapshot(int64_t offset) const;
  // Replaces the state with the snapshot's; false (state untouched) when the
  // bytes are not a valid snapshot for `offset`.
  bool decode_snapshot(const std::string& bytes, int64_t offset);
  // Writes `<offset>.snapshot` atomically, unless a file with the same bytes is already there.
  bool write_snapshot(const std::string& dir, int64_t offset, std::string* error) const;
  bool load_snapshot(const std::string& dir, int64_t offset);

 private:
  Update::Pending& pending_for(Update& u, int64_t producer_id) const;
  void rebuild_ongoing();

  std::map<int64_t, ProducerStateEntry> producers_;
  // Open transactions: first offset -> producer id.
  std::map<int64_t, int64_t> ongoing_;
};

}  // namespace runnel::storage
