#include <gtest/gtest.h>

#include <limits>

#include "protocol/records/legacy.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;
using testing::DataPlane;
using testing::make_batch;

struct Want {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 1 << 20;
};

FetchRequest request(std::vector<Want> wants, int32_t max_bytes = 50 << 20, int32_t min_bytes = 1,
                     int32_t max_wait_ms = 0) {
  FetchRequest req;
  req.max_wait_ms = max_wait_ms;
  req.min_bytes = min_bytes;
  req.max_bytes = max_bytes;
  for (auto& w : wants) {
    if (req.topics.empty() || req.topics.back().topic != w.topic) {
      FetchRequest::FetchTopic t;
      t.topic = w.topic;
      req.topics.push_back(t);
    }
    FetchRequest::FetchPartition p;
    p.partition = w.partition;
    p.fetch_offset = w.offset;
    p.partition_max_bytes = w.max_bytes;
    req.topics.back().partitions.push_back(p);
  }
  return req;
}

FetchResponse fetch(DataPlane& dp, int16_t version, const FetchRequest& req,
                    std::shared_ptr<protocol::Bytes>* keep) {
  auto d = dp.call<FetchResponse>(version, req);
  *keep = d.frame;
  return d.resp;
}

std::vector<int64_t> batch_bases(const protocol::Records& r) {
  std::vector<int64_t> out;
  for (auto& b : protocol::split_batches(r.inline_bytes, true).batches)
    out.push_back(protocol::BatchHeader::parse(b)->base_offset);
  return out;
}

std::vector<int64_t> legacy_offsets(const protocol::Records& r, int8_t want_magic) {
  std::vector<int64_t> out;
  auto set = protocol::parse_legacy(r.inline_bytes);
  EXPECT_EQ(set.error, ErrorCode::NONE);
  EXPECT_EQ(set.magic, want_magic);
  for (auto& rec : set.records) out.push_back(rec.offset);
  return out;
}

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp.create_topic("t", 2);
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(dp.produce(9, "t", 0, make_batch(4)).responses.size(), 1u);
  }
  DataPlane dp;
  std::shared_ptr<protocol::Bytes> keep;
};

TEST_F(FetchTest, RoundTripReturnsWholeBatchesAndOffsets) {
  auto resp = fetch(dp, 12, request({{"t", 0, 0}}), &keep);
  ASSERT_EQ(resp.responses.size(), 1u);
  auto& p = resp.responses[0].partitions.at(0);
  EXPECT_EQ(p.error_code, ErrorCode::NONE);
  EXPECT_EQ(p.high_watermark, 12);
  EXPECT_EQ(p.last_stable_offset, 12);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(p.preferred_read_replica, -1);
  EXPECT_FALSE(p.aborted_transactions.has_value());
  EXPECT_EQ(batch_bases(p.records), (std::vector<int64_t>{0, 4, 8}));
  for (auto& b : protocol::split_batches(p.records.inline_bytes).batches)
    EXPECT_EQ(protocol::validate_batch(b), ErrorCode::NONE);
}

TEST_F(FetchTest, FromTheMiddleOfABatchReturnsTheWholeBatch) {
  auto resp = fetch(dp, 11, request({{"t", 0, 6}}), &keep);
  EXPECT_EQ(batch_bases(resp.responses[0].partitions[0].records), (std::vector<int64_t>{4, 8}));
}

TEST_F(FetchTest, ReadCommittedListsNoAbortedTransactionsAsEmpty) {
  auto req = request({{"t", 0, 0}});
  req.isolation_level = 1;
  auto resp = fetch(dp, 11, req, &keep);
  auto& p = resp.responses[0].partitions[0];
  ASSERT_TRUE(p.aborted_transactions.has_value());
  EXPECT_TRUE(p.aborted_transactions->empty());
}

TEST_F(FetchTest, OffsetOutOfRangeFillsOffsets) {
  auto resp = fetch(dp, 11, request({{"t", 0, 13}}), &keep);
  auto& p = resp.responses[0].partitions[0];
  EXPECT_EQ(p.error_code, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(p.high_watermark, 12);
  EXPECT_EQ(p.last_stable_offset, 12);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(p.records.size(), 0u);
  // At the log end: no error, nothing.
  resp = fetch(dp, 11, request({{"t", 0, 12}}), &keep);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.responses[0].partitions[0].records.size(), 0u);
}

TEST_F(FetchTest, UnknownTopicAndPartition) {
  auto resp = fetch(dp, 12, request({{"nope", 0, 0}, {"t", 5, 0}}), &keep);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(resp.responses[0].partitions[0].high_watermark, -1);
  EXPECT_EQ(resp.responses[1].partitions[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(FetchTest, TopicIdsFromV13) {
  auto req = request({{"", 0, 0}});
  req.topics[0].topic_id = dp.logs().topic("t")->topic_id;
  FetchRequest::FetchTopic unknown;
  unknown.topic_id = protocol::Uuid::random();
  unknown.partitions.push_back({});
  req.topics.push_back(unknown);
  auto resp = fetch(dp, 13, req, &keep);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].topic_id, dp.logs().topic("t")->topic_id);
  EXPECT_EQ(batch_bases(resp.responses[0].partitions[0].records), (std::vector<int64_t>{0, 4, 8}));
  EXPECT_EQ(resp.responses[1].partitions[0].error_code, ErrorCode::UNKNOWN_TOPIC_ID);
}

// v18 adds the follower's high watermark, a tagged field a consumer does not send; when sent,
// it changes nothing for this broker.
TEST_F(FetchTest, V18WithAndWithoutTheTaggedHighWatermark) {
  for (int64_t hw : {std::numeric_limits<int64_t>::max(), int64_t{5}}) {
    auto req = request({{"", 0, 0}});
    req.topics[0].topic_id = dp.logs().topic("t")->topic_id;
    req.topics[0].partitions[0].high_watermark = hw;
    auto resp = fetch(dp, 18, req, &keep);
    ASSERT_EQ(resp.responses.size(), 1u);
    auto& p = resp.responses[0].partitions.at(0);
    EXPECT_EQ(p.error_code, ErrorCode::NONE);
    EXPECT_EQ(p.high_watermark, 12);
    EXPECT_EQ(batch_bases(p.records), (std::vector<int64_t>{0, 4, 8}));
  }
}

TEST_F(FetchTest, MinOneBatchAndResponseLimit) {
  // partition_max_bytes smaller than a batch: the first batch still comes.
  auto resp = fetch(dp, 11, request({{"t", 0, 0, 10}}), &keep);
  EXPECT_EQ(batch_bases(resp.responses[0].partitions[0].records), (std::vector<int64_t>{0}));
  // Response max_bytes tiny: the first partition with data gets one batch,
  // the next nothing.
  ASSERT_EQ(dp.produce(9, "t", 1, make_batch(2)).responses.size(), 1u);
  resp = fetch(dp, 11, request({{"t", 0, 0}, {"t", 1, 0}}, 10), &keep);
  ASSERT_EQ(resp.responses[0].partitions.size(), 2u);
  EXPECT_EQ(batch_bases(resp.responses[0].partitions[0].records), (std::vector<int64_t>{0}));
  EXPECT_EQ(resp.responses[0].partitions[1].records.size(), 0u);
  EXPECT_EQ(resp.responses[0].partitions[1].high_watermark, 2);
}

TEST_F(FetchTest, OldVersionsAreDownConverted) {
  auto resp = fetch(dp, 0, request({{"t", 0, 6}}), &keep);
  EXPECT_EQ(legacy_offsets(resp.responses[0].partitions[0].records, 0),
            (std::vector<int64_t>{6, 7, 8, 9, 10, 11}));
  resp = fetch(dp, 3, request({{"t", 0, 0}}), &keep);
  auto offsets = legacy_offsets(resp.responses[0].partitions[0].records, 1);
  EXPECT_EQ(offsets.size(), 12u);
  auto set = protocol::parse_legacy(resp.responses[0].partitions[0].records.inline_bytes);
  ASSERT_FALSE(set.records.empty());
  EXPECT_EQ(set.records[0].timestamp, 1'700'000'000'000);
  // A limit smaller than one message still gets the first message.
  resp = fetch(dp, 2, request({{"t", 0, 5, 1}}), &keep);
  EXPECT_EQ(legacy_offsets(resp.responses[0].partitions[0].records, 1), (std::vector<int64_t>{5}));
}

// A compressed batch that expands far past the fetch's limits: an old client
// gets whole messages within max_bytes (the first one at least), not the
// whole expanded batch.
TEST_F(FetchTest, DownConversionHonoursMaxBytesWhateverABatchExpandsTo) {
  protocol::RecordBatchBuilder b(protocol::Compression::zstd);
  const std::vector<uint8_t> zeros(16 << 10, 0);
  for (int i = 0; i < 1024; ++i)
    b.add(1'700'000'000'000 + i, std::nullopt, std::span<const uint8_t>(zeros));  // 16 MiB
  auto batch = b.build();
  ASSERT_LT(batch.size(), 64u << 10);
  ASSERT_EQ(dp.produce(9, "t", 1, batch).responses[0].partition_responses[0].error_code,
            ErrorCode::NONE);
  size_t one = 12 + 14 + 8 + zeros.size();  // a magic 1 message of one record
  // v3: response max_bytes 1 KiB, smaller than one message: just the first one.
  auto resp = fetch(dp, 3, request({{"t", 1, 0}}, 1024), &keep);
  auto& recs = resp.responses[0].partitions[0].records;
  EXPECT_EQ(recs.inline_bytes.size(), one);
  EXPECT_EQ(legacy_offsets(recs, 1), (std::vector<int64_t>{0}));
  // v0: only the partition limit; three messages fit, from the fetch offset on.
  resp = fetch(dp, 0, request({{"t", 1, 100, static_cast<int32_t>(3 * (one - 8) + 10)}}), &keep);
  EXPECT_EQ(legacy_offsets(resp.responses[0].partitions[0].records, 0),
            (std::vector<int64_t>{100, 101, 102}));
}

TEST_F(FetchTest, LegacyProduceThenModernFetch) {
  protocol::Bytes m0;
  std::string v = "old";
  protocol::append_legacy_message(
      m0, 0, 0, 0, -1, std::nullopt,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  auto pr = dp.produce(0, "t", 1, m0);
  ASSERT_EQ(pr.responses[0].partition_responses[0].error_code, ErrorCode::NONE);
  auto resp = fetch(dp, 4, request({{"t", 1, 0}}), &keep);
  auto& recs = resp.responses[0].partitions[0].records;
  auto batches = protocol::split_batches(recs.inline_bytes).batches;
  ASSERT_EQ(batches.size(), 1u);
  auto view = protocol::RecordBatchView::open(batches[0]);
  ASSERT_TRUE(view);
  auto records = view->records();
  ASSERT_TRUE(records && records->size() == 1);
  ASSERT_TRUE((*records)[0].value.has_value());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*records)[0].value->data()),
                        (*records)[0].value->size()),
            "old");
}

TEST_F(FetchTest, LongPollIsWokenByAppend) {
  std::optional<testing::Decoded<FetchResponse>> out;
  dp.start<FetchResponse>(11, request({{"t", 1, 0}}, 50 << 20, 1, 60'000), &out);
  dp.io().restart();
  dp.io().poll();
  EXPECT_FALSE(out.has_value());
  EXPECT_EQ(dp.waiters().waiting(), 1u);
  // A produce to another partition does not answer it.
  ASSERT_EQ(dp.produce(9, "t", 0, make_batch(1)).responses.size(), 1u);
  EXPECT_FALSE(out.has_value());
  // One to its partition does (the produce runs on the same io_context).
  ASSERT_EQ(dp.produce(9, "t", 1, make_batch(2)).responses.size(), 1u);
  dp.io().restart();
  dp.io().run();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(batch_bases(out->resp.responses[0].partitions[0].records), (std::vector<int64_t>{0}));
  EXPECT_EQ(dp.waiters().waiting(), 0u);
}

TEST_F(FetchTest, LongPollNotWaitingWhenEnoughOrError) {
  std::optional<testing::Decoded<FetchResponse>> out;
  dp.start<FetchResponse>(11, request({{"t", 0, 0}}, 50 << 20, 1, 60'000), &out);
  dp.io().restart();
  dp.io().poll();
  EXPECT_TRUE(out.has_value());
  out.reset();
  dp.start<FetchResponse>(11, request({{"t", 0, 99}}, 50 << 20, 1, 60'000), &out);
  dp.io().restart();
  dp.io().poll();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->resp.responses[0].partitions[0].error_code, ErrorCode::OFFSET_OUT_OF_RANGE);
}

TEST_F(FetchTest, LongPollDeadlineAnswersEmpty) {
  auto resp = fetch(dp, 11, request({{"t", 1, 0}}, 50 << 20, 1, 1), &keep);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.responses[0].partitions[0].records.size(), 0u);
}

TEST_F(FetchTest, SessionFullThenIncremental) {
  auto req = request({{"t", 0, 0}, {"t", 1, 0}});
  req.session_id = 0;
  req.session_epoch = 0;
  auto resp = fetch(dp, 12, req, &keep);
  ASSERT_NE(resp.session_id, 0);
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  ASSERT_EQ(resp.responses.at(0).partitions.size(), 2u);
  int32_t id = resp.session_id;

  // Incremental, epoch 1: partition 0 moves to 12; nothing new anywhere ⇒
  // partition 0 is not listed (hw unchanged, no records); nor partition 1.
  FetchRequest inc = request({{"t", 0, 12}});
  inc.session_id = id;
  inc.session_epoch = 1;
  resp = fetch(dp, 12, inc, &keep);
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.session_id, id);
  EXPECT_TRUE(resp.responses.empty());

  // New data in partition 1 (the session fetches it from offset 0).
  ASSERT_EQ(dp.produce(9, "t", 1, make_batch(1)).responses.size(), 1u);
  FetchRequest inc2 = request({});
  inc2.session_id = id;
  inc2.session_epoch = 2;
  resp = fetch(dp, 12, inc2, &keep);
  ASSERT_EQ(resp.responses.size(), 1u);
  ASSERT_EQ(resp.responses[0].partitions.size(), 1u);
  EXPECT_EQ(resp.responses[0].partitions[0].partition_index, 1);
  EXPECT_EQ(batch_bases(resp.responses[0].partitions[0].records), (std::vector<int64_t>{0}));

  // Wrong epoch, unknown id.
  inc2.session_epoch = 2;
  resp = fetch(dp, 12, inc2, &keep);
  EXPECT_EQ(resp.error_code, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
  EXPECT_EQ(resp.session_id, 0);
  inc2.session_id = id + 1;
  inc2.session_epoch = 3;
  resp = fetch(dp, 12, inc2, &keep);
  EXPECT_EQ(resp.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);

  // Forget partition 1, then close with epoch -1.
  FetchRequest forget = request({});
  forget.session_id = id;
  forget.session_epoch = 3;
  FetchRequest::ForgottenTopic ft;
  ft.topic = "t";
  ft.partitions = {1};
  forget.forgotten_topics_data.push_back(ft);
  resp = fetch(dp, 12, forget, &keep);
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  ASSERT_EQ(dp.sessions().get(id)->partitions().size(), 1u);

  FetchRequest close = request({{"t", 0, 0}});
  close.session_id = id;
  close.session_epoch = -1;
  resp = fetch(dp, 12, close, &keep);
  EXPECT_EQ(resp.session_id, 0);
  EXPECT_EQ(dp.sessions().get(id), nullptr);
  ASSERT_EQ(resp.responses.size(), 1u);  // a sessionless full fetch
}

TEST_F(FetchTest, SessionlessBelowV7) {
  auto req = request({{"t", 0, 0}});
  req.session_epoch = 0;  // not on the wire before v7
  auto resp = fetch(dp, 6, req, &keep);
  EXPECT_EQ(dp.sessions().size(), 0u);
  EXPECT_EQ(resp.responses.size(), 1u);
}

}  // namespace
}  // namespace runnel::server
