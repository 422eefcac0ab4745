// The fixed 61-byte header of a record batch (magic 2). Byte layout, all big-endian:
//
//   0  baseOffset            int64
//   8  batchLength           int32   bytes after this field (total size - 12)
//  12  partitionLeaderEpoch  int32
//  16  magic                 int8    (2)
//  17  crc                   uint32  CRC-32C of bytes 21..end
//  21  attributes            int16   bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
//  23  lastOffsetDelta       int32
//  27  baseTimestamp         int64
//  35  maxTimestamp          int64
//  43  producerId            int64
//  51  producerEpoch         int16
//  53  baseSequence          int32
//  57  recordCount           int32
//  61  records...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace runnel::protocol {

enum class Compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

struct BatchHeader {
  static constexpr size_t kSize = 61;
  static constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength
  static constexpr size_t kCrcOffset = 17;
  static constexpr size_t kAttributesOffset = 21;

  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  Compression compression() const { return static_cast<Compression>(attributes & 0x7); }
  bool log_append_time() const { return (attributes & 0x8) != 0; }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // A record's timestamp, base + delta. Both come from the client, so the sum may
  // pass INT64_MAX; it wraps like Kafka's long arithmetic instead of being UB.
  int64_t record_timestamp(int64_t timestamp_delta) const {
    return static_cast<int64_t>(static_cast<uint64_t>(base_timestamp) +
                                static_cast<uint64_t>(timestamp_delta));
  }
  // Whole batch size on disk / on the wire.
  size_t total_size() const { return kLogOverhead + static_cast<size_t>(batch_length); }

  // Reads the header fields (no validation beyond the length of `data`).
  static std::optional<BatchHeader> parse(std::span<const uint8_t> data);
  // Writes the header into the first kSize bytes of `out`.
  void write(std::span<uint8_t> out) const;
};

// Rewrites baseOffset in place (it is outside the CRC).
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
// Rewrites partitionLeaderEpoch in place (outside the CRC).
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

}  // namespace runnel::protocol
