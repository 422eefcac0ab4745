#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "server/tests/admin_fixture.h"
#include "server/topic_admin.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using testing::AdminBroker;

MetadataRequest by_names(std::vector<std::string> names) {
  MetadataRequest req;
  req.topics.emplace();
  for (auto& n : names) {
    MetadataRequest::MetadataRequestTopic t;
    t.name = n;
    req.topics->push_back(std::move(t));
  }
  return req;
}

TEST(Metadata, BrokerIsThisNodeWithAdvertisedEndpoint) {
  AdminBroker b(
      "listeners=PLAINTEXT://127.0.0.1:0\nadvertised.listeners=PLAINTEXT://broker.example:19092\n");
  auto resp = metadata(b.broker(), MetadataRequest{}, 12, "PLAINTEXT");
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].node_id, 1);
  EXPECT_EQ(resp.brokers[0].host, "broker.example");
  EXPECT_EQ(resp.brokers[0].port, 19092);
  EXPECT_FALSE(resp.brokers[0].rack.has_value());
  EXPECT_EQ(resp.cluster_id, "test-cluster-id");
  EXPECT_EQ(resp.controller_id, 1);
}

TEST(Metadata, EphemeralPortIsTheBoundPortAndEmptyHostIsResolved) {
  AdminBroker b("listeners=PLAINTEXT://:0\n");
  b.broker().bound_ports["PLAINTEXT"] = 45678;
  auto resp = metadata(b.broker(), MetadataRequest{}, 1, "PLAINTEXT");
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].port, 45678);
  EXPECT_FALSE(resp.brokers[0].host.empty());
  EXPECT_NE(resp.brokers[0].host, "0.0.0.0");
}

TEST(Metadata, NullTopicsMeansAllFromV1EmptyListMeansAllOnlyInV0) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("alpha", 2, {}).ok());
  ASSERT_TRUE(b.logs().create_topic("beta", 1, {}).ok());

  MetadataRequest null_topics;
  null_topics.topics = std::nullopt;
  EXPECT_EQ(metadata(b.broker(), null_topics, 1, "PLAINTEXT").topics.size(), 2u);

  MetadataRequest empty;  // empty list
  EXPECT_EQ(metadata(b.broker(), empty, 0, "PLAINTEXT").topics.size(), 2u);
  EXPECT_EQ(metadata(b.broker(), empty, 1, "PLAINTEXT").topics.size(), 0u);
  EXPECT_EQ(metadata(b.broker(), empty, 12, "PLAINTEXT").topics.size(), 0u);
}

TEST(Metadata, DescribesPartitionsLeaderEpochAndTopicId) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("orders", 3, {}).ok());
  auto resp = metadata(b.broker(), by_names({"orders"}), 12, "PLAINTEXT");
  ASSERT_EQ(resp.topics.size(), 1u);
  const auto& t = resp.topics[0];
  EXPECT_EQ(t.error_code, ErrorCode::NONE);
  EXPECT_EQ(t.name, "orders");
  EXPECT_EQ(t.topic_id, b.logs().topic("orders")->topic_id);
  EXPECT_FALSE(t.topic_id.is_zero());
  EXPECT_FALSE(t.is_internal);
  ASSERT_EQ(t.partitions.size(), 3u);
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(t.partitions[p].partition_index, p);
    EXPECT_EQ(t.partitions[p].leader_id, 1);
    EXPECT_EQ(t.partitions[p].leader_epoch, 0);
    EXPECT_EQ(t.partitions[p].replica_nodes, std::vector<int32_t>{1});
    EXPECT_EQ(t.partitions[p].isr_nodes, std::vector<int32_t>{1});
    EXPECT_TRUE(t.partitions[p].offline_replicas.empty());
  }
  EXPECT_EQ(t.topic_authorized_operations, INT32_MIN);
  EXPECT_EQ(resp.cluster_authorized_operations, INT32_MIN);
}

// v13 adds a top-level error code, which Kafka's brokers leave at NONE.
TEST(Metadata, V13HasATopLevelErrorCodeOfNone) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("orders", 1, {}).ok());
  auto resp = metadata(b.broker(), by_names({"orders"}), 13, "PLAINTEXT");
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.topics[0].topic_id, b.logs().topic("orders")->topic_id);
}

TEST(Metadata, AutoCreatesUnknownTopicAnsweringLeaderNotAvailable) {
  AdminBroker b("num.partitions=4\n");
  auto resp = metadata(b.broker(), by_names({"fresh"}), 9, "PLAINTEXT");
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::LEADER_NOT_AVAILABLE);
  EXPECT_TRUE(resp.topics[0].partitions.empty());
  ASSERT_NE(b.logs().topic("fresh"), nullptr);
  EXPECT_EQ(b.logs().topic("fresh")->partitions, 4);

  // The retry sees it.
  resp = metadata(b.broker(), by_names({"fresh"}), 9, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.topics[0].partitions.size(), 4u);
}

TEST(Metadata, NoAutoCreateWhenRequestOrBrokerForbidsIt) {
  AdminBroker b;
  auto req = by_names({"nope"});
  req.allow_auto_topic_creation = false;
  auto resp = metadata(b.broker(), req, 4, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(b.logs().topic("nope"), nullptr);
  // Before v4 the flag does not exist on the wire: creation is allowed.
  resp = metadata(b.broker(), req, 3, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::LEADER_NOT_AVAILABLE);
  EXPECT_NE(b.logs().topic("nope"), nullptr);

  AdminBroker off("auto.create.topics.enable=false\n");
  resp = metadata(off.broker(), by_names({"nope"}), 12, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_TRUE(resp.topics[0].topic_id.is_zero());
  EXPECT_EQ(off.logs().topic("nope"), nullptr);
}

TEST(Metadata, InvalidNameIsInvalidTopicAndNeverCreated) {
  AdminBroker b;
  auto resp = metadata(b.broker(), by_names({"bad name!", ".."}), 5, "PLAINTEXT");
  ASSERT_EQ(resp.topics.size(), 2u);
  for (auto& t : resp.topics) EXPECT_EQ(t.error_code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_TRUE(b.logs().topics().empty());
}

TEST(Metadata, InternalTopicsAreMarkedAndCreatedWithCoordinatorSettings) {
  AdminBroker b("offsets.topic.num.partitions=3\n");
  metadata(b.broker(), by_names({"__consumer_offsets"}), 9, "PLAINTEXT");
  const auto* info = b.logs().topic("__consumer_offsets");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->partitions, 3);
  EXPECT_EQ(info->configs.at("cleanup.policy"), "compact");
  auto resp = metadata(b.broker(), by_names({"__consumer_offsets"}), 9, "PLAINTEXT");
  EXPECT_TRUE(resp.topics[0].is_internal);
}

TEST(Metadata, LookupByTopicIdInV12) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("by-id", 1, {}).ok());
  MetadataRequest req;
  req.topics.emplace();
  MetadataRequest::MetadataRequestTopic known, unknown;
  known.name = std::nullopt;
  known.topic_id = b.logs().topic("by-id")->topic_id;
  unknown.name = std::nullopt;
  unknown.topic_id = protocol::Uuid::random();
  req.topics->push_back(known);
  req.topics->push_back(unknown);
  auto resp = metadata(b.broker(), req, 12, "PLAINTEXT");
  ASSERT_EQ(resp.topics.size(), 2u);
  bool saw_known = false, saw_unknown = false;
  for (auto& t : resp.topics) {
    if (t.topic_id == known.topic_id) {
      saw_known = true;
      EXPECT_EQ(t.error_code, ErrorCode::NONE);
      EXPECT_EQ(t.name, "by-id");
    } else {
      saw_unknown = true;
      EXPECT_EQ(t.error_code, ErrorCode::UNKNOWN_TOPIC_ID);
      EXPECT_EQ(t.topic_id, unknown.topic_id);
      EXPECT_FALSE(t.name.has_value());
    }
  }
  EXPECT_TRUE(saw_known && saw_unknown);

  // Before v12 a topic id in the request is an invalid request.
  resp = metadata(b.broker(), req, 11, "PLAINTEXT");
  for (auto& t : resp.topics) EXPECT_EQ(t.error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_TRUE(resp.brokers.empty());
}

TEST(Metadata, AuthorizedOperationsWhenAsked) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("t", 1, {}).ok());
  auto req = by_names({"t"});
  req.include_topic_authorized_operations = true;
  req.include_cluster_authorized_operations = true;
  auto resp = metadata(b.broker(), req, 10, "PLAINTEXT");
  // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS.
  EXPECT_EQ(resp.topics[0].topic_authorized_operations, 3576);
  // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE.
  EXPECT_EQ(resp.cluster_authorized_operations, 8096);
  resp = metadata(b.broker(), req, 11, "PLAINTEXT");  // no cluster field from v11
  EXPECT_EQ(resp.cluster_authorized_operations, INT32_MIN);
}

TEST(Metadata, EncodesAtEveryVersion) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("enc", 2, {}).ok());
  for (int16_t v = 0; v <= 12; ++v) {
    auto resp = metadata(b.broker(), by_names({"enc", "missing-x"}), v, "PLAINTEXT");
    protocol::Writer w;
    resp.encode(w, v);
    protocol::MetadataResponse back;
    protocol::Reader r(w.buf());
    back.decode(r, v);
    EXPECT_TRUE(r.done()) << "v" << v;
    ASSERT_EQ(back.topics.size(), 2u) << "v" << v;
    EXPECT_EQ(back.topics[0].partitions.size(), 2u);
  }
}

}  // namespace
}  // namespace runnel::server
