// The state of one transactional id, as the transaction coordinator keeps it.
//
// States and their allowed transitions (Kafka's TransactionState; the number is the status
// byte stored in __transaction_state):
//
//   Empty 0              no transaction open. Entered from Empty, CompleteCommit, CompleteAbort
//                        (InitProducerId: epoch bump or new producer id).
//                        Leaves to: Ongoing (AddPartitions/AddOffsets), Empty (InitProducerId),
//                        Dead (transactional id expired).
//   Ongoing 1            partitions were added. Entered from Empty, Ongoing, CompleteCommit,
//                        CompleteAbort. Leaves to: Ongoing (more partitions), PrepareCommit,
//                        PrepareAbort (EndTxn), PrepareEpochFence (fenced by InitProducerId or
//                        by the transaction timeout).
//   PrepareCommit 2      the commit is decided and stored; markers are being written.
//                        Entered from Ongoing. Leaves to: CompleteCommit.
//   PrepareAbort 3       the abort is decided and stored; markers are being written.
//                        Entered from Ongoing, PrepareEpochFence, and with transactions v2
//                        also from Empty, CompleteCommit, CompleteAbort (an abort with no
//                        partition bumps the epoch too). Leaves to: CompleteAbort.
//   CompleteCommit 4     every partition has its COMMIT marker. Entered from PrepareCommit.
//                        Leaves to: Empty, Ongoing, Dead.
//   CompleteAbort 5      every partition has its ABORT marker. Entered from PrepareAbort.
//                        Leaves to: Empty, Ongoing, Dead.
//   Dead 6               the transactional id expired; a tombstone removes it. Entered from
//                        Empty, CompleteCommit, CompleteAbort. Leaves to: nothing.
//   PrepareEpochFence 7  the epoch was bumped to fence the current producer and the open
//                        transaction is about to be aborted. Entered from Ongoing. Leaves to:
//                        PrepareAbort. Like Kafka, Runnel never stores this state: the fence is
//                        written as the PrepareAbort record that carries the bumped epoch.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace runnel::coordinator {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

enum class TransactionState : int8_t {
  Empty = 0,
  Ongoing = 1,
  PrepareCommit = 2,
  PrepareAbort = 3,
  CompleteCommit = 4,
  CompleteAbort = 5,
  Dead = 6,
  PrepareEpochFence = 7,
};

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int16_t kMaxProducerEpoch = 32767;

// Kafka's names, as DescribeTransactions and ListTransactions print them.
constexpr std::string_view transaction_state_name(TransactionState s) {
  switch (s) {
    case TransactionState::Empty:
      return "Empty";
    case TransactionState::Ongoing:
      return "Ongoing";
    case TransactionState::PrepareCommit:
      return "PrepareCommit";
    case TransactionState::PrepareAbort:
      return "PrepareAbort";
    case TransactionState::CompleteCommit:
      return "CompleteCommit";
    case TransactionState::CompleteAbort:
      return "CompleteAbort";
    case TransactionState::Dead:
      return "Dead";
    case TransactionState::PrepareEpochFence:
      return "PrepareEpochFence";
  }
  return "Unknown";
}

// The state of a status byte; nullopt for a byte outside 0..7.
constexpr std::optional<TransactionState> transaction_state_from_id(int8_t id) {
  if (id < 0 || id > 7) return std::nullopt;
  return static_cast<TransactionState>(id);
}

// The state named `name` exactly (names are case-sensitive, as in Kafka).
constexpr std::optional<TransactionState> transaction_state_from_name(std::string_view name) {
  for (int8_t id = 0; id <= 7; ++id) {
    const auto s = static_cast<TransactionState>(id);
    if (transaction_state_name(s) == name) return s;
  }
  return std::nullopt;
}

// Whether `to` may follow `from` (the table above).
constexpr bool is_valid_transition(TransactionState from, TransactionState to) {
  using S = TransactionState;
  switch (to) {
    case S::Empty:
      return from == S::Empty || from == S::CompleteCommit || from == S::CompleteAbort;
    case S::Ongoing:
      return from == S::Ongoing || from == S::Empty || from == S::CompleteCommit ||
             from == S::CompleteAbort;
    case S::PrepareCommit:
      return from == S::Ongoing;
    case S::PrepareAbort:
      return from == S::Ongoing || from == S::PrepareEpochFence || from == S::Empty ||
             from == S::CompleteCommit || from == S::CompleteAbort;
    case S::CompleteCommit:
      return from == S::PrepareCommit;
    case S::CompleteAbort:
      return from == S::PrepareAbort;
    case S::Dead:
      return from == S::Empty || from == S::CompleteCommit || from == S::CompleteAbort;
    case S::PrepareEpochFence:
      return from == S::Ongoing;
  }
  return false;
}

// States whose transactional id may expire (transactional.id.expiration.ms).
constexpr bool is_expiration_allowed(TransactionState s) {
  return s == TransactionState::Empty || s == TransactionState::CompleteCommit ||
         s == TransactionState::CompleteAbort;
}

// Kafka keeps the two highest epochs in reserve: a producer at 32766 or above gets a new
// producer id at its next InitProducerId (one more bump is still possible to fence it).
constexpr bool is_epoch_exhausted(int16_t epoch) { return epoch >= kMaxProducerEpoch - 1; }

// Everything the coordinator knows of one transactional id (Kafka's TransactionMetadata).
struct TransactionMetadata {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  // The producer id before the last rotation (an exhausted epoch), so that a retried
  // InitProducerId of that producer is recognised. Kept in memory only.
  int64_t last_producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  // The epoch before the last bump requested with an expected epoch (KIP-360), so that the
  // retry of a bump whose answer was lost returns the same epoch. Kept in memory only.
  int16_t last_producer_epoch = kNoProducerEpoch;
  int32_t timeout_ms = 0;
  TransactionState state = TransactionState::Empty;
  std::set<TopicPartition> partitions;
  int64_t start_time_ms = -1;  // when the first partition was added; -1 when none is open
  int64_t last_update_time_ms = -1;
  // Transactions v2: the producer id the producer continues with once this transaction
  // completes, when ending it used up the epoch (-1: none).
  int64_t next_producer_id = kNoProducerId;
  // The transaction version of the client's last request (2: transactions v2, KIP-890).
  int16_t client_transaction_version = 0;
  bool operator==(const TransactionMetadata&) const = default;
};

}  // namespace runnel::coordinator
