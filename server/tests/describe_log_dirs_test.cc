// DescribeLogDirs through its handler: the one log directory with its partitions and their
// sizes, named partitions, the file system's space, and a directory that failed, as Kafka 4.4
// answers them.
#include "protocol/messages/describe_log_dirs.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <string>

#include "server/tests/data_plane_test_util.h"
#include "storage/sys.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;
using testing::make_batch;
using Req = protocol::DescribeLogDirsRequest;
using Resp = protocol::DescribeLogDirsResponse;

Req all() {
  Req req;
  req.topics = std::nullopt;
  return req;
}

Req named(std::vector<std::pair<std::string, std::vector<int32_t>>> topics) {
  Req req;
  req.topics.emplace();
  for (auto& [name, parts] : topics) {
    Req::DescribableLogDirTopic t;
    t.topic = name;
    t.partitions = parts;
    req.topics->push_back(std::move(t));
  }
  return req;
}

// "topic:partition=size ..." of the one result.
std::string summary(const Resp& resp) {
  std::string out;
  if (resp.results.size() != 1) return "results: " + std::to_string(resp.results.size());
  for (const auto& t : resp.results[0].topics)
    for (const auto& p : t.partitions) {
      if (!out.empty()) out += " ";
      out +=
          t.name + ":" + std::to_string(p.partition_index) + "=" + std::to_string(p.partition_size);
      if (p.offset_lag != 0 || p.is_future_key) out += "!";
    }
  return out;
}

TEST(DescribeLogDirs, NullTopicsIsEveryPartitionWithItsSegmentBytes) {
  DataPlane dp;
  dp.create_topic("beta", 1);
  dp.create_topic("alpha", 2);
  auto batch = make_batch(3);
  ASSERT_EQ(dp.produce(9, "alpha", 1, batch).responses[0].partition_responses[0].error_code,
            ErrorCode::NONE);
  ASSERT_EQ(dp.produce(9, "alpha", 1, batch).responses[0].partition_responses[0].error_code,
            ErrorCode::NONE);
  for (int16_t v = 0; v <= 5; ++v) {
    auto resp = dp.call<Resp>(v, all()).resp;
    ASSERT_EQ(resp.results.size(), 1u);
    const auto& dir = resp.results[0];
    EXPECT_EQ(resp.error_code, ErrorCode::NONE);
    EXPECT_EQ(dir.error_code, ErrorCode::NONE);
    EXPECT_EQ(dir.log_dir, std::filesystem::absolute(dp.logs().log_dir()).string());
    EXPECT_EQ(summary(resp), "alpha:0=0 alpha:1=" + std::to_string(2 * batch.size()) + " beta:0=0")
        << "v" << v;
    EXPECT_EQ(dir.is_cordoned, false);
    if (v >= 4) {
      EXPECT_GT(dir.total_bytes, 0);
      EXPECT_GE(dir.usable_bytes, 0);
      EXPECT_LE(dir.usable_bytes, dir.total_bytes);
    } else {
      EXPECT_EQ(dir.total_bytes, -1);  // not in the version: decoded as the default
    }
  }
}

TEST(DescribeLogDirs, SpaceIsTheFileSystemsAsStatvfsTellsIt) {
  DataPlane dp;
  struct statvfs st {};
  ASSERT_EQ(::statvfs(dp.logs().log_dir().c_str(), &st), 0);
  auto dir = dp.call<Resp>(4, all()).resp.results.at(0);
  EXPECT_EQ(dir.total_bytes, static_cast<int64_t>(st.f_blocks * st.f_frsize));
  // Other writers may change the free space in between: the same to within 64 MiB.
  EXPECT_NEAR(static_cast<double>(dir.usable_bytes), static_cast<double>(st.f_bavail * st.f_frsize),
              64.0 * 1024 * 1024);
}

TEST(DescribeLogDirs, NamedPartitionsOnlyThoseThatExistOnce) {
  DataPlane dp;
  dp.create_topic("alpha", 3);
  dp.create_topic("beta", 1);
  auto resp = dp.call<Resp>(4, named({{"beta", {0}},
                                      {"alpha", {2, 0, 7, -1}},
                                      {"missing", {0}},
                                      {"alpha", {2}},
                                      {"beta", {}}}))
                  .resp;
  EXPECT_EQ(summary(resp), "alpha:0=0 alpha:2=0 beta:0=0");
  EXPECT_GT(resp.results[0].total_bytes, 0);

  // Nothing that exists: the directory without topics, no error.
  for (auto req : {named({}), named({{"missing", {0}}}), named({{"alpha", {}}})}) {
    resp = dp.call<Resp>(1, req).resp;
    ASSERT_EQ(resp.results.size(), 1u);
    EXPECT_EQ(resp.results[0].error_code, ErrorCode::NONE);
    EXPECT_TRUE(resp.results[0].topics.empty());
  }
}

TEST(DescribeLogDirs, OfflinePartitionFailsTheDirectoryWithStorageError) {
  DataPlane dp;
  dp.create_topic("alpha", 1);
  ASSERT_EQ(dp.produce(9, "alpha", 0, make_batch(2)).responses[0].partition_responses[0].error_code,
            ErrorCode::NONE);
  storage::sys::FaultPlan plan;
  plan.ops = storage::sys::op_bit(storage::sys::Op::sync);
  plan.fail_at = 1;
  plan.error = EIO;
  storage::sys::set_fault_plan(&plan);
  bool flushed = dp.logs().get("alpha", 0)->flush();
  storage::sys::set_fault_plan(nullptr);
  ASSERT_FALSE(flushed);
  ASSERT_TRUE(dp.logs().get("alpha", 0)->offline());

  auto resp = dp.call<Resp>(5, all()).resp;
  ASSERT_EQ(resp.results.size(), 1u);
  const auto& dir = resp.results[0];
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(dir.error_code, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(dir.log_dir.empty());
  EXPECT_TRUE(dir.topics.empty());
  EXPECT_EQ(dir.total_bytes, -1);
  EXPECT_EQ(dir.usable_bytes, -1);
}

TEST(DescribeLogDirs, StatvfsFailureIsUnknownServerError) {
  DataPlane dp;
  dp.create_topic("alpha", 1);
  storage::sys::FaultPlan plan;
  plan.ops = storage::sys::op_bit(storage::sys::Op::stat);
  std::string dir_path = dp.logs().log_dir();
  plan.match = [&](storage::sys::Op, std::string_view path) { return path == dir_path; };
  plan.fail_at = 1;
  plan.fail_count = UINT64_MAX;
  plan.error = EIO;
  storage::sys::set_fault_plan(&plan);
  auto resp = dp.call<Resp>(4, all()).resp;
  storage::sys::set_fault_plan(nullptr);
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_TRUE(resp.results[0].topics.empty());
  EXPECT_EQ(resp.results[0].total_bytes, -1);
}

}  // namespace
}  // namespace runnel::server
