#include "coordinator/consumer_protocol.h"

namespace runnel::coordinator {

namespace {

using protocol::Bytes;
using protocol::Reader;
using protocol::Writer;

constexpr bool kFlex = false;

bool read_partitions(Reader& r, NamedPartitions& out) {
  const int64_t topics = r.array_length(kFlex);
  if (topics < 0) return false;
  for (int64_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic = r.string(kFlex);
    const int64_t n = r.array_length(kFlex);
    if (n < 0) return false;
    auto& parts = out[topic];
    for (int64_t j = 0; j < n && r.ok(); ++j) parts.insert(r.i32());
  }
  return r.ok();
}

void write_partitions(Writer& w, const NamedPartitions& parts) {
  w.array_length(static_cast<int64_t>(parts.size()), kFlex);
  for (const auto& [topic, ps] : parts) {
    w.string(topic, kFlex);
    w.array_length(static_cast<int64_t>(ps.size()), kFlex);
    for (int32_t p : ps) w.i32(p);
  }
}

}  // namespace

std::optional<ConsumerProtocolSubscription> decode_consumer_subscription(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0) return std::nullopt;
  ConsumerProtocolSubscription s;
  const int64_t n = r.array_length(kFlex);
  if (n < 0) return std::nullopt;
  for (int64_t i = 0; i < n && r.ok(); ++i) s.topics.push_back(r.string(kFlex));
  s.user_data = r.nullable_bytes(kFlex);
  if (version >= 1 && !read_partitions(r, s.owned_partitions)) return std::nullopt;
  if (version >= 2) s.generation_id = r.i32();
  if (version >= 3) s.rack_id = r.nullable_string(kFlex);
  if (!r.ok()) return std::nullopt;
  return s;
}

std::optional<ConsumerProtocolAssignment> decode_consumer_assignment(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0) return std::nullopt;
  ConsumerProtocolAssignment a;
  if (!read_partitions(r, a.partitions)) return std::nullopt;
  a.user_data = r.nullable_bytes(kFlex);
  if (!r.ok()) return std::nullopt;
  return a;
}

Bytes encode_consumer_subscription(const ConsumerProtocolSubscription& s) {
  Writer w;
  w.i16(3);
  w.array_length(static_cast<int64_t>(s.topics.size()), kFlex);
  for (const auto& t : s.topics) w.string(t, kFlex);
  w.nullable_bytes(s.user_data, kFlex);
  write_partitions(w, s.owned_partitions);
  w.i32(s.generation_id);
  w.nullable_string(s.rack_id, kFlex);
  return std::move(w.buf());
}

Bytes encode_consumer_assignment(const ConsumerProtocolAssignment& a, int16_t version) {
  Writer w;
  w.i16(version);
  write_partitions(w, a.partitions);
  w.nullable_bytes(a.user_data, kFlex);
  return std::move(w.buf());
}

}  // namespace runnel::coordinator
