#include "tools/bench/produce_writer.h"

#include <gtest/gtest.h>

#include "protocol/messages/produce.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "protocol/records/record_batch.h"

namespace runnel::bench {
namespace {

protocol::Bytes one_batch() {
  protocol::RecordBatchBuilder b;
  const uint8_t v[] = {'a', 'b', 'c'};
  b.add(1000, std::nullopt, std::span<const uint8_t>(v));
  b.add(1001, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

// A response frame (without its size) as the broker would send it.
protocol::Bytes response(int32_t correlation_id, const std::string& topic, int32_t partition,
                         int16_t error, int64_t base_offset) {
  protocol::ResponseHeader h;
  h.correlation_id = correlation_id;
  protocol::ProduceResponse resp;
  protocol::ProduceResponse::TopicProduceResponse t;
  t.name = topic;
  protocol::ProduceResponse::PartitionProduceResponse p;
  p.index = partition;
  p.error_code = static_cast<protocol::ErrorCode>(error);
  p.base_offset = base_offset;
  p.log_append_time_ms = -1;
  t.partition_responses.push_back(p);
  resp.responses.push_back(t);
  protocol::Writer w;
  h.encode(w, 1);
  resp.encode(w, kProduceWriterVersion);
  return std::move(w.buf());
}

TEST(ProduceWriter, RequestFrameDecodesWithTheBatchAndTheCorrelationIdWhereExpected) {
  const protocol::Bytes batch = one_batch();
  protocol::Bytes frame = encode_produce_request("t", 3, -1, 0x01020304, batch);
  ASSERT_GT(frame.size(), kCorrelationIdOffset + 4);
  EXPECT_EQ(frame[kCorrelationIdOffset], 0x01);
  EXPECT_EQ(frame[kCorrelationIdOffset + 3], 0x04);
  protocol::Reader r(frame);
  EXPECT_EQ(static_cast<size_t>(r.i32()), frame.size() - 4);
  protocol::RequestHeader h;
  h.decode(r, 2);
  EXPECT_EQ(h.request_api_key, protocol::ProduceRequest::kApiKey);
  EXPECT_EQ(h.request_api_version, kProduceWriterVersion);
  EXPECT_EQ(h.correlation_id, 0x01020304);
  protocol::ProduceRequest req;
  req.decode(r, kProduceWriterVersion);
  ASSERT_TRUE(r.done()) << (r.ok() ? "trailing bytes" : r.error());
  EXPECT_EQ(req.acks, -1);
  ASSERT_EQ(req.topic_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].name, "t");
  ASSERT_EQ(req.topic_data[0].partition_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].partition_data[0].index, 3);
  const auto& rec = req.topic_data[0].partition_data[0].records.inline_bytes;
  EXPECT_EQ(protocol::Bytes(rec.begin(), rec.end()), batch);
  EXPECT_EQ(protocol::validate_batch(rec), protocol::ErrorCode::NONE);
}

TEST(ProduceWriter, ResponseCheckNamesEveryMismatch) {
  EXPECT_EQ(check_produce_response(response(7, "t", 1, 0, 40), 7, "t", 1, 40), "");
  EXPECT_NE(check_produce_response(response(8, "t", 1, 0, 40), 7, "t", 1, 40).find("correlation"),
            std::string::npos);
  EXPECT_NE(check_produce_response(response(7, "u", 1, 0, 40), 7, "t", 1, 40), "");
  EXPECT_NE(check_produce_response(response(7, "t", 2, 0, 40), 7, "t", 1, 40), "");
  EXPECT_NE(check_produce_response(response(7, "t", 1, 6, -1), 7, "t", 1, 40).find("error 6"),
            std::string::npos);
  EXPECT_NE(check_produce_response(response(7, "t", 1, 0, 41), 7, "t", 1, 40).find("base offset"),
            std::string::npos);
  protocol::Bytes cut = response(7, "t", 1, 0, 40);
  cut.pop_back();
  EXPECT_NE(check_produce_response(cut, 7, "t", 1, 40), "");
}

}  // namespace
}  // namespace runnel::bench
