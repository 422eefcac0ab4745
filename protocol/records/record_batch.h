// Record batch v2: decoding, validation, building and in-place rewrites.
//
// After the 61-byte header (see batch_header.h) comes the records section,
// compressed as a whole when attributes bits 0-2 name a codec. Each record:
//
//   length          varint   bytes after this field
//   attributes      int8     unused (0)
//   timestampDelta  varlong  from baseTimestamp
//   offsetDelta     varint   from baseOffset
//   keyLength       varint   -1 = null
//   key             bytes
//   valueLength     varint   -1 = null
//   value           bytes
//   headerCount     varint
//   headers         headerKeyLength varint, key (UTF-8), headerValueLength
//                   varint (-1 = null), value
//
// Control batches (attributes bit 5) hold one record whose key is
// (int16 version, int16 type: 0 = ABORT, 1 = COMMIT) and whose value is the
// end-transaction marker (int16 version, int32 coordinatorEpoch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/compression.h"
#include "protocol/wire.h"

namespace runnel::protocol {

// Default bound on the uncompressed size of one batch's records section.
inline constexpr size_t kDefaultMaxUncompressedBatch = size_t{64} << 20;

// A decoded record. The spans point into the batch (uncompressed) or into the
// RecordBatchView's decompressed buffer.
struct RecordHeader {
  std::string_view key;
  std::optional<std::span<const uint8_t>> value;
};

struct Record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::span<const uint8_t>> key;
  std::optional<std::span<const uint8_t>> value;
  std::vector<RecordHeader> headers;
};

// Reads the record at the reader's position; false (and a sticky reader
// error) when the bytes are not one well-formed record.
bool read_record(Reader& r, Record& out);

// A batch opened for reading. Owns the decompressed records when the batch
// is compressed; otherwise borrows the caller's bytes (which must outlive it).
class RecordBatchView {
 public:
  // Checks the size, magic 2 and batchLength (not the CRC: see
  // validate_batch), and decompresses with at most `max_uncompressed` bytes.
  // On failure returns nullopt and, if `error` is set, the reason.
  static std::optional<RecordBatchView> open(std::span<const uint8_t> batch,
                                             size_t max_uncompressed = kDefaultMaxUncompressedBatch,
                                             ErrorCode* error = nullptr);
  // The same with the batch's header already parsed from `batch`.
  static std::optional<RecordBatchView> open(std::span<const uint8_t> batch,
                                             const BatchHeader& header,
                                             size_t max_uncompressed = kDefaultMaxUncompressedBatch,
                                             ErrorCode* error = nullptr);

  const BatchHeader& header() const { return header_; }
  // The records section, uncompressed.
  std::span<const uint8_t> records_section() const { return records_; }

  // Iterates the records in order.
  class Cursor {
   public:
    explicit Cursor(std::span<const uint8_t> records, int32_t count)
        : reader_(records), left_(count) {}
    // Reads the next record into `out`; false at the end or on a malformed
    // record (then ok() is false).
    bool next(Record& out);
    bool ok() const { return ok_; }
    // True when exactly recordCount records were read and every byte used.
    bool finished_exactly() const { return ok_ && left_ == 0 && reader_.done(); }

   private:
    Reader reader_;
    int32_t left_;
    bool ok_ = true;
  };
  Cursor cursor() const { return Cursor(records_, header_.record_count); }

  // All records; nullopt unless the section holds exactly recordCount
  // well-formed records.
  std::optional<std::vector<Record>> records() const;

 private:
  BatchHeader header_;
  Bytes owned_;
  std::span<const uint8_t> records_;
};

struct ValidateOptions {
  size_t max_uncompressed = kDefaultMaxUncompressedBatch;
  // Control batches come only from the broker itself (transaction markers).
  bool allow_control = false;
};

// Validates one produced v2 batch (exactly the bytes of one batch):
//   CORRUPT_MESSAGE               short, batchLength inconsistent, CRC mismatch,
//                                 records not parseable as exactly recordCount
//                                 records, or a corrupt compressed stream
//   INVALID_RECORD                magic != 2, recordCount < 1, lastOffsetDelta !=
//                                 recordCount - 1, offset deltas not 0..n-1,
//                                 control batch not allowed, records larger than
//                                 the bound once decompressed
//   UNSUPPORTED_COMPRESSION_TYPE  codec 5..7
// Uncompressed batches are walked in place without allocating.
ErrorCode validate_batch(std::span<const uint8_t> batch, const ValidateOptions& options = {});
// The same, handing back the header it parsed (valid when NONE is returned), so
// that nothing after validation parses it again (validated_batches.h).
ErrorCode validate_batch(std::span<const uint8_t> batch, const ValidateOptions& options,
                         BatchHeader* header);

// Splits concatenated log entries (baseOffset int64 + length int32 + length
// bytes; the framing of v2 batches and of legacy messages alike).
struct SplitResult {
  std::vector<std::span<const uint8_t>> batches;
  ErrorCode error = ErrorCode::NONE;
  size_t trailing_bytes = 0;  // bytes of an incomplete last entry
};
// With allow_partial_trailing (Fetch responses may end in a cut batch) an
// incomplete last entry is reported in trailing_bytes; otherwise (Produce) it
// is CORRUPT_MESSAGE. An entry whose length is impossibly small is always
// CORRUPT_MESSAGE. An empty input gives no batches and NONE.
SplitResult split_batches(std::span<const uint8_t> records, bool allow_partial_trailing = false);

// Input of the builder.
struct HeaderInput {
  std::string key;
  std::optional<Bytes> value;
};

class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(Compression codec = Compression::none) : codec_(codec) {}

  RecordBatchBuilder& base_offset(int64_t v) {
    base_offset_ = v;
    return *this;
  }
  RecordBatchBuilder& partition_leader_epoch(int32_t v) {
    leader_epoch_ = v;
    return *this;
  }
  RecordBatchBuilder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = id;
    producer_epoch_ = epoch;
    base_sequence_ = base_sequence;
    return *this;
  }
  RecordBatchBuilder& transactional(bool v) {
    transactional_ = v;
    return *this;
  }
  RecordBatchBuilder& control(bool v) {
    control_ = v;
    return *this;
  }
  // LogAppendTime with the given time; -1 keeps CreateTime.
  RecordBatchBuilder& log_append_time(int64_t v) {
    log_append_time_ = v;
    return *this;
  }

  // Appends a record; offset_delta defaults to the record's index.
  RecordBatchBuilder& add(int64_t timestamp, std::optional<std::span<const uint8_t>> key,
                          std::optional<std::span<const uint8_t>> value,
                          std::span<const HeaderInput> headers = {},
                          std::optional<int32_t> offset_delta = std::nullopt);
  // A control record (COMMIT = 1, ABORT = 0) with its marker value.
  RecordBatchBuilder& add_control(int64_t timestamp, int16_t control_type,
                                  int32_t coordinator_epoch);

  size_t record_count() const { return count_; }
  // Encodes the batch with the CRC computed.
  Bytes build() const;

 private:
  Compression codec_;
  int64_t base_offset_ = 0;
  int32_t leader_epoch_ = -1;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  bool transactional_ = false;
  bool control_ = false;
  int64_t log_append_time_ = -1;

  int64_t base_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
  int32_t last_offset_delta_ = -1;
  size_t count_ = 0;
  Bytes body_;  // uncompressed records section (timestamp deltas need base_timestamp_)
};

// Control record contents.
struct ControlRecord {
  int16_t type = 0;  // 0 = ABORT, 1 = COMMIT
  int32_t coordinator_epoch = 0;
};
std::optional<ControlRecord> parse_control_record(const Record& record);

// Marks the batch LogAppendTime with maxTimestamp = now_ms and recomputes the
// CRC, in place. False when `batch` is too short to be a v2 batch.
bool rewrite_for_log_append_time(std::span<uint8_t> batch, int64_t now_ms);

// Recomputes and stores the CRC of a v2 batch in place.
void update_batch_crc(std::span<uint8_t> batch);
// CRC-32C of bytes 21..end.
uint32_t compute_batch_crc(std::span<const uint8_t> batch);

}  // namespace runnel::protocol
