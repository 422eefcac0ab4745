// The transaction coordinator: every transactional id of this broker and its transaction
// (Kafka's TransactionCoordinator, TransactionStateManager and TransactionMetadata).
//
// Design
// ------
// Pure, like the group coordinator: no I/O of its own, time only from an injected Clock.
// It is a CoordinatorStateMachine (coordinator/runtime.h). Three doors lead out:
//   CoordinatorLog    appends records to a __transaction_state partition and replays them;
//   TxnMarkerWriter   writes a COMMIT or ABORT control batch to a data partition;
//   ProducerIdSource  hands out producer ids.
// Every change goes prepare -> append -> replay: the target metadata is computed and checked
// against the transition table (transaction_state.h) and its record appended; the replay of
// that record installs it, as loading does (the two fields kept in memory only, the previous
// producer id and epoch, come from the pending target). A failed append changes nothing.
//
// Ending a transaction: EndTxn stores PrepareCommit/PrepareAbort, writes the markers to every
// partition of the transaction (those of AddOffsets included) and stores
// CompleteCommit/CompleteAbort. Markers are written synchronously on this single-node broker.
// EndTxn answers NONE once the Prepare record is stored, as Kafka does; a marker that cannot be
// written (other than for a partition that no longer exists, which Kafka skips) leaves the
// transaction in its Prepare state, and tick() tries the remaining markers again.
//
// Fencing: InitProducerId for a transactional id whose transaction is Ongoing bumps the epoch
// (the zombie is fenced) and aborts that transaction with the bumped epoch. Kafka answers
// CONCURRENT_TRANSACTIONS and lets the client retry, which bumps the epoch once more. Runnel
// writes the markers synchronously, so it completes the abort at once and carries on with that
// same second bump in the same call: the client gets the epoch Kafka's retry would have given
// it, in one round trip. Only when the abort cannot complete (a marker failed) does it answer
// CONCURRENT_TRANSACTIONS, as Kafka.
//
// Loading: as the group coordinator, begin_load(p), replay() of every record of p in log
// order, finish_load(p). Until its partition is loaded, a transactional id is answered with
// COORDINATOR_LOAD_IN_PROGRESS. finish_load() writes the markers of transactions found in
// PrepareCommit/PrepareAbort again and completes them, as Kafka does after a failover.
//
// Error codes: the coordinator returns PRODUCER_FENCED where Kafka's coordinator does. Older
// request versions know only INVALID_PRODUCER_EPOCH; the server maps PRODUCER_FENCED to it for
// InitProducerId v0-3, AddPartitionsToTxn v0-1, AddOffsetsToTxn v0-1 and EndTxn v0-1 (KIP-588).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/transaction_records.h"
#include "coordinator/transaction_state.h"
#include "protocol/errors.h"
#include "storage/clock.h"

namespace runnel::coordinator {

using protocol::ErrorCode;

inline constexpr std::string_view kConsumerOffsetsTopic = "__consumer_offsets";

// Writes COMMIT/ABORT control batches; synchronous on this single-node broker.
class TxnMarkerWriter {
 public:
  virtual ~TxnMarkerWriter() = default;
  // NONE once written; UNKNOWN_TOPIC_OR_PARTITION when the partition no longer exists (the
  // coordinator then skips it, as Kafka does); any other error: tried again later.
  virtual ErrorCode write_marker(const TopicPartition& tp, int64_t producer_id,
                                 int16_t producer_epoch, int32_t coordinator_epoch,
                                 bool commit) = 0;
};

class ProducerIdSource {
 public:
  virtual ~ProducerIdSource() = default;
  // nullopt when no id can be allocated now: the request is answered with
  // COORDINATOR_LOAD_IN_PROGRESS, the retriable error Kafka gives while it waits for a
  // producer id block.
  virtual std::optional<int64_t> next_producer_id() = 0;
};

struct TxnConfig {
  int32_t log_partitions = 50;           // transaction.state.log.num.partitions
  int32_t max_timeout_ms = 900000;       // transaction.max.timeout.ms
  int64_t id_expiration_ms = 604800000;  // transactional.id.expiration.ms
  int64_t abort_check_interval_ms =
      10000;  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int64_t remove_expired_interval_ms =
      3600000;  // transaction.remove.expired.transaction.cleanup.interval.ms
};

class TransactionCoordinator final : public CoordinatorStateMachine {
 public:
  TransactionCoordinator(TxnConfig config, const storage::Clock& clock, CoordinatorLog& log,
                         TxnMarkerWriter& markers, ProducerIdSource& producer_ids);

  const TxnConfig& config() const { return config_; }
  // Kafka: Utils.abs(transactionalId.hashCode) % transaction.state.log.num.partitions.
  int32_t partition_for(std::string_view transactional_id) const;
  // COORDINATOR_LOAD_IN_PROGRESS while the id's partition is not loaded, else NONE.
  ErrorCode check_id(std::string_view transactional_id) const;

  // ---- Producer ids
  struct InitPidResult {
    ErrorCode error = ErrorCode::NONE;
    int64_t producer_id = kNoProducerId;
    int16_t producer_epoch = kNoProducerEpoch;
  };
  // No id (null): a fresh producer id at epoch 0, nothing stored. An empty id:
  // INVALID_REQUEST. A timeout <= 0 or above transaction.max.timeout.ms:
  // INVALID_TRANSACTION_TIMEOUT. Otherwise Kafka's handleInitProducerId: a new id starts at
  // epoch 0; an existing one gets its epoch bumped (a new producer id once the epoch is
  // exhausted); an Ongoing transaction is fenced and aborted first (see the header comment).
  // `expected_pid`/`expected_epoch` (InitProducerId v3+, KIP-360; -1 when absent) let a producer
  // recover: PRODUCER_FENCED when they name neither the current producer nor a retry of the
  // last bump. CONCURRENT_TRANSACTIONS while a commit or abort is being completed.
  InitPidResult init_producer_id(const std::optional<std::string>& transactional_id,
                                 int32_t txn_timeout_ms, int64_t expected_pid = kNoProducerId,
                                 int16_t expected_epoch = kNoProducerEpoch);

  // ---- Transactions
  // One error per partition (Kafka answers every partition with the same one):
  // INVALID_REQUEST for an empty id, INVALID_PRODUCER_ID_MAPPING for an unknown id or another
  // producer id, PRODUCER_FENCED for another epoch, CONCURRENT_TRANSACTIONS while a commit or
  // abort completes, COORDINATOR_LOAD_IN_PROGRESS while loading, or the append's error.
  // `client_version`: the transaction version of the request (2 when Produce v12+ or
  // TxnOffsetCommit v5+ adds a partition, transactions v2).
  std::vector<ErrorCode> add_partitions(const std::string& id, int64_t pid, int16_t epoch,
                                        const std::vector<TopicPartition>& tps,
                                        int16_t client_version = 0);
  // AddPartitionsToTxn v4+ verify_only: the same checks, then per partition NONE when it is
  // part of the open transaction, TRANSACTION_ABORTABLE when it is not (Kafka 3.8+).
  std::vector<ErrorCode> verify_partitions(const std::string& id, int64_t pid, int16_t epoch,
                                           const std::vector<TopicPartition>& tps) const;
  // Adds __consumer_offsets-<offsets_partition> to the transaction (Kafka's AddOffsetsToTxn).
  ErrorCode add_offsets(const std::string& id, int64_t pid, int16_t epoch,
                        int32_t offsets_partition);
  // Kafka's handleEndTransaction. A retried EndTxn of a completed commit (abort) answers NONE;
  // one of the other outcome, or any EndTxn with no open transaction, INVALID_TXN_STATE; a
  // retry while the same outcome is still being completed, CONCURRENT_TRANSACTIONS.
  ErrorCode end_txn(const std::string& id, int64_t pid, int16_t epoch, bool commit);

  // EndTxn v5+ (transactions v2, KIP-890): ending a transaction bumps the epoch, so the
  // markers fence the producer's earlier epoch; an exhausted epoch moves the producer to a new
  // producer id (epoch 0) once the transaction completes. An abort with no transaction open
  // is accepted (and bumps the epoch too). A retry is recognised by the epoch one below the
  // stored one (or by the previous producer id at the last epoch after a rotation) and
  // answered NONE with the current producer id and epoch. Kafka's table:
  //                   abort: retry / current      commit: retry / current
  //   Empty           PRODUCER_FENCED / bump      PRODUCER_FENCED / INVALID_TXN_STATE
  //   CompleteAbort   NONE / bump                 INVALID_TXN_STATE / INVALID_TXN_STATE
  //   CompleteCommit  INVALID_TXN_STATE / bump    NONE / INVALID_TXN_STATE
  // `producer_id`/`producer_epoch`: what the producer continues with (-1 on an error).
  struct EndTxnResult {
    ErrorCode error = ErrorCode::NONE;
    int64_t producer_id = kNoProducerId;
    int16_t producer_epoch = kNoProducerEpoch;
  };
  EndTxnResult end_txn_v2(const std::string& id, int64_t pid, int16_t epoch, bool commit);

  // Produce v12+ (transactions v2): adds `tp` to the open transaction of `transactional_id`
  // (starting one when none is open) and answers the error Produce gives, mapped as
  // check_transactional_produce maps them.
  ErrorCode add_partition_for_produce(const std::string& transactional_id, int64_t pid,
                                      int16_t epoch, const TopicPartition& tp);

  // For the broker's Produce check (KIP-890 verification): NONE when `tp` is part of the open
  // transaction of producer `pid` at `epoch`; otherwise the error Kafka's Produce answers after
  // verification: INVALID_PRODUCER_ID_MAPPING (unknown producer), INVALID_PRODUCER_EPOCH (the
  // coordinator's PRODUCER_FENCED, mapped as Kafka's AddPartitionsToTxnManager does),
  // NOT_ENOUGH_REPLICAS while the transaction completes (Kafka's mapping of
  // CONCURRENT_TRANSACTIONS and coordinator loading), and for a partition not in the
  // transaction INVALID_TXN_STATE, or TRANSACTION_ABORTABLE when `abortable_supported` (Produce
  // v11+ in Kafka 3.9).
  ErrorCode check_transactional_produce(int64_t pid, int16_t epoch, const TopicPartition& tp,
                                        bool abortable_supported = false) const;

  // The transaction.version in force (server/features.h): from 1, __transaction_state values
  // are written in their flexible version 1, which keeps the previous and next producer ids
  // and the client's transaction version.
  void set_transaction_version(int16_t level) { transaction_version_ = level; }

  // Aborts transactions Ongoing for longer than their timeout (bumping the epoch, so the
  // zombie is fenced, as Kafka does), writes markers that failed earlier again, and every
  // remove_expired_interval_ms removes transactional ids idle for transactional.id.expiration.ms.
  // Call it at next_deadline_ms() (markers that failed are tried again every
  // abort_check_interval_ms).
  void tick() override;
  // When tick() next has something to do; nullopt: nothing pending.
  std::optional<int64_t> next_deadline_ms() const override;
  // Called whenever a deadline was added (a transaction became Ongoing, markers wait to be
  // written again), so that the owner's one timer, armed at next_deadline_ms(), can move
  // earlier. Nothing else needs to tell the owner.
  void set_deadline_added(std::function<void()> f) { deadline_added_ = std::move(f); }

  // ---- CoordinatorStateMachine: loading and replay
  int32_t partition_count() const override { return static_cast<int32_t>(load_state_.size()); }
  // `coordinator_epoch` is the epoch the markers of this partition's transactions carry.
  void begin_load(int32_t partition, int32_t coordinator_epoch);
  void begin_load(int32_t partition) override { begin_load(partition, 0); }
  // One record of `partition` (value null: tombstone). Malformed records are counted and
  // skipped; keys of other versions are ignored. While loading, the latest record of each id
  // is kept for finish_load; afterwards it is installed at once.
  void replay(int32_t partition, const ReplayedRecord& record) override;
  // Markers are written to data partitions, never to __transaction_state.
  void replay_marker(int32_t, int64_t, bool) override {}
  void finish_load(int32_t partition) override;
  // Marks every partition loaded (no __transaction_state topic yet: nothing to load).
  void mark_all_loaded() override;
  bool loaded(int32_t partition) const;
  uint64_t skipped_records() const { return skipped_records_; }

  // ---- Administration
  struct TxnDescription {
    ErrorCode error = ErrorCode::NONE;
    std::string transactional_id;
    std::string state;
    int32_t timeout_ms = 0;
    int64_t start_time_ms = -1;
    int64_t producer_id = kNoProducerId;
    int16_t producer_epoch = kNoProducerEpoch;
    std::vector<TopicPartition> partitions;
  };
  // INVALID_REQUEST for an empty id, COORDINATOR_LOAD_IN_PROGRESS while loading,
  // TRANSACTIONAL_ID_NOT_FOUND for an unknown id.
  TxnDescription describe(const std::string& id) const;
  // Every transactional id (Dead ones excepted) whose state is one of `states` (Kafka's names,
  // case-sensitive; empty: any), whose producer id is one of `pids` (empty: any) and, when
  // `min_duration_ms` >= 0, whose transaction started more than `min_duration_ms` ago (as Kafka,
  // an id with no open transaction has start time -1 and so passes). Names that are no state go
  // to `unknown_states` when given.
  std::vector<TxnDescription> list(const std::vector<std::string>& states,
                                   const std::vector<int64_t>& pids, int64_t min_duration_ms,
                                   std::vector<std::string>* unknown_states) const;
  // COORDINATOR_LOAD_IN_PROGRESS while some partition is not loaded (Kafka's ListTransactions
  // error), else NONE.
  ErrorCode check_list() const;

  // Receives one line per state change ("transaction t: Ongoing, producer id 4, epoch 0, ...").
  using EventLog = std::function<void(const std::string& line)>;
  // With `every_change` false, only new epochs (Empty), aborts and removals are logged.
  void set_event_log(EventLog log, bool every_change = true) {
    event_log_ = std::move(log);
    log_every_change_ = every_change;
  }

  // The metadata of `id`, or null.
  const TransactionMetadata* metadata(const std::string& id) const;
  size_t size() const { return txns_.size(); }

 private:
  struct Entry {
    TransactionMetadata meta;
    // Partitions still waiting for their marker while Prepare{Commit,Abort}.
    std::set<TopicPartition> markers_left;
  };
  enum class LoadState : uint8_t { Unloaded, Loading, Loaded };

  Entry* find(const std::string& id);
  const Entry* find(const std::string& id) const;
  // Appends the record of `target` for its id and installs it; NONE or the mapped append error.
  ErrorCode transit(const TransactionMetadata& target);
  // Installs `m` as the metadata of its id (after its append, or when loading, which is no
  // state change and so is not logged).
  void install(const TransactionMetadata& m, bool log_change = true);
  void erase(const std::string& id);
  ErrorCode check_producer(const Entry* e, int64_t pid, int16_t epoch) const;
  // Ongoing -> (PrepareEpochFence) -> PrepareAbort with the epoch bumped, then the markers.
  // Once, for transactions v2 too (Kafka 4.4 does not bump it again for the abort).
  ErrorCode fence_and_abort(Entry& e);
  // Writes the markers left of a Prepare state and stores the Complete state when none is
  // left. NONE when completed.
  ErrorCode complete_transaction(const std::string& id);
  // Stores Prepare{Commit,Abort} of transactions v2 (epoch bumped, a next producer id when
  // it is exhausted) and completes it.
  EndTxnResult prepare_v2(const TransactionMetadata& current, bool commit);
  std::optional<int64_t> new_producer_id();
  void log_event(const TransactionMetadata& m);
  int32_t coordinator_epoch(const std::string& id) const;

  TxnConfig config_;
  const storage::Clock& clock_;
  CoordinatorLog& log_;
  TxnMarkerWriter& markers_;
  ProducerIdSource& producer_ids_;
  std::map<std::string, Entry, std::less<>> txns_;
  std::map<int64_t, std::string> by_producer_id_;
  // Ongoing transactions by the time they time out (start + timeout), earliest first.
  std::set<std::pair<int64_t, std::string>> timeouts_;
  // Transactions in a Prepare state whose markers or completion failed and wait for tick().
  std::set<std::string> incomplete_;
  std::vector<LoadState> load_state_;
  std::vector<int32_t> coordinator_epochs_;
  // The transition being appended: its replay installs it with these memory-only fields.
  std::optional<TransactionMetadata> pending_;
  // Latest metadata per id of the partitions being loaded (nullopt: tombstone).
  std::map<int32_t, std::map<std::string, std::optional<TransactionMetadata>>> loading_;
  int64_t next_expiration_check_ms_;
  std::function<void()> deadline_added_;
  uint64_t skipped_records_ = 0;
  int16_t transaction_version_ = 0;
  EventLog event_log_;
  bool log_every_change_ = true;
};

}  // namespace runnel::coordinator
