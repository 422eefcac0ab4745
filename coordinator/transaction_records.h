// Records of the internal __transaction_state topic, in the byte layout Kafka writes, and the
// mapping of a transactional id to its partition of that topic.
//
// Every integer is big-endian.
//
// Key (one kind; the first int16 says which):
//   int16 version (0) | string transactional_id      (string: int16 length + UTF-8 bytes)
// Keys of another version are not transaction records; decode_txn_log_key() reports their
// version and the coordinator ignores them, as Kafka does.
//
// Value, version 0 (what Kafka 3.9 writes while transaction.version is 0, its default; Runnel
// writes it too):
//   int16 0 | int64 producer_id | int16 producer_epoch | int32 transaction_timeout_ms |
//   int8 transaction_status | nullable array transaction_partitions | int64 last_update_ms |
//   int64 start_ms
//   array: int32 count (-1 = null), then per topic: string topic | int32 count | int32 ids...
//
// Value, version 1 (flexible): the same fields in the same order, with compact encodings
// (unsigned varint length + 1, 0 = null) for the array, the topic strings and the partition
// id arrays; each topic entry ends with a tagged-field section, and the value ends with one
// that may carry:
//   tag 0: int64 previous_producer_id (default -1)
//   tag 1: int64 next_producer_id (default -1)
//   tag 2: int16 client_transaction_version (default 0)
// Tags holding their default are not written; unknown tags are skipped.
//
// transaction_status is TransactionState's number (transaction_state.h). Kafka writes a null
// partition array for Empty and lists the partitions of every other state (none once
// complete). A null value (tombstone) removes the transactional id.
//
// Decoding requires every byte to be consumed: truncated or trailing bytes, negative lengths,
// counts larger than the bytes left, unknown versions and status bytes outside 0..7 are
// rejected (nullopt), never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/runtime.h"
#include "coordinator/transaction_state.h"
#include "protocol/wire.h"

namespace runnel::coordinator {

inline constexpr int16_t kTxnLogKeyVersion = 0;
inline constexpr int16_t kTxnLogValueVersion = 0;  // the version Runnel writes
inline constexpr int16_t kTxnLogValueMaxVersion = 1;

// One record for __transaction_state: key bytes and value bytes (nullopt: tombstone).
using TxnLogRecord = CoordinatorRecord;

struct TxnLogKey {
  int16_t version = kTxnLogKeyVersion;
  std::string transactional_id;  // set only for version 0
  bool operator==(const TxnLogKey&) const = default;
};

struct TxnLogPartitions {
  std::string topic;
  std::vector<int32_t> partition_ids;
  bool operator==(const TxnLogPartitions&) const = default;
};

struct TxnLogValue {
  int64_t producer_id = kNoProducerId;
  int64_t previous_producer_id = kNoProducerId;  // version 1 tag 0
  int64_t next_producer_id = kNoProducerId;      // version 1 tag 1
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t transaction_timeout_ms = 0;
  TransactionState status = TransactionState::Empty;
  std::optional<std::vector<TxnLogPartitions>> partitions;  // nullopt: null
  int64_t last_update_timestamp_ms = -1;
  int64_t start_timestamp_ms = -1;
  int16_t client_transaction_version = 0;  // version 1 tag 2
  bool operator==(const TxnLogValue&) const = default;
};

protocol::Bytes encode_txn_log_key(std::string_view transactional_id);
// nullopt when the bytes are malformed; a key of a version other than 0 decodes with that
// version and no transactional id.
std::optional<TxnLogKey> decode_txn_log_key(std::span<const uint8_t> bytes);

// `version` must be 0 or 1; version 0 has no tagged fields.
protocol::Bytes encode_txn_log_value(const TxnLogValue& value,
                                     int16_t version = kTxnLogValueVersion);
std::optional<TxnLogValue> decode_txn_log_value(std::span<const uint8_t> bytes);

// The value Kafka stores for `m`: partitions grouped by topic (topics and ids in order), null
// for Empty.
TxnLogValue txn_log_value_of(const TransactionMetadata& m);

// The __transaction_state partition of `transactional_id`: Kafka's
// Utils.abs(transactionalId.hashCode) % num_partitions, where abs(INT_MIN) is 0 and the hash
// is Java's String.hashCode. num_partitions must be > 0.
int32_t partition_for_transactional_id(std::string_view transactional_id, int32_t num_partitions);

}  // namespace runnel::coordinator
