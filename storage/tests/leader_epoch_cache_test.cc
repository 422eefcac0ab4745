#include "storage/leader_epoch_cache.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "storage/io_util.h"
#include "storage/partition_log.h"
#include "storage/sys.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using Entries = std::vector<EpochEntry>;
using testing::make_batch;
using testing::TempDir;

TEST(LeaderEpochCacheTest, AssignKeepsEpochsAndOffsetsAscending) {
  LeaderEpochCache c;
  EXPECT_FALSE(c.assign(-1, 0));  // an old-format batch has no epoch
  EXPECT_TRUE(c.assign(0, 0));
  EXPECT_FALSE(c.assign(0, 5));  // the same epoch goes on
  EXPECT_TRUE(c.assign(2, 10));
  EXPECT_TRUE(c.assign(4, 20));
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {2, 10}, {4, 20}}));
  // A smaller epoch, or one that starts earlier, replaces what it contradicts.
  EXPECT_TRUE(c.assign(3, 15));
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {2, 10}, {3, 15}}));
  EXPECT_TRUE(c.assign(5, 10));
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {5, 10}}));
  EXPECT_EQ(c.latest_epoch(), 5);
}

TEST(LeaderEpochCacheTest, EndOffsetForAnswersAsKafka) {
  LeaderEpochCache c(Entries{{1, 5}, {3, 10}, {6, 30}});
  const int64_t leo = 42;
  EXPECT_EQ(c.end_offset_for(6, leo), (EpochEntry{6, 42}));  // the current epoch: the log end
  EXPECT_EQ(c.end_offset_for(3, leo), (EpochEntry{3, 30}));
  EXPECT_EQ(c.end_offset_for(4, leo), (EpochEntry{3, 30}));  // the largest epoch below it
  EXPECT_EQ(c.end_offset_for(1, leo), (EpochEntry{1, 10}));
  EXPECT_EQ(c.end_offset_for(0, leo), (EpochEntry{0, 5}));  // below every epoch: itself
  EXPECT_EQ(c.end_offset_for(-5, leo), (EpochEntry{-5, 5}));
  EXPECT_EQ(c.end_offset_for(-1, leo), (EpochEntry{-1, -1}));  // UNDEFINED_EPOCH
  EXPECT_EQ(c.end_offset_for(7, leo), (EpochEntry{-1, -1}));   // beyond the current epoch
  EXPECT_EQ(LeaderEpochCache().end_offset_for(0, leo), (EpochEntry{-1, -1}));
}

TEST(LeaderEpochCacheTest, TruncationsFollowTheLog) {
  LeaderEpochCache c(Entries{{1, 5}, {3, 10}, {6, 30}});
  EXPECT_FALSE(c.truncate_from_end(31));
  EXPECT_TRUE(c.truncate_from_end(30));
  EXPECT_EQ(c.entries(), (Entries{{1, 5}, {3, 10}}));
  EXPECT_FALSE(c.truncate_from_start(5));
  EXPECT_FALSE(c.truncate_from_start(2));
  EXPECT_TRUE(c.truncate_from_start(12));  // epoch 3 starts at the new log start now
  EXPECT_EQ(c.entries(), (Entries{{3, 12}}));
  EXPECT_TRUE(c.truncate_from_start(20));
  EXPECT_EQ(c.entries(), (Entries{{3, 20}}));
  EXPECT_TRUE(c.truncate_from_end(0));
  EXPECT_TRUE(c.empty());
}

TEST(LeaderEpochCacheTest, KafkasFileLayoutRoundTripsAndAnythingElseIsRefused) {
  const Entries entries{{0, 0}, {4, 17}};
  EXPECT_EQ(LeaderEpochCache::encode(entries), "0\n2\n0 0\n4 17\n");
  std::string err;
  EXPECT_EQ(LeaderEpochCache::decode("0\n2\n0 0\n4 17\n", &err), entries);
  EXPECT_EQ(LeaderEpochCache::decode("0\n0\n", &err), Entries{});
  for (const char* bad :
       {"", "1\n0\n", "0\n", "0\nx\n", "0\n2\n0 0\n", "0\n1\n0 0\n1 2\n", "0\n1\n0\n",
        "0\n1\n-1 0\n", "0\n1\n0 -3\n", "0\n1\n0 5x\n", "0\n2\n3 0\n2 5\n", "0\n2\n1 9\n2 5\n"}) {
    EXPECT_FALSE(LeaderEpochCache::decode(bad, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(LeaderEpochCacheTest, TheFileIsWrittenAtomicallyAndReadBack) {
  TempDir dir;
  bool present = true;
  std::string err;
  EXPECT_FALSE(LeaderEpochCache::read(dir.path(), &present, &err));
  EXPECT_FALSE(present);
  EXPECT_TRUE(err.empty());
  LeaderEpochCache c(Entries{{2, 8}});
  ASSERT_TRUE(c.write(dir.path(), &err)) << err;
  EXPECT_EQ(LeaderEpochCache::read(dir.path(), &present, &err), (Entries{{2, 8}}));
  EXPECT_TRUE(present);
  // A failed write leaves the file as it was and no temp file behind.
  sys::FaultPlan plan;
  plan.ops = sys::op_bit(sys::Op::write);
  plan.fail_at = 1;
  plan.error = ENOSPC;
  sys::set_fault_plan(&plan);
  const bool ok = LeaderEpochCache(Entries{{3, 9}}).write(dir.path(), &err);
  sys::set_fault_plan(nullptr);
  EXPECT_FALSE(ok);
  EXPECT_EQ(plan.failed, 1u);
  EXPECT_EQ(LeaderEpochCache::read(dir.path(), &present, &err), (Entries{{2, 8}}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/leader-epoch-checkpoint.tmp"));
}

class PartitionLogEpochTest : public ::testing::Test {
 protected:
  std::string log_dir() const { return dir.path() + "/t-0"; }
  std::string file() const { return log_dir() + "/leader-epoch-checkpoint"; }
  std::unique_ptr<PartitionLog> open(bool clean = true) {
    std::string err;
    auto log = PartitionLog::open(log_dir(), "t", 0, config, clock, clean, nullptr, &err);
    EXPECT_TRUE(log) << err;
    return log;
  }
  void append(PartitionLog& log, int count, int32_t epoch) {
    auto b = make_batch(count, clock.now_ms());
    ASSERT_EQ(log.append(b, epoch, clock.now_ms()).error, protocol::ErrorCode::NONE);
  }
  Entries on_disk() const {
    bool present = false;
    std::string err;
    return LeaderEpochCache::read(log_dir(), &present, &err).value_or(Entries{{-9, -9}});
  }
  TempDir dir;
  ManualClock clock;
  LogConfig config;
};

TEST_F(PartitionLogEpochTest, ANewLogIsLedAtEpochZeroFromItsEnd) {
  auto log = open();
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}}));
  EXPECT_EQ(on_disk(), (Entries{{0, 0}}));
  EXPECT_EQ(log->end_offset_for_epoch(0), (EpochEntry{0, 0}));
  append(*log, 3, 0);
  EXPECT_EQ(log->end_offset_for_epoch(0), (EpochEntry{0, 3}));
  EXPECT_EQ(log->end_offset_for_epoch(1), (EpochEntry{-1, -1}));
}

TEST_F(PartitionLogEpochTest, AppendsAtNewEpochsAreRecordedAndSurviveARestart) {
  {
    auto log = open();
    append(*log, 3, 0);
    append(*log, 2, 2);
    append(*log, 2, 2);
    append(*log, 1, 5);
    EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {2, 3}, {5, 7}}));
    EXPECT_EQ(on_disk(), (Entries{{0, 0}, {2, 3}, {5, 7}}));
    EXPECT_EQ(log->end_offset_for_epoch(2), (EpochEntry{2, 7}));
    EXPECT_EQ(log->end_offset_for_epoch(4), (EpochEntry{2, 7}));
    EXPECT_EQ(log->end_offset_for_epoch(5), (EpochEntry{5, 8}));
  }
  auto log = open();
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {2, 3}, {5, 7}}));
}

TEST_F(PartitionLogEpochTest, AMissingOrBadFileIsRebuiltFromTheBatches) {
  {
    auto log = open();
    append(*log, 3, 1);
    append(*log, 2, 4);
  }
  for (const char* damage : {"", "0\n5\n1 0\n", "garbage", "0\n1\n1 0\n"}) {
    if (*damage) {
      std::ofstream(file(), std::ios::trunc) << damage;
    } else {
      std::filesystem::remove(file());
    }
    auto log = open(false);
    EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{1, 0}, {4, 3}})) << damage;
    EXPECT_EQ(on_disk(), (Entries{{1, 0}, {4, 3}})) << damage;
  }
}

TEST_F(PartitionLogEpochTest, TruncationAndAMovedLogStartCutTheCache) {
  config.segment_bytes = 120;  // a segment per batch
  auto log = open();
  append(*log, 2, 0);
  append(*log, 2, 1);
  append(*log, 2, 3);
  append(*log, 2, 3);
  EXPECT_EQ(on_disk(), (Entries{{0, 0}, {1, 2}, {3, 4}}));
  ASSERT_TRUE(log->truncate_to(4));
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {1, 2}}));
  EXPECT_EQ(on_disk(), (Entries{{0, 0}, {1, 2}}));
  int64_t previous = 0;
  ASSERT_EQ(log->increment_log_start_offset(3, &previous), protocol::ErrorCode::NONE);
  log->delete_segments_below_log_start();
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{1, 3}}));
  EXPECT_EQ(on_disk(), (Entries{{1, 3}}));
  EXPECT_EQ(log->end_offset_for_epoch(0), (EpochEntry{0, 3}));
  // Retention: the first epoch starts at the first segment left.
  append(*log, 2, 1);
  append(*log, 2, 1);
  config.retention_bytes = 1;
  log->set_config(config);
  EXPECT_GT(log->apply_retention(clock.now_ms()), 0);
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{1, log->log_start_offset()}}));
  EXPECT_EQ(on_disk(), log->leader_epoch_cache().entries());
}

TEST_F(PartitionLogEpochTest, AFailedWriteIsLoggedAndTheNextOpenRebuilds) {
  {
    auto log = open();
    append(*log, 2, 0);
    sys::FaultPlan plan;
    plan.ops = sys::op_bit(sys::Op::rename);
    plan.match = [](sys::Op, std::string_view path) {
      return path.find("leader-epoch-checkpoint") != std::string_view::npos;
    };
    plan.fail_at = 1;
    plan.fail_count = UINT64_MAX;
    plan.error = EIO;
    sys::set_fault_plan(&plan);
    auto b = make_batch(1, clock.now_ms());
    const auto r = log->append(b, 2, clock.now_ms());
    sys::set_fault_plan(nullptr);
    EXPECT_EQ(r.error, protocol::ErrorCode::NONE);  // the log is the truth; the file a copy
    EXPECT_GE(plan.failed, 1u);
    EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {2, 2}}));
    EXPECT_EQ(on_disk(), (Entries{{0, 0}}));
  }
  auto log = open();
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {2, 2}}));
  EXPECT_EQ(on_disk(), (Entries{{0, 0}, {2, 2}}));
}

}  // namespace
}  // namespace runnel::storage
