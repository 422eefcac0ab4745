// runnel-bench: the scenarios driven by librdkafka (produce, consume, end to
// end). Each returns what it measured; `ok` is false with `error` set when
// records went missing or the client failed.
#pragma once

#include <cstdint>
#include <string>

#include "tools/bench/histogram.h"

namespace runnel::bench {

// Creates `topic` with `partitions` partitions (replication factor 1).
bool create_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                  std::string* err);

struct ProduceParams {
  std::string topic;
  int record_size = 1024;
  int acks = 1;
  std::string codec = "none";
  int linger_ms = -1;    // -1: librdkafka's default
  int batch_size = -1;   // -1: librdkafka's default
  int queue_kb = 32768;  // queue.buffering.max.kbytes: the producer's buffer, like
                         // the Java client's buffer.memory (32 MiB)
  uint64_t records = 0;  // 0: run for `seconds`
  double seconds = 10;
};

struct ProduceResult {
  bool ok = false;
  std::string error;
  uint64_t records = 0;  // delivered
  uint64_t bytes = 0;    // record values delivered
  double seconds = 0;    // first send to last delivery report
  Histogram latency_ns;  // send to delivery report
};

ProduceResult run_produce(const std::string& bootstrap, const ProduceParams& p);

struct ConsumeResult {
  bool ok = false;
  std::string error;
  uint64_t records = 0;
  uint64_t bytes = 0;
  double seconds = 0;  // assignment to the last expected record
};

// Reads `topic` partitions 0..partitions-1 from the beginning until
// `expected_records` arrived (or `timeout_s` passed: then not ok).
ConsumeResult run_consume(const std::string& bootstrap, const std::string& topic, int partitions,
                          uint64_t expected_records, double timeout_s);

struct E2eParams {
  std::string topic;
  int partitions = 1;
  int record_size = 1024;
  double rate_bytes_per_s = 50.0 * 1024 * 1024;
  double seconds = 10;  // measured part
  double warmup_s = 1;  // records sent first, not measured
  int acks = 1;
  std::string codec = "none";
  int linger_ms = 0;
};

struct E2eResult {
  bool ok = false;
  std::string error;
  uint64_t records = 0;  // measured records received
  uint64_t bytes = 0;
  double seconds = 0;    // measured part, sender side
  Histogram latency_ns;  // send (timestamp in the record) to delivery to the consumer
};

E2eResult run_e2e(const std::string& bootstrap, const E2eParams& p);

}  // namespace runnel::bench
