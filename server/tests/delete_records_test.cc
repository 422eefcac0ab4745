#include "protocol/messages/delete_records.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string_view>

#include "server/tests/data_plane_test_util.h"
#include "storage/sys.h"

namespace runnel::server {
namespace {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::ErrorCode;
using testing::DataPlane;
using testing::make_batch;

struct Want {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

DeleteRecordsRequest request(std::vector<Want> wants) {
  DeleteRecordsRequest req;
  req.timeout_ms = 1000;
  for (auto& w : wants) {
    if (req.topics.empty() || req.topics.back().name != w.topic) {
      DeleteRecordsRequest::DeleteRecordsTopic t;
      t.name = w.topic;
      req.topics.push_back(t);
    }
    DeleteRecordsRequest::DeleteRecordsPartition p;
    p.partition_index = w.partition;
    p.offset = w.offset;
    req.topics.back().partitions.push_back(p);
  }
  return req;
}

// Partition results as (topic, partition, low watermark, error), in the answer's order.
struct Got {
  std::string topic;
  int32_t partition;
  int64_t low_watermark;
  ErrorCode error;
  bool operator==(const Got&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Got& g) {
  return os << g.topic << "-" << g.partition << " lw " << g.low_watermark << " "
            << protocol::error_name(g.error);
}

class DeleteRecordsTest : public ::testing::Test {
 protected:
  DeleteRecordsTest() : dp(small_segments()) {}
  static storage::LogConfig small_segments() {
    storage::LogConfig c;
    c.segment_bytes = 200;  // about two batches of 2 records each
    return c;
  }
  void SetUp() override {
    dp.create_topic("t", 2);
    for (int i = 0; i < 5; ++i) dp.produce(9, "t", 0, make_batch(2));  // offsets 0-9
  }
  std::vector<Got> delete_records(int16_t version, std::vector<Want> wants) {
    auto d = dp.call<DeleteRecordsResponse>(version, request(std::move(wants)));
    EXPECT_TRUE(d.sent);
    std::vector<Got> out;
    for (const auto& t : d.resp.topics)
      for (const auto& p : t.partitions)
        out.push_back({t.name, p.partition_index, p.low_watermark, p.error_code});
    return out;
  }
  protocol::ListOffsetsResponse::ListOffsetsPartitionResponse earliest() {
    protocol::ListOffsetsRequest req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = "t";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = -2;
    return dp.call<protocol::ListOffsetsResponse>(7, req).resp.topics.at(0).partitions.at(0);
  }
  protocol::FetchResponse::PartitionData fetch(int64_t offset) {
    protocol::FetchRequest req;
    req.max_bytes = 1 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = "t";
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    auto d = dp.call<protocol::FetchResponse>(11, req);
    keep = d.frame;
    return d.resp.responses.at(0).partitions.at(0);
  }
  DataPlane dp;
  std::shared_ptr<protocol::Bytes> keep;
};

TEST_F(DeleteRecordsTest, MovesTheLogStartOffsetAndAnswersTheLowWatermark) {
  storage::PartitionLog* log = dp.logs().get("t", 0);
  ASSERT_GT(log->segment_count(), 2u);
  for (int16_t v = 0; v <= 2; ++v)
    EXPECT_EQ(delete_records(v, {{"t", 1, 0}})[0].error, ErrorCode::NONE);
  EXPECT_EQ(delete_records(2, {{"t", 0, 5}}), (std::vector<Got>{{"t", 0, 5, ErrorCode::NONE}}));
  EXPECT_EQ(log->log_start_offset(), 5);
  // Whole segments below 5 are gone; the one holding 5 stays.
  EXPECT_LE(log->segment_base_offsets().front(), 5);
  EXPECT_GT(log->segment_base_offsets().front(), 0);
  // A smaller offset leaves it and answers where it is.
  EXPECT_EQ(delete_records(1, {{"t", 0, 3}}), (std::vector<Got>{{"t", 0, 5, ErrorCode::NONE}}));
  // ListOffsets EARLIEST, Fetch below it and at it, and Fetch's log_start_offset.
  EXPECT_EQ(earliest().offset, 5);
  auto below = fetch(4);
  EXPECT_EQ(below.error_code, ErrorCode::OFFSET_OUT_OF_RANGE);
  auto at = fetch(5);
  EXPECT_EQ(at.error_code, ErrorCode::NONE);
  EXPECT_EQ(at.log_start_offset, 5);
  EXPECT_EQ(at.high_watermark, 10);
  // -1: up to the high watermark.
  EXPECT_EQ(delete_records(0, {{"t", 0, -1}}), (std::vector<Got>{{"t", 0, 10, ErrorCode::NONE}}));
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(fetch(10).error_code, ErrorCode::NONE);
  EXPECT_EQ(fetch(9).error_code, ErrorCode::OFFSET_OUT_OF_RANGE);
}

TEST_F(DeleteRecordsTest, ErrorsAsKafkaAnswersThem) {
  dp.create_topic("compacted", 1, {{"cleanup.policy", "compact"}});
  dp.create_topic("both", 1, {{"cleanup.policy", "compact,delete"}});
  dp.create_topic("__consumer_offsets", 1);
  EXPECT_EQ(delete_records(2, {{"t", 0, 11},
                               {"t", 1, -2},
                               {"t", 7, 0},
                               {"missing", 0, 0},
                               {"compacted", 0, 0},
                               {"both", 0, 0},
                               {"__consumer_offsets", 0, 0}}),
            (std::vector<Got>{{"t", 0, -1, ErrorCode::OFFSET_OUT_OF_RANGE},
                              {"t", 1, -1, ErrorCode::OFFSET_OUT_OF_RANGE},
                              {"t", 7, -1, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION},
                              {"missing", 0, -1, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION},
                              {"compacted", 0, -1, ErrorCode::POLICY_VIOLATION},
                              {"both", 0, 0, ErrorCode::NONE},
                              {"__consumer_offsets", 0, -1, ErrorCode::INVALID_TOPIC_EXCEPTION}}));
  EXPECT_EQ(dp.logs().get("t", 0)->log_start_offset(), 0);
  EXPECT_TRUE(delete_records(2, {}).empty());
}

TEST_F(DeleteRecordsTest, APartitionNamedTwiceIsAnsweredOnceWithItsLastOffset) {
  EXPECT_EQ(delete_records(2, {{"t", 0, 4}, {"t", 1, 0}, {"t", 0, 6}}),
            (std::vector<Got>{{"t", 0, 6, ErrorCode::NONE}, {"t", 1, 0, ErrorCode::NONE}}));
  EXPECT_EQ(dp.logs().get("t", 0)->log_start_offset(), 6);
}

TEST_F(DeleteRecordsTest, ACheckpointThatCannotBeWrittenIsAStorageErrorAndMovesNothing) {
  storage::PartitionLog* log = dp.logs().get("t", 0);
  const auto segments = log->segment_base_offsets();
  storage::sys::FaultPlan plan;
  plan.ops = storage::sys::op_bit(storage::sys::Op::write);
  plan.match = [](storage::sys::Op, std::string_view path) {
    return path.find("log-start-offset-checkpoint") != std::string_view::npos;
  };
  plan.fail_at = 1;
  plan.fail_count = UINT64_MAX;
  plan.error = ENOSPC;
  storage::sys::set_fault_plan(&plan);
  auto got = delete_records(2, {{"t", 0, 5}, {"t", 1, 0}});
  storage::sys::set_fault_plan(nullptr);
  EXPECT_EQ(got, (std::vector<Got>{{"t", 0, -1, ErrorCode::KAFKA_STORAGE_ERROR},
                                   {"t", 1, 0, ErrorCode::NONE}}));
  EXPECT_GT(plan.failed, 0u);
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->segment_base_offsets(), segments);
  EXPECT_EQ(fetch(0).error_code, ErrorCode::NONE);
  // The disk is back: the same request goes through.
  EXPECT_EQ(delete_records(2, {{"t", 0, 5}})[0], (Got{"t", 0, 5, ErrorCode::NONE}));
}

}  // namespace
}  // namespace runnel::server
