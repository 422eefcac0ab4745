#include <gtest/gtest.h>

#include "protocol/records/crc32c.h"
#include "protocol/records/legacy.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;
using testing::make_batch;

const protocol::ProduceResponse::PartitionProduceResponse& only(
    const protocol::ProduceResponse& r) {
  static protocol::ProduceResponse::PartitionProduceResponse none;
  if (r.responses.size() != 1 || r.responses[0].partition_responses.size() != 1) {
    ADD_FAILURE() << "expected one partition response";
    return none;
  }
  return r.responses[0].partition_responses[0];
}

TEST(Produce, AppendsAndAnswersOffsets) {
  DataPlane dp;
  dp.create_topic("t", 2);
  auto r1 = dp.produce(9, "t", 1, make_batch(3));
  EXPECT_EQ(only(r1).error_code, ErrorCode::NONE);
  EXPECT_EQ(only(r1).base_offset, 0);
  EXPECT_EQ(only(r1).log_append_time_ms, -1);
  EXPECT_EQ(only(r1).log_start_offset, 0);
  auto r2 = dp.produce(11, "t", 1, make_batch(2));
  EXPECT_EQ(only(r2).base_offset, 3);
  EXPECT_EQ(dp.logs().get("t", 1)->log_end_offset(), 5);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
}

TEST(Produce, UnknownTopicOrPartitionIsNotCreated) {
  DataPlane dp;
  dp.create_topic("t", 1);
  EXPECT_EQ(only(dp.produce(7, "nope", 0, make_batch(1))).error_code,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(only(dp.produce(7, "t", 1, make_batch(1))).error_code,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(dp.logs().topic("nope"), nullptr);
}

TEST(Produce, InvalidAcksForEveryPartition) {
  DataPlane dp;
  dp.create_topic("t", 1);
  auto r = dp.produce(8, "t", 0, make_batch(1), 2);
  EXPECT_EQ(only(r).error_code, ErrorCode::INVALID_REQUIRED_ACKS);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
}

TEST(Produce, AcksZeroSendsNoResponseButAppends) {
  DataPlane dp;
  dp.create_topic("t", 1);
  protocol::ProduceRequest req;
  req.acks = 0;
  protocol::ProduceRequest::TopicProduceData t;
  t.name = "t";
  protocol::ProduceRequest::PartitionProduceData p;
  p.records = protocol::Records::from_bytes(make_batch(2));
  t.partition_data.push_back(p);
  req.topic_data.push_back(t);
  auto d = dp.call<protocol::ProduceResponse>(9, req);
  EXPECT_FALSE(d.sent);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 2);
}

TEST(Produce, BadCrcIsCorruptAndWritesNothing) {
  DataPlane dp;
  dp.create_topic("t", 1);
  auto batch = make_batch(2);
  batch.back() ^= 0x5a;
  auto r = dp.produce(9, "t", 0, batch);
  EXPECT_EQ(only(r).error_code, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(only(r).base_offset, -1);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
}

TEST(Produce, V3PlusRequiresExactlyOneMagicTwoBatch) {
  DataPlane dp;
  dp.create_topic("t", 1);
  auto two = make_batch(1);
  auto second = make_batch(1);
  two.insert(two.end(), second.begin(), second.end());
  auto r = dp.produce(3, "t", 0, two);
  EXPECT_EQ(only(r).error_code, ErrorCode::INVALID_RECORD);
  protocol::Bytes legacy;
  protocol::append_legacy_message(legacy, 1, 0, 0, 1000, std::nullopt, std::nullopt);
  r = dp.produce(8, "t", 0, legacy);
  EXPECT_EQ(only(r).error_code, ErrorCode::INVALID_RECORD);
  ASSERT_TRUE(only(r).error_message.has_value());  // v8+ carries the reason
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
}

TEST(Produce, ZstdNeedsV7) {
  DataPlane dp;
  dp.create_topic("t", 1);
  auto batch = make_batch(3, 1000, protocol::Compression::zstd);
  EXPECT_EQ(only(dp.produce(6, "t", 0, batch)).error_code, ErrorCode::UNSUPPORTED_COMPRESSION_TYPE);
  EXPECT_EQ(only(dp.produce(7, "t", 0, batch)).error_code, ErrorCode::NONE);
}

TEST(Produce, TransactionalBatchRefused) {
  DataPlane dp;
  dp.create_topic("t", 1);
  // A producer the transaction coordinator does not know.
  protocol::RecordBatchBuilder b;
  b.producer(5, 0, 0).transactional(true).add(1000, std::nullopt, std::nullopt);
  EXPECT_EQ(only(dp.produce(9, "t", 0, b.build())).error_code,
            ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  // A known one whose transaction does not hold the partition (no AddPartitionsToTxn).
  auto init = dp.broker().txns.coordinator().init_producer_id("tx", 60000);
  ASSERT_EQ(init.error, ErrorCode::NONE);
  protocol::RecordBatchBuilder t;
  t.producer(init.producer_id, init.producer_epoch, 0)
      .transactional(true)
      .add(1000, std::nullopt, std::nullopt);
  EXPECT_EQ(only(dp.produce(9, "t", 0, t.build())).error_code, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
  // An idempotent (non-transactional) batch is appended.
  protocol::RecordBatchBuilder idem;
  idem.producer(5, 0, 0).add(1000, std::nullopt, std::nullopt);
  EXPECT_EQ(only(dp.produce(9, "t", 0, idem.build())).error_code, ErrorCode::NONE);
}

TEST(Produce, MessageTooLarge) {
  DataPlane dp;
  dp.create_topic("t", 1, {{"max.message.bytes", "100"}});
  auto r = dp.produce(9, "t", 0, make_batch(20));
  EXPECT_EQ(only(r).error_code, ErrorCode::MESSAGE_TOO_LARGE);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1))).error_code, ErrorCode::NONE);
}

TEST(Produce, LogAppendTimeTopicAnswersAppendTime) {
  DataPlane dp;
  dp.create_topic("t", 1, {{"message.timestamp.type", "LogAppendTime"}});
  dp.clock().set(1'800'000'000'000);
  auto r = dp.produce(9, "t", 0, make_batch(2, 5));
  EXPECT_EQ(only(r).error_code, ErrorCode::NONE);
  EXPECT_EQ(only(r).log_append_time_ms, 1'800'000'000'000);
  auto found = dp.logs().get("t", 0)->max_timestamp_offset();
  EXPECT_EQ(found.timestamp, 1'800'000'000'000);
}

TEST(Produce, TimestampOutsideAcceptedRangeIsInvalid) {
  DataPlane dp;
  dp.create_topic("t", 1, {{"message.timestamp.before.max.ms", "1000"}});
  int64_t now = dp.clock().now_ms();
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, now - 5000))).error_code,
            ErrorCode::INVALID_TIMESTAMP);
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, now - 10))).error_code, ErrorCode::NONE);
}

// Kafka 4.x refuses a record more than message.timestamp.after.max.ms (an hour by default)
// ahead of the broker's clock; LogAppendTime topics check nothing.
TEST(Produce, DefaultRefusesTimestampsMoreThanAnHourAhead) {
  DataPlane dp;
  dp.create_topic("t", 1);
  dp.create_topic("lat", 1, {{"message.timestamp.type", "LogAppendTime"}});
  const int64_t now = dp.clock().now_ms();
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, now + 3'600'001))).error_code,
            ErrorCode::INVALID_TIMESTAMP);
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, now + 3'600'000))).error_code,
            ErrorCode::NONE);
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, 0))).error_code, ErrorCode::NONE);
  EXPECT_EQ(only(dp.produce(9, "lat", 0, make_batch(1, now + 7'200'000))).error_code,
            ErrorCode::NONE);
  dp.clock().set(now + 1000);  // the bound moves with the clock
  EXPECT_EQ(only(dp.produce(9, "t", 0, make_batch(1, now + 3'600'001))).error_code,
            ErrorCode::NONE);
}

// KIP-467: every refused record is named by its index in the batch, with Kafka's texts; the
// partition answers its log start offset and writes nothing.
TEST(Produce, RefusedTimestampsAreRecordErrors) {
  DataPlane dp;
  dp.create_topic(
      "t", 1,
      {{"message.timestamp.before.max.ms", "1000"}, {"message.timestamp.after.max.ms", "2000"}});
  const int64_t now = dp.clock().now_ms();
  protocol::RecordBatchBuilder b;
  b.add(now, std::nullopt, std::nullopt);
  b.add(now - 1001, std::nullopt, std::nullopt);
  b.add(now + 2000, std::nullopt, std::nullopt);
  b.add(now + 2001, std::nullopt, std::nullopt);
  b.add(-1, std::nullopt, std::nullopt);  // no timestamp: not checked
  auto r = only(dp.produce(9, "t", 0, b.build()));
  EXPECT_EQ(r.error_code, ErrorCode::INVALID_TIMESTAMP);
  EXPECT_EQ(r.error_message, "One or more records have been rejected due to invalid timestamp");
  EXPECT_EQ(r.base_offset, -1);
  EXPECT_EQ(r.log_start_offset, 0);
  const std::string range = " is out of range. The timestamp should be within [" +
                            std::to_string(now - 1000) + ", " + std::to_string(now + 2000) + "]";
  ASSERT_EQ(r.record_errors.size(), 2u);
  EXPECT_EQ(r.record_errors[0].batch_index, 1);
  EXPECT_EQ(r.record_errors[0].batch_index_error_message,
            "Timestamp " + std::to_string(now - 1001) + " of message with offset 1" + range);
  EXPECT_EQ(r.record_errors[1].batch_index, 3);
  EXPECT_EQ(r.record_errors[1].batch_index_error_message,
            "Timestamp " + std::to_string(now + 2001) + " of message with offset 3" + range);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 0);
  // Produce v7 has no record errors: the same refusal, without them on the wire.
  EXPECT_EQ(only(dp.produce(7, "t", 0, b.build())).error_code, ErrorCode::INVALID_TIMESTAMP);
}

TEST(Produce, CompactedTopicRefusesRecordsWithoutKey) {
  DataPlane dp;
  dp.create_topic("c", 2, {{"cleanup.policy", "compact"}});
  const int64_t now = dp.clock().now_ms();
  const uint8_t key[] = {'k'};
  protocol::RecordBatchBuilder b(protocol::Compression::gzip);
  b.add(now, std::span<const uint8_t>(key), std::nullopt);
  b.add(now, std::nullopt, std::nullopt);
  b.add(now, std::nullopt, std::span<const uint8_t>(key));
  auto r = only(dp.produce(9, "c", 1, b.build()));
  EXPECT_EQ(r.error_code, ErrorCode::INVALID_RECORD);
  const std::string msg =
      "Compacted topic cannot accept message without key in topic partition c-1";
  EXPECT_EQ(r.error_message,
            "One or more records have been rejected due to 2 record errors in total, and only "
            "showing the first three errors at most: [RecordError(batchIndex=1, message='" +
                msg + "'), RecordError(batchIndex=2, message='" + msg + "')]");
  ASSERT_EQ(r.record_errors.size(), 2u);
  EXPECT_EQ(r.record_errors[0].batch_index, 1);
  EXPECT_EQ(r.record_errors[0].batch_index_error_message, msg);
  EXPECT_EQ(r.record_errors[1].batch_index, 2);
  EXPECT_EQ(dp.logs().get("c", 1)->log_end_offset(), 0);
  protocol::RecordBatchBuilder keyed;
  keyed.add(now, std::span<const uint8_t>(key), std::nullopt);  // a tombstone has a key
  EXPECT_EQ(only(dp.produce(9, "c", 1, keyed.build())).error_code, ErrorCode::NONE);
  // A key error comes before a timestamp error of the same record: INVALID_RECORD.
  protocol::RecordBatchBuilder both;
  both.add(now + 7'200'000, std::nullopt, std::nullopt);
  EXPECT_EQ(only(dp.produce(9, "c", 0, both.build())).error_code, ErrorCode::INVALID_RECORD);
}

// A producer may not mark its batch LogAppendTime (Kafka's LogValidator.validateTimestamp):
// on a LogAppendTime topic every record is refused; on a CreateTime topic the records carry the
// batch's max timestamp and are checked like any.
TEST(Produce, ProducerMarkedLogAppendTimeIsRefused) {
  DataPlane dp;
  dp.create_topic("lat", 1, {{"message.timestamp.type", "LogAppendTime"}});
  dp.create_topic("ct", 1);
  const int64_t now = dp.clock().now_ms();
  const uint8_t value[] = {'v', 'v'};
  protocol::RecordBatchBuilder b;
  b.log_append_time(now).add(now, std::nullopt, std::span<const uint8_t>(value));
  auto r = only(dp.produce(9, "lat", 0, b.build()));
  EXPECT_EQ(r.error_code, ErrorCode::INVALID_TIMESTAMP);
  ASSERT_EQ(r.record_errors.size(), 1u);
  EXPECT_EQ(
      r.record_errors[0].batch_index_error_message,
      "Invalid timestamp type in message DefaultRecord(offset=0, timestamp=" + std::to_string(now) +
          ", key=0 bytes, value=2 bytes). Producer should not set timestamp type to "
          "LogAppendTime.");
  EXPECT_EQ(only(dp.produce(9, "ct", 0, b.build())).error_code, ErrorCode::NONE);
  protocol::RecordBatchBuilder ahead;
  ahead.log_append_time(now + 7'200'000).add(now, std::nullopt, std::nullopt);
  EXPECT_EQ(only(dp.produce(9, "ct", 0, ahead.build())).error_code, ErrorCode::INVALID_TIMESTAMP);
}

// Base timestamp + delta past INT64_MAX (a crafted batch) wraps like Kafka's long
// arithmetic, both when produce checks timestamps and when ListOffsets scans the
// records of a batch for a timestamp.
TEST(Produce, TimestampSumPastInt64MaxWraps) {
  DataPlane dp;
  dp.create_topic("t", 1,
                  {{"message.timestamp.before.max.ms", "1000"},
                   {"message.timestamp.after.max.ms", "9223372036854775807"}});
  protocol::RecordBatchBuilder b;
  b.add(0, std::nullopt, std::nullopt);
  b.add(2, std::nullopt, std::nullopt);  // lands past INT64_MAX: wraps to INT64_MIN
  b.add(1, std::nullopt, std::nullopt);  // exactly INT64_MAX
  protocol::Bytes batch = b.build();
  auto h = protocol::BatchHeader::parse(batch);
  ASSERT_TRUE(h);
  h->base_timestamp = INT64_MAX - 1;
  h->max_timestamp = INT64_MAX;
  h->write(batch);
  h->crc = protocol::crc32c(batch.data() + protocol::BatchHeader::kAttributesOffset,
                            batch.size() - protocol::BatchHeader::kAttributesOffset);
  h->write(batch);
  EXPECT_EQ(h->record_timestamp(2), INT64_MIN);
  EXPECT_EQ(only(dp.produce(9, "t", 0, batch)).error_code, ErrorCode::NONE);
  auto found = dp.logs().get("t", 0)->offset_for_timestamp(INT64_MAX);
  EXPECT_EQ(found.offset, 2);
  EXPECT_EQ(found.timestamp, INT64_MAX);
}

TEST(Produce, LegacyMagicZeroAndOneAreUpConverted) {
  DataPlane dp;
  dp.create_topic("t", 1);
  protocol::Bytes m0;
  std::string a = "a", b = "b";
  auto span = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  protocol::append_legacy_message(m0, 0, 0, 0, -1, std::nullopt, span(a));
  protocol::append_legacy_message(m0, 0, 1, 0, -1, std::nullopt, span(b));
  auto r = dp.produce(0, "t", 0, m0);
  EXPECT_EQ(only(r).error_code, ErrorCode::NONE);
  EXPECT_EQ(only(r).base_offset, 0);
  protocol::Bytes m1;
  protocol::append_legacy_message(m1, 1, 0, 0, 1234, std::nullopt, span(a));
  r = dp.produce(2, "t", 0, m1);
  EXPECT_EQ(only(r).error_code, ErrorCode::NONE);
  EXPECT_EQ(only(r).base_offset, 2);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 3);
  EXPECT_EQ(dp.logs().get("t", 0)->offset_for_timestamp(1000).offset, 2);

  // A bad CRC-32 in a legacy message: CORRUPT_MESSAGE, nothing written.
  protocol::Bytes bad = m1;
  bad.back() ^= 1;
  EXPECT_EQ(only(dp.produce(1, "t", 0, bad)).error_code, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 3);
}

TEST(Produce, EmptyRecordsAreInvalid) {
  DataPlane dp;
  dp.create_topic("t", 1);
  EXPECT_EQ(only(dp.produce(9, "t", 0, {})).error_code, ErrorCode::INVALID_RECORD);
}

}  // namespace
}  // namespace runnel::server
