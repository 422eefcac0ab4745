// The batches of one append, each checked and its header parsed once.
//
// A Produce request's batches are validated by the handler (validate_batch,
// which hands back the header it parsed); a coordinator's own batches and an
// up-converted legacy message set are only framed (frame()). Either way the
// result is this value, and every later step reads it instead of the bytes:
// the transaction check, the producer-state checks, the offsets an append
// takes, the segment's roll decision and its indexes. An append rewrites a
// batch's baseOffset, partitionLeaderEpoch and (LogAppendTime) attributes,
// maxTimestamp and CRC in the bytes and in `header` together
// (assign_offset()), so the two never disagree.
//
// The bytes are not owned: they are the request frame (appended in place) or
// a buffer of the caller, which must outlive the value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"

namespace runnel::protocol {

struct ValidatedBatch {
  std::span<uint8_t> bytes;  // the whole batch, header included
  BatchHeader header;        // as parsed from `bytes`

  // Offsets the batch takes: lastOffsetDelta + 1.
  int64_t offset_count() const { return int64_t{header.last_offset_delta} + 1; }
  // Writes the broker's fields into the bytes and the header: baseOffset,
  // partitionLeaderEpoch (both outside the CRC) and, with `log_append_time_ms`
  // (a LogAppendTime topic), the timestamp type bit and maxTimestamp,
  // recomputing the CRC.
  void assign_offset(int64_t base_offset, int32_t leader_epoch,
                     std::optional<int64_t> log_append_time_ms);
};

class ValidatedBatches {
 public:
  // Splits `bytes` into batches and parses each header, checking only the
  // framing: magic 2, a batchLength that holds the header and fits in what
  // is left, lastOffsetDelta >= 0. CORRUPT_MESSAGE (and nothing) otherwise,
  // or when `bytes` is empty. For batches the broker built itself (no CRC or
  // record check: a Produce request's batches are checked by
  // validate_batch and added one by one).
  static ValidatedBatches frame(std::span<uint8_t> bytes, ErrorCode* error);

  // Adds the next batch with the header validation parsed from it. The batch
  // must start where the previous one ended (the batches are written with one
  // write); false, and nothing added, when it does not.
  bool add(std::span<uint8_t> batch, const BatchHeader& header);

  // All batches, back to back.
  std::span<uint8_t> bytes() const { return bytes_; }
  std::span<ValidatedBatch> batches() { return batches_; }
  std::span<const ValidatedBatch> batches() const { return batches_; }
  size_t size() const { return batches_.size(); }
  bool empty() const { return batches_.empty(); }

  // Offsets all batches take (the sum of their lastOffsetDelta + 1).
  int64_t offset_count() const { return offset_count_; }
  // Records announced by the headers (recordCount, negative ones as 0).
  uint64_t record_count() const { return record_count_; }
  // The largest maxTimestamp of the headers (-1 when none is larger).
  int64_t max_timestamp() const { return max_timestamp_; }

 private:
  std::span<uint8_t> bytes_;
  std::vector<ValidatedBatch> batches_;
  int64_t offset_count_ = 0;
  uint64_t record_count_ = 0;
  int64_t max_timestamp_ = -1;
};

}  // namespace runnel::protocol
