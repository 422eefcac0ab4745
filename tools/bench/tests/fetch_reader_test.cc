#include "tools/bench/fetch_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages/fetch.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "protocol/records/record_batch.h"

namespace runnel::bench {
namespace {

using protocol::Bytes;

Bytes batch(int64_t base_offset, int records) {
  protocol::RecordBatchBuilder b;
  b.base_offset(base_offset);
  const uint8_t value[4] = {'a', 'b', 'c', 'd'};
  for (int i = 0; i < records; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(value));
  return b.build();
}

struct PartitionReply {
  int32_t partition = 0;
  int16_t error = 0;
  int64_t high_watermark = 0;
  Bytes records;
};

// A Fetch v12 response frame (without its size) for `topic`.
Bytes response(int32_t correlation_id, const std::string& topic,
               const std::vector<PartitionReply>& parts, int16_t error = 0) {
  protocol::ResponseHeader h;
  h.correlation_id = correlation_id;
  protocol::FetchResponse resp;
  resp.error_code = static_cast<protocol::ErrorCode>(error);
  protocol::FetchResponse::FetchableTopicResponse tr;
  tr.topic = topic;
  for (const auto& p : parts) {
    protocol::FetchResponse::PartitionData pd;
    pd.partition_index = p.partition;
    pd.error_code = static_cast<protocol::ErrorCode>(p.error);
    pd.high_watermark = p.high_watermark;
    pd.last_stable_offset = p.high_watermark;
    pd.log_start_offset = 0;
    pd.records = protocol::Records::from_bytes(p.records);
    tr.partitions.push_back(std::move(pd));
  }
  resp.responses.push_back(std::move(tr));
  protocol::Writer w;
  h.encode(w, 1);
  resp.encode(w, kFetchReaderVersion);
  return w.buf();
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(FetchReader, AdvancesOverWholeBatchesToTheHighWatermark) {
  std::vector<PartitionProgress> progress(2);
  FetchCounts counts;
  const Bytes set = concat({batch(0, 10), batch(10, 5)});
  const Bytes frame = response(7, "t", {{0, 0, 15, set}, {1, 0, 0, {}}});
  EXPECT_EQ(apply_fetch_response(frame, 7, "t", &progress, &counts), "");
  EXPECT_EQ(progress[0].next_offset, 15);
  EXPECT_EQ(progress[0].high_watermark, 15);
  EXPECT_TRUE(progress[0].done());
  EXPECT_TRUE(progress[1].done());  // empty partition
  EXPECT_EQ(counts.records, 15u);
  EXPECT_EQ(counts.batch_bytes, set.size());
  EXPECT_EQ(counts.fetches, 1u);
}

TEST(FetchReader, IgnoresAPartialTrailingBatchAndCountsOnlyOffsetsFromTheFetchOffset) {
  std::vector<PartitionProgress> progress(1);
  progress[0].next_offset = 4;
  FetchCounts counts;
  Bytes set = concat({batch(0, 10), batch(10, 10)});
  set.resize(set.size() - 3);  // the second batch is cut
  const Bytes frame = response(1, "t", {{0, 0, 20, set}});
  EXPECT_EQ(apply_fetch_response(frame, 1, "t", &progress, &counts), "");
  EXPECT_EQ(progress[0].next_offset, 10);
  EXPECT_FALSE(progress[0].done());
  EXPECT_EQ(counts.records, 6u);
}

TEST(FetchReader, RejectsGapsErrorsAndForeignReplies) {
  FetchCounts counts;
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "t", {{0, 0, 20, batch(5, 3)}});
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts).find("gap"),
              std::string::npos);
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "t", {{0, 1, -1, {}}});  // OFFSET_OUT_OF_RANGE
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts).find("error 1"),
              std::string::npos);
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "t", {}, 72);  // topic-level error
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts), "");
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(2, "t", {{0, 0, 3, batch(0, 3)}});
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts).find("correlation"),
              std::string::npos);
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "other", {{0, 0, 3, batch(0, 3)}});
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts), "");
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "t", {{3, 0, 3, batch(0, 3)}});  // partition not asked for
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts), "");
  }
  {
    std::vector<PartitionProgress> progress(1);
    const Bytes frame = response(1, "t", {{0, 0, 2, batch(0, 3)}});  // records past the HWM
    EXPECT_NE(apply_fetch_response(frame, 1, "t", &progress, &counts), "");
  }
}

TEST(FetchReader, RejectsTruncatedAndOverlongFrames) {
  FetchCounts counts;
  const Bytes frame = response(1, "t", {{0, 0, 3, batch(0, 3)}});
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    std::vector<PartitionProgress> progress(1);
    const Bytes part(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_NE(apply_fetch_response(part, 1, "t", &progress, &counts), "") << cut;
  }
  std::vector<PartitionProgress> progress(1);
  Bytes longer = frame;
  longer.push_back(0);
  EXPECT_NE(apply_fetch_response(longer, 1, "t", &progress, &counts), "");
}

TEST(FetchReader, RequestAsksOnlyForUnfinishedPartitionsWithoutASession) {
  FetchReaderParams p;
  p.topic = "t";
  p.partitions = 3;
  p.partition_max_bytes = 12345;
  std::vector<PartitionProgress> progress(3);
  progress[0] = {10, 10};  // done
  progress[1] = {4, 10};
  progress[2] = {0, -1};
  const Bytes frame = encode_fetch_request(p, 9, progress);
  ASSERT_GE(frame.size(), 4u);
  const uint32_t size = (uint32_t{frame[0]} << 24) | (uint32_t{frame[1]} << 16) |
                        (uint32_t{frame[2]} << 8) | uint32_t{frame[3]};
  EXPECT_EQ(size, frame.size() - 4);
  protocol::Reader r(std::span<const uint8_t>(frame).subspan(4));
  protocol::RequestHeader h;
  h.decode(r, 2);
  protocol::FetchRequest req;
  req.decode(r, kFetchReaderVersion);
  ASSERT_TRUE(r.done());
  EXPECT_EQ(h.request_api_key, 1);
  EXPECT_EQ(h.request_api_version, kFetchReaderVersion);
  EXPECT_EQ(h.correlation_id, 9);
  EXPECT_EQ(req.session_id, 0);
  EXPECT_EQ(req.session_epoch, -1);
  EXPECT_EQ(req.max_bytes, 52428800);
  ASSERT_EQ(req.topics.size(), 1u);
  ASSERT_EQ(req.topics[0].partitions.size(), 2u);
  EXPECT_EQ(req.topics[0].partitions[0].partition, 1);
  EXPECT_EQ(req.topics[0].partitions[0].fetch_offset, 4);
  EXPECT_EQ(req.topics[0].partitions[0].partition_max_bytes, 12345);
  EXPECT_EQ(req.topics[0].partitions[1].partition, 2);
  EXPECT_EQ(req.topics[0].partitions[1].fetch_offset, 0);
}

}  // namespace
}  // namespace runnel::bench
