#include <gtest/gtest.h>

#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using testing::DataPlane;
using testing::make_batch;

constexpr int64_t kT0 = 1'700'000'000'000;

ListOffsetsRequest request(const std::string& topic, std::vector<std::pair<int32_t, int64_t>> ps,
                           int32_t max_num_offsets = 1) {
  ListOffsetsRequest req;
  req.replica_id = -1;
  ListOffsetsRequest::ListOffsetsTopic t;
  t.name = topic;
  for (auto [p, ts] : ps) {
    ListOffsetsRequest::ListOffsetsPartition lp;
    lp.partition_index = p;
    lp.timestamp = ts;
    lp.max_num_offsets = max_num_offsets;
    t.partitions.push_back(lp);
  }
  req.topics.push_back(t);
  return req;
}

class ListOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp.create_topic("t", 2);
    // Offsets 0-3 at kT0..kT0+3, 4-7 at kT0+100.., 8-9 at kT0+50..
    EXPECT_EQ(dp.produce(9, "t", 0, make_batch(4, kT0)).responses.size(), 1u);
    EXPECT_EQ(dp.produce(9, "t", 0, make_batch(4, kT0 + 100)).responses.size(), 1u);
    EXPECT_EQ(dp.produce(9, "t", 0, make_batch(2, kT0 + 50)).responses.size(), 1u);
  }
  ListOffsetsResponse::ListOffsetsPartitionResponse one(int16_t version, int64_t ts,
                                                        int8_t isolation = 0) {
    auto req = request("t", {{0, ts}});
    req.isolation_level = isolation;
    auto resp = dp.call<ListOffsetsResponse>(version, req).resp;
    EXPECT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics.at(0).partitions.size(), 1u);
    return resp.topics.at(0).partitions.at(0);
  }
  DataPlane dp;
};

TEST_F(ListOffsetsTest, EarliestAndLatest) {
  auto r = one(5, -2);
  EXPECT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.offset, 0);
  EXPECT_EQ(r.timestamp, -1);
  EXPECT_EQ(r.leader_epoch, 0);
  r = one(5, -1);
  EXPECT_EQ(r.offset, 10);
  r = one(5, -1, 1);  // read_committed: last stable offset
  EXPECT_EQ(r.offset, 10);
  r = one(8, -4);  // earliest local
  EXPECT_EQ(r.offset, 0);
  r = one(9, -5);  // latest tiered: nothing tiered
  EXPECT_EQ(r.offset, -1);
  r = one(11, -6);  // earliest pending upload: no remote storage, Kafka's -1s
  EXPECT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.offset, -1);
  EXPECT_EQ(r.timestamp, -1);
  EXPECT_EQ(r.leader_epoch, -1);
}

TEST_F(ListOffsetsTest, ByTimestamp) {
  auto r = one(1, kT0 + 2);
  EXPECT_EQ(r.offset, 2);
  EXPECT_EQ(r.timestamp, kT0 + 2);
  r = one(4, kT0 + 60);  // first record with ts >= kT0+60 is offset 4 (kT0+100)
  EXPECT_EQ(r.offset, 4);
  EXPECT_EQ(r.timestamp, kT0 + 100);
  r = one(4, kT0 + 1000);
  EXPECT_EQ(r.offset, -1);
  EXPECT_EQ(r.timestamp, -1);
}

TEST_F(ListOffsetsTest, MaxTimestamp) {
  auto r = one(7, -3);
  EXPECT_EQ(r.offset, 7);
  EXPECT_EQ(r.timestamp, kT0 + 103);
  // Empty partition: none.
  auto resp = dp.call<ListOffsetsResponse>(7, request("t", {{1, -3}})).resp;
  EXPECT_EQ(resp.topics[0].partitions[0].offset, -1);
}

TEST_F(ListOffsetsTest, V0OldStyleOffsets) {
  auto r = one(0, -1);
  EXPECT_EQ(r.old_style_offsets, (std::vector<int64_t>{10}));
  r = one(0, -2);
  EXPECT_EQ(r.old_style_offsets, (std::vector<int64_t>{0}));
  auto resp = dp.call<ListOffsetsResponse>(0, request("t", {{0, -1}}, 5)).resp;
  EXPECT_EQ(resp.topics[0].partitions[0].old_style_offsets, (std::vector<int64_t>{10, 0}));
  resp = dp.call<ListOffsetsResponse>(0, request("t", {{0, -1}}, 0)).resp;
  EXPECT_TRUE(resp.topics[0].partitions[0].old_style_offsets.empty());
}

TEST_F(ListOffsetsTest, UnknownAndDuplicatePartitions) {
  auto resp = dp.call<ListOffsetsResponse>(1, request("t", {{0, -1}, {0, -2}, {5, -1}})).resp;
  auto& ps = resp.topics[0].partitions;
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(ps[1].error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(ps[2].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  resp = dp.call<ListOffsetsResponse>(1, request("nope", {{0, -1}})).resp;
  EXPECT_EQ(resp.topics[0].partitions[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(ListOffsetsTest, LeaderEpochFencing) {
  auto req = request("t", {{0, -1}});
  req.topics[0].partitions[0].current_leader_epoch = 3;
  auto resp = dp.call<ListOffsetsResponse>(4, req).resp;
  EXPECT_EQ(resp.topics[0].partitions[0].error_code, ErrorCode::UNKNOWN_LEADER_EPOCH);
}

}  // namespace
}  // namespace runnel::server
