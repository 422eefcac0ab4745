#include "storage/log_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "protocol/records/record_batch.h"
#include "storage/offset_checkpoint.h"
#include "storage/sys.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;
namespace fs = std::filesystem;

class LogManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogManager> open() {
    auto m = std::make_unique<LogManager>(std::vector<std::string>{dir.path() + "/logs"},
                                          LogConfig{}, clock);
    std::string err;
    EXPECT_TRUE(m->load(&err)) << err;
    return m;
  }
  TempDir dir;
  ManualClock clock;
};

TEST_F(LogManagerTest, TopicNames) {
  EXPECT_TRUE(is_valid_topic_name("orders.v1_A-2"));
  EXPECT_FALSE(is_valid_topic_name(""));
  EXPECT_FALSE(is_valid_topic_name("."));
  EXPECT_FALSE(is_valid_topic_name(".."));
  EXPECT_FALSE(is_valid_topic_name("a b"));
  EXPECT_FALSE(is_valid_topic_name("a/b"));
  EXPECT_TRUE(is_valid_topic_name(std::string(249, 'x')));
  EXPECT_FALSE(is_valid_topic_name(std::string(250, 'x')));
  EXPECT_TRUE(topic_names_collide("a.b", "a_b"));
  EXPECT_FALSE(topic_names_collide("a.b", "a.b"));
  auto m = open();
  EXPECT_EQ(m->create_topic("bad name", 1, {}).error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(m->create_topic("..", 1, {}).error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  ASSERT_TRUE(m->create_topic("a.b", 1, {}).ok());
  EXPECT_EQ(m->create_topic("a_b", 1, {}).error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(m->create_topic("a.b", 1, {}).error, ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(m->create_topic("z", 0, {}).error, ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(m->create_topic("z", 1, {{"segment.bytes", "abc"}}).error, ErrorCode::INVALID_CONFIG);
  // Kafka 4.x: at least 1 MiB for a topic.
  auto small = m->create_topic("z", 1, {{"segment.bytes", "1048575"}});
  EXPECT_EQ(small.error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(
      small.message,
      "Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576");
  EXPECT_EQ(m->create_topic("z", 1, {{"no.such.key", "1"}}).error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(m->topic("z"), nullptr);
}

TEST_F(LogManagerTest, TopicsSurviveRestart) {
  protocol::Uuid id;
  for (int i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i + 1);
  {
    auto m = open();
    auto r =
        m->create_topic("orders", 3, {{"retention.ms", "1000"}, {"cleanup.policy", "delete"}}, id);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(m->topic_config("orders")->retention_ms, 1000);
    auto b = make_batch(4, clock.now_ms());
    ASSERT_EQ(m->get("orders", 2)->append(b, 0, clock.now_ms()).error, ErrorCode::NONE);
    EXPECT_EQ(m->get("orders", 3), nullptr);
    EXPECT_TRUE(fs::exists(dir.path() + "/logs/orders-1/partition.metadata"));
    EXPECT_TRUE(m->close());
  }
  auto m = open();
  const TopicInfo* t = m->topic("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->topic_id, id);
  EXPECT_EQ(t->partitions, 3);
  EXPECT_EQ(t->configs.at("retention.ms"), "1000");
  EXPECT_EQ(m->topic_by_id(id), t);
  EXPECT_EQ(m->topic_config("orders")->retention_ms, 1000);
  EXPECT_EQ(m->get("orders", 2)->log_end_offset(), 4);
  EXPECT_FALSE(m->recovery_results().at("orders-2").crc_checked);  // clean shutdown
  ASSERT_EQ(m->topics().size(), 1u);
}

TEST_F(LogManagerTest, UncleanRestartChecksCrc) {
  {
    auto m = open();
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    auto b = make_batch(2, clock.now_ms());
    m->get("t", 0)->append(b, 0, clock.now_ms());
    // The destructor closes cleanly; removing the marker below makes the
    // next start look like one after a crash.
  }
  fs::remove(dir.path() + "/logs/.runnel-cleanshutdown");
  auto m = open();
  EXPECT_TRUE(m->recovery_results().at("t-0").crc_checked);
  EXPECT_EQ(m->get("t", 0)->log_end_offset(), 2);
}

TEST_F(LogManagerTest, DeleteTopic) {
  auto m = open();
  ASSERT_TRUE(m->create_topic("gone", 2, {}).ok());
  EXPECT_TRUE(m->delete_topic("gone").ok());
  EXPECT_EQ(m->get("gone", 0), nullptr);
  EXPECT_FALSE(fs::exists(dir.path() + "/logs/gone-0"));
  EXPECT_EQ(m->delete_topic("gone").error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  m->close();
  auto again = open();
  EXPECT_EQ(again->topic("gone"), nullptr);
}

TEST_F(LogManagerTest, CreatePartitions) {
  auto m = open();
  ASSERT_TRUE(m->create_topic("p", 1, {}).ok());
  EXPECT_EQ(m->create_partitions("p", 1).error, ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(m->create_partitions("nope", 3).error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  ASSERT_TRUE(m->create_partitions("p", 4).ok());
  EXPECT_NE(m->get("p", 3), nullptr);
  m->close();
  auto again = open();
  EXPECT_EQ(again->topic("p")->partitions, 4);
  EXPECT_NE(again->get("p", 3), nullptr);
}

TEST_F(LogManagerTest, UpdateTopicConfig) {
  auto m = open();
  ASSERT_TRUE(m->create_topic("c", 1, {}).ok());
  EXPECT_EQ(m->update_topic_config("c", {{"segment.ms", "-5"}}).error, ErrorCode::INVALID_CONFIG);
  ASSERT_TRUE(m->update_topic_config("c", {{"message.timestamp.type", "LogAppendTime"}}).ok());
  EXPECT_EQ(m->get("c", 0)->config().message_timestamp_type, TimestampType::log_append_time);
  m->close();
  auto again = open();
  EXPECT_EQ(again->topic_config("c")->value_of("message.timestamp.type"), "LogAppendTime");
}

TEST_F(LogManagerTest, TopicChangesInSteps) {
  auto m = open();
  std::shared_ptr<LogManager::TopicChange> c, other;
  ASSERT_TRUE(m->begin_create_topic("t", 3, {}, std::nullopt, false, &c).ok());
  ASSERT_TRUE(c);
  EXPECT_TRUE(m->busy("t"));
  EXPECT_EQ(m->topic("t"), nullptr);  // not visible half-made
  EXPECT_EQ(m->begin_create_topic("t", 1, {}, std::nullopt, false, &other).error,
            ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_FALSE(other);
  ASSERT_TRUE(m->begin_create_topic("a.b", 1, {}, std::nullopt, false, &other).ok());
  EXPECT_EQ(m->create_topic("a_b", 1, {}).error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  other->run();
  ASSERT_TRUE(m->finish(other).ok());
  // A delete of a topic being created finds none.
  EXPECT_EQ(m->delete_topic("t").error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  c->run();
  EXPECT_EQ(m->topic("t"), nullptr);  // committed on disk, visible at finish
  EXPECT_TRUE(fs::exists(dir.path() + "/logs/.runnel-topics/t"));
  ASSERT_TRUE(m->finish(c).ok());
  ASSERT_NE(m->topic("t"), nullptr);
  EXPECT_NE(m->get("t", 2), nullptr);
  EXPECT_FALSE(m->busy("t"));

  ASSERT_TRUE(m->begin_delete_topic("t", &c).ok());
  EXPECT_EQ(m->topic("t"), nullptr);
  EXPECT_EQ(m->create_topic("t", 1, {}).error, ErrorCode::TOPIC_ALREADY_EXISTS);
  c->run();
  ASSERT_TRUE(m->finish(c).ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/logs/t-0"));
  ASSERT_TRUE(m->create_topic("t", 1, {}).ok());

  ASSERT_TRUE(m->begin_create_partitions("t", 4, false, &c).ok());
  EXPECT_EQ(m->delete_topic("t").error, ErrorCode::REQUEST_TIMED_OUT);
  EXPECT_EQ(m->create_partitions("t", 5).error, ErrorCode::REQUEST_TIMED_OUT);
  c->run();
  EXPECT_EQ(m->topic("t")->partitions, 1);
  ASSERT_TRUE(m->finish(c).ok());
  EXPECT_EQ(m->topic("t")->partitions, 4);
  EXPECT_NE(m->get("t", 3), nullptr);
}

TEST_F(LogManagerTest, CloseClosesAChangeThatRanButWasNotFinished) {
  {
    auto m = open();
    std::shared_ptr<LogManager::TopicChange> c;
    ASSERT_TRUE(m->begin_create_topic("t", 2, {}, std::nullopt, false, &c).ok());
    c->run();
    EXPECT_TRUE(m->close());
    EXPECT_EQ(m->finish(c).error, ErrorCode::KAFKA_STORAGE_ERROR);
    EXPECT_TRUE(fs::exists(dir.path() + "/logs/.runnel-cleanshutdown"));
  }
  auto m = open();
  ASSERT_NE(m->topic("t"), nullptr);
  EXPECT_EQ(m->topic("t")->partitions, 2);
}

std::vector<uint8_t> idempotent_batch(int64_t pid, int32_t seq) {
  protocol::RecordBatchBuilder b;
  b.producer(pid, 0, seq);
  const uint8_t value[] = {'i', 'd'};
  b.add(1000, std::nullopt, std::span<const uint8_t>(value, sizeof value));
  return b.build();
}

// Every file under `dir` (recursively), relative, sorted.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// A clean close writes no file per partition: one syncfs, one recovery point checkpoint and
// one file of producer states, which the next clean start loads without replaying any log.
TEST_F(LogManagerTest, CleanCloseWritesTwoFilesForAllPartitionsAndStartsWithoutReplay) {
  const int n = 300;
  const std::string logs = dir.path() + "/logs";
  std::vector<std::string> before;
  {
    auto m = open();
    ASSERT_TRUE(m->create_topic("t", n, {}).ok());
    for (int p = 0; p < n; p += 7) {
      auto b = make_batch(3, 1000);
      ASSERT_EQ(m->get("t", p)->append(b, 0, 1000).error, ErrorCode::NONE);
      auto idem = idempotent_batch(100 + p, 0);
      ASSERT_EQ(m->get("t", p)->append(idem, 0, 1000).error, ErrorCode::NONE);
    }
    before = files_under(logs);
    EXPECT_TRUE(m->close());
  }
  std::vector<std::string> after = files_under(logs);
  std::vector<std::string> added;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(added));
  EXPECT_EQ(added, (std::vector<std::string>{".runnel-cleanshutdown", "producer-state-at-close",
                                             "recovery-point-offset-checkpoint"}));

  std::string err;
  auto points = OffsetCheckpoint::read(logs + "/recovery-point-offset-checkpoint", &err);
  ASSERT_TRUE(points) << err;
  ASSERT_EQ(points->size(), static_cast<size_t>(n));
  for (int p = 0; p < n; ++p) EXPECT_EQ(points->at({"t", p}), p % 7 == 0 ? 4 : 0) << p;

  auto m = open();
  EXPECT_FALSE(fs::exists(logs + "/producer-state-at-close"));  // it describes that close only
  for (int p = 0; p < n; ++p) {
    PartitionLog* log = m->get("t", p);
    ASSERT_EQ(log->log_end_offset(), p % 7 == 0 ? 4 : 0);
    EXPECT_TRUE(m->recovery_results().at("t-" + std::to_string(p)).producer_state_kept) << p;
    if (p % 7 != 0) continue;
    ASSERT_EQ(log->producers().size(), 1u);
    EXPECT_EQ(log->producers()[0].producer_id, 100 + p);
    EXPECT_EQ(log->producers()[0].last_sequence, 0);
    // A retry of the last batch is still known as a duplicate; the next sequence follows.
    auto retry = idempotent_batch(100 + p, 0);
    auto r = log->append(retry, 0, 2000);
    EXPECT_EQ(r.error, ErrorCode::NONE);
    EXPECT_EQ(r.base_offset, 3);
    EXPECT_EQ(log->log_end_offset(), 4);
    auto next = idempotent_batch(100 + p, 1);
    EXPECT_EQ(log->append(next, 0, 2000).base_offset, 4);
  }
}

// Without the producer states of the close (removed, or not a clean close), the state is
// rebuilt from the log as before.
TEST_F(LogManagerTest, ProducerStatesAreRebuiltWhenTheCloseLeftNone) {
  const std::string logs = dir.path() + "/logs";
  {
    auto m = open();
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    auto idem = idempotent_batch(5, 0);
    ASSERT_EQ(m->get("t", 0)->append(idem, 0, 1000).error, ErrorCode::NONE);
    EXPECT_TRUE(m->close());
  }
  fs::remove(logs + "/producer-state-at-close");
  auto m = open();
  EXPECT_FALSE(m->recovery_results().at("t-0").producer_state_kept);
  ASSERT_EQ(m->get("t", 0)->producers().size(), 1u);
  EXPECT_EQ(m->get("t", 0)->producers()[0].producer_id, 5);
}

// After a crash, only the segments above the checkpointed recovery point are scanned; a
// partition the checkpoint does not name is scanned whole.
TEST_F(LogManagerTest, UncleanStartScansFromTheCheckpointedRecoveryPoint) {
  const std::string logs = dir.path() + "/logs";
  auto m = open();
  ASSERT_TRUE(m->create_topic("t", 2, {{"segment.bytes", "1048576"}}).ok());
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 3; ++i) {
      auto b = make_batch(2, 1000);
      ASSERT_EQ(m->get("t", p)->append(b, 0, 1000).error, ErrorCode::NONE);
    }
  }
  // Three segments each: rolled by segment.ms (7 days).
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 2; ++i) {
      clock.advance(8 * 24 * 3600 * 1000LL);
      ASSERT_TRUE(m->get("t", p)->maybe_roll(clock.now_ms()));
      auto b = make_batch(2, clock.now_ms());
      ASSERT_EQ(m->get("t", p)->append(b, 0, clock.now_ms()).error, ErrorCode::NONE);
    }
  }
  ASSERT_TRUE(m->flush_all());
  ASSERT_TRUE(m->checkpoint_recovery_points());
  // A crash: the files as they are now, without a clean close.
  const std::string image = dir.path() + "/image";
  fs::copy(logs, image, fs::copy_options::recursive);
  std::string err;
  auto points = OffsetCheckpoint::read(image + "/recovery-point-offset-checkpoint", &err);
  ASSERT_TRUE(points) << err;
  EXPECT_EQ(points->at({"t", 0}), 10);
  points->erase({"t", 1});
  ASSERT_TRUE(OffsetCheckpoint::write(image + "/recovery-point-offset-checkpoint", *points, &err));

  LogManager crashed({image}, LogConfig{}, clock);
  ASSERT_TRUE(crashed.load(&err)) << err;
  const auto& r0 = crashed.recovery_results().at("t-0");
  const auto& r1 = crashed.recovery_results().at("t-1");
  EXPECT_EQ(r0.segments_loaded, 3u);
  EXPECT_EQ(r0.segments_scanned, 1u);  // the last one only
  EXPECT_EQ(r1.segments_scanned, 3u);  // not in the checkpoint: all
  EXPECT_EQ(crashed.get("t", 1)->log_end_offset(), 10);
  // The start wrote the checkpoint anew with every partition.
  points = OffsetCheckpoint::read(image + "/recovery-point-offset-checkpoint", &err);
  ASSERT_TRUE(points) << err;
  EXPECT_EQ(points->at({"t", 1}), 10);
}

// The checkpoint never names a point above what is on disk: a truncation below it, and a
// topic created again while it holds the deleted one's points, rewrite it at once.
TEST_F(LogManagerTest, CheckpointIsRewrittenWhenAPointMovesDown) {
  const std::string path = dir.path() + "/logs/recovery-point-offset-checkpoint";
  auto m = open();
  ASSERT_TRUE(m->create_topic("t", 2, {}).ok());
  for (int i = 0; i < 3; ++i) {
    auto b = make_batch(2, 1000);
    ASSERT_EQ(m->get("t", 0)->append(b, 0, 1000).error, ErrorCode::NONE);
    auto c = make_batch(2, 1000);
    ASSERT_EQ(m->get("t", 1)->append(c, 0, 1000).error, ErrorCode::NONE);
  }
  ASSERT_TRUE(m->flush_all());
  ASSERT_TRUE(m->checkpoint_recovery_points());
  std::string err;
  EXPECT_EQ(OffsetCheckpoint::read(path, &err)->at({"t", 0}), 6);

  ASSERT_TRUE(m->get("t", 0)->truncate_to(2));
  EXPECT_EQ(OffsetCheckpoint::read(path, &err)->at({"t", 0}), 2);

  ASSERT_TRUE(m->delete_topic("t").ok());
  EXPECT_EQ(OffsetCheckpoint::read(path, &err)->at({"t", 1}), 6);  // lags: harmless so far
  ASSERT_TRUE(m->create_topic("t", 2, {}).ok());
  auto points = OffsetCheckpoint::read(path, &err);
  EXPECT_EQ(points->at({"t", 0}), 0);
  EXPECT_EQ(points->at({"t", 1}), 0);
}

// The interval's checkpoint writes the file only when a point moved.
TEST_F(LogManagerTest, PeriodicCheckpointWritesOnlyWhenAPointMoved) {
  const std::string path = dir.path() + "/logs/recovery-point-offset-checkpoint";
  auto inode = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_ino;
  };
  auto m = open();
  ASSERT_TRUE(m->create_topic("t", 3, {}).ok());
  ASSERT_TRUE(m->checkpoint_recovery_points());
  const auto first = inode();
  ASSERT_TRUE(m->checkpoint_recovery_points());
  EXPECT_EQ(inode(), first);  // nothing moved: not written again
  auto b = make_batch(2, 1000);
  ASSERT_EQ(m->get("t", 1)->append(b, 0, 1000).error, ErrorCode::NONE);
  ASSERT_TRUE(m->checkpoint_recovery_points());
  EXPECT_EQ(inode(), first);  // appended, not flushed: the point is where it was
  ASSERT_TRUE(m->flush_all());
  ASSERT_TRUE(m->checkpoint_recovery_points());
  EXPECT_NE(inode(), first);
  std::string err;
  EXPECT_EQ(OffsetCheckpoint::read(path, &err)->at({"t", 1}), 2);
}

// A failed syncfs at close leaves no clean-shutdown marker: the next start recovers.
TEST_F(LogManagerTest, FailedSyncAtCloseLeavesAnUncleanShutdown) {
  const std::string logs = dir.path() + "/logs";
  {
    auto m = open();
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    auto b = make_batch(2, 1000);
    ASSERT_EQ(m->get("t", 0)->append(b, 0, 1000).error, ErrorCode::NONE);
    sys::FaultPlan plan;
    plan.ops = sys::op_bit(sys::Op::sync);
    plan.match = [&](sys::Op, std::string_view path) { return path == logs; };
    plan.fail_at = 1;
    plan.error = EIO;
    sys::set_fault_plan(&plan);
    EXPECT_FALSE(m->close());
    sys::set_fault_plan(nullptr);
    EXPECT_EQ(plan.failed, 1u);
  }
  EXPECT_FALSE(fs::exists(logs + "/.runnel-cleanshutdown"));
  std::string err;
  auto points = OffsetCheckpoint::read(logs + "/recovery-point-offset-checkpoint", &err);
  ASSERT_TRUE(points) << err;
  EXPECT_EQ(points->at({"t", 0}), 0);  // nothing was flushed
  auto m = open();
  EXPECT_TRUE(m->recovery_results().at("t-0").crc_checked);
  EXPECT_EQ(m->get("t", 0)->log_end_offset(), 2);
}

}  // namespace
}  // namespace runnel::storage

namespace runnel::storage {
namespace {

class LogStartCheckpointTest : public LogManagerTest {
 protected:
  std::unique_ptr<LogManager> open_small() {
    LogConfig defaults;
    defaults.segment_bytes = 200;  // two batches of 2 records each
    auto m = std::make_unique<LogManager>(std::vector<std::string>{dir.path() + "/logs"}, defaults,
                                          clock);
    std::string err;
    EXPECT_TRUE(m->load(&err)) << err;
    return m;
  }
  void fill(LogManager& m, const std::string& topic, int batches) {
    for (int i = 0; i < batches; ++i) {
      auto b = make_batch(2, clock.now_ms());
      ASSERT_EQ(m.get(topic, 0)->append(b, 0, clock.now_ms()).error, ErrorCode::NONE);
    }
  }
  LogManager::RecordDeletion delete_one(LogManager& m, const std::string& topic, int64_t offset) {
    LogManager::RecordDeletion d{m.get(topic, 0), offset};
    m.delete_records(std::span<LogManager::RecordDeletion>(&d, 1));
    return d;
  }
  std::string file_text() {
    std::string text;
    std::ifstream in(path);
    std::getline(in, text, '\0');
    return text;
  }
  std::string path = dir.path() + "/logs/log-start-offset-checkpoint";
};

TEST_F(LogStartCheckpointTest, DeleteRecordsWritesTheCheckpointAndARestartKeepsIt) {
  {
    auto m = open_small();
    ASSERT_TRUE(m->create_topic("t", 2, {}).ok());
    fill(*m, "t", 5);                // offsets 0-9
    EXPECT_FALSE(fs::exists(path));  // nothing moved yet: no file
    PartitionLog* log = m->get("t", 0);
    const size_t segments = log->segment_count();
    auto d = delete_one(*m, "t", 5);
    EXPECT_EQ(d.error, ErrorCode::NONE);
    EXPECT_EQ(d.low_watermark, 5);
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_LE(log->segment_base_offsets().front(), 5);
    // Kafka's layout, written before the answer.
    EXPECT_EQ(file_text(), "0\n1\nt 0 5\n");
    EXPECT_EQ(delete_one(*m, "t", 11).error, ErrorCode::OFFSET_OUT_OF_RANGE);
    EXPECT_EQ(delete_one(*m, "t", 2).low_watermark, 5);
    EXPECT_TRUE(m->close());
  }
  {
    auto m = open_small();
    EXPECT_EQ(m->get("t", 0)->log_start_offset(), 5);
    EXPECT_EQ(m->get("t", 0)->read(4, 1 << 20, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
    EXPECT_EQ(m->get("t", 1)->log_start_offset(), 0);
    EXPECT_EQ(delete_one(*m, "t", 7).low_watermark, 7);
  }
  // After a crash too (the destructor closed; without the marker the start recovers).
  fs::remove(dir.path() + "/logs/.runnel-cleanshutdown");
  auto m = open_small();
  EXPECT_EQ(m->get("t", 0)->log_start_offset(), 7);
  EXPECT_EQ(m->get("t", 0)->log_end_offset(), 10);
  // Up to the high watermark: nothing is left, the segments below it go.
  auto d = delete_one(*m, "t", PartitionLog::kHighWatermark);
  EXPECT_EQ(d.low_watermark, 10);
  EXPECT_EQ(m->get("t", 0)->segment_count(), 1u);
}

TEST_F(LogStartCheckpointTest, ATopicDeletedAndCreatedAgainStartsAtZero) {
  {
    auto m = open_small();
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    fill(*m, "t", 3);
    ASSERT_EQ(delete_one(*m, "t", 3).low_watermark, 3);
    ASSERT_TRUE(m->delete_topic("t").ok());
    EXPECT_EQ(file_text(), "0\n0\n");
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    fill(*m, "t", 3);
  }
  auto m = open_small();
  EXPECT_EQ(m->get("t", 0)->log_start_offset(), 0);
}

TEST_F(LogStartCheckpointTest, ATruncationBelowItRewritesTheCheckpoint) {
  auto m = open_small();
  ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
  fill(*m, "t", 1);  // offsets 0-1, one segment
  ASSERT_EQ(delete_one(*m, "t", 1).low_watermark, 1);
  EXPECT_EQ(file_text(), "0\n1\nt 0 1\n");
  ASSERT_TRUE(m->get("t", 0)->truncate_to(0));
  EXPECT_EQ(m->get("t", 0)->log_start_offset(), 0);
  EXPECT_EQ(file_text(), "0\n0\n");
}

TEST_F(LogStartCheckpointTest, AFailedWriteRefusesTheDeletionAndMovesNothing) {
  auto m = open_small();
  ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
  fill(*m, "t", 5);
  const auto segments = m->get("t", 0)->segment_base_offsets();
  for (sys::Op op : {sys::Op::open, sys::Op::write, sys::Op::sync, sys::Op::rename}) {
    sys::FaultPlan plan;
    plan.ops = sys::op_bit(op);
    plan.match = [](sys::Op, std::string_view p) {
      return p.find("log-start-offset-checkpoint") != std::string_view::npos;
    };
    plan.fail_at = 1;
    plan.fail_count = UINT64_MAX;
    plan.error = EIO;
    sys::set_fault_plan(&plan);
    auto d = delete_one(*m, "t", 5);
    sys::set_fault_plan(nullptr);
    EXPECT_GT(plan.failed, 0u) << sys::op_name(op);
    EXPECT_EQ(d.error, ErrorCode::KAFKA_STORAGE_ERROR) << sys::op_name(op);
    EXPECT_EQ(d.low_watermark, -1);
    EXPECT_EQ(m->get("t", 0)->log_start_offset(), 0);
    EXPECT_EQ(m->get("t", 0)->segment_base_offsets(), segments);
  }
  EXPECT_EQ(delete_one(*m, "t", 5).low_watermark, 5);
  m->close();
  EXPECT_EQ(open_small()->get("t", 0)->log_start_offset(), 5);
}

TEST_F(LogStartCheckpointTest, AnUnreadableCheckpointIsIgnored) {
  {
    auto m = open_small();
    ASSERT_TRUE(m->create_topic("t", 1, {}).ok());
    fill(*m, "t", 5);
  }
  std::ofstream(path) << "0\n2\nt 0 5\n";  // one entry short
  auto m = open_small();
  EXPECT_EQ(m->get("t", 0)->log_start_offset(), 0);
}

}  // namespace
}  // namespace runnel::storage
