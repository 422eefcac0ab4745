#include "coordinator/transaction_coordinator.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/tests/memory_log.h"

namespace runnel::coordinator {
namespace {

using S = TransactionState;

struct StoredRecord {
  int32_t partition;
  TxnLogRecord record;
};

// __transaction_state in memory; `stored` lists every record in the order of its appends.
class FakeLog : public MemoryLog {
 public:
  ErrorCode append(int32_t partition, const std::vector<TxnLogRecord>& records,
                   std::optional<ProducerRef> producer = std::nullopt) override {
    if (fail != ErrorCode::NONE) {
      ++calls;
      return fail;
    }
    for (const auto& r : records) stored.push_back({partition, r});
    return MemoryLog::append(partition, records, producer);
  }
  // The decoded value of the i-th stored record (nullopt: tombstone).
  std::optional<TxnLogValue> value(size_t i) const {
    if (!stored.at(i).record.value) return std::nullopt;
    return decode_txn_log_value(*stored.at(i).record.value);
  }
  std::vector<S> states() const {
    std::vector<S> out;
    for (size_t i = 0; i < stored.size(); ++i)
      if (auto v = value(i)) out.push_back(v->status);
    return out;
  }
  std::vector<StoredRecord> stored;
  ErrorCode fail = ErrorCode::NONE;
};

// Replays one record as loading does.
void replay(TransactionCoordinator& c, int32_t p, std::span<const uint8_t> key,
            std::optional<std::span<const uint8_t>> value) {
  ReplayedRecord r;
  r.key = key;
  r.value = value;
  c.replay(p, r);
}

struct Marker {
  TopicPartition tp;
  int64_t pid;
  int16_t epoch;
  int32_t coordinator_epoch;
  bool commit;
};

class FakeMarkers : public TxnMarkerWriter {
 public:
  ErrorCode write_marker(const TopicPartition& tp, int64_t pid, int16_t epoch, int32_t ce,
                         bool commit) override {
    auto it = failing.find(tp);
    if (it != failing.end()) return it->second;
    written.push_back({tp, pid, epoch, ce, commit});
    return ErrorCode::NONE;
  }
  std::vector<Marker> written;
  std::map<TopicPartition, ErrorCode> failing;
};

class FakePids : public ProducerIdSource {
 public:
  std::optional<int64_t> next_producer_id() override {
    if (exhausted) return std::nullopt;
    return next++;
  }
  int64_t next = 1000;
  bool exhausted = false;
};

const TopicPartition kT0{"t", 0};
const TopicPartition kT1{"t", 1};
const TopicPartition kU0{"u", 0};

class TxnCoordinatorTest : public ::testing::Test {
 protected:
  TxnCoordinatorTest() {
    config.log_partitions = 4;
    config.max_timeout_ms = 60000;
    config.id_expiration_ms = 100000;
    config.remove_expired_interval_ms = 50000;
    c = make();
    c->mark_all_loaded();
  }

  std::unique_ptr<TransactionCoordinator> make() {
    auto out = std::make_unique<TransactionCoordinator>(config, clock, log, markers, pids);
    out->set_event_log([this](const std::string& line) { events.push_back(line); });
    log.attach(out.get());  // the newest coordinator is the one appends replay into
    return out;
  }

  // A second coordinator that loads every partition from what the first one stored.
  std::unique_ptr<TransactionCoordinator> reload(int32_t coordinator_epoch = 0) {
    auto fresh = make();
    const auto stored = log.stored;
    for (int32_t p = 0; p < config.log_partitions; ++p) {
      fresh->begin_load(p, coordinator_epoch);
      for (const auto& r : stored) {
        if (r.partition != p) continue;
        std::optional<std::span<const uint8_t>> value;
        if (r.record.value) value = std::span<const uint8_t>(*r.record.value);
        replay(*fresh, p, r.record.key, value);
      }
      fresh->finish_load(p);
    }
    return fresh;
  }

  TransactionCoordinator::InitPidResult init(const std::string& id, int32_t timeout = 30000) {
    return c->init_producer_id(id, timeout, -1, -1);
  }

  // Producer 50 of transactional id "a" at `epoch` in `state`, as a test stores it before a
  // reload (store()).
  TransactionMetadata stored_producer(int16_t epoch, S state) const {
    TransactionMetadata m;
    m.transactional_id = "a";
    m.producer_id = 50;
    m.producer_epoch = epoch;
    m.timeout_ms = 30000;
    m.state = state;
    m.last_update_time_ms = clock.now_ms();
    return m;
  }
  // Puts the record of `m` in the log (value `version`), for the next reload().
  void store(const TransactionMetadata& m, int16_t version = 0) {
    log.stored.push_back({c->partition_for(m.transactional_id),
                          {encode_txn_log_key(m.transactional_id),
                           encode_txn_log_value(txn_log_value_of(m), version)}});
  }

  S state(const std::string& id) const {
    const TransactionMetadata* m = c->metadata(id);
    EXPECT_NE(m, nullptr) << id;
    return m ? m->state : S::Dead;
  }

  std::vector<ErrorCode> errs(size_t n, ErrorCode e) { return std::vector<ErrorCode>(n, e); }

  storage::ManualClock clock{1'000'000};
  FakeLog log;
  FakeMarkers markers;
  FakePids pids;
  TxnConfig config;
  std::vector<std::string> events;
  std::unique_ptr<TransactionCoordinator> c;
};

// ---- InitProducerId

TEST_F(TxnCoordinatorTest, NullIdGetsAFreshProducerIdAndNothingIsStored) {
  auto r = c->init_producer_id(std::nullopt, 0, -1, -1);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(c->init_producer_id(std::nullopt, 0, -1, -1).producer_id, 1001);
  EXPECT_EQ(log.calls, 0);
  EXPECT_EQ(c->size(), 0u);
}

TEST_F(TxnCoordinatorTest, InitChecksIdTimeoutAndExpectedPair) {
  EXPECT_EQ(c->init_producer_id(std::string(), 1000, -1, -1).error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(init("a", 0).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(init("a", -5).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(init("a", 60001).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(c->init_producer_id("a", 1000, 5, -1).error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c->init_producer_id("a", 1000, -1, 3).error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(log.calls, 0);
  EXPECT_EQ(init("a", 60000).error, ErrorCode::NONE);
}

TEST_F(TxnCoordinatorTest, NewIdStartsAtEpochZeroAndEachInitBumps) {
  auto r = init("a");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  ASSERT_EQ(log.stored.size(), 1u);
  EXPECT_EQ(log.stored[0].partition, c->partition_for("a"));
  EXPECT_EQ(log.stored[0].record.key, encode_txn_log_key("a"));
  auto v = log.value(0);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, S::Empty);
  EXPECT_EQ(v->producer_id, 1000);
  EXPECT_EQ(v->producer_epoch, 0);
  EXPECT_EQ(v->transaction_timeout_ms, 30000);
  EXPECT_FALSE(v->partitions);
  EXPECT_EQ(v->start_timestamp_ms, -1);
  EXPECT_EQ(v->last_update_timestamp_ms, clock.now_ms());

  auto r2 = init("a", 20000);
  EXPECT_EQ(r2.error, ErrorCode::NONE);
  EXPECT_EQ(r2.producer_id, 1000);
  EXPECT_EQ(r2.producer_epoch, 1);
  EXPECT_EQ(c->metadata("a")->timeout_ms, 20000);
  EXPECT_EQ(pids.next, 1001);  // no second id
}

TEST_F(TxnCoordinatorTest, NoProducerIdAvailableIsRetriable) {
  pids.exhausted = true;
  EXPECT_EQ(init("a").error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(c->init_producer_id(std::nullopt, 0, -1, -1).error,
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(c->metadata("a"), nullptr);
  EXPECT_EQ(log.calls, 0);
}

TEST_F(TxnCoordinatorTest, ExpectedProducerIdAndEpochKip360) {
  auto r = init("a");
  ASSERT_EQ(r.producer_epoch, 0);
  // The current producer bumps its own epoch.
  auto b = c->init_producer_id("a", 30000, r.producer_id, 0);
  EXPECT_EQ(b.error, ErrorCode::NONE);
  EXPECT_EQ(b.producer_epoch, 1);
  // Its answer was lost: the retry gets the same epoch.
  auto retry = c->init_producer_id("a", 30000, r.producer_id, 0);
  EXPECT_EQ(retry.error, ErrorCode::NONE);
  EXPECT_EQ(retry.producer_id, r.producer_id);
  EXPECT_EQ(retry.producer_epoch, 1);
  // Another epoch, or another producer id, is fenced.
  EXPECT_EQ(c->init_producer_id("a", 30000, r.producer_id, 7).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(c->init_producer_id("a", 30000, 4242, 1).error, ErrorCode::PRODUCER_FENCED);
  // A new producer without expectations resets the last epoch: the old retry is fenced.
  EXPECT_EQ(init("a").producer_epoch, 2);
  EXPECT_EQ(c->init_producer_id("a", 30000, r.producer_id, 1).error, ErrorCode::PRODUCER_FENCED);
  // A brand-new id accepts any expectation (the producer recovers from UNKNOWN_PRODUCER_ID).
  auto fresh = c->init_producer_id("b", 30000, 77, 3);
  EXPECT_EQ(fresh.error, ErrorCode::NONE);
  EXPECT_EQ(fresh.producer_epoch, 0);
}

// ---- AddPartitions / AddOffsets

TEST_F(TxnCoordinatorTest, AddPartitionsStartsTheTransaction) {
  auto r = init("a");
  clock.advance(10);
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0, kT1}), errs(2, ErrorCode::NONE));
  EXPECT_EQ(state("a"), S::Ongoing);
  const int64_t start = clock.now_ms();
  EXPECT_EQ(c->metadata("a")->start_time_ms, start);
  EXPECT_EQ(c->metadata("a")->partitions, (std::set<TopicPartition>{kT0, kT1}));
  auto v = log.value(1);
  ASSERT_TRUE(v && v->partitions);
  EXPECT_EQ(*v->partitions, (std::vector<TxnLogPartitions>{{"t", {0, 1}}}));
  // Partitions already in the transaction: answered at once, nothing stored.
  const int calls = log.calls;
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kT1}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(log.calls, calls);
  // More partitions keep the start time.
  clock.advance(10);
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kU0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(c->metadata("a")->start_time_ms, start);
  EXPECT_EQ(c->metadata("a")->last_update_time_ms, clock.now_ms());
  EXPECT_EQ(c->add_offsets("a", r.producer_id, 0, 7), ErrorCode::NONE);
  EXPECT_TRUE(c->metadata("a")->partitions.count({"__consumer_offsets", 7}));
}

TEST_F(TxnCoordinatorTest, AddPartitionsErrors) {
  auto r = init("a");
  EXPECT_EQ(c->add_partitions("", r.producer_id, 0, {kT0, kT1}),
            errs(2, ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(c->add_partitions("nope", r.producer_id, 0, {kT0}),
            errs(1, ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  EXPECT_EQ(c->add_partitions("a", r.producer_id + 1, 0, {kT0}),
            errs(1, ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 1, {kT0}), errs(1, ErrorCode::PRODUCER_FENCED));
  EXPECT_EQ(c->add_offsets("a", r.producer_id, 3, 1), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(c->add_offsets("nope", r.producer_id, 0, 1), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(state("a"), S::Empty);
  EXPECT_EQ(log.calls, 1);
}

// ---- EndTxn

TEST_F(TxnCoordinatorTest, CommitWritesMarkersToEveryPartitionAndTheOffsetsPartition) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0, kT1}), errs(2, ErrorCode::NONE));
  ASSERT_EQ(c->add_offsets("a", r.producer_id, 0, 7), ErrorCode::NONE);
  clock.advance(5);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(state("a"), S::CompleteCommit);
  ASSERT_EQ(markers.written.size(), 3u);
  std::set<TopicPartition> marked;
  for (const auto& m : markers.written) {
    marked.insert(m.tp);
    EXPECT_TRUE(m.commit);
    EXPECT_EQ(m.pid, r.producer_id);
    EXPECT_EQ(m.epoch, 0);
    EXPECT_EQ(m.coordinator_epoch, 0);
  }
  EXPECT_EQ(marked, (std::set<TopicPartition>{kT0, kT1, {"__consumer_offsets", 7}}));
  EXPECT_EQ(log.states(), (std::vector<S>{S::Empty, S::Ongoing, S::Ongoing, S::PrepareCommit,
                                          S::CompleteCommit}));
  // PrepareCommit lists the partitions; CompleteCommit lists none.
  EXPECT_EQ(log.value(3)->partitions->size(), 2u);
  EXPECT_TRUE(log.value(4)->partitions->empty());
  EXPECT_TRUE(c->metadata("a")->partitions.empty());

  // Retries of the completed commit succeed; an abort of it does not.
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(markers.written.size(), 3u);

  // The next transaction starts from CompleteCommit.
  clock.advance(5);
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kU0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(state("a"), S::Ongoing);
  EXPECT_EQ(c->metadata("a")->start_time_ms, clock.now_ms());
  EXPECT_EQ(c->metadata("a")->partitions, (std::set<TopicPartition>{kU0}));
}

TEST_F(TxnCoordinatorTest, AbortWritesAbortMarkersAndRetriesAreAnswered) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::NONE);
  EXPECT_EQ(state("a"), S::CompleteAbort);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_FALSE(markers.written[0].commit);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::NONE);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(log.states(),
            (std::vector<S>{S::Empty, S::Ongoing, S::PrepareAbort, S::CompleteAbort}));
}

TEST_F(TxnCoordinatorTest, EndTxnErrors) {
  auto r = init("a");
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::INVALID_TXN_STATE);  // Empty
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::INVALID_TXN_STATE);
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(c->end_txn("", r.producer_id, 0, true), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c->end_txn("x", r.producer_id, 0, true), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(c->end_txn("a", r.producer_id + 1, 0, true), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 1, true), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(c->end_txn("a", r.producer_id, -1, true), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(state("a"), S::Ongoing);
  EXPECT_TRUE(markers.written.empty());
}

TEST_F(TxnCoordinatorTest, FailedMarkerLeavesThePrepareStateUntilTickWritesItAgain) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0, kT1, kU0}), errs(3, ErrorCode::NONE));
  markers.failing[kT1] = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  markers.failing[kU0] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;  // deleted: skipped
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(state("a"), S::PrepareCommit);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_EQ(markers.written[0].tp, kT0);
  // While it completes: retries wait, the other outcome is refused, nothing else may start.
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}),
            errs(1, ErrorCode::CONCURRENT_TRANSACTIONS));
  EXPECT_EQ(init("a").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  ASSERT_TRUE(c->next_deadline_ms());
  EXPECT_LE(*c->next_deadline_ms(), clock.now_ms() + config.abort_check_interval_ms);

  c->tick();  // still failing
  EXPECT_EQ(state("a"), S::PrepareCommit);
  markers.failing.erase(kT1);
  c->tick();
  EXPECT_EQ(state("a"), S::CompleteCommit);
  ASSERT_EQ(markers.written.size(), 2u);
  EXPECT_EQ(markers.written[1].tp, kT1);  // only the partition that missed its marker
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
}

// ---- Fencing

TEST_F(TxnCoordinatorTest, SecondInitFencesTheZombieAndAbortsItsTransaction) {
  auto zombie = init("a");
  ASSERT_EQ(c->add_partitions("a", zombie.producer_id, 0, {kT0, kU0}), errs(2, ErrorCode::NONE));
  auto fresh = init("a");
  ASSERT_EQ(fresh.error, ErrorCode::NONE);
  EXPECT_EQ(fresh.producer_id, zombie.producer_id);
  EXPECT_EQ(fresh.producer_epoch, 2);  // 1 fenced the zombie and aborted; 2 is the new producer
  ASSERT_EQ(markers.written.size(), 2u);
  for (const auto& m : markers.written) {
    EXPECT_FALSE(m.commit);
    EXPECT_EQ(m.epoch, 1);
  }
  EXPECT_EQ(log.states(),
            (std::vector<S>{S::Empty, S::Ongoing, S::PrepareAbort, S::CompleteAbort, S::Empty}));
  EXPECT_EQ(log.value(2)->producer_epoch, 1);
  EXPECT_EQ(state("a"), S::Empty);
  // The zombie is fenced everywhere.
  EXPECT_EQ(c->end_txn("a", zombie.producer_id, 0, true), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(c->add_partitions("a", zombie.producer_id, 0, {kT0}),
            errs(1, ErrorCode::PRODUCER_FENCED));
  EXPECT_EQ(c->check_transactional_produce(zombie.producer_id, 0, kT0),
            ErrorCode::INVALID_PRODUCER_EPOCH);
  // The new producer works.
  EXPECT_EQ(c->add_partitions("a", fresh.producer_id, 2, {kT0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(c->end_txn("a", fresh.producer_id, 2, true), ErrorCode::NONE);
}

TEST_F(TxnCoordinatorTest, FenceWhoseAbortCannotCompleteAnswersConcurrentTransactions) {
  auto zombie = init("a");
  ASSERT_EQ(c->add_partitions("a", zombie.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  markers.failing[kT0] = ErrorCode::REQUEST_TIMED_OUT;
  EXPECT_EQ(init("a").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(state("a"), S::PrepareAbort);
  EXPECT_EQ(c->metadata("a")->producer_epoch, 1);
  EXPECT_EQ(c->end_txn("a", zombie.producer_id, 0, false), ErrorCode::PRODUCER_FENCED);
  markers.failing.clear();
  c->tick();
  EXPECT_EQ(state("a"), S::CompleteAbort);
  auto r = init("a");
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_epoch, 2);
}

TEST_F(TxnCoordinatorTest, TickAbortsTimedOutTransactionsAndFencesTheProducer) {
  auto r = init("a", 1000);
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  const int64_t start = clock.now_ms();
  ASSERT_TRUE(c->next_deadline_ms());
  EXPECT_EQ(*c->next_deadline_ms(), start + 1001);
  clock.advance(1000);
  c->tick();
  EXPECT_EQ(state("a"), S::Ongoing);  // not yet longer than the timeout
  clock.advance(1);
  c->tick();
  EXPECT_EQ(state("a"), S::CompleteAbort);
  EXPECT_EQ(c->metadata("a")->producer_epoch, 1);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_FALSE(markers.written[0].commit);
  EXPECT_EQ(markers.written[0].epoch, 1);
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::PRODUCER_FENCED);
  // The producer re-initialises and goes on.
  auto again = init("a", 1000);
  EXPECT_EQ(again.producer_epoch, 2);
}

// The owner's one timer waits for next_deadline_ms(); every deadline added tells it, so a
// sooner one (a transaction with a short timeout, markers to retry) never waits for a poll.
TEST_F(TxnCoordinatorTest, EveryAddedDeadlineIsReported) {
  int added = 0;
  c->set_deadline_added([&] { ++added; });
  auto slow = init("slow", 20000);
  EXPECT_EQ(added, 0);  // Empty: no deadline
  ASSERT_EQ(c->add_partitions("slow", slow.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(added, 1);
  const int64_t start = clock.now_ms();
  EXPECT_EQ(*c->next_deadline_ms(), start + 20001);
  auto fast = init("fast", 100);
  ASSERT_EQ(c->add_partitions("fast", fast.producer_id, 0, {kT1}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(added, 2);
  EXPECT_EQ(*c->next_deadline_ms(), start + 101);  // the timer must move earlier
  markers.failing[kT1] = ErrorCode::REQUEST_TIMED_OUT;
  EXPECT_EQ(c->end_txn("fast", fast.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(added, 3);  // a marker to write again
  EXPECT_EQ(*c->next_deadline_ms(), clock.now_ms() + config.abort_check_interval_ms);
}

// ---- Epoch exhaustion

TEST_F(TxnCoordinatorTest, ExhaustedEpochGetsANewProducerId) {
  // Start from a stored producer at epoch 32765.
  TransactionMetadata m = stored_producer(32765, S::Empty);
  store(m);
  c = reload();
  auto r = init("a");
  EXPECT_EQ(r.producer_id, 50);
  EXPECT_EQ(r.producer_epoch, 32766);
  auto rotated = init("a");
  EXPECT_EQ(rotated.error, ErrorCode::NONE);
  EXPECT_EQ(rotated.producer_id, 1000);
  EXPECT_EQ(rotated.producer_epoch, 0);
  EXPECT_EQ(c->metadata("a")->last_producer_id, 50);
  // No expected epoch was given: the old producer's retry is fenced.
  EXPECT_EQ(c->init_producer_id("a", 30000, 50, 32766).error, ErrorCode::PRODUCER_FENCED);
}

TEST_F(TxnCoordinatorTest, RotationRequestedWithExpectedEpochCanBeRetried) {
  TransactionMetadata m = stored_producer(32766, S::CompleteCommit);
  store(m);
  c = reload();
  auto rotated = c->init_producer_id("a", 30000, 50, 32766);
  ASSERT_EQ(rotated.error, ErrorCode::NONE);
  EXPECT_EQ(rotated.producer_id, 1000);
  EXPECT_EQ(rotated.producer_epoch, 0);
  auto retry = c->init_producer_id("a", 30000, 50, 32766);
  EXPECT_EQ(retry.error, ErrorCode::NONE);
  EXPECT_EQ(retry.producer_id, 1000);
  EXPECT_EQ(retry.producer_epoch, 0);
  EXPECT_EQ(pids.next, 1001);  // the retry allocated nothing
}

TEST_F(TxnCoordinatorTest, FencingAtTheLastUsableEpochRotatesTheProducerId) {
  TransactionMetadata m = stored_producer(32766, S::Ongoing);
  m.partitions = {kT0};
  m.start_time_ms = clock.now_ms();
  store(m);
  c = reload();
  auto r = init("a");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_EQ(markers.written[0].pid, 50);
  EXPECT_EQ(markers.written[0].epoch, 32767);
}

// ---- Failing appends

TEST_F(TxnCoordinatorTest, FailingAppendChangesNothing) {
  log.fail = ErrorCode::NOT_ENOUGH_REPLICAS;
  EXPECT_EQ(init("a").error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(c->metadata("a"), nullptr);
  log.fail = ErrorCode::NONE;
  auto r = init("a");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  const TransactionMetadata before = *c->metadata("a");

  log.fail = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  EXPECT_EQ(init("a").error, ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NOT_COORDINATOR));
  EXPECT_EQ(*c->metadata("a"), before);

  log.fail = ErrorCode::NONE;
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  const TransactionMetadata ongoing = *c->metadata("a");
  log.fail = ErrorCode::MESSAGE_TOO_LARGE;
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(*c->metadata("a"), ongoing);
  EXPECT_TRUE(markers.written.empty());
  // A fence whose append fails bumps nothing either.
  log.fail = ErrorCode::REQUEST_TIMED_OUT;
  EXPECT_EQ(init("a").error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(*c->metadata("a"), ongoing);
  log.fail = ErrorCode::NONE;
  EXPECT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(state("a"), S::CompleteCommit);
}

TEST_F(TxnCoordinatorTest, FailingCompleteRecordIsWrittenByTick) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  // The Prepare record is stored, the Complete one is not.
  struct FailSecond : CoordinatorLog {
    FakeLog& inner;
    int n = 0;
    explicit FailSecond(FakeLog& l) : inner(l) {}
    ErrorCode append(int32_t p, const std::vector<TxnLogRecord>& rs,
                     std::optional<ProducerRef> producer) override {
      return ++n == 2 ? ErrorCode::NOT_ENOUGH_REPLICAS : inner.append(p, rs, producer);
    }
  };
  FailSecond flaky(log);
  // Rebuild a coordinator over the flaky log from what was stored.
  auto fresh = std::make_unique<TransactionCoordinator>(config, clock, flaky, markers, pids);
  log.attach(fresh.get());
  for (int32_t p = 0; p < config.log_partitions; ++p) {
    fresh->begin_load(p);
    for (const auto& s : log.stored)
      if (s.partition == p)
        replay(*fresh, p, s.record.key, std::span<const uint8_t>(*s.record.value));
    fresh->finish_load(p);
  }
  EXPECT_EQ(fresh->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(fresh->metadata("a")->state, S::PrepareCommit);
  EXPECT_EQ(markers.written.size(), 1u);
  fresh->tick();
  EXPECT_EQ(fresh->metadata("a")->state, S::CompleteCommit);
  EXPECT_EQ(markers.written.size(), 1u);  // markers were all written already
}

// ---- Loading

TEST_F(TxnCoordinatorTest, ReloadRebuildsTheSameState) {
  auto a = init("a");
  auto b = init("b", 15000);
  ASSERT_EQ(c->add_partitions("a", a.producer_id, 0, {kT0, kU0}), errs(2, ErrorCode::NONE));
  ASSERT_EQ(c->add_partitions("b", b.producer_id, 0, {kT1}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->end_txn("b", b.producer_id, 0, false), ErrorCode::NONE);
  auto d = reload();
  for (const std::string id : {"a", "b"}) {
    ASSERT_NE(d->metadata(id), nullptr) << id;
    TransactionMetadata want = *c->metadata(id);
    want.last_producer_epoch = kNoProducerEpoch;  // kept in memory only
    EXPECT_EQ(*d->metadata(id), want) << id;
  }
  // The reloaded coordinator carries on.
  EXPECT_EQ(d->end_txn("a", a.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(d->metadata("a")->state, S::CompleteCommit);
  EXPECT_EQ(d->check_transactional_produce(b.producer_id, 0, kT1), ErrorCode::INVALID_TXN_STATE);
}

TEST_F(TxnCoordinatorTest, PrepareCommitFoundAtLoadIsCompleted) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0, kT1}), errs(2, ErrorCode::NONE));
  markers.failing[kT0] = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  markers.failing[kT1] = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  ASSERT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  ASSERT_EQ(state("a"), S::PrepareCommit);
  markers.failing.clear();
  // A restart: the new coordinator loads the PrepareCommit record and finishes the commit.
  auto d = reload(/*coordinator_epoch=*/5);
  EXPECT_EQ(d->metadata("a")->state, S::CompleteCommit);
  ASSERT_EQ(markers.written.size(), 2u);
  for (const auto& m : markers.written) {
    EXPECT_TRUE(m.commit);
    EXPECT_EQ(m.coordinator_epoch, 5);
    EXPECT_EQ(m.epoch, 0);
  }
  EXPECT_EQ(log.states().back(), S::CompleteCommit);
}

TEST_F(TxnCoordinatorTest, RequestsWaitForTheirPartitionToLoad) {
  auto d = make();
  const int32_t p = d->partition_for("a");
  EXPECT_EQ(d->check_id("a"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(d->check_list(), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(d->init_producer_id("a", 1000, -1, -1).error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(d->end_txn("a", 1, 0, true), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(d->describe("a").error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  d->begin_load(p);
  EXPECT_FALSE(d->loaded(p));
  d->finish_load(p);
  EXPECT_TRUE(d->loaded(p));
  EXPECT_EQ(d->check_id("a"), ErrorCode::NONE);
  EXPECT_EQ(d->init_producer_id("a", 1000, -1, -1).error, ErrorCode::NONE);
  d->mark_all_loaded();
  EXPECT_EQ(d->check_list(), ErrorCode::NONE);
}

TEST_F(TxnCoordinatorTest, MalformedRecordsAreSkippedAndTombstonesRemove) {
  auto r = init("a");
  init("b");
  auto d = make();
  const int32_t p = 0;
  d->begin_load(p);
  const protocol::Bytes key_a = encode_txn_log_key("a");
  const protocol::Bytes value_a = *log.stored[0].record.value;
  replay(*d, p, key_a, std::span<const uint8_t>(value_a));
  replay(*d, p, protocol::Bytes{0x00}, std::span<const uint8_t>(value_a));              // bad key
  replay(*d, p, protocol::Bytes{0x00, 0x01, 0x00}, std::span<const uint8_t>(value_a));  // v1 key
  replay(*d, p, encode_txn_log_key("c"), std::span<const uint8_t>(protocol::Bytes{1, 2, 3}));
  TxnLogValue fence = *decode_txn_log_value(value_a);
  fence.status = S::PrepareEpochFence;
  const protocol::Bytes fence_bytes = encode_txn_log_value(fence);
  replay(*d, p, encode_txn_log_key("d"), std::span<const uint8_t>(fence_bytes));
  // "b" is stored and then removed by a tombstone; "e" by a Dead record.
  replay(*d, p, encode_txn_log_key("b"), std::span<const uint8_t>(value_a));
  replay(*d, p, encode_txn_log_key("b"), std::nullopt);
  TxnLogValue dead = *decode_txn_log_value(value_a);
  dead.status = S::Dead;
  const protocol::Bytes dead_bytes = encode_txn_log_value(dead);
  replay(*d, p, encode_txn_log_key("e"), std::span<const uint8_t>(value_a));
  replay(*d, p, encode_txn_log_key("e"), std::span<const uint8_t>(dead_bytes));
  d->finish_load(p);
  EXPECT_EQ(d->skipped_records(), 4u);
  ASSERT_NE(d->metadata("a"), nullptr);
  EXPECT_EQ(d->metadata("a")->producer_id, r.producer_id);
  EXPECT_EQ(d->metadata("b"), nullptr);
  EXPECT_EQ(d->metadata("c"), nullptr);
  EXPECT_EQ(d->metadata("d"), nullptr);
  EXPECT_EQ(d->metadata("e"), nullptr);
}

// ---- Expiration

TEST_F(TxnCoordinatorTest, IdleTransactionalIdsExpire) {
  auto a = init("a");
  auto b = init("b");
  ASSERT_EQ(c->add_partitions("b", b.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  clock.advance(config.remove_expired_interval_ms);
  c->tick();  // not idle long enough
  EXPECT_NE(c->metadata("a"), nullptr);
  // Keep "b" alive: it times out, is aborted, and so was updated recently.
  clock.advance(config.id_expiration_ms - 1);
  c->tick();
  EXPECT_EQ(c->metadata("a"), nullptr);
  EXPECT_EQ(c->describe("a").error, ErrorCode::TRANSACTIONAL_ID_NOT_FOUND);
  ASSERT_NE(c->metadata("b"), nullptr);
  EXPECT_EQ(state("b"), S::CompleteAbort);
  // The tombstone is stored under the id's key on its partition.
  bool tombstone = false;
  for (const auto& s : log.stored)
    if (s.record.key == encode_txn_log_key("a") && !s.record.value) {
      tombstone = true;
      EXPECT_EQ(s.partition, c->partition_for("a"));
    }
  EXPECT_TRUE(tombstone);
  // The id starts over with a new producer id.
  auto again = init("a");
  EXPECT_NE(again.producer_id, a.producer_id);
  EXPECT_EQ(again.producer_epoch, 0);
  // And a reload does not bring the expired id back.
  log.fail = ErrorCode::NONE;
  auto d = reload();
  EXPECT_EQ(d->metadata("a")->producer_id, again.producer_id);
}

TEST_F(TxnCoordinatorTest, ExpirationNeedsTheTombstoneStored) {
  init("a");
  clock.advance(config.id_expiration_ms + config.remove_expired_interval_ms);
  log.fail = ErrorCode::NOT_ENOUGH_REPLICAS;
  c->tick();
  EXPECT_NE(c->metadata("a"), nullptr);
}

// ---- Verification and Produce checks

TEST_F(TxnCoordinatorTest, VerifyPartitionsAndProduceCheck) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  EXPECT_EQ(c->verify_partitions("a", r.producer_id, 0, {kT0, kT1}),
            (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::TRANSACTION_ABORTABLE}));
  EXPECT_EQ(c->verify_partitions("a", r.producer_id, 1, {kT0}),
            errs(1, ErrorCode::PRODUCER_FENCED));
  EXPECT_EQ(c->verify_partitions("a", 9, 0, {kT0}),
            errs(1, ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  EXPECT_EQ(c->verify_partitions("", r.producer_id, 0, {kT0}), errs(1, ErrorCode::INVALID_REQUEST));

  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 0, kT0), ErrorCode::NONE);
  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 0, kT1), ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 0, kT1, true),
            ErrorCode::TRANSACTION_ABORTABLE);
  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 3, kT0),
            ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(c->check_transactional_produce(424242, 0, kT0), ErrorCode::INVALID_PRODUCER_ID_MAPPING);

  markers.failing[kT0] = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  ASSERT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(c->verify_partitions("a", r.producer_id, 0, {kT0}),
            errs(1, ErrorCode::CONCURRENT_TRANSACTIONS));
  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 0, kT0), ErrorCode::NOT_ENOUGH_REPLICAS);
  markers.failing.clear();
  c->tick();
  // After the commit the partition is no longer part of a transaction.
  EXPECT_EQ(c->check_transactional_produce(r.producer_id, 0, kT0), ErrorCode::INVALID_TXN_STATE);
}

// ---- Administration

TEST_F(TxnCoordinatorTest, DescribeAndList) {
  auto a = init("a", 10000);
  auto b = init("b", 20000);
  init("c");
  clock.advance(100);
  ASSERT_EQ(c->add_partitions("a", a.producer_id, 0, {kT1, kT0}), errs(2, ErrorCode::NONE));
  clock.advance(1000);
  ASSERT_EQ(c->add_partitions("b", b.producer_id, 0, {kU0}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->end_txn("b", b.producer_id, 0, true), ErrorCode::NONE);

  auto d = c->describe("a");
  EXPECT_EQ(d.error, ErrorCode::NONE);
  EXPECT_EQ(d.transactional_id, "a");
  EXPECT_EQ(d.state, "Ongoing");
  EXPECT_EQ(d.timeout_ms, 10000);
  EXPECT_EQ(d.start_time_ms, clock.now_ms() - 1000);
  EXPECT_EQ(d.producer_id, a.producer_id);
  EXPECT_EQ(d.producer_epoch, 0);
  EXPECT_EQ(d.partitions, (std::vector<TopicPartition>{kT0, kT1}));
  EXPECT_EQ(c->describe("b").state, "CompleteCommit");
  EXPECT_EQ(c->describe("c").state, "Empty");
  EXPECT_EQ(c->describe("zz").error, ErrorCode::TRANSACTIONAL_ID_NOT_FOUND);
  EXPECT_EQ(c->describe("").error, ErrorCode::INVALID_REQUEST);

  auto ids = [](const std::vector<TransactionCoordinator::TxnDescription>& v) {
    std::vector<std::string> out;
    for (const auto& d : v) out.push_back(d.transactional_id);
    return out;
  };
  EXPECT_EQ(ids(c->list({}, {}, -1, nullptr)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ids(c->list({"Ongoing"}, {}, -1, nullptr)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids(c->list({"Empty", "CompleteCommit"}, {}, -1, nullptr)),
            (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ids(c->list({}, {b.producer_id}, -1, nullptr)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids(c->list({"Ongoing"}, {b.producer_id}, -1, nullptr)), std::vector<std::string>{});
  // Running longer than 999 ms: "a" (started 1000 ms ago); "b" started 0 ms ago; "c" has no
  // start time (-1), which Kafka's filter lets through.
  EXPECT_EQ(ids(c->list({}, {}, 999, nullptr)), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(ids(c->list({"Ongoing"}, {}, 1000, nullptr)), std::vector<std::string>{});
  std::vector<std::string> unknown;
  EXPECT_EQ(ids(c->list({"Ongoing", "ongoing", "Nope"}, {}, -1, &unknown)),
            (std::vector<std::string>{"a"}));
  EXPECT_EQ(unknown, (std::vector<std::string>{"ongoing", "Nope"}));
  // Only unknown names: Kafka matches nothing (not everything, as without a filter).
  unknown.clear();
  EXPECT_EQ(ids(c->list({"Nope"}, {}, -1, &unknown)), std::vector<std::string>{});
  EXPECT_EQ(unknown, (std::vector<std::string>{"Nope"}));
}

TEST_F(TxnCoordinatorTest, EventLogHasOneLinePerStateChange) {
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT1}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  EXPECT_EQ(events, (std::vector<std::string>{
                        "transaction a: Empty, producer id 1000, epoch 0, 0 partitions",
                        "transaction a: Ongoing, producer id 1000, epoch 0, 1 partition",
                        "transaction a: PrepareCommit, producer id 1000, epoch 0, 2 partitions",
                        "transaction a: CompleteCommit, producer id 1000, epoch 0, 0 partitions",
                    }));
}

TEST_F(TxnCoordinatorTest, QuietEventLogKeepsEpochsAbortsAndRemovals) {
  events.clear();
  c->set_event_log([this](const std::string& line) { events.push_back(line); }, false);
  auto r = init("a");
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT0}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->end_txn("a", r.producer_id, 0, true), ErrorCode::NONE);
  ASSERT_EQ(c->add_partitions("a", r.producer_id, 0, {kT1}), errs(1, ErrorCode::NONE));
  ASSERT_EQ(c->end_txn("a", r.producer_id, 0, false), ErrorCode::NONE);
  EXPECT_EQ(events, (std::vector<std::string>{
                        "transaction a: Empty, producer id 1000, epoch 0, 0 partitions",
                        "transaction a: CompleteAbort, producer id 1000, epoch 0, 0 partitions",
                    }));
}

// ---- Transactions v2 (KIP-890)

TEST_F(TxnCoordinatorTest, V2EndBumpsTheEpochAndMarkersCarryIt) {
  c->set_transaction_version(2);
  auto r = init("a");
  ASSERT_EQ(r.producer_epoch, 0);
  // Produce v12 adds the partition itself.
  EXPECT_EQ(c->add_partition_for_produce("a", r.producer_id, 0, kT0), ErrorCode::NONE);
  EXPECT_EQ(state("a"), S::Ongoing);
  EXPECT_EQ(c->metadata("a")->client_transaction_version, 2);
  auto end = c->end_txn_v2("a", r.producer_id, 0, true);
  ASSERT_EQ(end.error, ErrorCode::NONE);
  EXPECT_EQ(end.producer_id, r.producer_id);
  EXPECT_EQ(end.producer_epoch, 1);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_EQ(markers.written[0].epoch, 1);
  EXPECT_TRUE(markers.written[0].commit);
  EXPECT_EQ(state("a"), S::CompleteCommit);
  // The old epoch is fenced; the next transaction runs at the new one.
  EXPECT_EQ(c->add_partition_for_produce("a", r.producer_id, 0, kT0),
            ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(c->add_partition_for_produce("a", r.producer_id, 1, kT1), ErrorCode::NONE);
  // Records of transaction.version >= 1 are flexible and keep the client's version.
  const auto v = log.value(log.stored.size() - 1);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->client_transaction_version, 2);
  c = reload();
  EXPECT_EQ(c->metadata("a")->client_transaction_version, 2);
  EXPECT_EQ(c->metadata("a")->producer_epoch, 1);
}

TEST_F(TxnCoordinatorTest, V2RetriesAndTheOutcomeTable) {
  auto r = init("a");
  const int64_t pid = r.producer_id;
  // Empty: an abort bumps the epoch, a commit is INVALID_TXN_STATE, an older epoch is fenced.
  EXPECT_EQ(c->end_txn_v2("a", pid, 0, true).error, ErrorCode::INVALID_TXN_STATE);
  auto aborted = c->end_txn_v2("a", pid, 0, false);
  ASSERT_EQ(aborted.error, ErrorCode::NONE);
  EXPECT_EQ(aborted.producer_epoch, 1);
  EXPECT_TRUE(markers.written.empty());  // no partition, no marker
  EXPECT_EQ(state("a"), S::CompleteAbort);
  // CompleteAbort: the retry (epoch 0) answers NONE with the current epoch, nothing is stored.
  const auto stored = log.stored.size();
  auto retry = c->end_txn_v2("a", pid, 0, false);
  EXPECT_EQ(retry.error, ErrorCode::NONE);
  EXPECT_EQ(retry.producer_epoch, 1);
  EXPECT_EQ(log.stored.size(), stored);
  EXPECT_EQ(c->end_txn_v2("a", pid, 0, true).error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->end_txn_v2("a", pid, 1, true).error, ErrorCode::INVALID_TXN_STATE);
  // A commit, then its retry, then an abort of the retry's outcome.
  ASSERT_EQ(c->add_partition_for_produce("a", pid, 1, kT0), ErrorCode::NONE);
  EXPECT_EQ(c->end_txn_v2("a", pid, 1, true).producer_epoch, 2);
  EXPECT_EQ(c->end_txn_v2("a", pid, 1, true).error, ErrorCode::NONE);
  EXPECT_EQ(c->end_txn_v2("a", pid, 1, false).error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->end_txn_v2("a", pid, 0, true).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(c->end_txn_v2("a", pid + 1, 2, true).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(c->end_txn_v2("b", pid, 2, true).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(c->end_txn_v2("", pid, 2, true).error, ErrorCode::INVALID_REQUEST);
}

TEST_F(TxnCoordinatorTest, V2ExhaustedEpochMovesToANewProducerIdOnCompletion) {
  c->set_transaction_version(2);
  TransactionMetadata m = stored_producer(32766, S::Ongoing);
  m.partitions = {kT0};
  m.start_time_ms = clock.now_ms();
  m.client_transaction_version = 2;
  store(m, 1);
  c = reload();
  c->set_transaction_version(2);
  auto end = c->end_txn_v2("a", 50, 32766, true);
  ASSERT_EQ(end.error, ErrorCode::NONE);
  EXPECT_EQ(end.producer_id, 1000);
  EXPECT_EQ(end.producer_epoch, 0);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_EQ(markers.written[0].pid, 50);
  EXPECT_EQ(markers.written[0].epoch, 32767);
  EXPECT_EQ(c->metadata("a")->producer_id, 1000);
  EXPECT_EQ(c->metadata("a")->last_producer_id, 50);
  // The retry from the old producer id is recognised.
  auto retry = c->end_txn_v2("a", 50, 32766, true);
  EXPECT_EQ(retry.error, ErrorCode::NONE);
  EXPECT_EQ(retry.producer_id, 1000);
  EXPECT_EQ(retry.producer_epoch, 0);
  // The rotation survives a reload (previous producer id in the flexible record).
  c = reload();
  EXPECT_EQ(c->metadata("a")->producer_id, 1000);
  EXPECT_EQ(c->metadata("a")->last_producer_id, 50);
}

TEST_F(TxnCoordinatorTest, V2FenceBumpsOnceAndTheAbortAfterATimeoutIsARetry) {
  c->set_transaction_version(2);
  auto r = init("a");
  ASSERT_EQ(c->add_partition_for_produce("a", r.producer_id, 0, kT0), ErrorCode::NONE);
  // A new producer fences the zombie: the fence bumps to 1 (markers), as Kafka's abort of a
  // v2 transaction does, and the new producer's epoch is one more.
  auto again = init("a");
  ASSERT_EQ(again.error, ErrorCode::NONE);
  EXPECT_EQ(again.producer_epoch, 2);
  ASSERT_EQ(markers.written.size(), 1u);
  EXPECT_EQ(markers.written[0].epoch, 1);
  EXPECT_FALSE(markers.written[0].commit);
  // A timed-out v2 transaction is aborted the same way; the producer's own abort (its epoch
  // one below) is then a retry that hands it the new epoch.
  ASSERT_EQ(c->add_partition_for_produce("a", r.producer_id, 2, kT1), ErrorCode::NONE);
  clock.advance(30001);
  c->tick();
  EXPECT_EQ(state("a"), S::CompleteAbort);
  EXPECT_EQ(c->metadata("a")->producer_epoch, 3);
  auto abort = c->end_txn_v2("a", r.producer_id, 2, false);
  EXPECT_EQ(abort.error, ErrorCode::NONE);
  EXPECT_EQ(abort.producer_epoch, 3);
  EXPECT_EQ(c->end_txn_v2("a", r.producer_id, 2, true).error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->end_txn_v2("a", r.producer_id, 1, false).error, ErrorCode::PRODUCER_FENCED);
}

TEST_F(TxnCoordinatorTest, V2ConcurrentWhileMarkersWait) {
  auto r = init("a");
  ASSERT_EQ(c->add_partition_for_produce("a", r.producer_id, 0, kT0), ErrorCode::NONE);
  markers.failing[kT0] = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  auto end = c->end_txn_v2("a", r.producer_id, 0, true);
  ASSERT_EQ(end.error, ErrorCode::NONE);  // the outcome is stored
  EXPECT_EQ(end.producer_epoch, 1);
  EXPECT_EQ(state("a"), S::PrepareCommit);
  EXPECT_EQ(c->end_txn_v2("a", r.producer_id, 0, true).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(c->end_txn_v2("a", r.producer_id, 0, false).error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(c->add_partition_for_produce("a", r.producer_id, 1, kT1),
            ErrorCode::NOT_ENOUGH_REPLICAS);
  markers.failing.clear();
  clock.advance(config.abort_check_interval_ms);
  c->tick();
  EXPECT_EQ(state("a"), S::CompleteCommit);
}

}  // namespace
}  // namespace runnel::coordinator
