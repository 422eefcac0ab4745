#include "coordinator/consumer_group_records.h"

#include <utility>

namespace runnel::coordinator {

namespace {

using protocol::Bytes;
using protocol::Reader;
using protocol::Writer;

constexpr int16_t kValueVersion = 0;
constexpr bool kFlex = true;

// The tagged-field section: uvarint count, then (uvarint tag, uvarint size, bytes) each.
struct Tags {
  // Reads the section; known tags go to `on_tag(tag, bytes)`, which returns false when they
  // are malformed.
  template <typename F>
  static void read(Reader& r, F&& on_tag) {
    const uint32_t count = r.uvarint();
    if (count > r.remaining()) r.fail("tag count larger than the bytes left");
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
      const uint32_t tag = r.uvarint();
      const uint32_t size = r.uvarint();
      auto data = r.take(size);
      if (!r.ok()) return;
      if (!on_tag(tag, data)) r.fail("malformed tagged field");
    }
  }
  static void none(Reader& r) {
    read(r, [](uint32_t, std::span<const uint8_t>) { return true; });
  }
};

void write_tag(Writer& w, uint32_t tag, const Bytes& data) {
  w.uvarint(tag);
  w.uvarint(static_cast<uint32_t>(data.size()));
  w.raw(data);
}

Bytes start_value() {
  Writer w;
  w.i16(kValueVersion);
  return std::move(w.buf());
}

// Reads the value version; false (and a failed reader) when it is not 0.
bool read_version(Reader& r) {
  const int16_t v = r.i16();
  if (r.ok() && v != kValueVersion) r.fail("unknown value version");
  return r.ok();
}

std::vector<std::string> read_strings(Reader& r) {
  std::vector<std::string> out;
  const int64_t n = r.array_length(kFlex);
  if (n < 0) {
    r.fail("null array where an array is required");
    return out;
  }
  for (int64_t i = 0; i < n && r.ok(); ++i) out.push_back(r.string(kFlex));
  return out;
}

void write_strings(Writer& w, const std::vector<std::string>& v) {
  w.array_length(static_cast<int64_t>(v.size()), kFlex);
  for (const auto& s : v) w.string(s, kFlex);
}

// A nullable compact array of int32 (null: nullopt).
std::optional<std::vector<int32_t>> read_nullable_int32s(Reader& r) {
  const int64_t n = r.array_length(kFlex);
  if (n < 0) return std::nullopt;
  // Each element takes four bytes: check before reserving.
  if (static_cast<uint64_t>(n) * 4 > r.remaining()) {
    r.fail("array longer than the bytes left");
    return std::nullopt;
  }
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n && r.ok(); ++i) out.push_back(r.i32());
  return out;
}

void write_partitions(Writer& w, const std::set<int32_t>& ps) {
  w.array_length(static_cast<int64_t>(ps.size()), kFlex);
  for (int32_t p : ps) w.i32(p);
}

// [uuid topic_id | [int32 partition] | tags]; a partition list or topic appearing twice is
// merged.
void read_topic_partitions(Reader& r, TopicPartitionSet& out) {
  const int64_t n = r.array_length(kFlex);
  if (n < 0) {
    r.fail("null array where an array is required");
    return;
  }
  for (int64_t i = 0; i < n && r.ok(); ++i) {
    const protocol::Uuid id = r.uuid();
    auto parts = read_nullable_int32s(r);
    if (!parts) {
      r.fail("null partitions");
      return;
    }
    Tags::read(r, [](uint32_t tag, std::span<const uint8_t> data) {
      if (tag != 0) return true;
      Reader t(data);  // AssignmentEpochs: checked, then dropped
      (void)read_nullable_int32s(t);
      return t.done();
    });
    if (!r.ok()) return;
    out[id].insert(parts->begin(), parts->end());
  }
}

void write_topic_partitions(Writer& w, const TopicPartitionSet& set) {
  w.array_length(static_cast<int64_t>(set.size()), kFlex);
  for (const auto& [id, ps] : set) {
    w.uuid(id);
    write_partitions(w, ps);
    w.uvarint(0);
  }
}

template <typename T>
std::optional<T> finish(const Reader& r, T&& v) {
  if (!r.done()) return std::nullopt;
  return std::forward<T>(v);
}

}  // namespace

bool is_consumer_group_record_type(int16_t type) { return (type >= 3 && type <= 8) || type == 16; }

Bytes encode_consumer_group_key(const ConsumerGroupKey& key) {
  Writer w;
  w.i16(static_cast<int16_t>(key.type));
  w.string(key.group_id, false);
  switch (key.type) {
    case ConsumerGroupRecordType::MemberMetadata:
    case ConsumerGroupRecordType::TargetAssignmentMember:
    case ConsumerGroupRecordType::CurrentMemberAssignment:
    case ConsumerGroupRecordType::RegularExpression:
      w.string(key.sub_key, false);
      break;
    default:
      break;
  }
  return std::move(w.buf());
}

std::optional<ConsumerGroupKey> decode_consumer_group_key(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t type = r.i16();
  if (!r.ok() || !is_consumer_group_record_type(type)) return std::nullopt;
  ConsumerGroupKey key;
  key.type = static_cast<ConsumerGroupRecordType>(type);
  key.group_id = r.string(false);
  switch (key.type) {
    case ConsumerGroupRecordType::MemberMetadata:
    case ConsumerGroupRecordType::TargetAssignmentMember:
    case ConsumerGroupRecordType::CurrentMemberAssignment:
    case ConsumerGroupRecordType::RegularExpression:
      key.sub_key = r.string(false);
      break;
    default:
      break;
  }
  return finish(r, std::move(key));
}

// ---- 3: ConsumerGroupMetadata

Bytes encode(const ConsumerGroupMetadataValue& v) {
  Writer w;
  w.raw(start_value());
  w.i32(v.epoch);
  if (v.metadata_hash != 0) {
    Writer t;
    t.i64(v.metadata_hash);
    w.uvarint(1);
    write_tag(w, 0, t.buf());
  } else {
    w.uvarint(0);
  }
  return std::move(w.buf());
}

std::optional<ConsumerGroupMetadataValue> decode_consumer_group_metadata_value(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupMetadataValue v;
  v.epoch = r.i32();
  Tags::read(r, [&](uint32_t tag, std::span<const uint8_t> data) {
    if (tag != 0) return true;
    Reader t(data);
    v.metadata_hash = t.i64();
    return t.done();
  });
  return finish(r, std::move(v));
}

// ---- 4: ConsumerGroupPartitionMetadata

Bytes encode(const ConsumerGroupPartitionMetadataValue& v) {
  Writer w;
  w.raw(start_value());
  w.array_length(static_cast<int64_t>(v.topics.size()), kFlex);
  for (const auto& t : v.topics) {
    w.uuid(t.topic_id);
    w.string(t.topic_name, kFlex);
    w.i32(t.num_partitions);
    w.array_length(0, kFlex);  // no rack information
    w.uvarint(0);
  }
  w.uvarint(0);
  return std::move(w.buf());
}

std::optional<ConsumerGroupPartitionMetadataValue> decode_consumer_group_partition_metadata_value(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupPartitionMetadataValue v;
  const int64_t n = r.array_length(kFlex);
  if (n < 0) return std::nullopt;
  for (int64_t i = 0; i < n && r.ok(); ++i) {
    ConsumerGroupPartitionMetadataValue::Topic t;
    t.topic_id = r.uuid();
    t.topic_name = r.string(kFlex);
    t.num_partitions = r.i32();
    const int64_t parts = r.array_length(kFlex);
    if (parts < 0) return std::nullopt;
    for (int64_t p = 0; p < parts && r.ok(); ++p) {
      (void)r.i32();
      (void)read_strings(r);
      Tags::none(r);
    }
    Tags::none(r);
    v.topics.push_back(std::move(t));
  }
  Tags::none(r);
  return finish(r, std::move(v));
}

// ---- 5: ConsumerGroupMemberMetadata

Bytes encode(const ConsumerGroupMemberMetadataValue& v) {
  Writer w;
  w.raw(start_value());
  w.nullable_string(v.instance_id, kFlex);
  w.nullable_string(v.rack_id, kFlex);
  w.string(v.client_id, kFlex);
  w.string(v.client_host, kFlex);
  write_strings(w, v.subscribed_topic_names);
  w.nullable_string(v.subscribed_topic_regex, kFlex);
  w.i32(v.rebalance_timeout_ms);
  w.nullable_string(v.server_assignor, kFlex);
  // Kafka writes the tag even when it is null (a presence byte of 0).
  Writer c;
  c.uvarint(v.classic_member_metadata ? 1 : 0);
  if (const auto& m = v.classic_member_metadata) {
    c.i32(m->session_timeout_ms);
    c.array_length(static_cast<int64_t>(m->supported_protocols.size()), kFlex);
    for (const auto& p : m->supported_protocols) {
      c.string(p.name, kFlex);
      c.bytes(p.metadata, kFlex);
      c.uvarint(0);
    }
    c.uvarint(0);
  }
  w.uvarint(1);
  write_tag(w, 0, c.buf());
  return std::move(w.buf());
}

std::optional<ConsumerGroupMemberMetadataValue> decode_consumer_group_member_metadata_value(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupMemberMetadataValue v;
  v.instance_id = r.nullable_string(kFlex);
  v.rack_id = r.nullable_string(kFlex);
  v.client_id = r.string(kFlex);
  v.client_host = r.string(kFlex);
  v.subscribed_topic_names = read_strings(r);
  v.subscribed_topic_regex = r.nullable_string(kFlex);
  v.rebalance_timeout_ms = r.i32();
  v.server_assignor = r.nullable_string(kFlex);
  Tags::read(r, [&](uint32_t tag, std::span<const uint8_t> data) {
    if (tag != 0) return true;
    Reader c(data);
    if (c.uvarint() == 0) {
      v.classic_member_metadata.reset();
      return c.done();
    }
    ClassicMemberMetadata m;
    m.session_timeout_ms = c.i32();
    const int64_t n = c.array_length(kFlex);
    if (n < 0 || n > static_cast<int64_t>(c.remaining())) return false;
    for (int64_t i = 0; i < n && c.ok(); ++i) {
      ClassicMemberMetadata::Protocol p;
      p.name = c.string(kFlex);
      p.metadata = c.bytes(kFlex);
      Tags::none(c);
      m.supported_protocols.push_back(std::move(p));
    }
    Tags::none(c);
    if (!c.done()) return false;
    v.classic_member_metadata = std::move(m);
    return true;
  });
  return finish(r, std::move(v));
}

// ---- 6: ConsumerGroupTargetAssignmentMetadata

Bytes encode(const ConsumerGroupTargetAssignmentMetadataValue& v) {
  Writer w;
  w.raw(start_value());
  w.i32(v.assignment_epoch);
  if (v.assignment_timestamp != 0) {
    Writer t;
    t.i64(v.assignment_timestamp);
    w.uvarint(1);
    write_tag(w, 0, t.buf());
  } else {
    w.uvarint(0);
  }
  return std::move(w.buf());
}

std::optional<ConsumerGroupTargetAssignmentMetadataValue>
decode_consumer_group_target_assignment_metadata_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupTargetAssignmentMetadataValue v;
  v.assignment_epoch = r.i32();
  Tags::read(r, [&](uint32_t tag, std::span<const uint8_t> data) {
    if (tag != 0) return true;
    Reader t(data);
    v.assignment_timestamp = t.i64();
    return t.done();
  });
  return finish(r, std::move(v));
}

// ---- 7: ConsumerGroupTargetAssignmentMember

Bytes encode(const ConsumerGroupTargetAssignmentMemberValue& v) {
  Writer w;
  w.raw(start_value());
  write_topic_partitions(w, v.partitions);
  w.uvarint(0);
  return std::move(w.buf());
}

std::optional<ConsumerGroupTargetAssignmentMemberValue>
decode_consumer_group_target_assignment_member_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupTargetAssignmentMemberValue v;
  read_topic_partitions(r, v.partitions);
  Tags::none(r);
  return finish(r, std::move(v));
}

// ---- 8: ConsumerGroupCurrentMemberAssignment

Bytes encode(const ConsumerGroupCurrentMemberAssignmentValue& v) {
  Writer w;
  w.raw(start_value());
  w.i32(v.member_epoch);
  w.i32(v.previous_member_epoch);
  w.i8(static_cast<int8_t>(v.state));
  write_topic_partitions(w, v.assigned_partitions);
  write_topic_partitions(w, v.partitions_pending_revocation);
  w.uvarint(0);
  return std::move(w.buf());
}

std::optional<ConsumerGroupCurrentMemberAssignmentValue>
decode_consumer_group_current_member_assignment_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupCurrentMemberAssignmentValue v;
  v.member_epoch = r.i32();
  v.previous_member_epoch = r.i32();
  const int8_t state = r.i8();
  switch (state) {
    case 0:
    case 1:
    case 2:
    case 127:
      v.state = static_cast<MemberState>(state);
      break;
    default:
      return std::nullopt;
  }
  read_topic_partitions(r, v.assigned_partitions);
  read_topic_partitions(r, v.partitions_pending_revocation);
  Tags::none(r);
  return finish(r, std::move(v));
}

// ---- 16: ConsumerGroupRegularExpression

Bytes encode(const ConsumerGroupRegularExpressionValue& v) {
  Writer w;
  w.raw(start_value());
  write_strings(w, v.topics);
  w.i64(v.version);
  w.i64(v.timestamp);
  w.uvarint(0);
  return std::move(w.buf());
}

std::optional<ConsumerGroupRegularExpressionValue> decode_consumer_group_regular_expression_value(
    std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!read_version(r)) return std::nullopt;
  ConsumerGroupRegularExpressionValue v;
  v.topics = read_strings(r);
  v.version = r.i64();
  v.timestamp = r.i64();
  Tags::none(r);
  return finish(r, std::move(v));
}

}  // namespace runnel::coordinator
