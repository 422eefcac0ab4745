// DescribeTopicPartitions through its handler: order, unknown topics, the partition limit and
// the cursor, as Kafka 4.4 answers them.
#include "protocol/messages/describe_topic_partitions.h"

#include <gtest/gtest.h>

#include <climits>

#include "server/tests/data_plane_test_util.h"
#include "server/topic_admin.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;
using Req = protocol::DescribeTopicPartitionsRequest;
using Resp = protocol::DescribeTopicPartitionsResponse;

Req request(std::vector<std::string> topics, int32_t limit = 2000,
            std::optional<std::pair<std::string, int32_t>> cursor = std::nullopt) {
  Req req;
  for (auto& n : topics) {
    Req::TopicRequest t;
    t.name = std::move(n);
    req.topics.push_back(std::move(t));
  }
  req.response_partition_limit = limit;
  if (cursor) {
    req.cursor.emplace();
    req.cursor->topic_name = cursor->first;
    req.cursor->partition_index = cursor->second;
  }
  return req;
}

Resp describe(DataPlane& dp, const Req& req) { return dp.call<Resp>(0, req).resp; }

// "topic:first-last" per topic ("topic:" for none, "topic!code" for an error), then
// "> topic:partition" for a next cursor.
std::string summary(const Resp& resp) {
  std::string out;
  for (const auto& t : resp.topics) {
    if (!out.empty()) out += " ";
    out += t.name.value_or("<null>");
    if (t.error_code != ErrorCode::NONE) {
      out += "!" + std::to_string(static_cast<int>(t.error_code));
      continue;
    }
    out += ":";
    if (!t.partitions.empty())
      out += std::to_string(t.partitions.front().partition_index) + "-" +
             std::to_string(t.partitions.back().partition_index);
  }
  if (resp.next_cursor)
    out += " > " + resp.next_cursor->topic_name + ":" +
           std::to_string(resp.next_cursor->partition_index);
  return out;
}

TEST(DescribeTopicPartitions, EmptyListIsEveryTopicInNameOrder) {
  DataPlane dp;
  dp.create_topic("zeta", 1);
  dp.create_topic("alpha", 2);
  dp.create_topic("__consumer_offsets", 1);
  auto resp = describe(dp, request({}));
  EXPECT_EQ(summary(resp), "__consumer_offsets:0-0 alpha:0-1 zeta:0-0");
  EXPECT_TRUE(resp.topics[0].is_internal);
  EXPECT_FALSE(resp.topics[1].is_internal);
}

TEST(DescribeTopicPartitions, PartitionsAreThisNodesAsInMetadata) {
  DataPlane dp;
  dp.create_topic("orders", 2);
  auto resp = describe(dp, request({"orders"}));
  ASSERT_EQ(resp.topics.size(), 1u);
  const auto& t = resp.topics[0];
  EXPECT_EQ(t.error_code, ErrorCode::NONE);
  EXPECT_EQ(t.topic_id, dp.logs().topic("orders")->topic_id);
  EXPECT_EQ(t.topic_authorized_operations, all_topic_operations());
  ASSERT_EQ(t.partitions.size(), 2u);
  for (int32_t p = 0; p < 2; ++p) {
    const auto& part = t.partitions[static_cast<size_t>(p)];
    EXPECT_EQ(part.error_code, ErrorCode::NONE);
    EXPECT_EQ(part.partition_index, p);
    EXPECT_EQ(part.leader_id, dp.broker().node_id);
    EXPECT_EQ(part.leader_epoch, 0);
    EXPECT_EQ(part.replica_nodes, std::vector<int32_t>{dp.broker().node_id});
    EXPECT_EQ(part.isr_nodes, std::vector<int32_t>{dp.broker().node_id});
    EXPECT_EQ(part.eligible_leader_replicas, std::vector<int32_t>{});
    EXPECT_EQ(part.last_known_elr, std::vector<int32_t>{});
    EXPECT_TRUE(part.offline_replicas.empty());
  }
  EXPECT_FALSE(resp.next_cursor);
}

TEST(DescribeTopicPartitions, NamedTopicsSortedOnceUnknownOnesWithAnError) {
  DataPlane dp;
  dp.create_topic("b", 1);
  auto resp = describe(dp, request({"c", "b", "bad name", "b", "__transaction_state"}));
  EXPECT_EQ(summary(resp), "__transaction_state!3 b:0-0 bad name!17 c!3");
  EXPECT_TRUE(resp.topics[0].is_internal);
  EXPECT_TRUE(resp.topics[0].topic_id.is_zero());
  EXPECT_TRUE(resp.topics[0].partitions.empty());
  EXPECT_EQ(resp.topics[3].topic_authorized_operations, all_topic_operations());
}

TEST(DescribeTopicPartitions, LimitCutsATopicAndTheCursorResumesIt) {
  DataPlane dp;
  dp.create_topic("a", 3);
  dp.create_topic("b", 2);
  dp.create_topic("c", 1);
  EXPECT_EQ(summary(describe(dp, request({}, 2))), "a:0-1 > a:2");
  EXPECT_EQ(summary(describe(dp, request({}, 2, {{"a", 2}}))), "a:2-2 b:0-0 > b:1");
  EXPECT_EQ(summary(describe(dp, request({}, 2, {{"b", 1}}))), "b:1-1 c:0-0");
  // Used up at a topic's end: the next topic, from its first partition.
  EXPECT_EQ(summary(describe(dp, request({}, 3))), "a:0-2 > b:0");
  // The same with names, even when the next one does not exist.
  EXPECT_EQ(summary(describe(dp, request({"a", "nope"}, 3))), "a:0-2 > nope:0");
  EXPECT_EQ(summary(describe(dp, request({"b", "a", "c"}, 4, {{"b", 0}}))), "b:0-1 c:0-0");
}

TEST(DescribeTopicPartitions, LimitIsClampedBetweenOneAnd2000) {
  DataPlane dp;
  dp.create_topic("a", 3);
  EXPECT_EQ(summary(describe(dp, request({"a"}, 0))), "a:0-0 > a:1");
  EXPECT_EQ(summary(describe(dp, request({"a"}, -5))), "a:0-0 > a:1");
  // Clamped to 2000 (checked against Kafka by the oracle with a cursor near 2^31: a limit
  // of INT_MAX would not wrap there).
  EXPECT_EQ(summary(describe(dp, request({"a"}, INT_MAX))), "a:0-2");
  EXPECT_EQ(summary(describe(dp, request({"a"}, INT_MAX, {{"a", INT_MAX - 2}}))),
            "a: > a:" + std::to_string(INT_MIN + 1997));
}

TEST(DescribeTopicPartitions, CursorPastTheEndOrOnAMissingTopic) {
  DataPlane dp;
  dp.create_topic("a", 2);
  dp.create_topic("c", 1);
  // Past the topic's end: the topic with no partitions.
  EXPECT_EQ(summary(describe(dp, request({"a", "c"}, 10, {{"a", 5}}))), "a: c:0-0");
  // All topics, a cursor on a topic that does not exist: from the next one on.
  EXPECT_EQ(summary(describe(dp, request({}, 10, {{"b", 3}}))), "c:0-0");
  // Kafka's int arithmetic wraps: a negative next partition.
  EXPECT_EQ(summary(describe(dp, request({"a"}, 10, {{"a", INT_MAX - 2}}))),
            "a: > a:" + std::to_string(INT_MIN + 7));
}

TEST(DescribeTopicPartitions, WholeRequestErrors) {
  DataPlane dp;
  dp.create_topic("a", 2);
  // A named list without the cursor's topic; a negative cursor partition.
  for (const auto& req :
       {request({"a", "x", "a"}, 10, {{"b", 0}}), request({"a", "x", "a"}, 10, {{"a", -1}})}) {
    auto resp = describe(dp, req);
    EXPECT_EQ(summary(resp), "a!42 x!42 a!42");
    EXPECT_FALSE(resp.topics[0].is_internal);
    EXPECT_EQ(resp.topics[0].topic_authorized_operations, INT32_MIN);
    EXPECT_FALSE(resp.next_cursor);
  }
  EXPECT_EQ(summary(describe(dp, request({}, 10, {{"a", -1}}))), "");
  // The topic named "" without a cursor.
  EXPECT_EQ(summary(describe(dp, request({"a", ""}))), "a!-1 !-1");
  EXPECT_EQ(summary(describe(dp, request({"a", ""}, 10, {{"", 0}}))), "!17 a:0-1");
}

}  // namespace
}  // namespace runnel::server
