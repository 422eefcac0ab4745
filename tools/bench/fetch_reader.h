// runnel-bench: a bare Fetch reader, to measure what the broker serves
// without a client library's per-record work.
//
// Each reader is one thread with one TCP connection. It sends Fetch requests
// (v12, no fetch session: session id 0, epoch -1) for the partitions it has
// not finished, one request in flight, reads each response into a reusable
// buffer, decodes it with the generated codec (the record sets stay views of
// that buffer) and walks only the batch headers to find the next fetch
// offset: records are never decoded. A partition is finished once its next
// offset reaches the high watermark of the last response; the topic must not
// change while it is read. Every reader reads the whole topic, like one
// consumer group each.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace runnel::bench {

struct FetchReaderParams {
  std::string bootstrap;  // host:port
  std::string topic;
  int partitions = 1;
  int32_t max_bytes = 52428800;           // fetch.max.bytes (Java consumer default)
  int32_t partition_max_bytes = 1048576;  // max.partition.fetch.bytes (Java consumer default)
  int32_t max_wait_ms = 500;              // fetch.max.wait.ms
  int32_t min_bytes = 1;                  // fetch.min.bytes
  double timeout_s = 60;
};

// Where one partition stands.
struct PartitionProgress {
  int64_t next_offset = 0;
  int64_t high_watermark = -1;  // -1: no response yet
  bool done() const { return high_watermark >= 0 && next_offset >= high_watermark; }
};

struct FetchCounts {
  uint64_t records = 0;      // offsets advanced over
  uint64_t batch_bytes = 0;  // record-set bytes of the whole batches received
  uint64_t fetches = 0;
};

constexpr int16_t kFetchReaderVersion = 12;

// One Fetch request frame (4-byte size included) asking for the unfinished
// partitions of `progress` (index = partition).
protocol::Bytes encode_fetch_request(const FetchReaderParams& p, int32_t correlation_id,
                                     const std::vector<PartitionProgress>& progress);

// Applies one Fetch response (the frame without its size) to `progress`:
// the correlation id must match, the topic-level and partition errors must be
// NONE, only the requested topic's partitions may appear, and each batch must
// continue the partition's offsets without a gap (a batch holding the fetch
// offset may start before it). A partial batch at the end of a record set is
// ignored, as Kafka's clients do. Returns "" or what was wrong.
std::string apply_fetch_response(std::span<const uint8_t> frame, int32_t correlation_id,
                                 const std::string& topic, std::vector<PartitionProgress>* progress,
                                 FetchCounts* counts);

struct FetchReadResult {
  bool ok = false;
  std::string error;
  FetchCounts counts;          // summed over the readers
  double seconds = 0;          // first request sent to the last response applied
  int64_t end_offset_sum = 0;  // per reader: the sum of the partitions' final next offsets
};

// Runs `readers` readers at once, each reading every partition of the topic
// from offset 0 to the high watermark. Not ok when a reader fails, times out,
// or ends anywhere but the high watermark.
FetchReadResult run_fetch_readers(const FetchReaderParams& p, int readers);

}  // namespace runnel::bench
