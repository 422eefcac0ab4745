// ConsumerGroupHeartbeat, ConsumerGroupDescribe and the group APIs that see consumer groups
// (KIP-848): ListGroups, DescribeGroups, OffsetCommit v9, OffsetFetch v9.
#include <gtest/gtest.h>

#include "protocol/messages/consumer_group_describe.h"
#include "protocol/messages/consumer_group_heartbeat.h"
#include "protocol/messages/delete_groups.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/list_groups.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_delete.h"
#include "protocol/messages/offset_fetch.h"
#include "server/features.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using HeartbeatResp = protocol::ConsumerGroupHeartbeatResponse;
using DescribeResp = protocol::ConsumerGroupDescribeResponse;

class ConsumerGroupHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override { dp_.create_topic("orders", 3); }

  HeartbeatResp join(const std::string& group, const std::string& member) {
    protocol::ConsumerGroupHeartbeatRequest req;
    req.group_id = group;
    req.member_id = member;
    req.member_epoch = 0;
    req.rebalance_timeout_ms = 30000;
    req.subscribed_topic_names = std::vector<std::string>{"orders"};
    req.topic_partitions.emplace();
    return dp_.call<HeartbeatResp>(1, req).resp;
  }

  protocol::OffsetCommitResponse commit(int16_t version, const std::string& member, int32_t epoch,
                                        int64_t offset) {
    protocol::OffsetCommitRequest req;
    req.group_id = "g";
    req.member_id = member;
    req.generation_id_or_member_epoch = epoch;
    auto& t = req.topics.emplace_back();
    t.name = "orders";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.committed_offset = offset;
    return dp_.call<protocol::OffsetCommitResponse>(version, req).resp;
  }

  protocol::OffsetFetchResponse fetch(std::optional<std::string> member, int32_t epoch) {
    protocol::OffsetFetchRequest req;
    auto& g = req.groups.emplace_back();
    g.group_id = "g";
    g.member_id = std::move(member);
    g.member_epoch = epoch;
    g.topics.emplace();
    auto& t = g.topics->emplace_back();
    t.name = "orders";
    t.partition_indexes = {0};
    return dp_.call<protocol::OffsetFetchResponse>(9, req).resp;
  }

  testing::DataPlane dp_;
};

TEST_F(ConsumerGroupHandlersTest, HeartbeatJoinsAndAssigns) {
  auto r = join("g", "m1");
  ASSERT_EQ(r.error_code, ErrorCode::NONE) << r.error_message.value_or("");
  EXPECT_EQ(r.member_id, "m1");
  EXPECT_GE(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);  // group.consumer.heartbeat.interval.ms
  ASSERT_TRUE(r.assignment.has_value());
  ASSERT_EQ(r.assignment->topic_partitions.size(), 1u);
  EXPECT_EQ(r.assignment->topic_partitions[0].topic_id, dp_.logs().topic("orders")->topic_id);
  EXPECT_EQ(r.assignment->topic_partitions[0].partitions, (std::vector<int32_t>{0, 1, 2}));
  // The member's session timer is armed: the runtime is told of the deadline.
  EXPECT_TRUE(dp_.broker().groups.coordinator().next_deadline_ms().has_value());
}

TEST_F(ConsumerGroupHandlersTest, GroupVersionZeroTurnsTheProtocolOff) {
  auto& features = dp_.broker().features;
  ASSERT_EQ(features.update({{"group.version", 0, Features::UpgradeType::kSafeDowngrade}}, false, 1)
                .error,
            ErrorCode::NONE);
  EXPECT_EQ(join("g", "m1").error_code, ErrorCode::UNSUPPORTED_VERSION);
  ASSERT_EQ(features.update({{"group.version", 1}}, false, 1).error, ErrorCode::NONE);
  EXPECT_EQ(join("g", "m1").error_code, ErrorCode::NONE);
}

TEST_F(ConsumerGroupHandlersTest, OffsetDeleteKeepsSubscribedTopicsOfAConsumerGroup) {
  dp_.create_topic("other", 1);
  auto j = join("g", "m1");
  ASSERT_EQ(j.error_code, ErrorCode::NONE);
  ASSERT_EQ(commit(9, "m1", j.member_epoch, 5).topics.at(0).partitions.at(0).error_code,
            ErrorCode::NONE);
  protocol::OffsetCommitRequest other;
  other.group_id = "g";
  other.member_id = "m1";
  other.generation_id_or_member_epoch = j.member_epoch;
  other.topics.emplace_back().name = "other";
  other.topics.back().partitions.emplace_back().committed_offset = 3;
  ASSERT_EQ(dp_.call<protocol::OffsetCommitResponse>(9, other)
                .resp.topics.at(0)
                .partitions.at(0)
                .error_code,
            ErrorCode::NONE);
  protocol::OffsetDeleteRequest del;
  del.group_id = "g";
  for (const char* t : {"orders", "other"}) {
    del.topics.emplace_back().name = t;
    del.topics.back().partitions.emplace_back().partition_index = 0;
  }
  auto r = dp_.call<protocol::OffsetDeleteResponse>(0, del).resp;
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC);
  EXPECT_EQ(r.topics.at(1).partitions.at(0).error_code, ErrorCode::NONE);
  del.group_id = "nope";
  EXPECT_EQ(dp_.call<protocol::OffsetDeleteResponse>(0, del).resp.error_code,
            ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(ConsumerGroupHandlersTest, HeartbeatValidatesAsKafka) {
  auto r = join("", "m1");
  EXPECT_EQ(r.error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(r.error_message, "GroupId can't be empty.");
}

TEST_F(ConsumerGroupHandlersTest, InternalTopicsAreNotSubscribable) {
  ASSERT_EQ(dp_.broker().groups.ensure_offsets_topic(), ErrorCode::NONE);
  protocol::ConsumerGroupHeartbeatRequest req;
  req.group_id = "g";
  req.member_id = "m1";
  req.rebalance_timeout_ms = 30000;
  req.subscribed_topic_regex = "__.*";
  req.topic_partitions.emplace();
  auto r = dp_.call<HeartbeatResp>(1, req).resp;
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  req.member_epoch = r.member_epoch;
  req.rebalance_timeout_ms = -1;
  req.subscribed_topic_regex.reset();
  req.topic_partitions.reset();
  r = dp_.call<HeartbeatResp>(1, req).resp;
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_TRUE(!r.assignment || r.assignment->topic_partitions.empty());
}

TEST_F(ConsumerGroupHandlersTest, DescribeAsKafka) {
  ASSERT_EQ(join("g", "m1").error_code, ErrorCode::NONE);
  protocol::ConsumerGroupDescribeRequest req;
  req.group_ids = {"g", "nope"};
  auto r = dp_.call<DescribeResp>(0, req).resp;
  ASSERT_EQ(r.groups.size(), 2u);
  const auto& g = r.groups[0];
  EXPECT_EQ(g.error_code, ErrorCode::NONE);
  EXPECT_EQ(g.group_state, "Stable");
  EXPECT_EQ(g.group_epoch, 1);
  EXPECT_EQ(g.assignment_epoch, 1);
  EXPECT_EQ(g.assignor_name, "uniform");
  EXPECT_EQ(g.authorized_operations, INT32_MIN);
  ASSERT_EQ(g.members.size(), 1u);
  const auto& m = g.members[0];
  EXPECT_EQ(m.member_id, "m1");
  EXPECT_EQ(m.member_epoch, 1);
  EXPECT_EQ(m.client_id, "test");
  EXPECT_EQ(m.subscribed_topic_names, (std::vector<std::string>{"orders"}));
  EXPECT_EQ(m.subscribed_topic_regex, "");
  ASSERT_EQ(m.assignment.topic_partitions.size(), 1u);
  EXPECT_EQ(m.assignment.topic_partitions[0].topic_name, "orders");
  EXPECT_EQ(m.assignment.topic_partitions[0].partitions, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(m.target_assignment, m.assignment);
  // v1 (KIP-1099) says the member speaks the consumer protocol (1); v0 has no such field.
  EXPECT_EQ(dp_.call<DescribeResp>(1, req).resp.groups.at(0).members.at(0).member_type, 1);
  EXPECT_EQ(m.member_type, -1);

  const auto& unknown = r.groups[1];
  EXPECT_EQ(unknown.error_code, ErrorCode::GROUP_ID_NOT_FOUND);
  EXPECT_EQ(unknown.error_message, "Group nope not found.");
  EXPECT_EQ(unknown.group_state, "");

  req.include_authorized_operations = true;
  r = dp_.call<DescribeResp>(0, req).resp;
  EXPECT_EQ(r.groups[0].authorized_operations, 3400);  // as Kafka 4.4 answers
  EXPECT_EQ(r.groups[1].authorized_operations, INT32_MIN);
}

TEST_F(ConsumerGroupHandlersTest, ListedAndDescribedByTheClassicApisAsKafka) {
  ASSERT_EQ(join("g", "m1").error_code, ErrorCode::NONE);
  protocol::ListGroupsRequest lreq;
  auto l = dp_.call<protocol::ListGroupsResponse>(5, lreq).resp;
  ASSERT_EQ(l.groups.size(), 1u);
  EXPECT_EQ(l.groups[0].group_id, "g");
  EXPECT_EQ(l.groups[0].protocol_type, "consumer");
  EXPECT_EQ(l.groups[0].group_state, "Stable");
  EXPECT_EQ(l.groups[0].group_type, "consumer");
  lreq.types_filter = {"Classic"};
  EXPECT_TRUE(dp_.call<protocol::ListGroupsResponse>(5, lreq).resp.groups.empty());
  lreq.types_filter = {"CONSUMER"};
  EXPECT_EQ(dp_.call<protocol::ListGroupsResponse>(5, lreq).resp.groups.size(), 1u);

  // Kafka 4.4's DescribeGroups (v0-5) does not describe a consumer group: Dead, no error.
  protocol::DescribeGroupsRequest dreq;
  dreq.groups = {"g"};
  auto d = dp_.call<protocol::DescribeGroupsResponse>(5, dreq).resp;
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_EQ(d.groups[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(d.groups[0].group_state, "Dead");
  EXPECT_TRUE(d.groups[0].members.empty());
}

TEST_F(ConsumerGroupHandlersTest, OffsetCommitAndFetchCheckTheMemberEpoch) {
  auto j = join("g", "m1");
  ASSERT_EQ(j.error_code, ErrorCode::NONE);
  const int32_t epoch = j.member_epoch;
  auto error = [](const protocol::OffsetCommitResponse& r) {
    return r.topics.at(0).partitions.at(0).error_code;
  };
  EXPECT_EQ(error(commit(9, "m1", epoch + 1, 5)), ErrorCode::STALE_MEMBER_EPOCH);
  EXPECT_EQ(error(commit(9, "other", epoch, 5)), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(error(commit(8, "m1", epoch, 5)), ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_EQ(error(commit(9, "m1", epoch, 5)), ErrorCode::NONE);

  auto f = fetch("m1", epoch);
  ASSERT_EQ(f.groups.size(), 1u);
  EXPECT_EQ(f.groups[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(f.groups[0].topics.at(0).partitions.at(0).committed_offset, 5);
  EXPECT_EQ(fetch("m1", epoch + 1).groups[0].error_code, ErrorCode::STALE_MEMBER_EPOCH);
  EXPECT_EQ(fetch("other", epoch).groups[0].error_code, ErrorCode::UNKNOWN_MEMBER_ID);
  // The admin client names no member.
  EXPECT_EQ(fetch(std::nullopt, -1).groups[0].error_code, ErrorCode::NONE);
}

TEST_F(ConsumerGroupHandlersTest, DeletedOnceEmptyAsKafka) {
  auto j = join("g", "m1");
  ASSERT_EQ(j.error_code, ErrorCode::NONE);
  protocol::DeleteGroupsRequest del;
  del.groups_names = {"g"};
  auto d = dp_.call<protocol::DeleteGroupsResponse>(2, del).resp;
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(d.results[0].error_code, ErrorCode::NON_EMPTY_GROUP);

  protocol::ConsumerGroupHeartbeatRequest leave;
  leave.group_id = "g";
  leave.member_id = "m1";
  leave.member_epoch = -1;
  ASSERT_EQ(dp_.call<HeartbeatResp>(1, leave).resp.error_code, ErrorCode::NONE);
  d = dp_.call<protocol::DeleteGroupsResponse>(2, del).resp;
  EXPECT_EQ(d.results[0].error_code, ErrorCode::NONE);
  d = dp_.call<protocol::DeleteGroupsResponse>(2, del).resp;
  EXPECT_EQ(d.results[0].error_code, ErrorCode::GROUP_ID_NOT_FOUND);

  protocol::ConsumerGroupDescribeRequest req;
  req.group_ids = {"g"};
  EXPECT_EQ(dp_.call<DescribeResp>(0, req).resp.groups.at(0).error_code,
            ErrorCode::GROUP_ID_NOT_FOUND);
}

}  // namespace
}  // namespace runnel::server
