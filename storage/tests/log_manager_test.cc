#include "storage/log_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

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

TEST_F(LogManagerTest, ClosingManyPartitionsKeepsTheirDataAndSkipsUnchangedSnapshots) {
  const int n = 300;
  const std::string snapshot = dir.path() + "/logs/t-0/00000000000000000003.snapshot";
  {
    auto m = open();
    ASSERT_TRUE(m->create_topic("t", n, {}).ok());
    for (int p = 0; p < n; p += 7) {
      auto b = make_batch(3, 1000);
      ASSERT_EQ(m->get("t", p)->append(b, 0, 1000).error, ErrorCode::NONE);
    }
    EXPECT_TRUE(m->close());
    EXPECT_TRUE(fs::exists(dir.path() + "/logs/.runnel-cleanshutdown"));
  }
  struct stat first {};
  ASSERT_EQ(::stat(snapshot.c_str(), &first), 0);
  {
    auto m = open();
    for (int p = 0; p < n; ++p) EXPECT_EQ(m->get("t", p)->log_end_offset(), p % 7 == 0 ? 3 : 0);
    EXPECT_TRUE(m->close());
  }
  // Nothing changed: the same snapshot file, not a rewritten one.
  struct stat second {};
  ASSERT_EQ(::stat(snapshot.c_str(), &second), 0);
  EXPECT_EQ(first.st_ino, second.st_ino);
}

}  // namespace
}  // namespace runnel::storage
