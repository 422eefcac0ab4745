#include "server/internal_topic.h"

#include <algorithm>

#include "server/log.h"
#include "storage/io_util.h"

namespace runnel::server {

using protocol::ErrorCode;

namespace {

constexpr size_t kLoadChunkBytes = size_t{1} << 20;
// The leader epoch of this single broker's partitions (as Produce writes).
constexpr int32_t kLeaderEpoch = 0;

}  // namespace

ErrorCode append_internal(storage::PartitionLog& log, std::string_view what,
                          const std::vector<InternalRecord>& records, int64_t now_ms,
                          const std::pair<int64_t, int16_t>* producer) {
  protocol::RecordBatchBuilder builder;
  for (const auto& r : records) builder.add(now_ms, r.key, r.value);
  // The coordinators' own appends are not sequence-checked, so the sequence is 0.
  if (producer) builder.producer(producer->first, producer->second, 0).transactional(true);
  protocol::Bytes batch = builder.build();
  if (batch.size() > static_cast<size_t>(std::max(log.config().max_message_bytes, 0)))
    return ErrorCode::RECORD_LIST_TOO_LARGE;
  auto res = log.append_as_coordinator(batch, kLeaderEpoch, now_ms);
  if (res.error != ErrorCode::NONE)
    log_error("cannot append to ", what, "-", log.partition(), ": error ",
              static_cast<int>(res.error));
  return res.error;
}

asio::awaitable<uint64_t> replay_internal(asio::io_context& io, const storage::PartitionLog& log,
                                          std::string_view what, const bool& running,
                                          const BatchVisitor& visit) {
  std::vector<uint8_t> buf;
  uint64_t batches = 0;
  int64_t offset = log.log_start_offset();
  while (running && offset < log.high_watermark()) {
    auto rr = log.read(offset, kLoadChunkBytes, true);
    if (rr.error != ErrorCode::NONE || rr.slices.empty()) break;
    int64_t next = offset;
    for (const auto& slice : rr.slices) {
      buf.resize(slice.length);
      if (storage::io::pread_full(slice.file->fd(), buf.data(), slice.length,
                                  slice.file_position) != static_cast<int64_t>(slice.length)) {
        log_error("cannot read ", what, "-", log.partition(), " at offset ", offset);
        co_return batches;
      }
      for (auto bytes : protocol::split_batches(buf, true).batches) {
        auto view = protocol::RecordBatchView::open(bytes);
        if (!view) continue;
        const auto& h = view->header();
        next = std::max(next, h.base_offset + h.last_offset_delta + 1);
        visit(*view);
        ++batches;
      }
    }
    if (next <= offset) break;  // no progress: stop rather than spin
    offset = next;
    // Let requests in between; they see LOAD_IN_PROGRESS for what is still loading.
    co_await asio::post(io, asio::use_awaitable);
  }
  co_return batches;
}

}  // namespace runnel::server
