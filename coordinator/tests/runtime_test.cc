// The group and transaction coordinators together over runtimes in memory: a transaction that
// commits offsets (TxnOffsetCommit) is stopped after every one of its writes, as a crash would
// stop it, and both coordinators are rebuilt from what their logs hold. Whatever the step, the
// rebuilt state is the state the writes so far decide (the offsets commit once the
// PrepareCommit record is stored, never before), it reaches the same end as the uninterrupted
// run, and a second reload of the logs gives the same state again: one replay path for
// records and markers, at run time and at load.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "coordinator/group_coordinator.h"
#include "coordinator/tests/memory_log.h"
#include "coordinator/transaction_coordinator.h"

namespace runnel::coordinator {
namespace {

constexpr int32_t kOffsetsPartitions = 3;
constexpr int32_t kTxnPartitions = 2;
constexpr int32_t kTimeoutMs = 30000;

// One write of either log, in the order the coordinators made them.
struct Write {
  bool offsets = false;  // __consumer_offsets, else __transaction_state
  int32_t partition = 0;
  std::vector<MemoryLog::Stored> batch;
};

// A MemoryLog that also journals every write (a batch, or a marker) in `journal`.
class JournaledLog : public MemoryLog {
 public:
  JournaledLog(bool offsets, std::vector<Write>* journal) : offsets_(offsets), journal_(journal) {}
  ErrorCode append(int32_t partition, const std::vector<CoordinatorRecord>& records,
                   std::optional<ProducerRef> producer = std::nullopt) override {
    const size_t before = partitions[partition].size();
    ErrorCode e = MemoryLog::append(partition, records, producer);
    if (e == ErrorCode::NONE && journal_) {
      const auto& log = partitions[partition];
      journal_->push_back({offsets_, partition, {log.begin() + before, log.end()}});
    }
    return e;
  }
  void marker(int32_t partition, int64_t producer_id, bool commit) {
    write_marker(partition, producer_id, commit);
    if (journal_) journal_->push_back({offsets_, partition, {partitions[partition].back()}});
  }

 private:
  bool offsets_;
  std::vector<Write>* journal_;
};

// Markers for __consumer_offsets go to that log (and so to the group coordinator); those of
// data partitions are only counted.
class Markers : public TxnMarkerWriter {
 public:
  explicit Markers(JournaledLog& offsets) : offsets_(offsets) {}
  ErrorCode write_marker(const TopicPartition& tp, int64_t pid, int16_t, int32_t,
                         bool commit) override {
    if (tp.topic == kConsumerOffsetsTopic)
      offsets_.marker(tp.partition, pid, commit);
    else
      ++data_markers;
    return ErrorCode::NONE;
  }
  int data_markers = 0;

 private:
  JournaledLog& offsets_;
};

class Pids : public ProducerIdSource {
 public:
  std::optional<int64_t> next_producer_id() override { return next++; }
  int64_t next = 5000;
};

// Both coordinators over their logs.
struct Broker {
  explicit Broker(storage::ManualClock& clock, std::vector<Write>* journal = nullptr)
      : offsets(true, journal), txns_log(false, journal), markers(offsets) {
    CoordinatorConfig gc;
    gc.offsets_partitions = kOffsetsPartitions;
    gc.group.initial_rebalance_delay_ms = 0;
    groups = std::make_unique<GroupCoordinator>(gc, clock, offsets);
    offsets.attach(groups.get());
    TxnConfig tc;
    tc.log_partitions = kTxnPartitions;
    txns = std::make_unique<TransactionCoordinator>(tc, clock, txns_log, markers, pids);
    txns_log.attach(txns.get());
  }
  // Loads both from `journal`'s first `n` writes, the groups first (the transaction
  // coordinator completes what it finds prepared, and its markers reach loaded groups).
  void load(const std::vector<Write>& journal, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto& log = journal[i].offsets ? static_cast<MemoryLog&>(offsets) : txns_log;
      auto& p = log.partitions[journal[i].partition];
      p.insert(p.end(), journal[i].batch.begin(), journal[i].batch.end());
    }
    offsets.load_into(*groups);
    txns_log.load_into(*txns);
  }

  JournaledLog offsets;
  JournaledLog txns_log;
  Markers markers;
  Pids pids;
  std::unique_ptr<GroupCoordinator> groups;
  std::unique_ptr<TransactionCoordinator> txns;
};

// What a client sees of the transaction's offset and of the transaction.
struct Seen {
  std::optional<int64_t> committed;
  bool pending = false;
  TransactionState state = TransactionState::Dead;
  bool operator==(const Seen&) const = default;
};

Seen seen(Broker& b) {
  Seen s;
  if (auto o = b.groups->fetch_offset("g", "t", 0)) s.committed = o->offset;
  s.pending = b.groups->has_pending_offset("g", "t", 0);
  if (const auto* m = b.txns->metadata("tx")) s.state = m->state;
  return s;
}

// Runs the whole transaction: init, add t-0, add the group's offsets partition, commit the
// offset 42 in it, and commit.
void run_transaction(Broker& b) {
  auto init = b.txns->init_producer_id("tx", kTimeoutMs);
  ASSERT_EQ(init.error, ErrorCode::NONE);
  const int64_t pid = init.producer_id;
  const int16_t epoch = init.producer_epoch;
  ASSERT_EQ(b.txns->add_partitions("tx", pid, epoch, {{"t", 0}}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  ASSERT_EQ(b.txns->add_offsets("tx", pid, epoch, b.groups->partition_for("g")), ErrorCode::NONE);
  ASSERT_EQ(
      b.groups->commit_txn_offsets("g", pid, epoch, "", -1, std::nullopt, {{"t", 0, 42, -1, ""}}),
      std::vector<ErrorCode>{ErrorCode::NONE});
  ASSERT_EQ(b.txns->end_txn("tx", pid, epoch, true), ErrorCode::NONE);
}

TEST(CoordinatorRuntime, ACrashAfterAnyWriteOfATransactionReloadsToTheSameState) {
  storage::ManualClock clock{1'000'000};
  std::vector<Write> journal;
  Broker original(clock, &journal);
  original.groups->mark_all_loaded();
  original.txns->mark_all_loaded();
  run_transaction(original);
  const Seen done = seen(original);
  ASSERT_EQ(done, (Seen{42, false, TransactionState::CompleteCommit}));
  ASSERT_EQ(original.markers.data_markers, 1);
  // Where the outcome is decided: the PrepareCommit record.
  size_t decided = journal.size();
  for (size_t i = 0; i < journal.size(); ++i) {
    const auto& w = journal[i];
    if (w.offsets || !w.batch.at(0).record.value) continue;
    auto v = decode_txn_log_value(*w.batch.at(0).record.value);
    if (v && v->status == TransactionState::PrepareCommit && decided == journal.size()) decided = i;
  }
  ASSERT_LT(decided, journal.size());

  for (size_t n = 0; n <= journal.size(); ++n) {
    SCOPED_TRACE("crash after write " + std::to_string(n) + " of " +
                 std::to_string(journal.size()));
    Broker restarted(clock);
    restarted.load(journal, n);
    Seen after = seen(restarted);
    if (n > decided) {
      // Decided: loading completed the commit (markers written again).
      EXPECT_EQ(after, done);
    } else {
      // Not decided: nothing is committed; a transaction still open times out and aborts.
      EXPECT_FALSE(after.committed);
      clock.advance(kTimeoutMs + 1);
      restarted.txns->tick();
      after = seen(restarted);
      EXPECT_FALSE(after.committed);
      EXPECT_FALSE(after.pending);
    }
    // What the restarted coordinators wrote since is the truth of a second restart, too.
    std::vector<Write> all;
    for (const auto& [p, log] : restarted.offsets.partitions) all.push_back({true, p, log});
    for (const auto& [p, log] : restarted.txns_log.partitions) all.push_back({false, p, log});
    Broker again(clock);
    again.load(all, all.size());
    EXPECT_EQ(seen(again), after);
  }
}

TEST(CoordinatorRuntime, AFailedAppendChangesNoCoordinator) {
  storage::ManualClock clock{1'000'000};
  Broker b(clock);
  b.groups->mark_all_loaded();
  b.txns->mark_all_loaded();
  auto init = b.txns->init_producer_id("tx", kTimeoutMs);
  ASSERT_EQ(init.error, ErrorCode::NONE);
  const auto* before = b.txns->metadata("tx");
  ASSERT_NE(before, nullptr);
  const TransactionMetadata txn_before = *before;

  // A transaction step whose record cannot be stored.
  b.txns_log.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_EQ(b.txns->add_partitions("tx", init.producer_id, init.producer_epoch, {{"t", 0}}),
            std::vector<ErrorCode>{ErrorCode::NOT_COORDINATOR});
  EXPECT_EQ(*b.txns->metadata("tx"), txn_before);

  // An offset commit, plain and transactional.
  b.offsets.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_NE(b.groups->commit_offsets("g", "", -1, std::nullopt, {{"t", 0, 7, -1, "", -1}}).at(0),
            ErrorCode::NONE);
  EXPECT_FALSE(b.groups->fetch_offset("g", "t", 0));
  b.offsets.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_NE(b.groups
                ->commit_txn_offsets("g", init.producer_id, init.producer_epoch, "", -1,
                                     std::nullopt, {{"t", 0, 9, -1, ""}})
                .at(0),
            ErrorCode::NONE);
  EXPECT_FALSE(b.groups->has_pending_offset("g", "t", 0));
  EXPECT_EQ(b.groups->pending_txn_count(), 0u);

  // Nothing of it is in the logs either: a reload sees the same.
  Broker again(clock);
  std::vector<Write> all;
  for (const auto& [p, log] : b.offsets.partitions) all.push_back({true, p, log});
  for (const auto& [p, log] : b.txns_log.partitions) all.push_back({false, p, log});
  again.load(all, all.size());
  EXPECT_EQ(
      *again.txns->metadata("tx"),
      (TransactionMetadata{txn_before.transactional_id, txn_before.producer_id,
                           txn_before.last_producer_id, txn_before.producer_epoch, kNoProducerEpoch,
                           txn_before.timeout_ms, txn_before.state, txn_before.partitions,
                           txn_before.start_time_ms, txn_before.last_update_time_ms}));
  EXPECT_FALSE(again.groups->fetch_offset("g", "t", 0));
  EXPECT_EQ(again.groups->pending_txn_count(), 0u);
}

}  // namespace
}  // namespace runnel::coordinator
