// Idempotence and transactions in a partition log, across restarts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "protocol/records/record_batch.h"
#include "storage/partition_log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using protocol::Bytes;
using protocol::ErrorCode;
using testing::TempDir;

constexpr int32_t kLeaderEpoch = 0;

Bytes pbatch(int64_t pid, int16_t epoch, int32_t seq, int count, bool txn = false,
             int64_t ts = 1000) {
  protocol::RecordBatchBuilder b;
  b.producer(pid, epoch, seq).transactional(txn);
  const uint8_t value[3] = {'v', 'a', 'l'};
  for (int i = 0; i < count; ++i)
    b.add(ts, std::nullopt, std::span<const uint8_t>(value, sizeof value));
  return b.build();
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Base offsets of the batches a read returned.
std::vector<int64_t> read_offsets(const ReadResult& r) {
  std::vector<int64_t> out;
  for (const auto& s : r.slices) {
    Bytes buf(s.length);
    EXPECT_EQ(::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)),
              static_cast<ssize_t>(s.length));
    for (auto b : protocol::split_batches(buf).batches)
      out.push_back(protocol::BatchHeader::parse(b)->base_offset);
  }
  return out;
}

class PartitionLogTxnTest : public ::testing::Test {
 protected:
  std::string path() const { return dir.path() + "/t-0"; }
  std::unique_ptr<PartitionLog> open(const std::string& p, bool clean = true) {
    std::string err;
    auto log = PartitionLog::open(p, "t", 0, config, clock, clean, nullptr, &err);
    EXPECT_TRUE(log) << err;
    return log;
  }
  std::unique_ptr<PartitionLog> open() { return open(path()); }
  AppendResult append(PartitionLog& log, Bytes b) {
    return log.append(b, kLeaderEpoch, clock.now_ms());
  }
  AppendResult marker(PartitionLog& log, int64_t pid, int16_t epoch, bool commit,
                      int32_t coordinator_epoch = 0) {
    return log.append_control(pid, epoch, coordinator_epoch, commit, kLeaderEpoch, clock.now_ms());
  }
  std::vector<int64_t> snapshots(const std::string& p) const {
    return ProducerStateManager::list_snapshots(p);
  }
  void remove_snapshots(const std::string& p) {
    for (int64_t o : snapshots(p))
      fs::remove(p + "/" + ProducerStateManager::snapshot_file_name(o));
  }
  // A copy of the directory as it is now: what a crash would leave behind.
  std::string crash_image(PartitionLog& log) {
    EXPECT_TRUE(log.flush());
    std::string copy = dir.path() + "/crash-" + std::to_string(++copies) + "/t-0";
    fs::create_directories(copy);
    for (const auto& e : fs::directory_iterator(path()))
      fs::copy_file(e.path(), copy + "/" + e.path().filename().string());
    return copy;
  }
  TempDir dir;
  ManualClock clock{1000};
  LogConfig config;
  int copies = 0;
};

TEST_F(PartitionLogTxnTest, DuplicatesAnswerTheOriginalOffsets) {
  auto log = open();
  std::vector<Bytes> sent;
  for (int i = 0; i < 6; ++i) {
    sent.push_back(pbatch(1, 0, i * 2, 2));
    auto r = append(*log, sent.back());
    ASSERT_EQ(r.error, ErrorCode::NONE);
    EXPECT_EQ(r.base_offset, i * 2);
    EXPECT_FALSE(r.duplicate);
  }
  ASSERT_EQ(log->log_end_offset(), 12);
  for (int i = 1; i < 6; ++i) {
    auto r = append(*log, sent[i]);
    EXPECT_EQ(r.error, ErrorCode::NONE) << i;
    EXPECT_TRUE(r.duplicate) << i;
    EXPECT_EQ(r.base_offset, i * 2);
    EXPECT_EQ(r.last_offset, i * 2 + 1);
  }
  // The oldest batch is no longer retained: out of order.
  EXPECT_EQ(append(*log, sent[0]).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(log->log_end_offset(), 12);
}

TEST_F(PartitionLogTxnTest, SequenceGapsEpochsAndWrap) {
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(1, 0, 0, 1)).error, ErrorCode::NONE);
  EXPECT_EQ(append(*log, pbatch(1, 0, 2, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(log->log_end_offset(), 1);
  // New epoch: must start at 0.
  EXPECT_EQ(append(*log, pbatch(1, 1, 1, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  ASSERT_EQ(append(*log, pbatch(1, 1, 0, 1)).error, ErrorCode::NONE);
  EXPECT_EQ(append(*log, pbatch(1, 0, 1, 1)).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  // Unknown producer: any sequence (Kafka 3.9 after KIP-360).
  ASSERT_EQ(append(*log, pbatch(2, 0, INT32_MAX - 1, 3)).error, ErrorCode::NONE);
  EXPECT_EQ(log->producer_state().get(2)->last_seq(), 0);  // MAX-1, MAX, 0
  EXPECT_EQ(append(*log, pbatch(2, 0, 0, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  ASSERT_EQ(append(*log, pbatch(2, 0, 1, 1)).error, ErrorCode::NONE);
  ASSERT_EQ(append(*log, pbatch(3, 0, INT32_MAX, 1)).error, ErrorCode::NONE);
  EXPECT_EQ(append(*log, pbatch(3, 0, 0, 1)).error, ErrorCode::NONE);
  EXPECT_EQ(log->log_end_offset(), 8);
}

TEST_F(PartitionLogTxnTest, SeveralBatchesInOneAppendAreCheckedBeforeAnyIsWritten) {
  auto log = open();
  auto r = append(*log, concat({pbatch(1, 0, 0, 2), pbatch(2, 0, 0, 1), pbatch(1, 0, 2, 1)}));
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.last_offset, 3);
  EXPECT_EQ(log->producer_state().get(1)->last_seq(), 2);
  r = append(*log, concat({pbatch(1, 0, 3, 1), pbatch(1, 0, 9, 1)}));
  EXPECT_EQ(r.error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(log->log_end_offset(), 4);
  EXPECT_EQ(log->producer_state().get(1)->last_seq(), 2);
  ASSERT_EQ(append(*log, pbatch(1, 0, 3, 1)).error, ErrorCode::NONE);
}

TEST_F(PartitionLogTxnTest, OpenTransactionHoldsTheLastStableOffsetUntilCommit) {
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(1, 0, 0, 2)).error, ErrorCode::NONE);        // 0-1
  ASSERT_EQ(append(*log, pbatch(2, 0, 0, 2, true)).error, ErrorCode::NONE);  // 2-3
  ASSERT_EQ(append(*log, pbatch(1, 0, 2, 1)).error, ErrorCode::NONE);        // 4
  EXPECT_EQ(log->high_watermark(), 5);
  EXPECT_EQ(log->last_stable_offset(), 2);
  EXPECT_EQ(log->first_unstable_offset().value_or(-1), 2);
  auto rr = log->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{0}));
  EXPECT_EQ(rr.last_stable_offset, 2);
  EXPECT_EQ(read_offsets(log->read(0, 1 << 20, true)), (std::vector<int64_t>{0, 2, 4}));
  // A non-transactional batch while the transaction is open.
  EXPECT_EQ(append(*log, pbatch(2, 0, 2, 1)).error, ErrorCode::INVALID_TXN_STATE);
  auto m = marker(*log, 2, 0, true);
  ASSERT_EQ(m.error, ErrorCode::NONE);
  EXPECT_EQ(m.base_offset, 5);
  EXPECT_EQ(log->last_stable_offset(), 6);
  EXPECT_FALSE(log->first_unstable_offset());
  rr = log->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{0, 2, 4, 5}));
  EXPECT_TRUE(rr.aborted_transactions.empty());
  EXPECT_TRUE(log->txn_index_entries().empty());
}

TEST_F(PartitionLogTxnTest, AbortIsIndexedAndListedToCommittedReads) {
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(7, 3, 0, 2, true)).error, ErrorCode::NONE);  // 0-1
  ASSERT_EQ(marker(*log, 7, 2, false).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  ASSERT_EQ(marker(*log, 7, 3, false, 4).error, ErrorCode::NONE);  // 2
  EXPECT_EQ(marker(*log, 7, 3, true, 3).error, ErrorCode::TRANSACTION_COORDINATOR_FENCED);
  EXPECT_EQ(log->last_stable_offset(), 3);
  auto rr = log->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(rr.aborted_transactions, (std::vector<AbortedTxn>{{7, 0}}));
  EXPECT_TRUE(log->read(3, 1 << 20, true, FetchIsolation::committed).aborted_transactions.empty());
  // high_watermark reads never list aborted transactions.
  EXPECT_TRUE(log->read(0, 1 << 20, true).aborted_transactions.empty());
  EXPECT_EQ(log->txn_index_entries(), (std::vector<TxnIndexEntry>{{7, 0, 2, 3}}));
  EXPECT_EQ(fs::file_size(path() + "/00000000000000000000.txnindex"), 34u);
  // A marker for a producer without an open transaction is written, unindexed.
  ASSERT_EQ(marker(*log, 7, 3, false, 4).error, ErrorCode::NONE);
  EXPECT_EQ(log->log_end_offset(), 4);
  EXPECT_EQ(log->txn_index_entries().size(), 1u);
  auto info = log->producers();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].producer_id, 7);
  EXPECT_EQ(info[0].epoch, 3);
  EXPECT_EQ(info[0].last_sequence, 1);
  EXPECT_EQ(info[0].coordinator_epoch, 4);
  EXPECT_EQ(info[0].current_txn_start_offset, -1);
}

TEST_F(PartitionLogTxnTest, InterleavedTransactionsOfTwoProducers) {
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(1, 0, 0, 1, true)).error, ErrorCode::NONE);  // 0
  ASSERT_EQ(append(*log, pbatch(2, 0, 0, 1, true)).error, ErrorCode::NONE);  // 1
  ASSERT_EQ(append(*log, pbatch(1, 0, 1, 1, true)).error, ErrorCode::NONE);  // 2
  ASSERT_EQ(marker(*log, 1, 0, false).error, ErrorCode::NONE);               // 3
  EXPECT_EQ(log->last_stable_offset(), 1);
  EXPECT_EQ(log->txn_index_entries(), (std::vector<TxnIndexEntry>{{1, 0, 3, 1}}));
  auto rr = log->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{0}));
  EXPECT_EQ(rr.aborted_transactions, (std::vector<AbortedTxn>{{1, 0}}));
  ASSERT_EQ(append(*log, pbatch(2, 0, 1, 1, true)).error, ErrorCode::NONE);  // 4
  ASSERT_EQ(marker(*log, 2, 0, true).error, ErrorCode::NONE);                // 5
  EXPECT_EQ(log->last_stable_offset(), 6);
  rr = log->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(rr.aborted_transactions, (std::vector<AbortedTxn>{{1, 0}}));
  // A read that stops before the abort still lists it (first offset below
  // the end of the read, marker after the fetch offset).
  rr = log->read(1, 1, true, FetchIsolation::committed);
  EXPECT_EQ(read_offsets(rr), (std::vector<int64_t>{1}));
  EXPECT_EQ(rr.aborted_transactions, (std::vector<AbortedTxn>{{1, 0}}));
}

TEST_F(PartitionLogTxnTest, StateSurvivesRestartsWithAndWithoutSnapshots) {
  ProducerStateManager expected;
  int64_t lso = 0;
  std::vector<TxnIndexEntry> txn_entries;
  {
    auto log = open();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(append(*log, pbatch(1, 0, i, 1)).error, ErrorCode::NONE);
    ASSERT_EQ(append(*log, pbatch(2, 5, 0, 2, true)).error, ErrorCode::NONE);
    clock.advance(10);
    ASSERT_EQ(marker(*log, 2, 5, false, 1).error, ErrorCode::NONE);
    ASSERT_EQ(append(*log, pbatch(3, 0, 0, 1, true)).error, ErrorCode::NONE);
    ASSERT_EQ(append(*log, pbatch(1, 0, 3, 1)).error, ErrorCode::NONE);
    expected = log->producer_state();
    lso = log->last_stable_offset();
    txn_entries = log->txn_index_entries();
    ASSERT_EQ(lso, 6);
    log->close();
  }
  EXPECT_EQ(snapshots(path()), (std::vector<int64_t>{8}));
  auto check = [&](PartitionLog& log) {
    EXPECT_EQ(log.producer_state().entries(), expected.entries());
    EXPECT_EQ(log.last_stable_offset(), lso);
    EXPECT_EQ(log.txn_index_entries(), txn_entries);
    // The last batch is still recognised; the sequence continues.
    auto r = append(log, pbatch(1, 0, 3, 1));
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.base_offset, 7);
    EXPECT_EQ(append(log, pbatch(1, 0, 5, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
    // Still inside its transaction.
    EXPECT_EQ(append(log, pbatch(3, 0, 1, 1)).error, ErrorCode::INVALID_TXN_STATE);
    EXPECT_EQ(append(log, pbatch(3, 0, 1, 1, true)).error, ErrorCode::NONE);
  };
  {
    auto log = open();
    check(*log);
    log->truncate_to(8);
    log->close();
  }
  // Without any snapshot, and without the txn index: the replay of the log
  // rebuilds the same state.
  remove_snapshots(path());
  fs::remove(path() + "/00000000000000000000.txnindex");
  {
    auto log = open(path(), false);
    check(*log);
    log->truncate_to(8);
    log->close();
  }
  // A corrupt newest snapshot is skipped (here: the full log is replayed).
  {
    auto snaps = snapshots(path());
    ASSERT_FALSE(snaps.empty());
    std::string p = path() + "/" + ProducerStateManager::snapshot_file_name(snaps.back());
    fs::resize_file(p, 5);
    auto log = open();
    check(*log);
  }
}

TEST_F(PartitionLogTxnTest, CrashAfterRollsReplaysFromTheRollSnapshot) {
  config.segment_bytes = 300;
  auto log = open();
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(append(*log, pbatch(1, 0, i, 1, i % 4 != 3)).error, ErrorCode::NONE);
    if (i % 4 == 2) {
      ASSERT_EQ(marker(*log, 1, 0, i == 10).error, ErrorCode::NONE);
    }
  }
  ASSERT_EQ(append(*log, pbatch(4, 0, 0, 1, true)).error, ErrorCode::NONE);
  ASSERT_GT(log->segment_count(), 3u);
  auto snaps = snapshots(path());
  ASSERT_EQ(snaps.size(), 2u);  // the newest two roll snapshots
  EXPECT_EQ(snaps.back(), log->segment_base_offsets().back());
  std::string image = crash_image(*log);
  auto entries = log->txn_index_entries();
  ASSERT_EQ(entries.size(), 2u);
  // An entry in the image that the log does not back (past the last
  // snapshot) is dropped: the replay rebuilds that part of the index.
  {
    TxnIndex bogus;
    std::string err;
    std::string p = image + "/" + Segment::file_name(snaps.back(), ".txnindex");
    ASSERT_TRUE(bogus.open(p, &err)) << err;
    ASSERT_TRUE(bogus.append({99, snaps.back(), log->log_end_offset() - 1, log->log_end_offset()}));
  }
  auto recovered = open(image, false);
  EXPECT_EQ(recovered->producer_state().entries(), log->producer_state().entries());
  EXPECT_EQ(recovered->txn_index_entries(), entries);
  EXPECT_EQ(recovered->last_stable_offset(), log->last_stable_offset());
  auto a = log->read(0, 1 << 20, true, FetchIsolation::committed);
  auto b = recovered->read(0, 1 << 20, true, FetchIsolation::committed);
  EXPECT_EQ(a.aborted_transactions, b.aborted_transactions);
  EXPECT_EQ(read_offsets(a), read_offsets(b));
}

TEST_F(PartitionLogTxnTest, TruncateInsideATransaction) {
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(1, 0, 0, 1, true)).error, ErrorCode::NONE);  // 0
  ASSERT_EQ(append(*log, pbatch(1, 0, 1, 1, true)).error, ErrorCode::NONE);  // 1
  ASSERT_EQ(marker(*log, 1, 0, false).error, ErrorCode::NONE);               // 2
  ASSERT_EQ(append(*log, pbatch(1, 0, 2, 1, true)).error, ErrorCode::NONE);  // 3
  ASSERT_EQ(append(*log, pbatch(1, 0, 3, 1, true)).error, ErrorCode::NONE);  // 4
  ASSERT_TRUE(log->snapshot_producer_state());                               // at 5
  EXPECT_EQ(log->last_stable_offset(), 3);
  ASSERT_TRUE(log->truncate_to(4));
  EXPECT_TRUE(snapshots(path()).empty());  // 5 is above the log end
  EXPECT_EQ(log->last_stable_offset(), 3);
  EXPECT_EQ(log->producer_state().get(1)->last_seq(), 2);
  ASSERT_TRUE(log->truncate_to(3));
  EXPECT_EQ(log->last_stable_offset(), 3);
  EXPECT_FALSE(log->first_unstable_offset());
  EXPECT_EQ(log->txn_index_entries().size(), 1u);
  ASSERT_TRUE(log->truncate_to(2));
  EXPECT_TRUE(log->txn_index_entries().empty());
  EXPECT_EQ(log->last_stable_offset(), 0);
  EXPECT_EQ(log->producer_state().get(1)->current_txn_first_offset, 0);
  // The producer continues from what is left.
  EXPECT_EQ(append(*log, pbatch(1, 0, 3, 1, true)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  ASSERT_EQ(append(*log, pbatch(1, 0, 2, 1, true)).error, ErrorCode::NONE);
  ASSERT_EQ(marker(*log, 1, 0, false).error, ErrorCode::NONE);
  EXPECT_EQ(log->txn_index_entries(), (std::vector<TxnIndexEntry>{{1, 0, 3, 4}}));
}

TEST_F(PartitionLogTxnTest, ExpireProducersAndDeletedSegments) {
  config.segment_bytes = 200;
  auto log = open();
  ASSERT_EQ(append(*log, pbatch(1, 0, 0, 1, true, 1000)).error, ErrorCode::NONE);
  ASSERT_EQ(marker(*log, 1, 0, false).error, ErrorCode::NONE);  // now 1000
  ASSERT_EQ(append(*log, pbatch(2, 0, 0, 1, false, 1000)).error, ErrorCode::NONE);
  ASSERT_EQ(append(*log, pbatch(3, 0, 0, 1, true, 5000)).error, ErrorCode::NONE);
  ASSERT_GT(log->segment_count(), 1u);
  ASSERT_TRUE(fs::exists(path() + "/00000000000000000000.txnindex"));
  int64_t previous = 0;
  ASSERT_EQ(log->increment_log_start_offset(log->segment_base_offsets()[1], &previous),
            ErrorCode::NONE);
  EXPECT_EQ(log->delete_segments_below_log_start(), 1);
  EXPECT_FALSE(fs::exists(path() + "/00000000000000000000.txnindex"));
  EXPECT_EQ(log->producers().size(), 3u);  // kept until they expire
  EXPECT_EQ(log->expire_producers(1999, 1000), 0u);
  EXPECT_EQ(log->expire_producers(2000, 1000), 2u);
  ASSERT_EQ(log->producers().size(), 1u);
  EXPECT_EQ(log->producers()[0].producer_id, 3);
  // Open transaction: never expires.
  EXPECT_EQ(log->expire_producers(1000000, 1000), 0u);
  // An expired producer is unknown again: any sequence.
  EXPECT_EQ(append(*log, pbatch(2, 0, 17, 1, false, 1000)).error, ErrorCode::NONE);
}

}  // namespace
}  // namespace runnel::storage
