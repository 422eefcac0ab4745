// A partition whose files cannot be opened or created (out of descriptors, a
// path in the way) is an error, never a crash, and leaves no half-created
// topic; at start-up it fails the load with its cause.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using testing::DescriptorsExhausted;
using testing::make_batch;
using testing::TempDir;

class OpenFailureTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open(const std::string& path, std::string* err) {
    return PartitionLog::open(path, "t", 0, LogConfig{}, clock, true, nullptr, err);
  }
  TempDir dir;
  ManualClock clock;
};

TEST_F(OpenFailureTest, PartitionDirectoryThatIsAFileIsAnError) {
  const std::string path = dir.path() + "/t-0";
  std::ofstream(path) << "not a directory";
  std::string err;
  EXPECT_EQ(open(path, &err), nullptr);
  EXPECT_NE(err.find(path), std::string::npos) << err;
}

TEST_F(OpenFailureTest, SegmentFileThatCannotBeOpenedIsAnError) {
  const std::string path = dir.path() + "/t-0";
  fs::create_directories(path + "/00000000000000000000.log");  // a directory: open(2) fails
  std::string err;
  EXPECT_EQ(open(path, &err), nullptr);
  EXPECT_NE(err.find("00000000000000000000.log"), std::string::npos) << err;
}

TEST_F(OpenFailureTest, OutOfDescriptorsIsAnErrorAndOpensOnceThereAreSome) {
  const std::string path = dir.path() + "/t-0";
  std::string err;
  bool opened = true;
  {
    DescriptorsExhausted none(0);
    ASSERT_GT(none.held(), 0u);
    opened = open(path, &err) != nullptr;
  }
  EXPECT_FALSE(opened);
  EXPECT_NE(err.find("Too many open files"), std::string::npos) << err;
  auto log = open(path, &err);
  ASSERT_TRUE(log) << err;
  EXPECT_EQ(log->log_end_offset(), 0);
}

class LogManagerFaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogManager> manager() {
    return std::make_unique<LogManager>(std::vector<std::string>{logs()}, LogConfig{}, clock);
  }
  std::string logs() const { return dir.path() + "/logs"; }
  // Partition directories of `topic` on disk.
  int partition_dirs(const std::string& topic) const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(logs()))
      if (e.path().filename().string().rfind(topic + "-", 0) == 0) ++n;
    return n;
  }
  TempDir dir;
  ManualClock clock;
};

// Every amount of free descriptors from none to enough: a create either
// succeeds or answers KAFKA_STORAGE_ERROR and leaves no topic behind.
TEST_F(LogManagerFaultTest, CreateTopicOutOfDescriptorsLeavesNoHalfCreatedTopic) {
  auto m = manager();
  std::string err;
  ASSERT_TRUE(m->load(&err)) << err;
  constexpr int kPartitions = 4;
  int failed = 0, partly = 0;
  bool created = false;
  for (int free_fds = 0; free_fds < 64 && !created; ++free_fds) {
    const std::string name = "t" + std::to_string(free_fds);
    TopicResult r;
    {
      DescriptorsExhausted few(free_fds);
      r = m->create_topic(name, kPartitions, {});
    }
    if (r.ok()) {
      created = true;
      break;
    }
    ++failed;
    EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR) << r.message;
    EXPECT_FALSE(r.message.empty());
    EXPECT_EQ(m->topic(name), nullptr);
    EXPECT_EQ(m->get(name, 0), nullptr);
    EXPECT_FALSE(fs::exists(logs() + "/.runnel-topics/" + name));
    // Partitions opened before the failing one were removed with it.
    if (r.message.find(name + "-0/") == std::string::npos) ++partly;
    EXPECT_EQ(partition_dirs(name), 0) << r.message;
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(partly, 0) << "no create failed after its first partition";
  ASSERT_TRUE(created) << "64 free descriptors were not enough for " << kPartitions
                       << " partitions";

  // Still serving: a new topic, appends, and a restart that finds only real topics.
  ASSERT_TRUE(m->create_topic("after", 2, {}).ok());
  auto batch = make_batch(3, 1000);
  EXPECT_EQ(m->get("after", 1)->append(batch, 0, 1000).base_offset, 0);
  ASSERT_TRUE(m->close());
  m = manager();
  ASSERT_TRUE(m->load(&err)) << err;
  std::vector<std::string> names;
  for (const auto* t : m->topics()) names.push_back(t->name);
  EXPECT_EQ(names.size(), 2u);
  EXPECT_NE(m->topic("after"), nullptr);
  EXPECT_EQ(m->get("after", 1)->log_end_offset(), 3);
  for (int i = 0; i < failed; ++i) EXPECT_EQ(partition_dirs("t" + std::to_string(i)), 0);
}

TEST_F(LogManagerFaultTest, CreatePartitionsOutOfDescriptorsKeepsTheOldCount) {
  auto m = manager();
  std::string err;
  ASSERT_TRUE(m->load(&err)) << err;
  ASSERT_TRUE(m->create_topic("grow", 1, {}).ok());
  TopicResult r;
  {
    DescriptorsExhausted none(0);
    r = m->create_partitions("grow", 3);
  }
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR) << r.message;
  EXPECT_EQ(m->topic("grow")->partitions, 1);
  EXPECT_EQ(m->get("grow", 1), nullptr);
  EXPECT_TRUE(m->create_partitions("grow", 3).ok());
  EXPECT_NE(m->get("grow", 2), nullptr);
}

// One log directory: a partition that cannot be opened at start-up fails the
// load with a message that names the partition and the cause.
TEST_F(LogManagerFaultTest, PartitionThatCannotBeOpenedAtStartUpFailsTheLoadWithItsCause) {
  {
    auto m = manager();
    std::string err;
    ASSERT_TRUE(m->load(&err)) << err;
    ASSERT_TRUE(m->create_topic("orders", 2, {}).ok());
    ASSERT_TRUE(m->close());
  }
  const std::string index = logs() + "/orders-1/00000000000000000000.index";
  fs::remove(index);
  fs::create_directories(index);
  auto m = manager();
  std::string err;
  EXPECT_FALSE(m->load(&err));
  EXPECT_NE(err.find("orders-1"), std::string::npos) << err;
  EXPECT_NE(err.find(".index"), std::string::npos) << err;
}

}  // namespace
}  // namespace runnel::storage
