// A partition's leader epoch is one fact, read per partition: Metadata reports it, Fetch and
// ListOffsets fence with it, Produce writes at it. Partition 0 of "t" holds a batch an earlier
// leader wrote at epoch 5; partition 1 is new (epoch 0).
#include <gtest/gtest.h>

#include "protocol/messages/metadata.h"
#include "server/partition_leadership.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;
using testing::make_batch;

constexpr int32_t kEarlierEpoch = 5;

class LeadershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp.create_topic("t", 2);
    storage::PartitionLog* log = dp.logs().get("t", 0);
    ASSERT_NE(log, nullptr);
    auto batch = make_batch(2);
    ASSERT_EQ(log->append_as_coordinator(batch, kEarlierEpoch, 1'700'000'000'000).error,
              ErrorCode::NONE);
  }

  ErrorCode fetch_error(int32_t partition, int32_t current_leader_epoch) {
    protocol::FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    protocol::FetchRequest::FetchTopic t;
    t.topic = "t";
    protocol::FetchRequest::FetchPartition p;
    p.partition = partition;
    p.current_leader_epoch = current_leader_epoch;
    p.partition_max_bytes = 1 << 20;
    t.partitions.push_back(p);
    req.topics.push_back(t);
    auto resp = dp.call<protocol::FetchResponse>(12, req).resp;
    return resp.responses.at(0).partitions.at(0).error_code;
  }

  protocol::ListOffsetsResponse::ListOffsetsPartitionResponse list_offsets(
      int32_t partition, int32_t current_leader_epoch, int64_t timestamp = -1) {
    protocol::ListOffsetsRequest req;
    req.replica_id = -1;
    protocol::ListOffsetsRequest::ListOffsetsTopic t;
    t.name = "t";
    protocol::ListOffsetsRequest::ListOffsetsPartition p;
    p.partition_index = partition;
    p.timestamp = timestamp;
    p.current_leader_epoch = current_leader_epoch;
    t.partitions.push_back(p);
    req.topics.push_back(t);
    auto resp = dp.call<protocol::ListOffsetsResponse>(4, req).resp;
    return resp.topics.at(0).partitions.at(0);
  }

  DataPlane dp;
};

TEST_F(LeadershipTest, MetadataReportsEachPartitionsEpoch) {
  protocol::MetadataRequest req;
  protocol::MetadataRequest::MetadataRequestTopic t;
  t.name = "t";
  req.topics = std::vector{t};
  auto resp = dp.call<protocol::MetadataResponse>(12, req).resp;
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp.topics[0].partitions[0].leader_epoch, kEarlierEpoch);
  EXPECT_EQ(resp.topics[0].partitions[1].leader_epoch, kInitialLeaderEpoch);
}

TEST_F(LeadershipTest, FetchFencesAgainstThePartitionsEpoch) {
  EXPECT_EQ(fetch_error(0, kEarlierEpoch - 1), ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(fetch_error(0, kEarlierEpoch + 1), ErrorCode::UNKNOWN_LEADER_EPOCH);
  EXPECT_EQ(fetch_error(0, kEarlierEpoch), ErrorCode::NONE);
  EXPECT_EQ(fetch_error(0, -1), ErrorCode::NONE);
  EXPECT_EQ(fetch_error(1, kInitialLeaderEpoch), ErrorCode::NONE);
  EXPECT_EQ(fetch_error(1, kEarlierEpoch), ErrorCode::UNKNOWN_LEADER_EPOCH);
}

TEST_F(LeadershipTest, ListOffsetsFencesAgainstThePartitionsEpoch) {
  EXPECT_EQ(list_offsets(0, kEarlierEpoch - 1).error_code, ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(list_offsets(0, kEarlierEpoch + 1).error_code, ErrorCode::UNKNOWN_LEADER_EPOCH);
  EXPECT_EQ(list_offsets(0, kEarlierEpoch).error_code, ErrorCode::NONE);
  EXPECT_EQ(list_offsets(1, kInitialLeaderEpoch).error_code, ErrorCode::NONE);
}

// Kafka's epoch cache begins the leader's epoch at the log end offset: the latest offset, and
// the earliest of an empty partition, carry the partition's current epoch.
TEST_F(LeadershipTest, ListOffsetsAnswersTheEpochOfTheOffset) {
  constexpr int64_t kLatest = -1, kEarliest = -2;
  EXPECT_EQ(list_offsets(0, -1, kLatest).leader_epoch, kEarlierEpoch);
  EXPECT_EQ(list_offsets(0, -1, kEarliest).leader_epoch, kEarlierEpoch);
  EXPECT_EQ(list_offsets(1, -1, kLatest).leader_epoch, kInitialLeaderEpoch);
  EXPECT_EQ(list_offsets(1, -1, kEarliest).leader_epoch, kInitialLeaderEpoch);
  EXPECT_EQ(list_offsets(1, -1, kEarliest).offset, 0);
}

TEST_F(LeadershipTest, ProduceWritesAtThePartitionsEpoch) {
  ASSERT_EQ(dp.produce(9, "t", 0, make_batch(1)).responses.size(), 1u);
  ASSERT_EQ(dp.produce(9, "t", 1, make_batch(1)).responses.size(), 1u);
  EXPECT_EQ(dp.logs().get("t", 0)->epoch_for_offset(2), kEarlierEpoch);
  EXPECT_EQ(dp.logs().get("t", 1)->epoch_for_offset(0), kInitialLeaderEpoch);
}

}  // namespace
}  // namespace runnel::server
