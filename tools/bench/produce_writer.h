// runnel-bench: a bare Produce writer, to measure what the broker takes in
// without a client library's per-record work: the counterpart, on the
// broker's side, of the pipe limit (which sends ready bytes too).
//
// One thread, one TCP connection. The writer builds one record batch of
// records of the bench's letters (`batch_bytes` of record values; the same
// size as the pipe limit's chunk) and one Produce request frame (v9) holding
// it, then sends that frame again and again with a new correlation id, up to
// `inflight` requests unanswered (the Java producer's
// max.in.flight.requests.per.connection is 5), rotating over the
// partitions. The batch carries no producer id, so the broker appends every
// copy. Each response must answer the request's correlation id without an
// error and with the base offset that continues the partition's offsets.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "protocol/wire.h"
#include "tools/bench/histogram.h"

namespace runnel::bench {

struct ProduceWriterParams {
  std::string bootstrap;  // host:port
  std::string topic;
  int partitions = 1;
  int record_size = 1024;
  size_t batch_bytes = 1000000;  // bound of one request's batch (batch.size)
  int acks = 1;
  std::string codec = "none";
  int inflight = 5;
  uint64_t total_bytes = 0;  // record value bytes to send (rounded up to whole requests)
  double timeout_s = 120;
};

struct ProduceWriterResult {
  bool ok = false;
  std::string error;
  uint64_t records = 0;   // acknowledged
  uint64_t bytes = 0;     // record value bytes acknowledged
  uint64_t requests = 0;  // acknowledged
  double seconds = 0;     // first request sent to the last response checked
  Histogram latency_ns;   // request sent to its response read
};

ProduceWriterResult run_produce_writer(const ProduceWriterParams& p);

constexpr int16_t kProduceWriterVersion = 9;

// The Produce request frame (4-byte size included) for `batch` to one
// partition, and where its correlation id sits in it.
protocol::Bytes encode_produce_request(const std::string& topic, int32_t partition, int16_t acks,
                                       int32_t correlation_id, std::span<const uint8_t> batch);
constexpr size_t kCorrelationIdOffset = 8;  // size(4) api key(2) api version(2)

// Checks one Produce response (the frame without its size): the correlation
// id, exactly one partition of `topic` answered, no error, and a base offset
// equal to `expected_base_offset`. Returns "" or what was wrong.
std::string check_produce_response(std::span<const uint8_t> frame, int32_t correlation_id,
                                   const std::string& topic, int32_t partition,
                                   int64_t expected_base_offset);

}  // namespace runnel::bench
