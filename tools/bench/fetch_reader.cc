#include "tools/bench/fetch_reader.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "protocol/messages/fetch.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "protocol/records/batch_header.h"
#include "tools/bench/process.h"
#include "tools/bench/socket_io.h"

namespace runnel::bench {
namespace {

// Responses larger than this are refused (a broken frame size).
constexpr size_t kMaxResponseBytes = size_t{1} << 30;

// One reader: fills `out` (counts, end offset sum, start/end times, error).
struct ReaderRun {
  FetchCounts counts;
  std::string error;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  int64_t end_offset_sum = 0;
};

void run_reader(const FetchReaderParams& p, ReaderRun* out) {
  std::string err;
  const int fd = connect_to(p.bootstrap, &err);
  if (fd < 0) {
    out->error = err;
    return;
  }
  std::vector<PartitionProgress> progress(static_cast<size_t>(p.partitions));
  std::vector<uint8_t> buf(size_t{1} << 20);  // reused for every response
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(p.timeout_s * 1e9);
  out->start_ns = now_ns();
  int32_t correlation_id = 0;
  for (;;) {
    const bool all_done = std::all_of(progress.begin(), progress.end(),
                                      [](const PartitionProgress& pp) { return pp.done(); });
    if (all_done) break;
    if (now_ns() > deadline) {
      out->error =
          "fetch reader: not at the high watermark within " + std::to_string(p.timeout_s) + " s";
      break;
    }
    ++correlation_id;
    const protocol::Bytes req = encode_fetch_request(p, correlation_id, progress);
    if (!write_all(fd, req.data(), req.size())) {
      out->error = std::string("fetch reader: send: ") + std::strerror(errno);
      break;
    }
    uint8_t size_buf[4];
    if (!read_all(fd, size_buf, sizeof size_buf)) {
      out->error = "fetch reader: connection closed before a response";
      break;
    }
    const uint32_t size = (uint32_t{size_buf[0]} << 24) | (uint32_t{size_buf[1]} << 16) |
                          (uint32_t{size_buf[2]} << 8) | uint32_t{size_buf[3]};
    if (size > kMaxResponseBytes) {
      out->error = "fetch reader: response of " + std::to_string(size) + " bytes";
      break;
    }
    if (buf.size() < size) buf.resize(size);
    if (!read_all(fd, buf.data(), size)) {
      out->error = "fetch reader: connection closed in a response";
      break;
    }
    out->error = apply_fetch_response(std::span<const uint8_t>(buf.data(), size), correlation_id,
                                      p.topic, &progress, &out->counts);
    if (!out->error.empty()) break;
  }
  out->end_ns = now_ns();
  ::close(fd);
  for (const auto& pp : progress) out->end_offset_sum += pp.next_offset;
}

}  // namespace

protocol::Bytes encode_fetch_request(const FetchReaderParams& p, int32_t correlation_id,
                                     const std::vector<PartitionProgress>& progress) {
  protocol::RequestHeader h;
  h.request_api_key = protocol::FetchRequest::kApiKey;
  h.request_api_version = kFetchReaderVersion;
  h.correlation_id = correlation_id;
  h.client_id = "runnel-bench";
  protocol::FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = p.max_wait_ms;
  req.min_bytes = p.min_bytes;
  req.max_bytes = p.max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;  // no fetch session
  protocol::FetchRequest::FetchTopic t;
  t.topic = p.topic;
  for (size_t i = 0; i < progress.size(); ++i) {
    if (progress[i].done()) continue;
    protocol::FetchRequest::FetchPartition fp;
    fp.partition = static_cast<int32_t>(i);
    fp.current_leader_epoch = -1;
    fp.fetch_offset = progress[i].next_offset;
    fp.last_fetched_epoch = -1;
    fp.log_start_offset = -1;
    fp.partition_max_bytes = p.partition_max_bytes;
    t.partitions.push_back(fp);
  }
  req.topics.push_back(std::move(t));
  protocol::Writer w;
  const size_t at = w.reserve_i32();
  h.encode(w, 2);
  req.encode(w, kFetchReaderVersion);
  w.patch_i32(at, static_cast<int32_t>(w.buf().size() - 4));
  return std::move(w.buf());
}

std::string apply_fetch_response(std::span<const uint8_t> frame, int32_t correlation_id,
                                 const std::string& topic, std::vector<PartitionProgress>* progress,
                                 FetchCounts* counts) {
  protocol::Reader r(frame);
  protocol::ResponseHeader h;
  h.decode(r, 1);  // Fetch v12 is flexible: response header v1
  protocol::FetchResponse resp;
  resp.decode(r, kFetchReaderVersion);
  if (!r.done()) {
    return std::string("fetch response: ") + (r.ok() ? "trailing bytes" : r.error());
  }
  if (h.correlation_id != correlation_id) {
    return "fetch response: correlation id " + std::to_string(h.correlation_id) + ", expected " +
           std::to_string(correlation_id);
  }
  if (resp.error_code != protocol::ErrorCode::NONE)
    return "fetch response: error " + std::to_string(protocol::code(resp.error_code));
  ++counts->fetches;
  for (const auto& tr : resp.responses) {
    if (tr.topic != topic) return "fetch response: unexpected topic " + tr.topic;
    for (const auto& pd : tr.partitions) {
      if (pd.partition_index < 0 || static_cast<size_t>(pd.partition_index) >= progress->size()) {
        return "fetch response: unexpected partition " + std::to_string(pd.partition_index);
      }
      const std::string where = topic + "-" + std::to_string(pd.partition_index);
      if (pd.error_code != protocol::ErrorCode::NONE) {
        return "fetch response: " + where + ": error " +
               std::to_string(protocol::code(pd.error_code));
      }
      PartitionProgress& pp = (*progress)[static_cast<size_t>(pd.partition_index)];
      std::span<const uint8_t> set = pd.records.inline_bytes;
      while (set.size() >= protocol::BatchHeader::kSize) {
        const auto bh = protocol::BatchHeader::parse(set);
        if (!bh || bh->batch_length < 0) return "fetch response: " + where + ": bad batch header";
        const size_t total = bh->total_size();
        if (total < protocol::BatchHeader::kSize) {
          return "fetch response: " + where + ": batch of " + std::to_string(total) + " bytes";
        }
        if (total > set.size()) break;  // partial trailing batch
        if (bh->base_offset > pp.next_offset) {
          return "fetch response: " + where + ": batch at offset " +
                 std::to_string(bh->base_offset) + " after a gap from " +
                 std::to_string(pp.next_offset);
        }
        if (bh->last_offset() < bh->base_offset) {
          return "fetch response: " + where + ": batch with last offset before its base";
        }
        if (bh->last_offset() >= pp.next_offset) {
          counts->records += static_cast<uint64_t>(bh->last_offset() + 1 - pp.next_offset);
          pp.next_offset = bh->last_offset() + 1;
        }
        counts->batch_bytes += total;
        set = set.subspan(total);
      }
      pp.high_watermark = pd.high_watermark;
      if (pp.next_offset > pp.high_watermark) {
        return "fetch response: " + where + ": records up to offset " +
               std::to_string(pp.next_offset - 1) + " past the high watermark " +
               std::to_string(pp.high_watermark);
      }
    }
  }
  return "";
}

FetchReadResult run_fetch_readers(const FetchReaderParams& p, int readers) {
  FetchReadResult res;
  if (readers < 1 || p.partitions < 1) {
    res.error = "fetch reader: need at least one reader and one partition";
    return res;
  }
  std::vector<ReaderRun> runs(static_cast<size_t>(readers));
  std::vector<std::thread> threads;
  threads.reserve(runs.size());
  for (auto& run : runs) threads.emplace_back([&p, &run] { run_reader(p, &run); });
  for (auto& t : threads) t.join();
  uint64_t start = UINT64_MAX, end = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const ReaderRun& run = runs[i];
    if (!run.error.empty() && res.error.empty()) res.error = run.error;
    res.counts.records += run.counts.records;
    res.counts.batch_bytes += run.counts.batch_bytes;
    res.counts.fetches += run.counts.fetches;
    start = std::min(start, run.start_ns);
    end = std::max(end, run.end_ns);
    if (i == 0) {
      res.end_offset_sum = run.end_offset_sum;
    } else if (run.end_offset_sum != res.end_offset_sum && res.error.empty()) {
      res.error = "fetch reader: readers ended at different offsets (" +
                  std::to_string(run.end_offset_sum) + " and " +
                  std::to_string(res.end_offset_sum) + ")";
    }
  }
  res.seconds = end > start ? static_cast<double>(end - start) / 1e9 : 0;
  res.ok = res.error.empty();
  return res;
}

}  // namespace runnel::bench
