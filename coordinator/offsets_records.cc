#include "coordinator/offsets_records.h"

namespace runnel::coordinator {

namespace {

using protocol::Bytes;
using protocol::Reader;
using protocol::Writer;

// Calls `unit` with each UTF-16 code unit of `s` read as UTF-8. A malformed sequence (bad lead
// byte, missing continuation, overlong form, surrogate code point, value above U+10FFFF)
// yields one U+FFFD for its longest valid-looking prefix, as Java's decoder does.
template <typename F>
void for_each_utf16_unit(std::string_view s, F&& unit) {
  constexpr uint32_t kReplacement = 0xFFFD;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    if (b0 < 0x80) {
      unit(static_cast<uint16_t>(b0));
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      unit(static_cast<uint16_t>(kReplacement));
      ++i;
      continue;
    }
    size_t k = 1;
    while (k < len && i + k < n && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80) {
      cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
      ++k;
    }
    if (k < len || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      unit(static_cast<uint16_t>(kReplacement));
      i += k;
      continue;
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      unit(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      unit(static_cast<uint16_t>(cp));
    }
  }
}

}  // namespace

Bytes encode_offset_commit_key(const OffsetCommitKey& key) {
  Writer w;
  w.i16(kOffsetCommitKeyVersion);
  w.string(key.group, false);
  w.string(key.topic, false);
  w.i32(key.partition);
  return std::move(w.buf());
}

Bytes encode_group_metadata_key(const GroupMetadataKey& key) {
  Writer w;
  w.i16(kGroupMetadataKeyVersion);
  w.string(key.group, false);
  return std::move(w.buf());
}

std::optional<OffsetsTopicKey> decode_offsets_topic_key(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok()) return std::nullopt;
  if (version == 0 || version == 1) {
    OffsetCommitKey key;
    key.group = r.string(false);
    key.topic = r.string(false);
    key.partition = r.i32();
    if (!r.done()) return std::nullopt;
    return key;
  }
  if (version == 2) {
    GroupMetadataKey key;
    key.group = r.string(false);
    if (!r.done()) return std::nullopt;
    return key;
  }
  if (version < 0) return std::nullopt;
  return OtherKey{version};
}

Bytes encode_offset_commit_value(const OffsetCommitValue& value, int16_t version) {
  Writer w;
  w.i16(version);
  w.i64(value.offset);
  if (version >= 3) w.i32(value.leader_epoch);
  w.string(value.metadata, false);
  w.i64(value.commit_timestamp);
  if (version == 1) w.i64(value.expire_timestamp);
  return std::move(w.buf());
}

std::optional<OffsetCommitValue> decode_offset_commit_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0 || version > 3) return std::nullopt;
  OffsetCommitValue v;
  v.offset = r.i64();
  if (version >= 3) v.leader_epoch = r.i32();
  v.metadata = r.string(false);
  v.commit_timestamp = r.i64();
  if (version == 1) v.expire_timestamp = r.i64();
  if (!r.done()) return std::nullopt;
  return v;
}

Bytes encode_group_metadata_value(const GroupMetadataValue& value, int16_t version) {
  Writer w;
  w.i16(version);
  w.string(value.protocol_type, false);
  w.i32(value.generation);
  w.nullable_string(value.protocol, false);
  w.nullable_string(value.leader, false);
  if (version >= 2) w.i64(value.current_state_timestamp);
  w.i32(static_cast<int32_t>(value.members.size()));
  for (const auto& m : value.members) {
    w.string(m.member_id, false);
    if (version >= 3) w.nullable_string(m.group_instance_id, false);
    w.string(m.client_id, false);
    w.string(m.client_host, false);
    if (version >= 1) w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(m.subscription, false);
    w.bytes(m.assignment, false);
  }
  return std::move(w.buf());
}

std::optional<GroupMetadataValue> decode_group_metadata_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0 || version > 3) return std::nullopt;
  GroupMetadataValue v;
  v.protocol_type = r.string(false);
  v.generation = r.i32();
  v.protocol = r.nullable_string(false);
  v.leader = r.nullable_string(false);
  if (version >= 2) v.current_state_timestamp = r.i64();
  const int64_t count = r.array_length(false);
  if (count < 0) return std::nullopt;
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    GroupMetadataMember m;
    m.member_id = r.string(false);
    if (version >= 3) m.group_instance_id = r.nullable_string(false);
    m.client_id = r.string(false);
    m.client_host = r.string(false);
    if (version >= 1) m.rebalance_timeout_ms = r.i32();
    m.session_timeout_ms = r.i32();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    m.subscription = r.bytes(false);
    m.assignment = r.bytes(false);
    v.members.push_back(std::move(m));
  }
  if (!r.done()) return std::nullopt;
  return v;
}

int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  for_each_utf16_unit(s, [&](uint16_t u) { h = 31u * h + u; });
  return static_cast<int32_t>(h);
}

size_t java_string_length(std::string_view s) {
  size_t n = 0;
  for_each_utf16_unit(s, [&](uint16_t) { ++n; });
  return n;
}

int32_t partition_for_group(std::string_view group_id, int32_t num_partitions) {
  if (num_partitions <= 0) return 0;
  // Kafka: Utils.abs(groupId.hashCode) % partitions, where Utils.abs(Integer.MIN_VALUE) is 0.
  const int32_t h = java_string_hash(group_id);
  const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return abs % num_partitions;
}

}  // namespace runnel::coordinator
