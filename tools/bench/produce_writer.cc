#include "tools/bench/produce_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

#include "protocol/messages/produce.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "protocol/records/record_batch.h"
#include "tools/bench/limit.h"
#include "tools/bench/process.h"
#include "tools/bench/socket_io.h"

namespace runnel::bench {
namespace {

// Responses larger than this are refused (a broken frame size).
constexpr size_t kMaxResponseBytes = size_t{1} << 20;

bool codec_named(const std::string& name, protocol::Compression* out) {
  static const std::pair<const char*, protocol::Compression> kNames[] = {
      {"none", protocol::Compression::none},
      {"gzip", protocol::Compression::gzip},
      {"snappy", protocol::Compression::snappy},
      {"lz4", protocol::Compression::lz4},
      {"zstd", protocol::Compression::zstd}};
  for (const auto& [n, c] : kNames) {
    if (name == n) {
      *out = c;
      return true;
    }
  }
  return false;
}

struct Pending {
  int32_t correlation_id;
  int32_t partition;
  int64_t base_offset;
  uint64_t sent_ns;
};

}  // namespace

protocol::Bytes encode_produce_request(const std::string& topic, int32_t partition, int16_t acks,
                                       int32_t correlation_id, std::span<const uint8_t> batch) {
  protocol::RequestHeader h;
  h.request_api_key = protocol::ProduceRequest::kApiKey;
  h.request_api_version = kProduceWriterVersion;
  h.correlation_id = correlation_id;
  h.client_id = "runnel-bench";
  protocol::ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = 30000;
  protocol::ProduceRequest::TopicProduceData t;
  t.name = topic;
  protocol::ProduceRequest::PartitionProduceData pd;
  pd.index = partition;
  pd.records.is_null = false;
  pd.records.inline_bytes = batch;
  t.partition_data.push_back(std::move(pd));
  req.topic_data.push_back(std::move(t));
  protocol::Writer w;
  const size_t at = w.reserve_i32();
  h.encode(w, 2);  // Produce v9 is flexible: request header v2
  req.encode(w, kProduceWriterVersion);
  w.patch_i32(at, static_cast<int32_t>(w.buf().size() - 4));
  return std::move(w.buf());
}

std::string check_produce_response(std::span<const uint8_t> frame, int32_t correlation_id,
                                   const std::string& topic, int32_t partition,
                                   int64_t expected_base_offset) {
  protocol::Reader r(frame);
  protocol::ResponseHeader h;
  h.decode(r, 1);  // flexible: response header v1
  protocol::ProduceResponse resp;
  resp.decode(r, kProduceWriterVersion);
  if (!r.done()) return std::string("produce response: ") + (r.ok() ? "trailing bytes" : r.error());
  if (h.correlation_id != correlation_id)
    return "produce response: correlation id " + std::to_string(h.correlation_id) + ", expected " +
           std::to_string(correlation_id);
  if (resp.responses.size() != 1 || resp.responses[0].name != topic ||
      resp.responses[0].partition_responses.size() != 1 ||
      resp.responses[0].partition_responses[0].index != partition)
    return "produce response: not exactly " + topic + "-" + std::to_string(partition);
  const auto& pr = resp.responses[0].partition_responses[0];
  if (pr.error_code != protocol::ErrorCode::NONE)
    return "produce response: error " + std::to_string(protocol::code(pr.error_code));
  if (pr.base_offset != expected_base_offset)
    return "produce response: base offset " + std::to_string(pr.base_offset) + ", expected " +
           std::to_string(expected_base_offset);
  return "";
}

ProduceWriterResult run_produce_writer(const ProduceWriterParams& p) {
  ProduceWriterResult res;
  protocol::Compression codec;
  if (!codec_named(p.codec, &codec)) {
    res.error = "unknown codec " + p.codec;
    return res;
  }
  if (p.record_size < 1 || p.partitions < 1 || p.inflight < 1 || p.batch_bytes < 1) {
    res.error = "produce writer: record size, partitions, in-flight and batch bytes must be >= 1";
    return res;
  }
  // The batch: records of distinct letters, as the librdkafka rows send.
  const size_t size = static_cast<size_t>(p.record_size);
  // Whole batch within batch_bytes, as a producer's batch.size bounds it: the
  // 61-byte batch header and at most 12 bytes of framing per record (length,
  // attributes, deltas, null key, value length, header count).
  const size_t per_batch =
      std::max<size_t>(1, p.batch_bytes > 61 ? (p.batch_bytes - 61) / (size + 12) : 0);
  std::vector<char> letters(per_batch * size);
  fill_letters(letters.data(), letters.size(), 42);
  protocol::RecordBatchBuilder b(codec);
  const auto ts = static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  for (size_t i = 0; i < per_batch; ++i)
    b.add(ts, std::nullopt,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(letters.data() + i * size),
                                   size));
  const protocol::Bytes batch = b.build();
  // One frame per partition; only the correlation id changes from send to send.
  std::vector<protocol::Bytes> frames;
  for (int32_t part = 0; part < p.partitions; ++part)
    frames.push_back(encode_produce_request(p.topic, part, static_cast<int16_t>(p.acks), 0, batch));

  const uint64_t value_bytes = per_batch * size;
  const uint64_t requests = std::max<uint64_t>(1, (p.total_bytes + value_bytes - 1) / value_bytes);

  std::string err;
  const int fd = connect_to(p.bootstrap, &err);
  if (fd < 0) {
    res.error = "produce writer: " + err;
    return res;
  }
  std::vector<int64_t> next_offset(static_cast<size_t>(p.partitions), 0);
  std::deque<Pending> pending;
  std::vector<uint8_t> buf(4096);
  const uint64_t start = now_ns();
  const uint64_t deadline = start + static_cast<uint64_t>(p.timeout_s * 1e9);
  uint64_t sent = 0;
  int32_t correlation_id = 0;
  while (res.error.empty() && res.requests < requests) {
    if (now_ns() > deadline) {
      res.error = "produce writer: not done within " + std::to_string(p.timeout_s) + " s";
      break;
    }
    if (sent < requests && pending.size() < static_cast<size_t>(p.inflight)) {
      const auto part = static_cast<int32_t>(sent % static_cast<uint64_t>(p.partitions));
      protocol::Bytes& frame = frames[static_cast<size_t>(part)];
      ++correlation_id;
      for (int i = 0; i < 4; ++i)
        frame[kCorrelationIdOffset + static_cast<size_t>(i)] =
            static_cast<uint8_t>(static_cast<uint32_t>(correlation_id) >> (24 - 8 * i));
      pending.push_back({correlation_id, part, next_offset[static_cast<size_t>(part)], now_ns()});
      next_offset[static_cast<size_t>(part)] += static_cast<int64_t>(per_batch);
      if (!write_all(fd, frame.data(), frame.size())) {
        res.error = std::string("produce writer: send: ") + std::strerror(errno);
        break;
      }
      ++sent;
      continue;
    }
    uint8_t size_buf[4];
    if (!read_all(fd, size_buf, sizeof size_buf)) {
      res.error = "produce writer: connection closed before a response";
      break;
    }
    const uint32_t n = (uint32_t{size_buf[0]} << 24) | (uint32_t{size_buf[1]} << 16) |
                       (uint32_t{size_buf[2]} << 8) | uint32_t{size_buf[3]};
    if (n > kMaxResponseBytes) {
      res.error = "produce writer: response of " + std::to_string(n) + " bytes";
      break;
    }
    if (buf.size() < n) buf.resize(n);
    if (!read_all(fd, buf.data(), n)) {
      res.error = "produce writer: connection closed in a response";
      break;
    }
    const Pending done = pending.front();
    pending.pop_front();
    res.error = check_produce_response(std::span<const uint8_t>(buf.data(), n), done.correlation_id,
                                       p.topic, done.partition, done.base_offset);
    if (!res.error.empty()) break;
    res.latency_ns.record(now_ns() - done.sent_ns);
    ++res.requests;
    res.records += per_batch;
    res.bytes += value_bytes;
  }
  res.seconds = static_cast<double>(now_ns() - start) / 1e9;
  ::close(fd);
  res.ok = res.error.empty();
  return res;
}

}  // namespace runnel::bench
