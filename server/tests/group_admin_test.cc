// DescribeGroups and DeleteGroups through their handlers, at the versions Kafka 4.x added.
#include <gtest/gtest.h>

#include "protocol/messages/delete_groups.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_fetch.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;

protocol::DescribeGroupsResponse describe(DataPlane& dp, int16_t version,
                                          std::vector<std::string> groups) {
  protocol::DescribeGroupsRequest req;
  req.groups = std::move(groups);
  req.include_authorized_operations = true;
  return dp.call<protocol::DescribeGroupsResponse>(version, req).resp;
}

// A standalone commit (generation -1, no member): the group exists, Empty.
void commit_standalone(DataPlane& dp, const std::string& group) {
  protocol::OffsetCommitRequest req;
  req.group_id = group;
  req.generation_id_or_member_epoch = -1;
  protocol::OffsetCommitRequest::OffsetCommitRequestTopic t;
  t.name = "t";
  protocol::OffsetCommitRequest::OffsetCommitRequestPartition p;
  p.partition_index = 0;
  p.committed_offset = 0;
  t.partitions.push_back(p);
  req.topics.push_back(t);
  auto resp = dp.call<protocol::OffsetCommitResponse>(8, req).resp;
  ASSERT_EQ(resp.topics.at(0).partitions.at(0).error_code, ErrorCode::NONE);
}

TEST(DescribeGroups, UnknownGroupIsDeadWithoutErrorUpToV5) {
  DataPlane dp;
  for (int16_t v = 0; v <= 5; ++v) {
    auto resp = describe(dp, v, {"nobody"});
    ASSERT_EQ(resp.groups.size(), 1u);
    const auto& g = resp.groups[0];
    EXPECT_EQ(g.error_code, ErrorCode::NONE) << "v" << v;
    EXPECT_EQ(g.group_state, "Dead");
    EXPECT_TRUE(g.members.empty());
    if (v >= 3) {
      EXPECT_EQ(g.authorized_operations, 3400);
    }
  }
}

TEST(DescribeGroups, UnknownGroupIsGroupIdNotFoundFromV6) {
  DataPlane dp;
  dp.create_topic("t", 1);
  commit_standalone(dp, "known");
  auto resp = describe(dp, 6, {"nobody", "known"});
  ASSERT_EQ(resp.groups.size(), 2u);
  const auto& unknown = resp.groups[0];
  EXPECT_EQ(unknown.group_id, "nobody");
  EXPECT_EQ(unknown.error_code, ErrorCode::GROUP_ID_NOT_FOUND);
  EXPECT_EQ(unknown.error_message, "Group nobody not found.");
  EXPECT_EQ(unknown.group_state, "Dead");
  EXPECT_EQ(unknown.authorized_operations, INT32_MIN);  // only for groups without an error
  const auto& known = resp.groups[1];
  EXPECT_EQ(known.error_code, ErrorCode::NONE);
  EXPECT_EQ(known.error_message, std::nullopt);
  EXPECT_EQ(known.group_state, "Empty");
  EXPECT_EQ(known.authorized_operations, 3400);
}

TEST(DeleteGroups, V3AnswersAsV2WithANullMessage) {
  DataPlane dp;
  dp.create_topic("t", 1);
  commit_standalone(dp, "known");
  protocol::DeleteGroupsRequest req;
  req.groups_names = {"known", "nobody"};
  auto resp = dp.call<protocol::DeleteGroupsResponse>(3, req).resp;
  ASSERT_EQ(resp.results.size(), 2u);
  EXPECT_EQ(resp.results[0].group_id, "known");
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.results[1].group_id, "nobody");
  EXPECT_EQ(resp.results[1].error_code, ErrorCode::GROUP_ID_NOT_FOUND);
  for (const auto& r : resp.results) EXPECT_EQ(r.error_message, std::nullopt);
}

// v10 names topics by id; the offsets land under the topic's name.
TEST(OffsetCommit, V10ByTopicIdAndUnknownTopicId) {
  DataPlane dp;
  dp.create_topic("t", 1);
  const protocol::Uuid id = dp.logs().topic("t")->topic_id;
  const protocol::Uuid unknown = protocol::Uuid::random();
  protocol::OffsetCommitRequest req;
  req.group_id = "g";
  req.generation_id_or_member_epoch = -1;
  for (const auto& topic_id : {id, unknown}) {
    protocol::OffsetCommitRequest::OffsetCommitRequestTopic t;
    t.topic_id = topic_id;
    protocol::OffsetCommitRequest::OffsetCommitRequestPartition p;
    p.partition_index = 0;
    p.committed_offset = 42;
    t.partitions.push_back(p);
    req.topics.push_back(t);
  }
  auto resp = dp.call<protocol::OffsetCommitResponse>(10, req).resp;
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].topic_id, id);
  EXPECT_EQ(resp.topics[0].partitions.at(0).error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.topics[1].topic_id, unknown);
  EXPECT_EQ(resp.topics[1].partitions.at(0).error_code, ErrorCode::UNKNOWN_TOPIC_ID);
  auto committed = dp.broker().groups.coordinator().fetch_offset("g", "t", 0);
  ASSERT_TRUE(committed.has_value());
  EXPECT_EQ(committed->offset, 42);
}

// v10 names topics by id in the request and the answer.
TEST(OffsetFetch, V10ByTopicIdAndUnknownTopicId) {
  DataPlane dp;
  dp.create_topic("t", 1);
  commit_standalone(dp, "g");  // offset 0 of t-0
  const protocol::Uuid id = dp.logs().topic("t")->topic_id;
  const protocol::Uuid unknown = protocol::Uuid::random();
  using Req = protocol::OffsetFetchRequest;
  Req req;
  Req::OffsetFetchRequestGroup g;
  g.group_id = "g";
  g.topics.emplace();
  for (const auto& topic_id : {id, unknown}) {
    Req::OffsetFetchRequestTopics t;
    t.topic_id = topic_id;
    t.partition_indexes = {0};
    g.topics->push_back(t);
  }
  req.groups.push_back(g);
  auto resp = dp.call<protocol::OffsetFetchResponse>(10, req).resp;
  ASSERT_EQ(resp.groups.size(), 1u);
  const auto& rg = resp.groups[0];
  EXPECT_EQ(rg.error_code, ErrorCode::NONE);
  ASSERT_EQ(rg.topics.size(), 2u);
  EXPECT_EQ(rg.topics[0].topic_id, id);
  ASSERT_EQ(rg.topics[0].partitions.size(), 1u);
  EXPECT_EQ(rg.topics[0].partitions[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(rg.topics[0].partitions[0].committed_offset, 0);
  EXPECT_EQ(rg.topics[1].topic_id, unknown);
  ASSERT_EQ(rg.topics[1].partitions.size(), 1u);
  EXPECT_EQ(rg.topics[1].partitions[0].error_code, ErrorCode::UNKNOWN_TOPIC_ID);
  EXPECT_EQ(rg.topics[1].partitions[0].committed_offset, -1);

  // Every offset of the group (null topics): named by id.
  req.groups[0].topics.reset();
  resp = dp.call<protocol::OffsetFetchResponse>(10, req).resp;
  ASSERT_EQ(resp.groups.at(0).topics.size(), 1u);
  EXPECT_EQ(resp.groups[0].topics[0].topic_id, id);
  EXPECT_EQ(resp.groups[0].topics[0].partitions.at(0).committed_offset, 0);
}

}  // namespace
}  // namespace runnel::server
