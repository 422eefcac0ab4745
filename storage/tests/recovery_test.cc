#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/partition_log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;
namespace fs = std::filesystem;

class RecoveryTest : public ::testing::Test {
 protected:
  std::string pdir() const { return dir.path() + "/t-0"; }
  std::string file(int64_t base, const char* ext) const {
    return pdir() + "/" + Segment::file_name(base, ext);
  }
  std::unique_ptr<PartitionLog> open(bool clean = false) {
    std::string err;
    auto log = PartitionLog::open(pdir(), "t", 0, config, clock, clean, &rec, &err);
    EXPECT_TRUE(log) << err;
    return log;
  }
  // Writes `n` batches of 2 records each, then closes the log.
  void fill(int n) {
    auto log = open();
    for (int i = 0; i < n; ++i) {
      auto b = make_batch(2, clock.now_ms() + i, 0, 100);
      ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
    }
    log->close();
  }
  uint64_t size_of(const std::string& path) const { return fs::file_size(path); }
  void cut(const std::string& path, uint64_t size) const { fs::resize_file(path, size); }
  void flip_byte(const std::string& path, uint64_t pos) const {
    int fd = ::open(path.c_str(), O_RDWR);
    uint8_t b = 0;
    ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(pos)), 1);
    b ^= 0x5a;
    ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(pos)), 1);
    ::close(fd);
  }

  TempDir dir;
  ManualClock clock;
  RecoveryResult rec;
  LogConfig config;
  size_t batch_size = make_batch(2, 0, 0, 100).size();
};

TEST_F(RecoveryTest, ReopenKeepsEverything) {
  config.index_interval_bytes = 100;
  fill(20);
  auto log = open(true);
  EXPECT_EQ(log->log_end_offset(), 40);
  EXPECT_EQ(rec.bytes_truncated, 0u);
  EXPECT_EQ(rec.last_valid_offset, 39);
  EXPECT_EQ(log->read(17, 1, true).first_batch_base_offset, 16);
  EXPECT_EQ(log->latest_epoch(), 1);
  auto b = make_batch(1, clock.now_ms());
  EXPECT_EQ(log->append(b, 2, clock.now_ms()).base_offset, 40);
}

TEST_F(RecoveryTest, TornTailIsCut) {
  fill(5);
  cut(file(0, ".log"), batch_size * 4 + 30);
  auto log = open();
  EXPECT_EQ(rec.bytes_truncated, 30u);
  EXPECT_EQ(rec.last_valid_offset, 7);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(size_of(file(0, ".log")), batch_size * 4);
  auto b = make_batch(1, clock.now_ms());
  EXPECT_EQ(log->append(b, 1, clock.now_ms()).base_offset, 8);
}

TEST_F(RecoveryTest, CorruptByteInLastBatchCutsThere) {
  fill(5);
  flip_byte(file(0, ".log"), batch_size * 4 + 80);  // inside the records of batch 5
  auto log = open();
  EXPECT_TRUE(rec.crc_checked);
  EXPECT_EQ(rec.bytes_truncated, batch_size);
  EXPECT_EQ(log->log_end_offset(), 8);
  auto rd = log->read(0, 1 << 20, true);
  EXPECT_EQ(rd.bytes, batch_size * 4);
}

TEST_F(RecoveryTest, CleanShutdownSkipsCrcCheck) {
  fill(3);
  flip_byte(file(0, ".log"), batch_size * 2 + 80);
  auto log = open(true);
  EXPECT_FALSE(rec.crc_checked);
  EXPECT_EQ(log->log_end_offset(), 6);
}

TEST_F(RecoveryTest, GarbageAfterLastBatchIsCut) {
  fill(3);
  {
    int fd = ::open(file(0, ".log").c_str(), O_WRONLY | O_APPEND);
    std::vector<uint8_t> junk(200, 0xab);
    ASSERT_EQ(::write(fd, junk.data(), junk.size()), 200);
    ::close(fd);
  }
  auto log = open();
  EXPECT_EQ(rec.bytes_truncated, 200u);
  EXPECT_EQ(log->log_end_offset(), 6);
}

TEST_F(RecoveryTest, MissingAndCorruptIndexesAreRebuilt) {
  config.index_interval_bytes = 100;
  fill(30);
  std::string err;
  std::vector<OffsetIndexEntry> before;
  {
    auto seg = Segment::open(pdir(), 0, SegmentOptions{100, 1 << 20}, false, 0, &err);
    before = seg->offset_index().entries();
  }
  ASSERT_GT(before.size(), 5u);
  fs::remove(file(0, ".index"));
  {
    auto log = open(true);
    EXPECT_EQ(rec.indexes_rebuilt, 1u);
    EXPECT_EQ(log->read(33, 1, true).first_batch_base_offset, 32);
  }
  {
    auto seg = Segment::open(pdir(), 0, SegmentOptions{100, 1 << 20}, false, 0, &err);
    EXPECT_EQ(seg->offset_index().entries(), before);
  }
  // An index whose last entry points past the end of the log.
  {
    int fd = ::open(file(0, ".index").c_str(), O_WRONLY | O_APPEND);
    uint8_t entry[8] = {0, 0, 1, 0, 0x7f, 0, 0, 0};
    ASSERT_EQ(::write(fd, entry, 8), 8);
    ::close(fd);
  }
  cut(file(0, ".timeindex"), 7);  // not a multiple of 12
  auto log = open(true);
  EXPECT_EQ(rec.indexes_rebuilt, 1u);
  auto seg = Segment::open(pdir(), 0, SegmentOptions{100, 1 << 20}, false, 0, &err);
  EXPECT_EQ(seg->offset_index().entries(), before);
  EXPECT_GT(seg->time_index().size(), 0u);
  EXPECT_EQ(log->offset_for_timestamp(clock.now_ms() + 10).offset, 20);
}

TEST_F(RecoveryTest, CorruptMiddleSegmentWithBadIndexDropsLaterSegments) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  fill(6);  // segments 0, 4, 8
  fs::remove(file(4, ".index"));
  flip_byte(file(4, ".log"), batch_size + 80);  // second batch of segment 4
  auto log = open(true);
  EXPECT_EQ(rec.segments_deleted, 1u);
  EXPECT_TRUE(rec.crc_checked);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_FALSE(fs::exists(file(8, ".log")));
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 4}));
}

TEST_F(RecoveryTest, ReopenAfterRollKeepsTimestampsOfClosedSegments) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  config.retention_ms = 1000;
  fill(6);
  clock.advance(500);
  auto log = open(true);
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(log->apply_retention(clock.now_ms()), 0);
  clock.advance(600);
  EXPECT_EQ(log->apply_retention(clock.now_ms()), 2);
  EXPECT_EQ(log->log_start_offset(), 8);
}

}  // namespace
}  // namespace runnel::storage
