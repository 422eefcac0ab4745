// Compression codecs of Kafka record batches (attributes bits 0-2).
//
//   gzip    RFC 1952 gzip via zlib; decompression also accepts zlib streams and
//           concatenated gzip members.
//   snappy  compress: xerial framing, as the Java client and librdkafka write:
//             82 53 4e 41 50 50 59 00 | int32 version | int32 compatible |
//             blocks of (int32 BE compressed length + raw snappy block)
//           decompress: xerial framing or a raw snappy block.
//   lz4     the LZ4 frame format. The frame header checksum is recomputed before
//           decoding, so frames from old Kafka (which hashed the magic number too)
//           are accepted; block and content checksums are still verified.
//   zstd    zstd frames; streaming decompression, so frames without a content
//           size work.
//
// Every decompression takes `max_out`: producing more than that many bytes is an
// error (kTooLarge), and output memory only grows as real output is produced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/records/batch_header.h"
#include "protocol/wire.h"

namespace runnel::protocol {

enum class CodecStatus : uint8_t {
  kOk = 0,
  kUnsupported,  // codec number not known (5, 6, 7)
  kCorrupt,      // input is not a valid stream for the codec
  kTooLarge,     // output would exceed max_out
};

struct Decompressed {
  Bytes data;
  CodecStatus status = CodecStatus::kOk;
  bool ok() const { return status == CodecStatus::kOk; }
};

// True for none, gzip, snappy, lz4 and zstd.
bool is_known_compression(int codec);

// Compresses `in`. Compression::none returns a copy. An unknown codec returns
// an empty result (callers check is_known_compression first).
Bytes compress(Compression codec, std::span<const uint8_t> in);

// Decompresses `in`, producing at most `max_out` bytes.
Decompressed decompress(Compression codec, std::span<const uint8_t> in, size_t max_out);

struct DecompressedView {
  std::span<const uint8_t> data;  // valid until `scratch` is used again
  CodecStatus status = CodecStatus::kOk;
  bool ok() const { return status == CodecStatus::kOk; }
};

// As decompress(), into `scratch`, whose memory is kept from call to call:
// its size only grows (the output is its first data.size() bytes), so a
// caller that decompresses batch after batch (Produce validation) allocates
// and zero-fills only when a batch is larger than every earlier one.
DecompressedView decompress_reusing(Compression codec, std::span<const uint8_t> in, size_t max_out,
                                    Bytes& scratch);

// XXH32 (used by the LZ4 frame format), exposed for tests.
uint32_t xxh32(const void* data, size_t len, uint32_t seed);

}  // namespace runnel::protocol
