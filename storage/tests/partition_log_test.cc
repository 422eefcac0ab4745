#include "storage/partition_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "protocol/records/record_batch.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::BatchHeader;
using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;

std::vector<uint8_t> slice_bytes(const ReadResult& r) {
  std::vector<uint8_t> out;
  for (const auto& s : r.slices) {
    std::vector<uint8_t> buf(s.length);
    EXPECT_EQ(::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)),
              static_cast<ssize_t>(s.length));
    out.insert(out.end(), buf.begin(), buf.end());
  }
  return out;
}

// Base offsets of the batches in `bytes`.
std::vector<int64_t> batch_offsets(const std::vector<uint8_t>& bytes) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos + BatchHeader::kSize <= bytes.size()) {
    auto h = BatchHeader::parse(std::span<const uint8_t>(bytes).subspan(pos));
    out.push_back(h->base_offset);
    pos += h->total_size();
  }
  EXPECT_EQ(pos, bytes.size());
  return out;
}

class PartitionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open(const LogConfig& c, bool clean = false) {
    std::string err;
    auto log = PartitionLog::open(dir.path() + "/t-0", "t", 0, c, clock, clean, &rec, &err);
    EXPECT_TRUE(log) << err;
    return log;
  }
  AppendResult append(PartitionLog& log, int count, int64_t ts, int64_t step = 0,
                      size_t value_size = 10, int32_t epoch = 3) {
    auto b = make_batch(count, ts, step, value_size);
    return log.append(b, epoch, clock.now_ms());
  }
  TempDir dir;
  ManualClock clock;
  RecoveryResult rec;
  LogConfig config;
};

TEST_F(PartitionLogTest, AppendAssignsOffsetsAndReadRoundTrips) {
  auto log = open(config);
  EXPECT_EQ(log->log_end_offset(), 0);
  auto r1 = append(*log, 3, clock.now_ms());
  ASSERT_EQ(r1.error, ErrorCode::NONE);
  EXPECT_EQ(r1.base_offset, 0);
  EXPECT_EQ(r1.last_offset, 2);
  EXPECT_EQ(r1.log_append_time, -1);
  auto r2 = append(*log, 5, clock.now_ms());
  EXPECT_EQ(r2.base_offset, 3);
  EXPECT_EQ(r2.last_offset, 7);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(log->high_watermark(), 8);
  EXPECT_EQ(log->last_stable_offset(), 8);
  EXPECT_EQ(log->log_start_offset(), 0);

  auto rd = log->read(0, 1 << 20, true);
  ASSERT_EQ(rd.error, ErrorCode::NONE);
  auto bytes = slice_bytes(rd);
  EXPECT_EQ(batch_offsets(bytes), (std::vector<int64_t>{0, 3}));
  // The stored batch is the sent batch with baseOffset and epoch rewritten; the CRC still holds.
  auto sent = make_batch(5, clock.now_ms());
  auto h = BatchHeader::parse(std::span<const uint8_t>(bytes).subspan(rd.bytes - sent.size()));
  EXPECT_EQ(h->partition_leader_epoch, 3);
  std::vector<uint8_t> second(bytes.end() - sent.size(), bytes.end());
  EXPECT_TRUE(testing::crc_ok(second));
  EXPECT_TRUE(std::equal(second.begin() + 21, second.end(), sent.begin() + 21));
}

TEST_F(PartitionLogTest, ReadFromMiddleOfBatchReturnsWholeBatch) {
  auto log = open(config);
  append(*log, 5, clock.now_ms());
  append(*log, 5, clock.now_ms());
  auto rd = log->read(7, 1 << 20, true);
  ASSERT_EQ(rd.error, ErrorCode::NONE);
  EXPECT_EQ(rd.first_batch_base_offset, 5);
  EXPECT_EQ(rd.first_batch_last_offset, 9);
  EXPECT_EQ(batch_offsets(slice_bytes(rd)), (std::vector<int64_t>{5}));
}

TEST_F(PartitionLogTest, OutOfRangeAndEnd) {
  auto log = open(config);
  append(*log, 2, clock.now_ms());
  EXPECT_EQ(log->read(3, 1000, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(log->read(-1, 1000, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  auto end = log->read(2, 1000, true);
  EXPECT_EQ(end.error, ErrorCode::NONE);
  EXPECT_TRUE(end.slices.empty());
  EXPECT_EQ(end.high_watermark, 2);
}

TEST_F(PartitionLogTest, MaxBytesAndMinOneBatch) {
  auto log = open(config);
  size_t batch_size = make_batch(1, 0, 0, 100).size();
  for (int i = 0; i < 4; ++i) append(*log, 1, clock.now_ms(), 0, 100);
  auto two = log->read(0, batch_size * 2 + 10, false);
  EXPECT_EQ(batch_offsets(slice_bytes(two)), (std::vector<int64_t>{0, 1}));
  auto none = log->read(0, batch_size - 1, false);
  EXPECT_TRUE(none.slices.empty());
  auto one = log->read(1, 1, true);
  EXPECT_EQ(batch_offsets(slice_bytes(one)), (std::vector<int64_t>{1}));
}

TEST_F(PartitionLogTest, IndexLookupsAcrossManyBatches) {
  config.index_interval_bytes = 200;
  auto log = open(config);
  for (int i = 0; i < 300; ++i) append(*log, 1 + i % 3, clock.now_ms(), 0, 50);
  ASSERT_EQ(log->segment_count(), 1u);
  std::string err;
  auto seg = Segment::open(dir.path() + "/t-0", 0, SegmentOptions{200, 1 << 20}, false, 0, &err);
  ASSERT_TRUE(seg);
  EXPECT_GT(seg->offset_index().size(), 50u);
  int64_t leo = log->log_end_offset();
  for (int64_t off = 0; off < leo; ++off) {
    auto rd = log->read(off, 1, true);
    ASSERT_EQ(rd.error, ErrorCode::NONE);
    ASSERT_LE(rd.first_batch_base_offset, off);
    ASSERT_GE(rd.first_batch_last_offset, off);
  }
}

TEST_F(PartitionLogTest, OffsetForTimestampUsesRecordTimestamps) {
  config.index_interval_bytes = 100;
  auto log = open(config);
  int64_t t0 = 1'000'000;
  // Batch k holds 4 records with timestamps t0 + 100k + {0, 10, 20, 30}.
  for (int k = 0; k < 50; ++k) append(*log, 4, t0 + 100 * k, 10, 20, k);
  auto r = log->offset_for_timestamp(t0 + 100 * 7 + 15);
  EXPECT_EQ(r.offset, 7 * 4 + 2);
  EXPECT_EQ(r.timestamp, t0 + 100 * 7 + 20);
  EXPECT_EQ(r.leader_epoch, 7);
  r = log->offset_for_timestamp(t0 + 100 * 20);
  EXPECT_EQ(r.offset, 80);
  EXPECT_EQ(r.timestamp, t0 + 2000);
  EXPECT_EQ(log->offset_for_timestamp(0).offset, 0);
  EXPECT_EQ(log->offset_for_timestamp(t0 + 100000).offset, -1);
  auto mx = log->max_timestamp_offset();
  EXPECT_EQ(mx.offset, 199);
  EXPECT_EQ(mx.timestamp, t0 + 4900 + 30);
  EXPECT_EQ(log->epoch_for_offset(10), 2);
  EXPECT_EQ(log->epoch_for_offset(200), 49);
  EXPECT_EQ(log->latest_epoch(), 49);
}

TEST_F(PartitionLogTest, LogAppendTimeRewritesTimestampAndCrc) {
  config.message_timestamp_type = TimestampType::log_append_time;
  auto log = open(config);
  auto r = append(*log, 3, 5);
  EXPECT_EQ(r.log_append_time, clock.now_ms());
  auto bytes = slice_bytes(log->read(0, 1 << 20, true));
  auto h = BatchHeader::parse(bytes);
  EXPECT_TRUE(h->log_append_time());
  EXPECT_EQ(h->max_timestamp, clock.now_ms());
  EXPECT_TRUE(testing::crc_ok(bytes));
}

TEST_F(PartitionLogTest, RollsOnSegmentBytes) {
  size_t batch_size = make_batch(1, 0, 0, 100).size();
  config.segment_bytes = static_cast<int32_t>(batch_size * 3);
  auto log = open(config);
  for (int i = 0; i < 7; ++i) append(*log, 1, clock.now_ms(), 0, 100);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 3, 6}));
  auto rd = log->read(0, 1 << 20, true);
  EXPECT_EQ(batch_offsets(slice_bytes(rd)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(rd.slices.size(), 3u);
  EXPECT_EQ(log->read(4, 1, true).first_batch_base_offset, 4);
}

TEST_F(PartitionLogTest, RollsOnSegmentMs) {
  config.segment_ms = 1000;
  auto log = open(config);
  append(*log, 1, clock.now_ms());
  clock.advance(500);
  append(*log, 1, clock.now_ms());
  EXPECT_EQ(log->segment_count(), 1u);
  clock.advance(600);
  append(*log, 1, clock.now_ms());
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 2}));
  EXPECT_FALSE(log->maybe_roll(clock.now_ms()));
  clock.advance(1001);
  EXPECT_TRUE(log->maybe_roll(clock.now_ms()));
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 2, 3}));
}

TEST_F(PartitionLogTest, RetentionByTimeAdvancesLogStart) {
  config.segment_ms = 1000;
  config.retention_ms = 5000;
  auto log = open(config);
  for (int i = 0; i < 5; ++i) {
    append(*log, 2, clock.now_ms());
    clock.advance(1500);
  }
  ASSERT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 2, 4, 6, 8}));
  // now = t0 + 7500: segments with max ts t0, t0+1500 are older than 5000 ms.
  EXPECT_EQ(log->apply_retention(clock.now_ms()), 2);
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_EQ(log->read(1, 100, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(log->read(4, 1 << 20, true).first_batch_base_offset, 4);
  // The active segment is never deleted.
  clock.advance(100000);
  EXPECT_EQ(log->apply_retention(clock.now_ms()), 2);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{8}));
  EXPECT_EQ(log->log_start_offset(), 8);
  EXPECT_EQ(log->log_end_offset(), 10);
}

TEST_F(PartitionLogTest, RetentionBySize) {
  size_t batch_size = make_batch(1, 0, 0, 100).size();
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  config.retention_bytes = static_cast<int64_t>(batch_size * 3);
  auto log = open(config);
  for (int i = 0; i < 8; ++i) append(*log, 1, clock.now_ms(), 0, 100);
  ASSERT_EQ(log->segment_count(), 4u);
  EXPECT_EQ(log->apply_retention(clock.now_ms()), 2);
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_LE(log->size_bytes(), batch_size * 4);
}

TEST_F(PartitionLogTest, FlushMessagesFlushes) {
  config.flush_messages = 1;
  auto log = open(config);
  EXPECT_EQ(log->flush_count(), 0u);
  append(*log, 2, clock.now_ms());
  EXPECT_EQ(log->flush_count(), 1u);
  EXPECT_EQ(log->unflushed_messages(), 0);
}

TEST_F(PartitionLogTest, FlushMsDrivenByTimer) {
  config.flush_ms = 1000;
  auto log = open(config);
  append(*log, 2, clock.now_ms());
  EXPECT_EQ(log->unflushed_messages(), 2);
  log->maybe_flush(clock.now_ms() + 10);
  EXPECT_EQ(log->flush_count(), 0u);
  clock.advance(1000);
  log->maybe_flush(clock.now_ms());
  EXPECT_EQ(log->flush_count(), 1u);
  EXPECT_EQ(log->unflushed_messages(), 0);
}

TEST_F(PartitionLogTest, RejectsBrokenFraming) {
  auto log = open(config);
  auto b = make_batch(2, 0);
  std::vector<uint8_t> cut(b.begin(), b.end() - 1);
  EXPECT_EQ(log->append(cut, 0, 0).error, ErrorCode::CORRUPT_MESSAGE);
  std::vector<uint8_t> tiny(10, 0);
  EXPECT_EQ(log->append(tiny, 0, 0).error, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(log->log_end_offset(), 0);
}

// A Produce's batches reach the log as validation left them: each header parsed once. The
// append reads them from the value (the records, the roll, the indexes) and leaves them as
// stored, equal to the bytes it wrote.
TEST_F(PartitionLogTest, AppendOfValidatedBatchesLeavesTheirHeadersAsStored) {
  config.message_timestamp_type = TimestampType::log_append_time;
  config.index_interval_bytes = 0;  // an index entry for every batch after the first
  auto log = open(config);
  ASSERT_EQ(append(*log, 2, 5).error, ErrorCode::NONE);  // 0-1
  auto a = make_batch(3, 100, 1);
  auto b = make_batch(4, 200, 1);
  std::vector<uint8_t> bytes(a);
  bytes.insert(bytes.end(), b.begin(), b.end());
  protocol::ValidatedBatches batches;
  for (size_t at : {size_t{0}, a.size()}) {
    auto batch = std::span<uint8_t>(bytes).subspan(at, at == 0 ? a.size() : b.size());
    BatchHeader h;
    ASSERT_EQ(protocol::validate_batch(batch, {}, &h), ErrorCode::NONE);
    ASSERT_TRUE(batches.add(batch, h));
  }
  clock.advance(7);
  auto r = log->append(batches, 5, clock.now_ms());
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.base_offset, 2);
  EXPECT_EQ(r.last_offset, 8);
  EXPECT_EQ(r.batches, 2u);
  EXPECT_EQ(r.records, 7u);
  int64_t next = 2;
  for (const auto& v : batches.batches()) {
    auto stored = BatchHeader::parse(v.bytes);
    ASSERT_TRUE(stored);
    EXPECT_EQ(v.header.base_offset, next);
    EXPECT_EQ(stored->base_offset, next);
    EXPECT_EQ(v.header.partition_leader_epoch, 5);
    EXPECT_EQ(stored->partition_leader_epoch, 5);
    EXPECT_TRUE(v.header.log_append_time());
    EXPECT_EQ(v.header.max_timestamp, clock.now_ms());
    EXPECT_EQ(stored->max_timestamp, clock.now_ms());
    EXPECT_EQ(stored->crc, v.header.crc);
    EXPECT_TRUE(testing::crc_ok(std::vector<uint8_t>(v.bytes.begin(), v.bytes.end())));
    next += v.offset_count();
  }
  // The log holds the same bytes, and its indexes find each batch.
  EXPECT_EQ(slice_bytes(log->read(2, 1 << 20, true)), bytes);
  EXPECT_EQ(batch_offsets(slice_bytes(log->read(6, 1 << 20, true))), (std::vector<int64_t>{5}));
  EXPECT_EQ(log->epoch_for_offset(8), 5);
  EXPECT_EQ(log->offset_for_timestamp(clock.now_ms()).offset, 2);
}

TEST_F(PartitionLogTest, TruncateAndDeleteRecords) {
  auto log = open(config);
  for (int i = 0; i < 5; ++i) append(*log, 2, clock.now_ms(), 0, 10, i);
  EXPECT_TRUE(log->truncate_to(7));  // removes the batch 6..7
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->high_watermark(), 6);
  EXPECT_EQ(log->latest_epoch(), 2);
  EXPECT_EQ(append(*log, 1, clock.now_ms()).base_offset, 6);
  int64_t previous = -1;
  EXPECT_EQ(log->increment_log_start_offset(3, &previous), ErrorCode::NONE);
  EXPECT_EQ(previous, 0);
  EXPECT_EQ(log->log_start_offset(), 3);
  EXPECT_EQ(log->checkpointed_log_start_offset(), 3);
  EXPECT_EQ(log->increment_log_start_offset(100, &previous), ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(log->increment_log_start_offset(-2, &previous), ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(log->increment_log_start_offset(2, &previous), ErrorCode::NONE);  // stays
  EXPECT_EQ(log->log_start_offset(), 3);
  EXPECT_EQ(log->read(2, 1 << 20, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  log->close();
  log.reset();
  // The log keeps no file of it: the log manager's checkpoint hands it back.
  EXPECT_EQ(open(config, true)->log_start_offset(), 0);
  std::string err;
  PartitionLog::Checkpointed kept;
  kept.log_start_offset = 3;
  auto again =
      PartitionLog::open(dir.path() + "/t-0", "t", 0, config, clock, true, &rec, &err, kept);
  ASSERT_TRUE(again) << err;
  EXPECT_EQ(again->log_start_offset(), 3);
  EXPECT_EQ(again->log_end_offset(), 7);
  // A truncation below it moves it down and says so.
  int lowered = 0;
  again->set_log_start_offset_lowered([&] { ++lowered; });
  EXPECT_TRUE(again->truncate_to(2));
  EXPECT_EQ(again->log_start_offset(), 2);
  EXPECT_EQ(lowered, 1);
}

TEST_F(PartitionLogTest, ACheckpointedStartAboveTheLogEndStartsTheLogOverThere) {
  {
    auto log = open(config);
    for (int i = 0; i < 3; ++i) append(*log, 2, clock.now_ms());
    log->close();
  }
  std::string err;
  PartitionLog::Checkpointed kept;
  kept.log_start_offset = 20;
  auto log =
      PartitionLog::open(dir.path() + "/t-0", "t", 0, config, clock, false, &rec, &err, kept);
  ASSERT_TRUE(log) << err;
  EXPECT_EQ(log->log_start_offset(), 20);
  EXPECT_EQ(log->log_end_offset(), 20);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{20}));
  EXPECT_EQ(append(*log, 1, clock.now_ms()).base_offset, 20);
}

}  // namespace
}  // namespace runnel::storage
