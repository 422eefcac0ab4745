#include "storage/producer_state.h"

#include <gtest/gtest.h>

#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::BatchHeader;
using protocol::ErrorCode;

BatchHeader data(int64_t pid, int16_t epoch, int32_t seq, int32_t count, int64_t base_offset,
                 bool txn = false) {
  BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = count - 1;
  h.record_count = count;
  h.base_offset = base_offset;
  if (txn) h.attributes = 0x10;
  return h;
}

// Applies one data batch on its own; returns the error.
ErrorCode apply(ProducerStateManager& m, const BatchHeader& h, int64_t ts = 100,
                AppendOrigin origin = AppendOrigin::client) {
  ProducerStateManager::Update u;
  ErrorCode e = m.append_data(u, h, ts, origin);
  if (e == ErrorCode::NONE) m.commit(std::move(u));
  return e;
}

TEST(ProducerStateTest, SequenceArithmeticWrapsAtInt32Max) {
  EXPECT_EQ(increment_sequence(5, 3), 8);
  EXPECT_EQ(increment_sequence(INT32_MAX, 1), 0);
  EXPECT_EQ(increment_sequence(INT32_MAX - 1, 3), 1);
  EXPECT_EQ(decrement_sequence(1, 3), INT32_MAX - 1);
  EXPECT_EQ(decrement_sequence(8, 3), 5);
}

TEST(ProducerStateTest, UnknownProducerIsAcceptedWithAnySequence) {
  ProducerStateManager m;
  EXPECT_EQ(apply(m, data(7, 0, 42, 2, 0)), ErrorCode::NONE);
  ASSERT_NE(m.get(7), nullptr);
  EXPECT_EQ(m.get(7)->last_seq(), 43);
  EXPECT_EQ(m.get(7)->epoch, 0);
  // Now known: the same epoch must continue at 44.
  EXPECT_EQ(apply(m, data(7, 0, 45, 1, 2)), ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(apply(m, data(7, 0, 44, 1, 2)), ErrorCode::NONE);
}

TEST(ProducerStateTest, EpochRules) {
  ProducerStateManager m;
  ASSERT_EQ(apply(m, data(1, 3, 0, 1, 0)), ErrorCode::NONE);
  EXPECT_EQ(apply(m, data(1, 2, 1, 1, 1)), ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(apply(m, data(1, 4, 1, 1, 1)), ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(apply(m, data(1, 4, 0, 1, 1)), ErrorCode::NONE);
  EXPECT_EQ(m.get(1)->epoch, 4);
  EXPECT_EQ(m.get(1)->batches.size(), 1u);  // the old epoch's batches are gone
}

TEST(ProducerStateTest, KeepsTheLastFiveBatchesForDuplicates) {
  ProducerStateManager m;
  for (int i = 0; i < 7; ++i) ASSERT_EQ(apply(m, data(1, 0, i * 2, 2, i * 2)), ErrorCode::NONE);
  const ProducerStateEntry* e = m.get(1);
  ASSERT_EQ(e->batches.size(), ProducerStateEntry::kBatchesToRetain);
  for (int i = 2; i < 7; ++i) {
    const BatchMetadata* d = m.find_duplicate(data(1, 0, i * 2, 2, 999));
    ASSERT_NE(d, nullptr) << i;
    EXPECT_EQ(d->first_offset(), i * 2);
    EXPECT_EQ(d->last_offset, i * 2 + 1);
  }
  EXPECT_EQ(m.find_duplicate(data(1, 0, 2, 2, 999)), nullptr);  // evicted
  EXPECT_EQ(m.find_duplicate(data(1, 0, 4, 1, 999)), nullptr);  // other range
  EXPECT_EQ(m.find_duplicate(data(1, 1, 4, 2, 999)), nullptr);  // other epoch
  EXPECT_EQ(m.find_duplicate(data(2, 0, 4, 2, 999)), nullptr);  // other producer
}

TEST(ProducerStateTest, TransactionsAndLastStableOffset) {
  ProducerStateManager m;
  ASSERT_EQ(apply(m, data(1, 0, 0, 2, 10, true)), ErrorCode::NONE);
  ASSERT_EQ(apply(m, data(2, 0, 0, 1, 12, true)), ErrorCode::NONE);
  EXPECT_EQ(m.first_unstable_offset(), 10);
  EXPECT_EQ(apply(m, data(1, 0, 2, 1, 13, false)), ErrorCode::INVALID_TXN_STATE);
  ProducerStateManager::Update u;
  std::optional<CompletedTxn> done;
  ASSERT_EQ(m.append_marker(u, 1, 0, 5, false, 13, 100, AppendOrigin::coordinator, &done),
            ErrorCode::NONE);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->first_offset, 10);
  EXPECT_EQ(done->last_offset, 13);
  EXPECT_TRUE(done->aborted);
  m.commit(std::move(u));
  EXPECT_EQ(m.last_stable_offset_after(*done), 12);  // producer 2's transaction
  EXPECT_EQ(m.first_unstable_offset(), 12);
  EXPECT_EQ(m.get(1)->coordinator_epoch, 5);
  // Older coordinator epoch: fenced; older producer epoch: INVALID_PRODUCER_EPOCH.
  ASSERT_EQ(m.append_marker(u, 2, 0, 4, true, 14, 100, AppendOrigin::coordinator, &done),
            ErrorCode::NONE);
  u = {};
  ASSERT_EQ(apply(m, data(1, 1, 0, 1, 14)), ErrorCode::NONE);
  EXPECT_EQ(m.append_marker(u, 1, 0, 5, true, 15, 100, AppendOrigin::coordinator, &done),
            ErrorCode::INVALID_PRODUCER_EPOCH);
  u = {};
  EXPECT_EQ(m.append_marker(u, 1, 1, 4, true, 15, 100, AppendOrigin::coordinator, &done),
            ErrorCode::TRANSACTION_COORDINATOR_FENCED);
  // A marker without an open transaction completes nothing.
  u = {};
  EXPECT_EQ(m.append_marker(u, 1, 1, 5, true, 15, 100, AppendOrigin::coordinator, &done),
            ErrorCode::NONE);
  EXPECT_FALSE(done);
}

TEST(ProducerStateTest, ReplayNeverFails) {
  ProducerStateManager m;
  ASSERT_EQ(apply(m, data(1, 5, 0, 1, 0)), ErrorCode::NONE);
  EXPECT_EQ(apply(m, data(1, 4, 9, 1, 1), 100, AppendOrigin::replay), ErrorCode::NONE);
}

TEST(ProducerStateTest, ExpiryKeepsOpenTransactions) {
  ProducerStateManager m;
  ASSERT_EQ(apply(m, data(1, 0, 0, 1, 0), 1000), ErrorCode::NONE);
  ASSERT_EQ(apply(m, data(2, 0, 0, 1, 1, true), 1000), ErrorCode::NONE);
  ASSERT_EQ(apply(m, data(3, 0, 0, 1, 2), 5000), ErrorCode::NONE);
  EXPECT_EQ(m.expire(1999, 1000), 0u);
  EXPECT_EQ(m.expire(2000, 1000), 1u);
  EXPECT_EQ(m.get(1), nullptr);
  EXPECT_NE(m.get(2), nullptr);
  EXPECT_NE(m.get(3), nullptr);
}

TEST(ProducerStateTest, SnapshotRoundTripAndCorruption) {
  ProducerStateManager m;
  for (int i = 0; i < 7; ++i) ASSERT_EQ(apply(m, data(1, 2, i, 1, i)), ErrorCode::NONE);
  ASSERT_EQ(apply(m, data(9, 0, 0, 3, 7, true), 77), ErrorCode::NONE);
  std::string bytes = m.encode_snapshot(10);
  ProducerStateManager loaded;
  ASSERT_TRUE(loaded.decode_snapshot(bytes, 10));
  EXPECT_EQ(loaded.entries(), m.entries());
  EXPECT_EQ(loaded.first_unstable_offset(), 7);
  EXPECT_FALSE(loaded.decode_snapshot(bytes, 11));  // offset must match the name
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(loaded.decode_snapshot(bytes.substr(0, n), 10)) << n;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_FALSE(loaded.decode_snapshot(bad, 10)) << i;
  }
  EXPECT_FALSE(loaded.decode_snapshot(bytes + "x", 10));
  EXPECT_EQ(loaded.entries(), m.entries());  // failures leave the state alone
}

TEST(ProducerStateTest, SnapshotFilesAreListedInOrder) {
  testing::TempDir dir;
  ProducerStateManager m;
  ASSERT_EQ(apply(m, data(1, 0, 0, 1, 0)), ErrorCode::NONE);
  std::string err;
  ASSERT_TRUE(m.write_snapshot(dir.path(), 30, &err)) << err;
  ASSERT_TRUE(m.write_snapshot(dir.path(), 4, &err)) << err;
  EXPECT_EQ(ProducerStateManager::list_snapshots(dir.path()), (std::vector<int64_t>{4, 30}));
  ProducerStateManager loaded;
  ASSERT_TRUE(loaded.load_snapshot(dir.path(), 30));
  EXPECT_EQ(loaded.entries(), m.entries());
  EXPECT_FALSE(loaded.load_snapshot(dir.path(), 31));
}

}  // namespace
}  // namespace runnel::storage
