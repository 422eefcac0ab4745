// Reading and writing the coordinators' internal topics (__consumer_offsets,
// __transaction_state): what GroupService and TxnService share.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/errors.h"
#include "protocol/records/record_batch.h"
#include "storage/partition_log.h"

namespace runnel::server {

// One record for an internal topic; no value is a tombstone.
struct InternalRecord {
  std::span<const uint8_t> key;
  std::optional<std::span<const uint8_t>> value;
};

// Appends `records` to `log` as one uncompressed batch written by the broker itself (Kafka's
// AppendOrigin.COORDINATOR); with `producer` {id, epoch} the batch is transactional for that
// producer. RECORD_LIST_TOO_LARGE when the batch exceeds the topic's max.message.bytes; the
// log's error otherwise (logged with `what`).
protocol::ErrorCode append_internal(storage::PartitionLog& log, std::string_view what,
                                    const std::vector<InternalRecord>& records, int64_t now_ms,
                                    const std::pair<int64_t, int16_t>* producer = nullptr);

// The same for a list of records with `key` and optional `value` byte vectors
// (coordinator::OffsetsTopicRecord, coordinator::TxnLogRecord).
template <typename Record>
protocol::ErrorCode append_internal(storage::PartitionLog& log, std::string_view what,
                                    const std::vector<Record>& records, int64_t now_ms,
                                    const std::pair<int64_t, int16_t>* producer = nullptr) {
  std::vector<InternalRecord> views;
  views.reserve(records.size());
  for (const auto& r : records) {
    InternalRecord v{std::span<const uint8_t>(r.key), std::nullopt};
    if (r.value) v.value = std::span<const uint8_t>(*r.value);
    views.push_back(v);
  }
  return append_internal(log, what, views, now_ms, producer);
}

// Reads `log` from its start to its high watermark a chunk (1 MiB) at a time, calling `visit`
// for every batch in order and yielding to the event loop between chunks, so that other
// requests are served while a coordinator loads. Stops early when `running` turns false.
// Returns the number of batches visited.
using BatchVisitor = std::function<void(const protocol::RecordBatchView& batch)>;
asio::awaitable<uint64_t> replay_internal(asio::io_context& io, const storage::PartitionLog& log,
                                          std::string_view what, const bool& running,
                                          const BatchVisitor& visit);

}  // namespace runnel::server
