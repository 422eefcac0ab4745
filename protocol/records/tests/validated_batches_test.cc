// The value an append is made of: each batch's bytes with the header parsed
// from them once, by validation or by framing, and kept equal to the bytes
// when the broker rewrites its fields.
#include "protocol/records/validated_batches.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "protocol/records/record_batch.h"

namespace runnel::protocol {
namespace {

Bytes sample(int records, int64_t first_ts, Compression codec = Compression::none) {
  RecordBatchBuilder b(codec);
  const uint8_t value[4] = {'d', 'a', 't', 'a'};
  for (int i = 0; i < records; ++i)
    b.add(first_ts + (i % 3) * 10, std::nullopt, std::span<const uint8_t>(value, sizeof value));
  return b.build();
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void set_i32(Bytes& b, size_t at, int32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (24 - 8 * i));
}

TEST(ValidatedBatches, FrameParsesEachHeaderOnceAndSumsWhatAnAppendNeeds) {
  const Bytes a = sample(3, 1000), b = sample(5, 2000, Compression::lz4), c = sample(1, 500);
  Bytes all = concat({a, b, c});
  ErrorCode e = ErrorCode::UNKNOWN_SERVER_ERROR;
  auto batches = ValidatedBatches::frame(all, &e);
  ASSERT_EQ(e, ErrorCode::NONE);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches.bytes().data(), all.data());
  EXPECT_EQ(batches.bytes().size(), all.size());
  size_t at = 0;
  for (const ValidatedBatch& v : batches.batches()) {
    EXPECT_EQ(v.bytes.data(), all.data() + at);
    auto parsed = BatchHeader::parse(v.bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(v.header.total_size(), v.bytes.size());
    EXPECT_EQ(v.header.record_count, parsed->record_count);
    EXPECT_EQ(v.header.crc, parsed->crc);
    at += v.bytes.size();
  }
  EXPECT_EQ(batches.offset_count(), 3 + 5 + 1);
  EXPECT_EQ(batches.record_count(), 9u);
  EXPECT_EQ(batches.max_timestamp(), 2020);
}

TEST(ValidatedBatches, FrameRefusesWhatAnAppendRefusedAsCorrupt) {
  ErrorCode e = ErrorCode::NONE;
  Bytes empty;
  EXPECT_TRUE(ValidatedBatches::frame(empty, &e).empty());
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);

  const Bytes good = sample(2, 1000);
  Bytes cut = concat({good, good});
  cut.resize(cut.size() - 1);
  auto none = ValidatedBatches::frame(cut, &e);
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.bytes().empty());

  Bytes magic1 = good;
  magic1[16] = 1;
  ValidatedBatches::frame(magic1, &e);
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);

  Bytes short_length = good;
  set_i32(short_length, 8, 10);  // less than the rest of the header
  ValidatedBatches::frame(short_length, &e);
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);

  Bytes negative_delta = good;
  set_i32(negative_delta, 23, -1);
  ValidatedBatches::frame(negative_delta, &e);
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);

  // Framing is all it checks: a bad CRC is validation's to find.
  Bytes bad_crc = good;
  bad_crc.back() ^= 1;
  EXPECT_EQ(ValidatedBatches::frame(bad_crc, &e).size(), 1u);
  EXPECT_EQ(e, ErrorCode::NONE);
}

TEST(ValidatedBatches, AddTakesOnlyTheBatchThatFollows) {
  Bytes all = concat({sample(2, 1000), sample(2, 1000)});
  const size_t first = all.size() / 2;
  std::span<uint8_t> bytes(all);
  BatchHeader h;
  ASSERT_EQ(validate_batch(bytes.first(first), {}, &h), ErrorCode::NONE);
  ValidatedBatches out_of_order;
  EXPECT_TRUE(out_of_order.add(bytes.subspan(first), h));
  EXPECT_FALSE(out_of_order.add(bytes.first(first), h));
  EXPECT_EQ(out_of_order.size(), 1u);
  EXPECT_EQ(out_of_order.bytes().size(), all.size() - first);
  ValidatedBatches in_order;
  EXPECT_TRUE(in_order.add(bytes.first(first), h));
  EXPECT_TRUE(in_order.add(bytes.subspan(first), h));
  EXPECT_EQ(in_order.bytes().size(), all.size());
  EXPECT_EQ(in_order.offset_count(), 4);
}

TEST(ValidatedBatches, ValidationHandsBackTheHeaderItParsedAndTheSameErrors) {
  for (auto codec : {Compression::none, Compression::gzip, Compression::zstd}) {
    const Bytes good = sample(4, 1000, codec);
    BatchHeader h;
    ASSERT_EQ(validate_batch(good, {}, &h), ErrorCode::NONE);
    auto parsed = BatchHeader::parse(good);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(h.attributes, parsed->attributes);
    EXPECT_EQ(h.max_timestamp, parsed->max_timestamp);
    EXPECT_EQ(h.record_count, 4);
    EXPECT_EQ(h.crc, parsed->crc);
  }
  // Bad batches: the same answer with or without the header.
  const Bytes good = sample(3, 1000);
  std::vector<Bytes> bad;
  bad.push_back(good);
  bad.back()[good.size() - 1] ^= 1;  // CRC
  bad.push_back(good);
  bad.back()[16] = 1;  // magic
  bad.push_back(good);
  set_i32(bad.back(), 23, 5);  // lastOffsetDelta
  update_batch_crc(bad.back());
  bad.push_back(good);
  bad.back()[22] |= 0x20;  // control
  update_batch_crc(bad.back());
  bad.push_back(Bytes(good.begin(), good.begin() + 40));  // short
  for (const auto& b : bad) {
    BatchHeader h;
    const ErrorCode without = validate_batch(b);
    EXPECT_NE(without, ErrorCode::NONE);
    EXPECT_EQ(validate_batch(b, {}, &h), without);
  }
}

TEST(ValidatedBatches, AssignOffsetKeepsBytesAndHeaderEqual) {
  for (bool append_time : {false, true}) {
    Bytes all = concat({sample(3, 1000), sample(2, 3000, Compression::snappy)});
    ErrorCode e;
    auto batches = ValidatedBatches::frame(all, &e);
    ASSERT_EQ(e, ErrorCode::NONE);
    int64_t next = 40;
    for (ValidatedBatch& b : batches.batches()) {
      b.assign_offset(next, 7, append_time ? std::optional<int64_t>(5555) : std::nullopt);
      next += b.offset_count();
    }
    for (const ValidatedBatch& b : batches.batches()) {
      auto parsed = BatchHeader::parse(b.bytes);
      ASSERT_TRUE(parsed);
      EXPECT_EQ(parsed->base_offset, b.header.base_offset);
      EXPECT_EQ(parsed->partition_leader_epoch, 7);
      EXPECT_EQ(b.header.partition_leader_epoch, 7);
      EXPECT_EQ(parsed->attributes, b.header.attributes);
      EXPECT_EQ(parsed->max_timestamp, b.header.max_timestamp);
      EXPECT_EQ(parsed->crc, b.header.crc);
      EXPECT_EQ(b.header.log_append_time(), append_time);
      EXPECT_EQ(b.header.max_timestamp, append_time ? 5555 : parsed->max_timestamp);
      // The CRC still holds: the batch validates as stored.
      EXPECT_EQ(validate_batch(b.bytes), ErrorCode::NONE);
    }
    EXPECT_EQ(batches.batches()[0].header.base_offset, 40);
    EXPECT_EQ(batches.batches()[1].header.base_offset, 43);
  }
}

TEST(ValidatedBatches, ViewOpenedWithTheParsedHeaderReadsTheSameRecords) {
  const Bytes b = sample(6, 1000, Compression::lz4);
  auto h = BatchHeader::parse(b);
  ASSERT_TRUE(h);
  auto with = RecordBatchView::open(b, *h);
  auto without = RecordBatchView::open(b);
  ASSERT_TRUE(with && without);
  auto r1 = with->records();
  auto r2 = without->records();
  ASSERT_TRUE(r1 && r2);
  ASSERT_EQ(r1->size(), 6u);
  for (size_t i = 0; i < r1->size(); ++i)
    EXPECT_EQ((*r1)[i].timestamp_delta, (*r2)[i].timestamp_delta);
  ErrorCode e = ErrorCode::NONE;
  EXPECT_FALSE(RecordBatchView::open(std::span<const uint8_t>(b).first(b.size() - 1), *h,
                                     kDefaultMaxUncompressedBatch, &e));
  EXPECT_EQ(e, ErrorCode::CORRUPT_MESSAGE);
}

}  // namespace
}  // namespace runnel::protocol
