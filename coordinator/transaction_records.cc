#include "coordinator/transaction_records.h"

#include <map>

#include "coordinator/offsets_records.h"

namespace runnel::coordinator {

namespace {

using protocol::Bytes;
using protocol::Reader;
using protocol::Writer;

constexpr uint32_t kTagPreviousProducerId = 0;
constexpr uint32_t kTagNextProducerId = 1;
constexpr uint32_t kTagClientTransactionVersion = 2;

// Reads an int32 array whose count was already read; nullopt (and r failed) when short.
bool read_ids(Reader& r, int64_t count, std::vector<int32_t>& out) {
  if (count < 0) {
    r.fail("null partition id array");
    return false;
  }
  if (static_cast<uint64_t>(count) > r.remaining() / 4) {
    r.fail("partition id count larger than the bytes left");
    return false;
  }
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count && r.ok(); ++i) out.push_back(r.i32());
  return r.ok();
}

// Skips a tagged-field section, calling `known(tag, data)` for each field; `known` returns
// false when a known tag's data is malformed.
template <typename F>
bool read_tagged_fields(Reader& r, F&& known) {
  const uint32_t n = r.uvarint();
  if (!r.ok()) return false;
  if (n > r.remaining()) {
    r.fail("tagged field count larger than the bytes left");
    return false;
  }
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    const uint32_t tag = r.uvarint();
    const uint32_t size = r.uvarint();
    auto data = r.take(size);
    if (!r.ok()) return false;
    if (!known(tag, data)) {
      r.fail("malformed tagged field");
      return false;
    }
  }
  return r.ok();
}

}  // namespace

Bytes encode_txn_log_key(std::string_view transactional_id) {
  Writer w;
  w.i16(kTxnLogKeyVersion);
  w.string(transactional_id, false);
  return std::move(w.buf());
}

std::optional<TxnLogKey> decode_txn_log_key(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  TxnLogKey key;
  key.version = r.i16();
  if (!r.ok() || key.version < 0) return std::nullopt;
  if (key.version != kTxnLogKeyVersion) return key;
  key.transactional_id = r.string(false);
  if (!r.done()) return std::nullopt;
  return key;
}

Bytes encode_txn_log_value(const TxnLogValue& value, int16_t version) {
  const bool flexible = version >= 1;
  Writer w;
  w.i16(version);
  w.i64(value.producer_id);
  w.i16(value.producer_epoch);
  w.i32(value.transaction_timeout_ms);
  w.i8(static_cast<int8_t>(value.status));
  if (!value.partitions) {
    w.array_length(-1, flexible);
  } else {
    w.array_length(static_cast<int64_t>(value.partitions->size()), flexible);
    for (const auto& t : *value.partitions) {
      w.string(t.topic, flexible);
      w.array_length(static_cast<int64_t>(t.partition_ids.size()), flexible);
      for (int32_t id : t.partition_ids) w.i32(id);
      if (flexible) w.uvarint(0);  // no tagged fields in a topic entry
    }
  }
  w.i64(value.last_update_timestamp_ms);
  w.i64(value.start_timestamp_ms);
  if (flexible) {
    // Tagged fields in ascending tag order, only those that differ from their default.
    uint32_t count = 0;
    if (value.previous_producer_id != kNoProducerId) ++count;
    if (value.next_producer_id != kNoProducerId) ++count;
    if (value.client_transaction_version != 0) ++count;
    w.uvarint(count);
    if (value.previous_producer_id != kNoProducerId) {
      w.uvarint(kTagPreviousProducerId);
      w.uvarint(8);
      w.i64(value.previous_producer_id);
    }
    if (value.next_producer_id != kNoProducerId) {
      w.uvarint(kTagNextProducerId);
      w.uvarint(8);
      w.i64(value.next_producer_id);
    }
    if (value.client_transaction_version != 0) {
      w.uvarint(kTagClientTransactionVersion);
      w.uvarint(2);
      w.i16(value.client_transaction_version);
    }
  }
  return std::move(w.buf());
}

std::optional<TxnLogValue> decode_txn_log_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0 || version > kTxnLogValueMaxVersion) return std::nullopt;
  const bool flexible = version >= 1;
  TxnLogValue v;
  v.producer_id = r.i64();
  v.producer_epoch = r.i16();
  v.transaction_timeout_ms = r.i32();
  const int8_t status = r.i8();
  if (!r.ok()) return std::nullopt;
  auto state = transaction_state_from_id(status);
  if (!state) return std::nullopt;
  v.status = *state;
  const int64_t topics = r.array_length(flexible);
  if (!r.ok()) return std::nullopt;
  if (topics >= 0) {
    v.partitions.emplace();
    for (int64_t i = 0; i < topics && r.ok(); ++i) {
      TxnLogPartitions t;
      t.topic = r.string(flexible);
      const int64_t ids = r.array_length(flexible);
      if (!r.ok() || !read_ids(r, ids, t.partition_ids)) return std::nullopt;
      if (flexible &&
          !read_tagged_fields(r, [](uint32_t, std::span<const uint8_t>) { return true; }))
        return std::nullopt;
      v.partitions->push_back(std::move(t));
    }
  }
  v.last_update_timestamp_ms = r.i64();
  v.start_timestamp_ms = r.i64();
  if (flexible) {
    bool ok = read_tagged_fields(r, [&](uint32_t tag, std::span<const uint8_t> data) {
      Reader f(data);
      switch (tag) {
        case kTagPreviousProducerId:
          v.previous_producer_id = f.i64();
          return f.done();
        case kTagNextProducerId:
          v.next_producer_id = f.i64();
          return f.done();
        case kTagClientTransactionVersion:
          v.client_transaction_version = f.i16();
          return f.done();
        default:
          return true;  // a field of a later Kafka: skipped
      }
    });
    if (!ok) return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  return v;
}

TxnLogValue txn_log_value_of(const TransactionMetadata& m) {
  TxnLogValue v;
  v.producer_id = m.producer_id;
  v.producer_epoch = m.producer_epoch;
  v.transaction_timeout_ms = m.timeout_ms;
  v.status = m.state;
  if (m.state != TransactionState::Empty) {
    v.partitions.emplace();
    std::map<std::string_view, size_t> index;
    for (const auto& tp : m.partitions) {  // sorted by topic, then partition
      auto [it, inserted] = index.try_emplace(tp.topic, v.partitions->size());
      if (inserted) v.partitions->push_back({tp.topic, {}});
      (*v.partitions)[it->second].partition_ids.push_back(tp.partition);
    }
  }
  v.last_update_timestamp_ms = m.last_update_time_ms;
  v.start_timestamp_ms = m.start_time_ms;
  v.previous_producer_id = m.last_producer_id;
  v.next_producer_id = m.next_producer_id;
  v.client_transaction_version = m.client_transaction_version;
  return v;
}

int32_t partition_for_transactional_id(std::string_view transactional_id, int32_t num_partitions) {
  // Kafka places transactional ids with the same rule as group ids.
  return partition_for_group(transactional_id, num_partitions);
}

}  // namespace runnel::coordinator
