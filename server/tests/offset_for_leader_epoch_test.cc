#include "protocol/messages/offset_for_leader_epoch.h"

#include <gtest/gtest.h>

#include "server/tests/data_plane_test_util.h"
#include "storage/log_manager.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;
using testing::DataPlane;
using testing::make_batch;

constexpr int64_t kT0 = 1'700'000'000'000;

struct Ask {
  int32_t partition;
  int32_t leader_epoch;
  int32_t current_leader_epoch = -1;
};

OffsetForLeaderEpochRequest request(const std::string& topic, std::vector<Ask> asks,
                                    int32_t replica_id = -1) {
  OffsetForLeaderEpochRequest req;
  req.replica_id = replica_id;
  OffsetForLeaderEpochRequest::OffsetForLeaderTopic t;
  t.topic = topic;
  for (const Ask& a : asks)
    t.partitions.push_back({a.partition, a.current_leader_epoch, a.leader_epoch, {}});
  req.topics.push_back(t);
  return req;
}

class OffsetForLeaderEpochTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp.create_topic("t", 2);
    EXPECT_EQ(dp.produce(9, "t", 0, make_batch(4, kT0)).responses.size(), 1u);
    EXPECT_EQ(dp.produce(9, "t", 0, make_batch(2, kT0)).responses.size(), 1u);
  }
  std::vector<OffsetForLeaderEpochResponse::EpochEndOffset> ask(int16_t version,
                                                                const std::string& topic,
                                                                std::vector<Ask> asks,
                                                                int32_t replica_id = -1) {
    auto resp =
        dp.call<OffsetForLeaderEpochResponse>(version, request(topic, asks, replica_id)).resp;
    EXPECT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics.at(0).topic, topic);
    return resp.topics.at(0).partitions;
  }
  DataPlane dp;
};

TEST_F(OffsetForLeaderEpochTest, TheCurrentEpochEndsAtTheLogEnd) {
  for (int16_t v = 0; v <= 4; ++v) {
    auto r = ask(v, "t", {{0, 0}, {1, 0}});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].error_code, ErrorCode::NONE);
    EXPECT_EQ(r[0].partition, 0);
    EXPECT_EQ(r[0].end_offset, 6);
    EXPECT_EQ(r[0].leader_epoch, v >= 1 ? 0 : -1);  // v0 does not carry it
    EXPECT_EQ(r[1].end_offset, 0);                  // an empty partition
  }
}

TEST_F(OffsetForLeaderEpochTest, UnknownAndOlderEpochsAnswerAsKafka) {
  auto r = ask(4, "t", {{0, 3}, {0, -1}, {0, -5}});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].error_code, ErrorCode::NONE);  // above the current epoch
  EXPECT_EQ(r[0].leader_epoch, -1);
  EXPECT_EQ(r[0].end_offset, -1);
  EXPECT_EQ(r[1].leader_epoch, -1);  // UNDEFINED_EPOCH
  EXPECT_EQ(r[1].end_offset, -1);
  EXPECT_EQ(r[2].leader_epoch, -5);  // below every epoch: the first epoch's start
  EXPECT_EQ(r[2].end_offset, 0);
}

TEST_F(OffsetForLeaderEpochTest, CurrentLeaderEpochIsChecked) {
  auto r = ask(2, "t", {{0, 0, 0}, {0, 0, 1}, {0, 0, -1}, {0, 0, -3}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(r[1].error_code, ErrorCode::UNKNOWN_LEADER_EPOCH);
  EXPECT_EQ(r[1].end_offset, -1);
  EXPECT_EQ(r[2].error_code, ErrorCode::NONE);                 // -1: not checked
  EXPECT_EQ(r[3].error_code, ErrorCode::FENCED_LEADER_EPOCH);  // any other negative is older
}

TEST_F(OffsetForLeaderEpochTest, ReplicaIdIsNotLookedAt) {
  for (int32_t replica : {-1, 0, 1, 3000}) {
    auto r = ask(3, "t", {{0, 0}}, replica);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].error_code, ErrorCode::NONE);
    EXPECT_EQ(r[0].end_offset, 6);
  }
}

TEST_F(OffsetForLeaderEpochTest, UnknownTopicOrPartition) {
  auto r = ask(4, "t", {{7, 0}});
  EXPECT_EQ(r.at(0).error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(r.at(0).end_offset, -1);
  r = ask(4, "missing", {{0, 0}});
  EXPECT_EQ(r.at(0).error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(OffsetForLeaderEpochTest, AMovedLogStartIsTheFirstEpochsStart) {
  storage::PartitionLog* log = dp.broker().logs.get("t", 0);
  ASSERT_NE(log, nullptr);
  int64_t previous = 0;
  ASSERT_EQ(log->increment_log_start_offset(5, &previous), ErrorCode::NONE);
  log->delete_segments_below_log_start();
  auto r = ask(4, "t", {{0, 0}, {0, -3}});
  EXPECT_EQ(r.at(0).end_offset, 6);
  EXPECT_EQ(r.at(1).leader_epoch, -3);
  EXPECT_EQ(r.at(1).end_offset, 5);
}

}  // namespace
}  // namespace runnel::server
