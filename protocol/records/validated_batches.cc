#include "protocol/records/validated_batches.h"

#include <algorithm>

#include "protocol/records/record_batch.h"

namespace runnel::protocol {

namespace {
constexpr int16_t kLogAppendTimeBit = 0x08;
constexpr int32_t kMinBatchLength =
    static_cast<int32_t>(BatchHeader::kSize - BatchHeader::kLogOverhead);
}  // namespace

void ValidatedBatch::assign_offset(int64_t base_offset, int32_t leader_epoch,
                                   std::optional<int64_t> log_append_time_ms) {
  header.base_offset = base_offset;
  header.partition_leader_epoch = leader_epoch;
  if (!log_append_time_ms) {
    set_base_offset(bytes, base_offset);
    set_partition_leader_epoch(bytes, leader_epoch);
    return;
  }
  header.attributes = static_cast<int16_t>(header.attributes | kLogAppendTimeBit);
  header.max_timestamp = *log_append_time_ms;
  header.write(bytes);
  header.crc = compute_batch_crc(bytes);  // of the bytes from the attributes on
  header.write(bytes);
}

ValidatedBatches ValidatedBatches::frame(std::span<uint8_t> bytes, ErrorCode* error) {
  ValidatedBatches out;
  *error = bytes.empty() ? ErrorCode::CORRUPT_MESSAGE : ErrorCode::NONE;
  for (size_t off = 0; off < bytes.size();) {
    auto h = BatchHeader::parse(bytes.subspan(off));
    if (!h || h->magic != 2 || h->batch_length < kMinBatchLength ||
        h->total_size() > bytes.size() - off || h->last_offset_delta < 0) {
      *error = ErrorCode::CORRUPT_MESSAGE;
      return {};
    }
    out.add(bytes.subspan(off, h->total_size()), *h);
    off += h->total_size();
  }
  return out;
}

bool ValidatedBatches::add(std::span<uint8_t> batch, const BatchHeader& header) {
  if (!batches_.empty() && batch.data() != bytes_.data() + bytes_.size()) return false;
  bytes_ =
      batches_.empty() ? batch : std::span<uint8_t>(bytes_.data(), bytes_.size() + batch.size());
  ValidatedBatch& b = batches_.emplace_back(ValidatedBatch{batch, header});
  offset_count_ += b.offset_count();
  record_count_ += static_cast<uint64_t>(std::max(0, header.record_count));
  max_timestamp_ = std::max(max_timestamp_, header.max_timestamp);
  return true;
}

}  // namespace runnel::protocol
