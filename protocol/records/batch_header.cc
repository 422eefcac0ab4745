#include "protocol/records/batch_header.h"

namespace runnel::protocol {

namespace {
template <typename T>
T get(std::span<const uint8_t> d, size_t at) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | d[at + i]);
  return v;
}
template <typename T>
void put(std::span<uint8_t> d, size_t at, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    d[at + i] =
        static_cast<uint8_t>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * (sizeof(T) - 1 - i)));
}
}  // namespace

std::optional<BatchHeader> BatchHeader::parse(std::span<const uint8_t> d) {
  if (d.size() < kSize) return std::nullopt;
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(get<uint64_t>(d, 0));
  h.batch_length = static_cast<int32_t>(get<uint32_t>(d, 8));
  h.partition_leader_epoch = static_cast<int32_t>(get<uint32_t>(d, 12));
  h.magic = static_cast<int8_t>(d[16]);
  h.crc = get<uint32_t>(d, 17);
  h.attributes = static_cast<int16_t>(get<uint16_t>(d, 21));
  h.last_offset_delta = static_cast<int32_t>(get<uint32_t>(d, 23));
  h.base_timestamp = static_cast<int64_t>(get<uint64_t>(d, 27));
  h.max_timestamp = static_cast<int64_t>(get<uint64_t>(d, 35));
  h.producer_id = static_cast<int64_t>(get<uint64_t>(d, 43));
  h.producer_epoch = static_cast<int16_t>(get<uint16_t>(d, 51));
  h.base_sequence = static_cast<int32_t>(get<uint32_t>(d, 53));
  h.record_count = static_cast<int32_t>(get<uint32_t>(d, 57));
  return h;
}

void BatchHeader::write(std::span<uint8_t> d) const {
  put<int64_t>(d, 0, base_offset);
  put<int32_t>(d, 8, batch_length);
  put<int32_t>(d, 12, partition_leader_epoch);
  d[16] = static_cast<uint8_t>(magic);
  put<uint32_t>(d, 17, crc);
  put<int16_t>(d, 21, attributes);
  put<int32_t>(d, 23, last_offset_delta);
  put<int64_t>(d, 27, base_timestamp);
  put<int64_t>(d, 35, max_timestamp);
  put<int64_t>(d, 43, producer_id);
  put<int16_t>(d, 51, producer_epoch);
  put<int32_t>(d, 53, base_sequence);
  put<int32_t>(d, 57, record_count);
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  put<int64_t>(batch, 0, base_offset);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  put<int32_t>(batch, 12, epoch);
}

}  // namespace runnel::protocol
