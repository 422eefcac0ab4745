#include "protocol/records/record_batch.h"

#include <algorithm>

#include "protocol/records/crc32c.h"

namespace runnel::protocol {

namespace {

constexpr int16_t kCodecMask = 0x07;
constexpr int16_t kLogAppendTimeBit = 0x08;
constexpr int16_t kTransactionalBit = 0x10;
constexpr int16_t kControlBit = 0x20;
// batchLength counts everything after the length field: at least the rest of
// the fixed header.
constexpr int32_t kMinBatchLength =
    static_cast<int32_t>(BatchHeader::kSize - BatchHeader::kLogOverhead);

// Reads a varint length of a nullable field: -1 for null, otherwise the
// length, checked against the bytes left. -2 on error.
int64_t nullable_length(Reader& r) {
  int32_t n = r.varint();
  if (!r.ok()) return -2;
  if (n < -1) {
    r.fail("negative length");
    return -2;
  }
  if (n > 0 && static_cast<size_t>(n) > r.remaining()) {
    r.fail("length larger than the bytes left");
    return -2;
  }
  return n;
}

std::optional<std::span<const uint8_t>> nullable_bytes(Reader& r) {
  int64_t n = nullable_length(r);
  if (n < 0) return std::nullopt;
  return r.take(static_cast<size_t>(n));
}

// Walks one record without keeping anything: the allocation-free path of
// validation. Returns the offset delta, or nullopt when malformed.
std::optional<int32_t> skip_record(Reader& outer) {
  int32_t len = outer.varint();
  if (!outer.ok() || len < 0 || static_cast<size_t>(len) > outer.remaining()) return std::nullopt;
  Reader r(outer.take(static_cast<size_t>(len)));
  r.i8();
  r.varlong();
  int32_t offset_delta = r.varint();
  for (int i = 0; i < 2; ++i) {
    int64_t n = nullable_length(r);
    if (n > 0) r.take(static_cast<size_t>(n));
  }
  int32_t headers = r.varint();
  if (!r.ok() || headers < 0 || static_cast<size_t>(headers) > r.remaining()) return std::nullopt;
  for (int32_t h = 0; h < headers && r.ok(); ++h) {
    int64_t k = nullable_length(r);
    if (k < 0) return std::nullopt;  // header keys are never null
    r.take(static_cast<size_t>(k));
    int64_t v = nullable_length(r);
    if (v > 0) r.take(static_cast<size_t>(v));
  }
  if (!r.done()) return std::nullopt;
  return offset_delta;
}

void put_varint(Bytes& out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<uint8_t>(u | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<uint8_t>(u));
}

size_t varint_size(int64_t v) {
  return uvarint_size((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_nullable(Bytes& out, const std::optional<std::span<const uint8_t>>& b) {
  if (!b) {
    put_varint(out, -1);
    return;
  }
  put_varint(out, static_cast<int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

bool read_record(Reader& outer, Record& out) {
  int32_t len = outer.varint();
  if (!outer.ok()) return false;
  if (len < 0 || static_cast<size_t>(len) > outer.remaining()) {
    outer.fail("bad record length");
    return false;
  }
  Reader r(outer.take(static_cast<size_t>(len)));
  out.attributes = r.i8();
  out.timestamp_delta = r.varlong();
  out.offset_delta = r.varint();
  out.key = nullable_bytes(r);
  out.value = nullable_bytes(r);
  out.headers.clear();
  int32_t headers = r.varint();
  // Each header takes at least two bytes: check before reserving.
  if (!r.ok() || headers < 0 || static_cast<size_t>(headers) > r.remaining() / 2) {
    outer.fail("bad header count");
    return false;
  }
  out.headers.reserve(static_cast<size_t>(headers));
  for (int32_t h = 0; h < headers && r.ok(); ++h) {
    int64_t k = nullable_length(r);
    if (k < 0) {
      r.fail("null header key");
      break;
    }
    auto key = r.take(static_cast<size_t>(k));
    RecordHeader hdr;
    hdr.key = std::string_view(reinterpret_cast<const char*>(key.data()), key.size());
    hdr.value = nullable_bytes(r);
    out.headers.push_back(hdr);
  }
  if (!r.done()) {
    outer.fail(r.error() ? r.error() : "record length mismatch");
    return false;
  }
  return true;
}

// --- RecordBatchView --------------------------------------------------------

std::optional<RecordBatchView> RecordBatchView::open(std::span<const uint8_t> batch,
                                                     size_t max_uncompressed, ErrorCode* error) {
  auto h = BatchHeader::parse(batch);
  if (!h) {
    if (error) *error = ErrorCode::CORRUPT_MESSAGE;
    return std::nullopt;
  }
  return open(batch, *h, max_uncompressed, error);
}

std::optional<RecordBatchView> RecordBatchView::open(std::span<const uint8_t> batch,
                                                     const BatchHeader& h, size_t max_uncompressed,
                                                     ErrorCode* error) {
  auto set = [&](ErrorCode e) {
    if (error) *error = e;
    return std::nullopt;
  };
  if (batch.size() < BatchHeader::kSize) return set(ErrorCode::CORRUPT_MESSAGE);
  if (h.magic != 2) return set(ErrorCode::INVALID_RECORD);
  if (h.batch_length < kMinBatchLength || h.total_size() != batch.size())
    return set(ErrorCode::CORRUPT_MESSAGE);
  RecordBatchView v;
  v.header_ = h;
  auto section = batch.subspan(BatchHeader::kSize);
  int codec = h.attributes & kCodecMask;
  if (!is_known_compression(codec)) return set(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE);
  if (codec == 0) {
    v.records_ = section;
  } else {
    auto d = decompress(static_cast<Compression>(codec), section, max_uncompressed);
    if (d.status == CodecStatus::kTooLarge) return set(ErrorCode::INVALID_RECORD);
    if (!d.ok()) return set(ErrorCode::CORRUPT_MESSAGE);
    v.owned_ = std::move(d.data);
    v.records_ = v.owned_;
  }
  if (error) *error = ErrorCode::NONE;
  return v;
}

bool RecordBatchView::Cursor::next(Record& out) {
  if (!ok_ || left_ <= 0) return false;
  if (!read_record(reader_, out)) {
    ok_ = false;
    return false;
  }
  --left_;
  return true;
}

std::optional<std::vector<Record>> RecordBatchView::records() const {
  if (header_.record_count < 0) return std::nullopt;
  std::vector<Record> out;
  // Every record takes at least 7 bytes: bound the reservation by the bytes.
  out.reserve(std::min<size_t>(static_cast<size_t>(header_.record_count), records_.size() / 7));
  auto c = cursor();
  Record r;
  while (c.next(r)) out.push_back(std::move(r));
  if (!c.finished_exactly()) return std::nullopt;
  return out;
}

// --- validation ----------------------------------------------------------------

uint32_t compute_batch_crc(std::span<const uint8_t> batch) {
  auto body = batch.subspan(BatchHeader::kAttributesOffset);
  return crc32c(body.data(), body.size());
}

void update_batch_crc(std::span<uint8_t> batch) {
  uint32_t crc = compute_batch_crc(batch);
  for (int i = 0; i < 4; ++i)
    batch[BatchHeader::kCrcOffset + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
}

namespace {

// The records section holds exactly `count` well-formed records with offset
// deltas 0, 1, ...
ErrorCode check_records(std::span<const uint8_t> section, int32_t count) {
  Reader r(section);
  for (int32_t i = 0; i < count; ++i) {
    auto delta = skip_record(r);
    if (!delta) return ErrorCode::CORRUPT_MESSAGE;
    if (*delta != i) return ErrorCode::INVALID_RECORD;
  }
  return r.done() ? ErrorCode::NONE : ErrorCode::CORRUPT_MESSAGE;
}

}  // namespace

ErrorCode validate_batch(std::span<const uint8_t> batch, const ValidateOptions& options) {
  return validate_batch(batch, options, nullptr);
}

ErrorCode validate_batch(std::span<const uint8_t> batch, const ValidateOptions& options,
                         BatchHeader* header) {
  auto h = BatchHeader::parse(batch);
  if (!h) return ErrorCode::CORRUPT_MESSAGE;
  if (h->batch_length < kMinBatchLength || h->total_size() != batch.size())
    return ErrorCode::CORRUPT_MESSAGE;
  if (h->magic != 2) return ErrorCode::INVALID_RECORD;
  if (compute_batch_crc(batch) != h->crc) return ErrorCode::CORRUPT_MESSAGE;
  int codec = h->attributes & kCodecMask;
  if (!is_known_compression(codec)) return ErrorCode::UNSUPPORTED_COMPRESSION_TYPE;
  if (h->is_control() && !options.allow_control) return ErrorCode::INVALID_RECORD;
  if (h->record_count < 1 || h->last_offset_delta != h->record_count - 1)
    return ErrorCode::INVALID_RECORD;

  if (header) *header = *h;
  std::span<const uint8_t> section = batch.subspan(BatchHeader::kSize);
  if (codec == 0) return check_records(section, h->record_count);
  // Compressed batches are decompressed into one buffer per thread, kept
  // between batches up to kKeptScratch bytes.
  constexpr size_t kKeptScratch = 16u << 20;
  thread_local Bytes scratch;
  auto d = decompress_reusing(static_cast<Compression>(codec), section, options.max_uncompressed,
                              scratch);
  ErrorCode e = d.status == CodecStatus::kTooLarge ? ErrorCode::INVALID_RECORD
                : !d.ok()                          ? ErrorCode::CORRUPT_MESSAGE
                                                   : check_records(d.data, h->record_count);
  if (scratch.size() > kKeptScratch) Bytes().swap(scratch);
  return e;
}

SplitResult split_batches(std::span<const uint8_t> records, bool allow_partial_trailing) {
  SplitResult out;
  // The smallest legacy message (crc, magic, attributes, two null lengths).
  constexpr int32_t kMinEntry = 14;
  size_t pos = 0;
  while (pos < records.size()) {
    size_t left = records.size() - pos;
    if (left < BatchHeader::kLogOverhead) {
      if (!allow_partial_trailing) out.error = ErrorCode::CORRUPT_MESSAGE;
      out.trailing_bytes = left;
      return out;
    }
    const uint8_t* p = records.data() + pos + 8;
    int32_t len = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                       (uint32_t{p[2]} << 8) | p[3]);
    if (len < kMinEntry) {
      out.error = ErrorCode::CORRUPT_MESSAGE;
      return out;
    }
    size_t total = BatchHeader::kLogOverhead + static_cast<size_t>(len);
    if (total > left) {
      if (!allow_partial_trailing) out.error = ErrorCode::CORRUPT_MESSAGE;
      out.trailing_bytes = left;
      return out;
    }
    out.batches.push_back(records.subspan(pos, total));
    pos += total;
  }
  return out;
}

// --- builder -----------------------------------------------------------------

RecordBatchBuilder& RecordBatchBuilder::add(int64_t timestamp,
                                            std::optional<std::span<const uint8_t>> key,
                                            std::optional<std::span<const uint8_t>> value,
                                            std::span<const HeaderInput> headers,
                                            std::optional<int32_t> offset_delta) {
  if (count_ == 0) base_timestamp_ = timestamp;
  max_timestamp_ = count_ == 0 ? timestamp : std::max(max_timestamp_, timestamp);
  int32_t od = offset_delta.value_or(static_cast<int32_t>(count_));
  int64_t ts_delta = timestamp - base_timestamp_;

  size_t size = 1 + varint_size(ts_delta) + varint_size(od);
  auto field = [](const std::optional<std::span<const uint8_t>>& b) {
    return b ? varint_size(static_cast<int64_t>(b->size())) + b->size() : varint_size(-1);
  };
  size += field(key) + field(value) + varint_size(static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    size += varint_size(static_cast<int64_t>(h.key.size())) + h.key.size();
    size += h.value ? varint_size(static_cast<int64_t>(h.value->size())) + h.value->size()
                    : varint_size(-1);
  }
  put_varint(body_, static_cast<int64_t>(size));
  body_.push_back(0);  // record attributes
  put_varint(body_, ts_delta);
  put_varint(body_, od);
  put_nullable(body_, key);
  put_nullable(body_, value);
  put_varint(body_, static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    put_varint(body_, static_cast<int64_t>(h.key.size()));
    body_.insert(body_.end(), h.key.begin(), h.key.end());
    if (h.value)
      put_nullable(body_, std::span<const uint8_t>(*h.value));
    else
      put_nullable(body_, std::nullopt);
  }
  last_offset_delta_ = od;
  ++count_;
  return *this;
}

RecordBatchBuilder& RecordBatchBuilder::add_control(int64_t timestamp, int16_t control_type,
                                                    int32_t coordinator_epoch) {
  const uint8_t key[4] = {0, 0, static_cast<uint8_t>(control_type >> 8),
                          static_cast<uint8_t>(control_type)};
  const uint8_t value[6] = {0,
                            0,
                            static_cast<uint8_t>(coordinator_epoch >> 24),
                            static_cast<uint8_t>(coordinator_epoch >> 16),
                            static_cast<uint8_t>(coordinator_epoch >> 8),
                            static_cast<uint8_t>(coordinator_epoch)};
  control_ = true;
  return add(timestamp, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
}

Bytes RecordBatchBuilder::build() const {
  Bytes section = codec_ == Compression::none ? Bytes() : compress(codec_, body_);
  const Bytes& records = codec_ == Compression::none ? body_ : section;
  Bytes out(BatchHeader::kSize + records.size());
  BatchHeader h;
  h.base_offset = base_offset_;
  h.batch_length = static_cast<int32_t>(out.size() - BatchHeader::kLogOverhead);
  h.partition_leader_epoch = leader_epoch_;
  h.magic = 2;
  h.attributes = static_cast<int16_t>(static_cast<int16_t>(codec_) & kCodecMask);
  if (log_append_time_ >= 0) h.attributes |= kLogAppendTimeBit;
  if (transactional_) h.attributes |= kTransactionalBit;
  if (control_) h.attributes |= kControlBit;
  h.last_offset_delta = count_ == 0 ? -1 : last_offset_delta_;
  h.base_timestamp = base_timestamp_;
  h.max_timestamp = log_append_time_ >= 0 ? log_append_time_ : max_timestamp_;
  h.producer_id = producer_id_;
  h.producer_epoch = producer_epoch_;
  h.base_sequence = base_sequence_;
  h.record_count = static_cast<int32_t>(count_);
  h.write(out);
  std::copy(records.begin(), records.end(), out.begin() + BatchHeader::kSize);
  update_batch_crc(out);
  return out;
}

std::optional<ControlRecord> parse_control_record(const Record& record) {
  if (!record.key || record.key->size() < 4) return std::nullopt;
  ControlRecord c;
  const auto& k = *record.key;
  c.type = static_cast<int16_t>((k[2] << 8) | k[3]);
  if (record.value && record.value->size() >= 6) {
    const auto& v = *record.value;
    c.coordinator_epoch = static_cast<int32_t>((uint32_t{v[2]} << 24) | (uint32_t{v[3]} << 16) |
                                               (uint32_t{v[4]} << 8) | v[5]);
  }
  return c;
}

bool rewrite_for_log_append_time(std::span<uint8_t> batch, int64_t now_ms) {
  auto h = BatchHeader::parse(batch);
  if (!h || h->magic != 2) return false;
  h->attributes = static_cast<int16_t>(h->attributes | kLogAppendTimeBit);
  h->max_timestamp = now_ms;
  h->write(batch);
  update_batch_crc(batch);
  return true;
}

}  // namespace runnel::protocol
