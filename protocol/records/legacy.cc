#include "protocol/records/legacy.h"

#include <zlib.h>

#include "protocol/records/compression.h"

namespace runnel::protocol {

namespace {

constexpr int8_t kCodecMask = 0x07;
constexpr int8_t kLogAppendTimeBit = 0x08;
// crc + magic + attributes + key length + value length
constexpr int32_t kMinMessageSize = 4 + 1 + 1 + 4 + 4;

struct RawMessage {
  int64_t offset = 0;
  int8_t magic = 0;
  int8_t attributes = 0;
  int64_t timestamp = -1;
  std::optional<std::span<const uint8_t>> key;
  std::optional<std::span<const uint8_t>> value;
};

std::optional<std::span<const uint8_t>> read_nullable(Reader& r) {
  int32_t n = r.i32();
  if (!r.ok() || n == -1) return std::nullopt;
  if (n < -1 || static_cast<size_t>(n) > r.remaining()) {
    r.fail("bad length");
    return std::nullopt;
  }
  return r.take(static_cast<size_t>(n));
}

// Parses one entry whose bytes are exactly `entry` (offset..end). Checks the CRC.
ErrorCode read_message(std::span<const uint8_t> entry, RawMessage& m) {
  Reader r(entry);
  m.offset = r.i64();
  int32_t size = r.i32();
  uint32_t crc = r.u32();
  if (!r.ok() || size < kMinMessageSize) return ErrorCode::CORRUPT_MESSAGE;
  auto body = entry.subspan(16);
  if (crc32(0, body.data(), static_cast<uInt>(body.size())) != crc)
    return ErrorCode::CORRUPT_MESSAGE;
  m.magic = r.i8();
  if (m.magic != 0 && m.magic != 1) return ErrorCode::CORRUPT_MESSAGE;
  m.attributes = r.i8();
  m.timestamp = m.magic == 1 ? r.i64() : -1;
  m.key = read_nullable(r);
  m.value = read_nullable(r);
  if (!r.done()) return ErrorCode::CORRUPT_MESSAGE;
  return ErrorCode::NONE;
}

// Walks a message set; calls fn(RawMessage) for each complete entry.
template <typename Fn>
ErrorCode walk(std::span<const uint8_t> set, bool allow_partial, Fn&& fn) {
  auto split = split_batches(set, allow_partial);
  if (split.error != ErrorCode::NONE) return split.error;
  for (auto entry : split.batches) {
    RawMessage m;
    if (auto e = read_message(entry, m); e != ErrorCode::NONE) return e;
    if (auto e = fn(m); e != ErrorCode::NONE) return e;
  }
  return ErrorCode::NONE;
}

LegacyRecord to_record(const RawMessage& m) {
  LegacyRecord r;
  r.offset = m.offset;
  r.magic = m.magic;
  r.timestamp = m.timestamp;
  r.log_append_time = m.magic == 1 && (m.attributes & kLogAppendTimeBit) != 0;
  if (m.key) r.key = Bytes(m.key->begin(), m.key->end());
  if (m.value) r.value = Bytes(m.value->begin(), m.value->end());
  return r;
}

// The bytes append_legacy_message writes for one message (offset and size included).
size_t legacy_message_size(int8_t magic, const std::optional<std::span<const uint8_t>>& key,
                           const std::optional<std::span<const uint8_t>>& value) {
  return 12 + static_cast<size_t>(kMinMessageSize) + (magic == 1 ? 8 : 0) +
         (key ? key->size() : 0) + (value ? value->size() : 0);
}

void put_be(Bytes& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

LegacyMessageSet parse_legacy(std::span<const uint8_t> message_set, size_t max_uncompressed,
                              bool allow_partial_trailing) {
  LegacyMessageSet out;
  auto on_outer = [&](const RawMessage& m) -> ErrorCode {
    if (out.magic == -1) out.magic = m.magic;
    if (m.magic != out.magic) return ErrorCode::INVALID_RECORD;
    int codec = m.attributes & kCodecMask;
    if (codec == 0) {
      out.records.push_back(to_record(m));
      return ErrorCode::NONE;
    }
    if (!is_known_compression(codec)) return ErrorCode::UNSUPPORTED_COMPRESSION_TYPE;
    out.codec = static_cast<Compression>(codec);
    if (!m.value) return ErrorCode::INVALID_RECORD;
    auto d = decompress(static_cast<Compression>(codec), *m.value, max_uncompressed);
    if (d.status == CodecStatus::kTooLarge) return ErrorCode::INVALID_RECORD;
    if (!d.ok()) return ErrorCode::CORRUPT_MESSAGE;
    size_t first = out.records.size();
    ErrorCode e = walk(d.data, false, [&](const RawMessage& in) -> ErrorCode {
      if (in.magic != m.magic) return ErrorCode::INVALID_RECORD;
      if ((in.attributes & kCodecMask) != 0) return ErrorCode::INVALID_RECORD;  // nested
      out.records.push_back(to_record(in));
      return ErrorCode::NONE;
    });
    if (e != ErrorCode::NONE) return e;
    if (out.records.size() == first) return ErrorCode::INVALID_RECORD;
    if (m.magic == 1) {
      // Relative inner offsets: the wrapper carries the last one's absolute offset.
      int64_t last_rel = out.records.back().offset;
      bool lat = (m.attributes & kLogAppendTimeBit) != 0;
      for (size_t i = first; i < out.records.size(); ++i) {
        auto& r = out.records[i];
        r.offset = m.offset - last_rel + r.offset;
        if (lat) {
          r.timestamp = m.timestamp;
          r.log_append_time = true;
        }
      }
    }
    return ErrorCode::NONE;
  };
  out.error = walk(message_set, allow_partial_trailing, on_outer);
  if (out.error != ErrorCode::NONE) out.records.clear();
  return out;
}

UpConverted up_convert(std::span<const uint8_t> message_set, size_t max_uncompressed) {
  UpConverted out;
  auto set = parse_legacy(message_set, max_uncompressed);
  if (set.error != ErrorCode::NONE) {
    out.error = set.error;
    return out;
  }
  if (set.records.empty()) {
    out.error = ErrorCode::INVALID_RECORD;
    return out;
  }
  RecordBatchBuilder b(set.codec);
  for (const auto& r : set.records) {
    std::optional<std::span<const uint8_t>> k, v;
    if (r.key) k = std::span<const uint8_t>(*r.key);
    if (r.value) v = std::span<const uint8_t>(*r.value);
    b.add(r.magic == 0 ? -1 : r.timestamp, k, v);
  }
  out.batch = b.build();
  return out;
}

DownConverted down_convert(std::span<const uint8_t> batches, int8_t magic, size_t max_uncompressed,
                           const DownConvertWindow& window) {
  DownConverted out;
  if (magic != 0 && magic != 1) {
    out.error = ErrorCode::UNSUPPORTED_VERSION;
    return out;
  }
  auto split = split_batches(batches, true);
  if (split.error != ErrorCode::NONE) {
    out.error = split.error;
    return out;
  }
  Record rec;
  for (auto b : split.batches) {
    ErrorCode e = ErrorCode::NONE;
    auto view = RecordBatchView::open(b, max_uncompressed, &e);
    if (!view) {
      out.error = e;
      return out;
    }
    const auto& h = view->header();
    if (h.is_control()) continue;
    auto c = view->cursor();
    int8_t attributes = (magic == 1 && h.log_append_time()) ? kLogAppendTimeBit : 0;
    while (c.next(rec)) {
      int64_t offset = h.base_offset + rec.offset_delta;
      if (offset < window.from_offset) continue;
      size_t entry = legacy_message_size(magic, rec.key, rec.value);
      if (out.message_set.size() + entry > window.max_bytes &&
          !(window.min_one && out.message_set.empty()))
        return out;
      int64_t ts = h.log_append_time() ? h.max_timestamp : h.record_timestamp(rec.timestamp_delta);
      append_legacy_message(out.message_set, magic, offset, attributes, ts, rec.key, rec.value);
    }
    if (!c.finished_exactly()) {
      out.error = ErrorCode::CORRUPT_MESSAGE;
      return out;
    }
  }
  return out;
}

void append_legacy_message(Bytes& out, int8_t magic, int64_t offset, int8_t attributes,
                           int64_t timestamp, std::optional<std::span<const uint8_t>> key,
                           std::optional<std::span<const uint8_t>> value) {
  size_t start = out.size();
  put_be(out, static_cast<uint64_t>(offset), 8);
  put_be(out, 0, 4);  // size, patched below
  put_be(out, 0, 4);  // crc, patched below
  out.push_back(static_cast<uint8_t>(magic));
  out.push_back(static_cast<uint8_t>(attributes));
  if (magic == 1) put_be(out, static_cast<uint64_t>(timestamp), 8);
  for (const auto* f : {&key, &value}) {
    if (!*f) {
      put_be(out, 0xffffffffu, 4);
    } else {
      put_be(out, (*f)->size(), 4);
      out.insert(out.end(), (*f)->begin(), (*f)->end());
    }
  }
  size_t size = out.size() - start - 12;
  uint32_t crc = crc32(0, out.data() + start + 16, static_cast<uInt>(out.size() - start - 16));
  for (int i = 0; i < 4; ++i) {
    out[start + 8 + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
    out[start + 12 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  }
}

void append_legacy_wrapper(Bytes& out, int8_t magic, Compression codec, int64_t offset,
                           int64_t timestamp, std::span<const uint8_t> inner) {
  Bytes z = compress(codec, inner);
  append_legacy_message(out, magic, offset, static_cast<int8_t>(codec), timestamp, std::nullopt,
                        std::span<const uint8_t>(z));
}

}  // namespace runnel::protocol
