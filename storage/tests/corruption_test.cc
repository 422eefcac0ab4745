// Damage done by hand to a partition's files (as a crash, a power cut or a
// broken disk would leave them) and what opening the log makes of it: it
// opens, keeps every valid record before the damage at its offset, ends the
// log where the damage begins and takes appends at the right next offset.
// recovery_test.cc covers the simpler cases of one segment (a torn batch
// header, a flipped byte in the last batch, garbage after the last batch,
// missing indexes, an index past the end of the log, a corrupt middle
// segment whose index is missing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "protocol/records/record_batch.h"
#include "storage/partition_log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::BatchHeader;
using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr int kRecordsPerBatch = 2;

class CorruptionTest : public ::testing::Test {
 protected:
  std::string pdir() const { return dir.path() + "/" + part; }
  std::string file(int64_t base, const char* ext) const {
    return pdir() + "/" + Segment::file_name(base, ext);
  }
  // Opens with the recovery point the last fill() left (as the log manager's checkpoint
  // would hand it back).
  std::unique_ptr<PartitionLog> open(bool clean) {
    std::string err;
    auto log = PartitionLog::open(
        pdir(), "t", 0, config, clock, clean, &rec, &err,
        {.recovery_point = recovery_point, .producer_snapshot = {}, .log_start_offset = {}});
    EXPECT_TRUE(log) << err;
    return log;
  }
  // Batch i (of 2 records) has timestamp 1000 * (i + 1).
  void fill(int n) {
    auto log = open(false);
    for (int i = 0; i < n; ++i) {
      auto b = make_batch(kRecordsPerBatch, ts_of(i), 0, 100);
      ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
    }
    log->close();
    recovery_point = log->recovery_point();
  }
  static int64_t ts_of(int batch) { return 1000 * (batch + 1); }
  void write_at(const std::string& path, uint64_t pos, const std::vector<uint8_t>& bytes) const {
    int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(pos)),
              static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  void flip_bit(const std::string& path, uint64_t pos) const {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    uint8_t b = 0;
    ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(pos)), 1);
    b ^= 0x10;
    ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(pos)), 1);
    ::close(fd);
  }
  // Reads the whole log from the start and checks that it holds exactly the
  // batches 0 .. batches-1 of fill(), each at its offset, each with a valid
  // CRC (unless its index is `allow_bad_crc`).
  void expect_batches(const PartitionLog& log, int batches, int allow_bad_crc = -1) const {
    auto rd = log.read(0, 1 << 24, true);
    ASSERT_EQ(rd.error, ErrorCode::NONE);
    std::vector<uint8_t> bytes;
    for (const auto& s : rd.slices) {
      std::vector<uint8_t> buf(s.length);
      ASSERT_EQ(::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)),
                static_cast<ssize_t>(s.length));
      bytes.insert(bytes.end(), buf.begin(), buf.end());
    }
    auto split = protocol::split_batches(bytes);
    ASSERT_EQ(split.batches.size(), static_cast<size_t>(batches));
    for (int i = 0; i < batches; ++i) {
      auto h = BatchHeader::parse(split.batches[i]);
      ASSERT_TRUE(h);
      EXPECT_EQ(h->base_offset, i * kRecordsPerBatch) << "batch " << i;
      EXPECT_EQ(h->record_count, kRecordsPerBatch) << "batch " << i;
      EXPECT_EQ(h->max_timestamp, ts_of(i)) << "batch " << i;
      if (i != allow_bad_crc) {
        std::vector<uint8_t> copy(split.batches[i].begin(), split.batches[i].end());
        EXPECT_TRUE(testing::crc_ok(copy)) << "batch " << i;
      }
    }
    EXPECT_EQ(log.log_end_offset(), batches * kRecordsPerBatch);
    // Every offset finds its batch through the indexes, and every batch's
    // timestamp finds the batch.
    for (int64_t o = 0; o < batches * kRecordsPerBatch; ++o)
      EXPECT_EQ(log.read(o, 1, true).first_batch_base_offset, o - o % kRecordsPerBatch) << o;
    for (int i = 0; i < batches; ++i)
      EXPECT_EQ(log.offset_for_timestamp(ts_of(i)).offset, i * kRecordsPerBatch) << "batch " << i;
  }
  // Appends one more batch: it must land at the log end offset and survive a
  // clean reopen.
  void expect_appends_continue(std::unique_ptr<PartitionLog> log, int batches) {
    auto b = make_batch(kRecordsPerBatch, ts_of(batches), 0, 100);
    auto r = log->append(b, 1, clock.now_ms());
    ASSERT_EQ(r.error, ErrorCode::NONE);
    EXPECT_EQ(r.base_offset, batches * kRecordsPerBatch);
    log->close();
    log.reset();
    auto again = open(true);
    expect_batches(*again, batches + 1);
  }

  TempDir dir;
  std::string part = "t-0";
  ManualClock clock;
  RecoveryResult rec;
  std::optional<int64_t> recovery_point;
  LogConfig config;
  uint64_t batch_size = make_batch(kRecordsPerBatch, 0, 0, 100).size();
};

TEST_F(CorruptionTest, TruncatedBodyOfTheLastBatchIsCut) {
  fill(5);
  fs::resize_file(file(0, ".log"), batch_size * 4 + BatchHeader::kSize + 20);
  auto log = open(false);
  EXPECT_EQ(rec.bytes_truncated, BatchHeader::kSize + 20);
  EXPECT_EQ(rec.last_valid_offset, 7);
  EXPECT_EQ(fs::file_size(file(0, ".log")), batch_size * 4);
  expect_batches(*log, 4);
  expect_appends_continue(std::move(log), 4);
}

TEST_F(CorruptionTest, TruncatedBatchHeaderInTheLastOfSeveralSegments) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  fill(6);  // segments 0, 4, 8
  fs::resize_file(file(8, ".log"), batch_size + 30);
  auto log = open(false);
  EXPECT_EQ(rec.bytes_truncated, 30u);
  EXPECT_EQ(rec.segments_deleted, 0u);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 4, 8}));
  expect_batches(*log, 5);
  expect_appends_continue(std::move(log), 5);
}

// Segments below the recovery point (known to be on disk: here everything,
// since fill() closes the log) are not scanned at open, as in Kafka: a
// flipped bit in such a segment with sane indexes is not seen at open. Nothing is cut or lost, the
// damaged batch is served as it is (its CRC tells a client), and appends go on.
TEST_F(CorruptionTest, FlippedBitInAMiddleSegmentKeepsEveryOffset) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  fill(6);                                                          // segments 0, 4, 8
  flip_bit(file(4, ".log"), batch_size + BatchHeader::kSize + 30);  // batch 3 (offsets 6-7)
  auto log = open(false);
  EXPECT_EQ(rec.segments_deleted, 0u);
  EXPECT_EQ(rec.bytes_truncated, 0u);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 4, 8}));
  expect_batches(*log, 6, /*allow_bad_crc=*/3);
  auto b = make_batch(kRecordsPerBatch, ts_of(6), 0, 100);
  EXPECT_EQ(log->append(b, 1, clock.now_ms()).base_offset, 12);
}

// The same flipped bit, but the segment's time index is also not increasing:
// the segment is scanned with CRC checks, cut at the bad batch, and the later
// segments go; every batch before the bad one stays.
TEST_F(CorruptionTest, FlippedBitInAMiddleSegmentWithABadTimeIndexCutsThere) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 3);
  config.index_interval_bytes = 1;
  fill(9);                                                          // segments 0, 6, 12
  flip_bit(file(6, ".log"), batch_size + BatchHeader::kSize + 30);  // batch 4 (offsets 8-9)
  ASSERT_GE(fs::file_size(file(6, ".timeindex")), 24u);
  write_at(file(6, ".timeindex"), 12, {0, 0, 0, 0, 0, 0, 0, 1});  // below the first entry
  auto log = open(true);
  EXPECT_TRUE(rec.crc_checked);
  EXPECT_EQ(rec.segments_deleted, 1u);
  EXPECT_EQ(rec.bytes_truncated, batch_size * 2);
  EXPECT_FALSE(fs::exists(file(12, ".log")));
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 6}));
  expect_batches(*log, 4);
  expect_appends_continue(std::move(log), 4);
}

TEST_F(CorruptionTest, IndexPointingPastTheEndOfAMiddleSegmentIsRebuilt) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 3);
  config.index_interval_bytes = 1;
  fill(9);  // segments 0, 6, 12
  std::vector<uint8_t> entry = {0, 0, 1, 0, 0x7f, 0, 0, 0};
  write_at(file(6, ".index"), fs::file_size(file(6, ".index")), entry);
  auto log = open(true);
  EXPECT_EQ(rec.indexes_rebuilt, 1u);
  EXPECT_EQ(rec.bytes_truncated, 0u);
  EXPECT_EQ(rec.segments_deleted, 0u);
  expect_batches(*log, 9);
  std::string err;
  auto seg = Segment::open(pdir(), 6, SegmentOptions{1, 1 << 20}, false, 0, &err);
  ASSERT_TRUE(seg) << err;
  for (const auto& e : seg->offset_index().entries())
    EXPECT_LT(e.position, fs::file_size(file(6, ".log")));
  expect_appends_continue(std::move(log), 9);
}

TEST_F(CorruptionTest, TimeIndexNotIncreasingInTheLastSegmentIsRebuilt) {
  config.index_interval_bytes = 1;
  fill(8);
  std::vector<TimeIndexEntry> before;
  {
    std::string err;
    auto seg = Segment::open(pdir(), 0, SegmentOptions{1, 1 << 20}, false, 0, &err);
    ASSERT_TRUE(seg) << err;
    before = seg->time_index().entries();
  }
  ASSERT_GE(before.size(), 3u);
  write_at(file(0, ".timeindex"), 24, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // -1
  auto log = open(true);
  EXPECT_EQ(rec.indexes_rebuilt, 1u);
  expect_batches(*log, 8);
  {
    std::string err;
    auto seg = Segment::open(pdir(), 0, SegmentOptions{1, 1 << 20}, false, 0, &err);
    ASSERT_TRUE(seg) << err;
    EXPECT_EQ(seg->time_index().entries(), before);
  }
  expect_appends_continue(std::move(log), 8);
}

// Empty index files (as left by a crash between creating and writing them):
// lookups still find every offset and timestamp, in a middle segment (read
// from the segment start) and in the last one (rebuilt).
TEST_F(CorruptionTest, EmptyIndexesStillFindEveryOffsetAndTimestamp) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 3);
  config.index_interval_bytes = 1;
  fill(8);  // segments 0, 6, 12
  for (int64_t base : {6, 12}) {
    ASSERT_GT(fs::file_size(file(base, ".index")), 0u);
    fs::resize_file(file(base, ".index"), 0);
    fs::resize_file(file(base, ".timeindex"), 0);
  }
  auto log = open(false);
  EXPECT_EQ(rec.bytes_truncated, 0u);
  EXPECT_GE(rec.indexes_rebuilt, 1u);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 6, 12}));
  expect_batches(*log, 8);
  expect_appends_continue(std::move(log), 8);
}

// A file extended with zeros whose data never reached the disk (a power cut
// after a preallocation or a size update): the zeros are not a batch (magic
// 0, batchLength 0) and are cut, with or without a clean-shutdown marker.
TEST_F(CorruptionTest, ZeroFilledTailIsCut) {
  for (bool clean : {false, true}) {
    SCOPED_TRACE(clean ? "clean" : "unclean");
    part = clean ? "t-1" : "t-0";
    fill(4);
    uint64_t size = fs::file_size(file(0, ".log"));
    write_at(file(0, ".log"), size, std::vector<uint8_t>(8192, 0));
    auto log = open(clean);
    EXPECT_EQ(rec.bytes_truncated, 8192u);
    EXPECT_EQ(fs::file_size(file(0, ".log")), size);
    expect_batches(*log, 4);
    expect_appends_continue(std::move(log), 4);
  }
}

// The last batch's bytes zeroed in place (its blocks were allocated but not
// written): the CRC check of an unclean start finds it and cuts it.
TEST_F(CorruptionTest, ZeroedLastBatchIsCutAfterAnUncleanShutdown) {
  fill(4);
  write_at(file(0, ".log"), batch_size * 3 + BatchHeader::kSize,
           std::vector<uint8_t>(batch_size - BatchHeader::kSize, 0));
  auto log = open(false);
  EXPECT_EQ(rec.bytes_truncated, batch_size);
  expect_batches(*log, 3);
  expect_appends_continue(std::move(log), 3);
}

// A producer's batch torn after a clean close: the snapshot written at close
// is above the new log end and is dropped; the state is rebuilt from the log,
// so the producer's retry of the lost batch is written (once) and not taken
// for a duplicate.
TEST_F(CorruptionTest, TornProducerBatchIsAcceptedAgainOnce) {
  auto pbatch = [](int32_t seq, int count) {
    protocol::RecordBatchBuilder b;
    b.producer(7, 0, seq);
    const uint8_t value[3] = {'v', 'a', 'l'};
    for (int i = 0; i < count; ++i)
      b.add(1000, std::nullopt, std::span<const uint8_t>(value, sizeof value));
    return b.build();
  };
  uint64_t first_size = 0;
  {
    auto log = open(false);
    auto b0 = pbatch(0, 3), b1 = pbatch(3, 3);
    first_size = b0.size();
    ASSERT_EQ(log->append(b0, 0, clock.now_ms()).base_offset, 0);
    ASSERT_EQ(log->append(b1, 0, clock.now_ms()).base_offset, 3);
    log->close();
  }
  ASSERT_TRUE(fs::exists(pdir() + "/" + Segment::file_name(6, ".snapshot")));
  fs::resize_file(file(0, ".log"), first_size + 40);
  auto log = open(false);
  EXPECT_EQ(log->log_end_offset(), 3);
  EXPECT_FALSE(fs::exists(pdir() + "/" + Segment::file_name(6, ".snapshot")));
  auto retry = pbatch(3, 3);
  auto r = log->append(retry, 0, clock.now_ms());
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.base_offset, 3);
  auto again = pbatch(3, 3);
  r = log->append(again, 0, clock.now_ms());
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.base_offset, 3);
  EXPECT_EQ(log->log_end_offset(), 6);
  auto gap = pbatch(7, 1);
  EXPECT_EQ(log->append(gap, 0, clock.now_ms()).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

// Background flushes of rolled segments, queued by a test runner.
struct QueuedFlushes {
  struct Job {
    std::function<bool()> work;
    std::function<void(bool)> done;
  };
  std::vector<Job> jobs;
  PartitionLog::BackgroundRunner runner() {
    return [this](std::function<bool()> work, std::function<void(bool)> done) {
      jobs.push_back({std::move(work), std::move(done)});
    };
  }
  // Runs every queued flush; `ok` overrides what it reports.
  void run_all(std::optional<bool> ok = std::nullopt) {
    auto pending = std::move(jobs);
    jobs.clear();
    for (auto& j : pending) {
      bool r = j.work();
      j.done(ok.value_or(r));
    }
  }
  ~QueuedFlushes() { run_all(false); }  // closes the descriptors they hold
};

TEST_F(CorruptionTest, FlushedRolledSegmentMovesTheRecoveryPoint) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  QueuedFlushes flushes;
  auto log = open(false);
  log->set_background_runner(flushes.runner());
  for (int i = 0; i < 3; ++i) {  // the third batch rolls to segment 4
    auto b = make_batch(kRecordsPerBatch, ts_of(i), 0, 100);
    ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
  }
  ASSERT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(log->recovery_point(), 0);  // not flushed yet
  ASSERT_EQ(flushes.jobs.size(), 1u);
  flushes.run_all();
  EXPECT_EQ(log->recovery_point(), 4);

  for (int i = 3; i < 5; ++i) {  // the fifth rolls to segment 8
    auto b = make_batch(kRecordsPerBatch, ts_of(i), 0, 100);
    ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
  }
  // A failed flush moves nothing, and takes the partition offline: what is on disk is unknown,
  // and a later fsync that succeeds would not prove it.
  flushes.run_all(false);
  EXPECT_EQ(log->recovery_point(), 4);
  EXPECT_TRUE(log->offline());
  auto b = make_batch(kRecordsPerBatch, ts_of(5), 0, 100);
  EXPECT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(log->log_end_offset(), 10);
}

// A crash (the log is copied while open) with a rolled segment whose flush
// has not finished: that segment is above the recovery point, so the unclean
// open checks it batch by batch, finds the flipped bit and cuts the log there.
TEST_F(CorruptionTest, RolledSegmentAboveTheRecoveryPointIsScannedAfterACrash) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  QueuedFlushes flushes;
  auto log = open(false);
  log->set_background_runner(flushes.runner());
  for (int i = 0; i < 6; ++i) {  // segments 0, 4, 8
    auto b = make_batch(kRecordsPerBatch, ts_of(i), 0, 100);
    ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
  }
  EXPECT_EQ(log->recovery_point(), 0);
  const std::string image = dir.path() + "/crash-image";
  fs::copy(pdir(), image, fs::copy_options::recursive);
  flip_bit(image + "/" + Segment::file_name(4, ".log"), batch_size + BatchHeader::kSize + 30);
  std::string err;
  RecoveryResult r;
  auto crashed = PartitionLog::open(image, "t", 0, config, clock, false, &r, &err);
  ASSERT_TRUE(crashed) << err;
  EXPECT_TRUE(r.crc_checked);
  EXPECT_EQ(r.segments_deleted, 1u);  // segment 8, after the corrupt batch
  EXPECT_EQ(crashed->log_end_offset(), 6);
  EXPECT_EQ(crashed->segment_base_offsets(), (std::vector<int64_t>{0, 4}));
  // What survived is now on disk: the recovery point is the log end.
  EXPECT_EQ(crashed->recovery_point(), 6);
}

TEST_F(CorruptionTest, BackgroundFlushFinishingAfterATruncationMovesNothing) {
  config.segment_bytes = static_cast<int32_t>(batch_size * 2);
  QueuedFlushes flushes;
  auto log = open(false);
  log->set_background_runner(flushes.runner());
  for (int i = 0; i < 3; ++i) {
    auto b = make_batch(kRecordsPerBatch, ts_of(i), 0, 100);
    ASSERT_EQ(log->append(b, 1, clock.now_ms()).error, ErrorCode::NONE);
  }
  int lowered = 0;
  log->set_recovery_point_lowered([&] { ++lowered; });
  log->set_checkpointed_recovery_point(0);
  ASSERT_TRUE(log->truncate_to(2));
  EXPECT_EQ(lowered, 0);  // not below what the checkpoint holds
  flushes.run_all();
  EXPECT_EQ(log->recovery_point(), 0);
  // A point that moves below the checkpointed one is reported, for the checkpoint to follow.
  ASSERT_TRUE(log->flush());
  EXPECT_EQ(log->recovery_point(), 2);
  log->set_checkpointed_recovery_point(2);
  ASSERT_TRUE(log->truncate_to(1));
  EXPECT_EQ(lowered, 1);
  EXPECT_EQ(log->recovery_point(), 0);
}

}  // namespace
}  // namespace runnel::storage
