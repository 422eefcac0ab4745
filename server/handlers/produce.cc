// Produce (key 0), v0-v13.
//
// Per partition: the topic must exist (Produce never creates topics); the
// records are checked as Kafka's ProduceRequest.validateRecords and
// LogValidator do, then appended with the partition's leader epoch, and
// waiting fetches of the partition are woken.
//
//   v0-v2  magic 0/1 message sets (CRC-32 checked) are up-converted to one v2
//          batch; a v2 batch is accepted too (Kafka never checked the magic
//          of these versions).
//   v3+    exactly one magic-2 batch, else INVALID_RECORD; zstd needs v7+
//          (UNSUPPORTED_COMPRESSION_TYPE).
//   every  CRC-32C, sizes and record framing (CORRUPT_MESSAGE / INVALID_RECORD,
//          nothing written for that partition); a batch (or legacy entry)
//          larger than max.message.bytes is MESSAGE_TOO_LARGE, one larger
//          than segment.bytes RECORD_LIST_TOO_LARGE.
//   every  per record (check_records): CreateTime timestamps outside
//          message.timestamp.before/after.max.ms are INVALID_TIMESTAMP, records
//          without a key on a compacted topic INVALID_RECORD; from v8 the answer
//          names each refused record (KIP-467 record_errors).
//
// Producer ids: batches with a producer id are checked against the
// partition's producer state by PartitionLog::append (epoch, sequence, the
// last five batches: a retried batch already written is answered with its
// original offsets and not written again). A transactional batch must also
// belong to a partition of the producer's ongoing transaction
// (check_transaction below); from v12 (transactions v2, KIP-890) Produce
// itself adds the partition to the transaction named by transactional_id.
//
// v13 names topics by id (UNKNOWN_TOPIC_ID for an id no topic has).
//
// acks=0 sends no response; if a partition failed, the connection is closed
// instead (as Kafka does) so that the producer notices.
#include "protocol/messages/produce.h"

#include <algorithm>
#include <stdexcept>

#include "protocol/errors.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/legacy.h"
#include "protocol/records/record_batch.h"
#include "protocol/records/validated_batches.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "server/txn_handlers.h"
#include "server/waiters.h"
#include "storage/log_manager.h"

namespace runnel::server {

using ProduceHandler = ApiHandler<protocol::ProduceRequest, 0, 13>;

namespace {

using protocol::ErrorCode;
using PartitionResponse = protocol::ProduceResponse::PartitionProduceResponse;

constexpr size_t kMagicOffset = 16;  // of a log entry: baseOffset(8) length(4) epoch/crc(4)

struct Prepared {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  // The v2 batches to append, each parsed once here: the request's own bytes
  // (appended in place, the log writes their base offsets) or `converted`.
  protocol::ValidatedBatches batches;
  protocol::Bytes converted;  // up-converted legacy entries, or a copy
  std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> record_errors;  // KIP-467
};

Prepared fail(ErrorCode e, std::string message = {}) {
  Prepared p;
  p.error = e;
  p.message = std::move(message);
  return p;
}

using RecordError = protocol::ProduceResponse::BatchIndexAndErrorMessage;

// a + b and a - b with Java's long arithmetic (wrapping), as Kafka computes the bounds.
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// The record checks of Kafka's LogValidator.validateRecord, per record of a v2 batch (KIP-467):
// a record without a key on a compacted topic is INVALID_RECORD; a CreateTime topic refuses a
// record timestamp outside [now - message.timestamp.before.max.ms, now +
// message.timestamp.after.max.ms], and a batch the producer marked LogAppendTime, with
// INVALID_TIMESTAMP. Every record is checked; each refused one is a record error naming its
// index in the batch, with Kafka's texts. The partition's error and message follow Kafka's
// LogValidator.processRecordErrors.
Prepared check_records(const protocol::ValidatedBatch& batch, const storage::LogConfig& config,
                       const std::string& topic_partition, int64_t now_ms) {
  const protocol::BatchHeader& h = batch.header;
  const bool create_time = config.message_timestamp_type == storage::TimestampType::create_time;
  // Without a key check or a timestamp to check, the records need not be read (as Kafka's
  // checks would find nothing).
  if (!config.cleanup_compact && !h.log_append_time() && create_time &&
      config.message_timestamp_before_max_ms == storage::LogConfig::kNever &&
      config.message_timestamp_after_max_ms == storage::LogConfig::kNever)
    return {};
  ErrorCode err = ErrorCode::NONE;
  auto view =
      protocol::RecordBatchView::open(batch.bytes, h, protocol::kDefaultMaxUncompressedBatch, &err);
  if (!view) return fail(err == ErrorCode::NONE ? ErrorCode::CORRUPT_MESSAGE : err);
  // Kafka reads a compressed batch it keeps as it came with its key- and value-skipping
  // iterator, whose records print as PartialDefaultRecord.
  const std::string record_name =
      h.compression() != protocol::Compression::none && config.compression_type == "producer"
          ? "PartialDefaultRecord"
          : "DefaultRecord";
  std::vector<RecordError> errors;
  bool invalid_timestamp = false;
  auto cursor = view->cursor();
  protocol::Record rec;
  for (int32_t index = 0; cursor.next(rec); ++index) {
    // A LogAppendTime batch's records all carry its max timestamp (Kafka's record.timestamp()).
    const int64_t ts =
        h.log_append_time() ? h.max_timestamp : h.record_timestamp(rec.timestamp_delta);
    if (config.cleanup_compact && !rec.key) {
      errors.push_back({index,
                        "Compacted topic cannot accept message without key in topic partition " +
                            topic_partition,
                        {}});
    } else if (create_time && ts != -1) {
      // Kafka's recordHasInvalidTimestamp, with its wrapping long arithmetic.
      const int64_t diff = wrapping_sub(now_ms, ts);
      if (diff > config.message_timestamp_before_max_ms ||
          wrapping_sub(0, diff) > config.message_timestamp_after_max_ms) {
        invalid_timestamp = true;
        errors.push_back(
            {index,
             "Timestamp " + std::to_string(ts) + " of message with offset " +
                 std::to_string(h.base_offset + rec.offset_delta) +
                 " is out of range. The timestamp should be within [" +
                 std::to_string(wrapping_sub(now_ms, config.message_timestamp_before_max_ms)) +
                 ", " +
                 std::to_string(wrapping_add(now_ms, config.message_timestamp_after_max_ms)) + "]",
             {}});
      }
    } else if (h.log_append_time()) {
      invalid_timestamp = true;
      errors.push_back({index,
                        "Invalid timestamp type in message " + record_name +
                            "(offset=" + std::to_string(h.base_offset + rec.offset_delta) +
                            ", timestamp=" + std::to_string(ts) +
                            ", key=" + std::to_string(rec.key ? rec.key->size() : 0) +
                            " bytes, value=" + std::to_string(rec.value ? rec.value->size() : 0) +
                            " bytes). Producer should not set timestamp type to LogAppendTime.",
                        {}});
    }
  }
  if (!cursor.ok()) return fail(ErrorCode::CORRUPT_MESSAGE);
  if (errors.empty()) return {};
  Prepared p;
  if (invalid_timestamp) {
    p = fail(ErrorCode::INVALID_TIMESTAMP,
             "One or more records have been rejected due to invalid timestamp");
  } else {
    // Kafka 4.4's text: the count, then at most the first three as Java prints a List of
    // RecordError.
    std::string first;
    for (size_t i = 0; i < errors.size() && i < 3; ++i)
      first += (i ? ", " : "") + std::string("RecordError(batchIndex=") +
               std::to_string(errors[i].batch_index) + ", message='" +
               errors[i].batch_index_error_message.value_or("null") + "')";
    p = fail(ErrorCode::INVALID_RECORD,
             "One or more records have been rejected due to " + std::to_string(errors.size()) +
                 " record errors in total, and only showing the first three errors at most: [" +
                 first + "]");
  }
  p.record_errors = std::move(errors);
  return p;
}

// `writable` is the records' bytes in the request frame (empty when they are
// not there: then they are copied).
Prepared prepare(const protocol::Records& records, std::span<uint8_t> writable, int16_t version,
                 const storage::LogConfig& config, const std::string& topic_partition,
                 int64_t now_ms) {
  auto bytes = records.inline_bytes;
  if (records.is_null || bytes.empty())
    return fail(ErrorCode::INVALID_RECORD,
                "Produce requests must have at least one record batch per partition");
  if (bytes.size() <= kMagicOffset) return fail(ErrorCode::CORRUPT_MESSAGE);
  int8_t magic = static_cast<int8_t>(bytes[kMagicOffset]);
  const auto max_size = static_cast<size_t>(std::max<int32_t>(config.max_message_bytes, 0));

  Prepared out;
  if (magic < 2) {
    if (version >= 3)
      return fail(ErrorCode::INVALID_RECORD, "Produce requests with version " +
                                                 std::to_string(version) +
                                                 " may only contain record batches with magic 2");
    auto split = protocol::split_batches(bytes);
    if (split.error != ErrorCode::NONE) return fail(split.error);
    for (auto& entry : split.batches)
      if (entry.size() > max_size)
        return fail(ErrorCode::MESSAGE_TOO_LARGE, "Message size " + std::to_string(entry.size()) +
                                                      " is larger than max.message.bytes " +
                                                      std::to_string(max_size));
    auto up = protocol::up_convert(bytes);
    if (up.error != ErrorCode::NONE) return fail(up.error);
    out.converted = std::move(up.batch);
    ErrorCode e = ErrorCode::NONE;
    out.batches = protocol::ValidatedBatches::frame(out.converted, &e);
    if (e != ErrorCode::NONE) return fail(e);
  } else {
    if (magic > 2) return fail(ErrorCode::CORRUPT_MESSAGE, "unknown magic");
    // The bytes the batches are appended from (validated there, so that each header parsed is
    // the one appended).
    std::span<uint8_t> target = writable;
    if (writable.size() != bytes.size()) {
      out.converted.assign(bytes.begin(), bytes.end());
      target = out.converted;
    }
    auto split = protocol::split_batches(target);
    if (split.error != ErrorCode::NONE) return fail(split.error);
    if (split.batches.size() != 1) {
      if (version >= 3)
        return fail(ErrorCode::INVALID_RECORD,
                    "Produce requests with version " + std::to_string(version) +
                        " may only contain exactly one record batch per partition");
    }
    for (auto& b : split.batches) {
      if (b.size() > max_size)
        return fail(ErrorCode::MESSAGE_TOO_LARGE, "Batch size " + std::to_string(b.size()) +
                                                      " is larger than max.message.bytes " +
                                                      std::to_string(max_size));
      if (b.size() <= kMagicOffset || static_cast<int8_t>(b[kMagicOffset]) != 2)
        return fail(ErrorCode::INVALID_RECORD, "mixed magic values in one produce request");
      protocol::BatchHeader header;
      auto err = protocol::validate_batch(b, {}, &header);
      if (err != ErrorCode::NONE) return fail(err);
      if (header.compression() == protocol::Compression::zstd && version < 7)
        return fail(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
                    "zstd compression needs Produce v7 or later");
      // The split spans are const; the same bytes of `target`, writable.
      out.batches.add(target.subspan(static_cast<size_t>(b.data() - target.data()), b.size()),
                      header);
    }
  }
  if (out.batches.bytes().size() > static_cast<size_t>(std::max<int32_t>(config.segment_bytes, 0)))
    return fail(ErrorCode::RECORD_LIST_TOO_LARGE);
  // Every v2 batch is validated; legacy ones were built by up_convert.
  for (const auto& b : out.batches.batches()) {
    Prepared refused = check_records(b, config, topic_partition, now_ms);
    if (refused.error != ErrorCode::NONE) return refused;
  }
  return out;
}

// A transactional batch is accepted only when its partition is part of the producer's
// ongoing transaction (AddPartitionsToTxn first), as Kafka's partition verification (KIP-890)
// checks; else INVALID_TXN_STATE, or the coordinator's epoch error, and nothing is written.
// From v12 the partition is added to the transaction of `transactional_id` instead.
Prepared check_transaction(Broker& broker, const std::string& topic, int32_t partition,
                           int16_t version, const std::optional<std::string>& transactional_id,
                           Prepared p) {
  for (const auto& b : p.batches.batches()) {
    const protocol::BatchHeader* header = &b.header;
    if (!header->is_transactional()) continue;
    auto& txns = broker.txns.coordinator();
    const coordinator::TopicPartition tp{topic, partition};
    // Produce v11 clients (KIP-890) are told TRANSACTION_ABORTABLE instead of INVALID_TXN_STATE.
    ErrorCode e = version >= 12 && transactional_id
                      ? txns.add_partition_for_produce(*transactional_id, header->producer_id,
                                                       header->producer_epoch, tp)
                      : txns.check_transactional_produce(header->producer_id,
                                                         header->producer_epoch, tp, version >= 11);
    if (e != ErrorCode::NONE)
      return fail(e, e == ErrorCode::INVALID_TXN_STATE || e == ErrorCode::TRANSACTION_ABORTABLE
                         ? "the partition is not part of the producer's ongoing transaction"
                         : std::string());
  }
  return p;
}

PartitionResponse produce_partition(Broker& broker, const std::string& topic, int32_t partition,
                                    const protocol::Records& records, std::span<uint8_t> writable,
                                    int16_t version,
                                    const std::optional<std::string>& transactional_id) {
  PartitionResponse r;
  r.index = partition;
  r.base_offset = -1;
  r.log_append_time_ms = -1;
  r.log_start_offset = -1;
  storage::PartitionLog* log = broker.logs.get(topic, partition);
  if (!log) {
    r.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    return r;
  }
  int64_t now_ms = broker.clock.now_ms();
  Prepared p = prepare(records, writable, version, log->config(),
                       topic + "-" + std::to_string(partition), now_ms);
  if (p.error == ErrorCode::NONE)
    p = check_transaction(broker, topic, partition, version, transactional_id, std::move(p));
  if (p.error == ErrorCode::NONE) {
    auto res = log->append(p.batches, leader_epoch(*log), now_ms);
    p.error = res.error;
    if (res.error == ErrorCode::NONE) {
      r.base_offset = res.base_offset;
      r.log_append_time_ms = res.log_append_time;
      r.log_start_offset = res.log_start_offset;
      broker.waiters.notify(topic, partition);
    }
  }
  r.error_code = p.error;
  if (p.error != ErrorCode::NONE && !p.message.empty()) r.error_message = std::move(p.message);
  if (!p.record_errors.empty()) {
    // Kafka answers a RecordValidationException with the partition's log start offset.
    r.record_errors = std::move(p.record_errors);
    r.log_start_offset = log->log_start_offset();
  }
  return r;
}

HandlerResult handle_produce(RequestContext& ctx, protocol::Reader& body) {
  auto req = decode_request<ProduceHandler>(ctx, body);
  const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
  protocol::ProduceResponse resp;
  bool any_error = false;
  for (auto& t : req.topic_data) {
    protocol::ProduceResponse::TopicProduceResponse tr;
    tr.name = t.name;
    bool unknown_id = false;
    if (ctx.api_version >= 13) {
      tr.topic_id = t.topic_id;
      const storage::TopicInfo* info = ctx.broker.logs.topic_by_id(t.topic_id);
      unknown_id = info == nullptr;
      if (info) tr.name = info->name;
    }
    for (auto& p : t.partition_data) {
      PartitionResponse r;
      if (!valid_acks || unknown_id) {
        r.index = p.index;
        r.error_code = valid_acks ? ErrorCode::UNKNOWN_TOPIC_ID : ErrorCode::INVALID_REQUIRED_ACKS;
        r.base_offset = -1;
        r.log_append_time_ms = -1;
        r.log_start_offset = -1;
      } else {
        r = produce_partition(ctx.broker, tr.name, p.index, p.records,
                              ctx.writable(p.records.inline_bytes), ctx.api_version,
                              req.transactional_id);
      }
      any_error = any_error || r.error_code != ErrorCode::NONE;
      tr.partition_responses.push_back(std::move(r));
    }
    resp.responses.push_back(std::move(tr));
  }
  if (req.acks == 0) {
    if (any_error)
      throw std::runtime_error(
          "Produce with acks=0 failed for a partition; closing the connection");
    return std::nullopt;
  }
  return encode_response(ctx, resp);
}

}  // namespace

RUNNEL_REGISTER_HANDLER(produce, ProduceHandler, handle_produce)

}  // namespace runnel::server
