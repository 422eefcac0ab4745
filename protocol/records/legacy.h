// Legacy message sets (magic 0 and 1), for Produce v0-v2 and Fetch v0-v3.
//
// A message set is a sequence of log entries:
//
//   offset      int64
//   size        int32   bytes after this field
//   crc         uint32  CRC-32 (zlib) of magic..end
//   magic       int8    0 or 1
//   attributes  int8    bits 0-2 codec; magic 1: bit 3 LogAppendTime
//   timestamp   int64   magic 1 only
//   key         int32 length (-1 = null) + bytes
//   value       int32 length (-1 = null) + bytes
//
// A compressed "wrapper" message holds a whole inner message set, compressed,
// in its value. The wrapper's offset is the last inner offset; magic-1 inner
// messages carry relative offsets 0..n-1, magic-0 inner messages absolute ones.
//
// Storage only holds v2 batches: produced message sets are up-converted to one
// v2 batch, and fetches by old clients are down-converted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/record_batch.h"
#include "protocol/wire.h"

namespace runnel::protocol {

struct LegacyRecord {
  int64_t offset = 0;      // absolute
  int64_t timestamp = -1;  // -1 for magic 0
  int8_t magic = 0;
  bool log_append_time = false;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
};

struct LegacyMessageSet {
  ErrorCode error = ErrorCode::NONE;
  int8_t magic = -1;                      // of the outer messages
  Compression codec = Compression::none;  // of the wrappers, none when uncompressed
  std::vector<LegacyRecord> records;      // inner messages flattened, in order
};

// Parses a message set of magic 0/1. CRC mismatch or malformed bytes give
// CORRUPT_MESSAGE; mixed magics, nested compression or an empty wrapper give
// INVALID_RECORD; an unknown codec UNSUPPORTED_COMPRESSION_TYPE. Decompressed
// data is bounded by max_uncompressed (per wrapper). A partial trailing entry
// is CORRUPT_MESSAGE unless allow_partial_trailing (then it is ignored).
LegacyMessageSet parse_legacy(std::span<const uint8_t> message_set,
                              size_t max_uncompressed = kDefaultMaxUncompressedBatch,
                              bool allow_partial_trailing = false);

// Up-converts a produced magic 0/1 message set into ONE v2 batch (base offset
// 0, offset deltas 0..n-1, same codec as the wrappers). Magic 0 has no
// timestamps: records get -1 (CreateTime). Magic 1 timestamps are kept (for a
// LogAppendTime wrapper, the wrapper's timestamp).
struct UpConverted {
  ErrorCode error = ErrorCode::NONE;
  Bytes batch;
};
UpConverted up_convert(std::span<const uint8_t> message_set,
                       size_t max_uncompressed = kDefaultMaxUncompressedBatch);

// Down-converts concatenated v2 batches (a partial trailing batch is dropped)
// to an uncompressed message set of magic 0 or 1, one message per record with
// its absolute offset. Control batches are skipped and headers dropped; magic 1
// keeps the timestamp and the timestamp type.
//
// Only the records at or after `from_offset` are written, whole, while the
// message set stays within `max_bytes` (the first one even when larger, with
// `min_one`); conversion stops at the first record that does not fit, so the
// output never grows past the fetch's limit however far a batch expands. At
// most one batch is held decompressed at a time (bounded by max_uncompressed).
struct DownConvertWindow {
  int64_t from_offset = INT64_MIN;
  size_t max_bytes = SIZE_MAX;
  bool min_one = true;
};
struct DownConverted {
  ErrorCode error = ErrorCode::NONE;
  Bytes message_set;
};
DownConverted down_convert(std::span<const uint8_t> batches, int8_t magic,
                           size_t max_uncompressed = kDefaultMaxUncompressedBatch,
                           const DownConvertWindow& window = {});

// Appends one legacy message (CRC computed).
void append_legacy_message(Bytes& out, int8_t magic, int64_t offset, int8_t attributes,
                           int64_t timestamp, std::optional<std::span<const uint8_t>> key,
                           std::optional<std::span<const uint8_t>> value);

// Appends a compressed wrapper message holding `inner` (an uncompressed
// message set) compressed with `codec`.
void append_legacy_wrapper(Bytes& out, int8_t magic, Compression codec, int64_t offset,
                           int64_t timestamp, std::span<const uint8_t> inner);

}  // namespace runnel::protocol
