// An append whose index write fails (a full disk) leaves nothing in the log:
// the answer, the log and a retry agree, also for idempotent producers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "protocol/records/record_batch.h"
#include "storage/partition_log.h"
#include "storage/sys.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using protocol::Bytes;
using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;

// Fails every counted call of the kinds in `ops` that `match` accepts with `error`, while
// armed.
class Fault {
 public:
  Fault(uint32_t ops, std::function<bool(sys::Op, std::string_view)> match, int error = EIO) {
    plan_.ops = ops;
    plan_.match = std::move(match);
    plan_.fail_at = 1;
    plan_.fail_count = UINT64_MAX;
    plan_.error = error;
  }
  ~Fault() { sys::set_fault_plan(nullptr); }
  void arm(bool on) { sys::set_fault_plan(on ? &plan_ : nullptr); }
  int failed() const { return static_cast<int>(plan_.failed); }

 private:
  sys::FaultPlan plan_;
};

// Fails every write to a `.index` or `.timeindex` file with ENOSPC while armed.
struct IndexWriteFault : Fault {
  IndexWriteFault()
      : Fault(
            sys::op_bit(sys::Op::write),
            [](sys::Op, std::string_view path) {
              return path.ends_with(".index") || path.ends_with(".timeindex");
            },
            ENOSPC) {}
};

class AppendFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config.index_interval_bytes = 0;  // an index entry for every batch after the first
  }
  std::unique_ptr<PartitionLog> open(bool clean = true) {
    std::string err;
    auto log = PartitionLog::open(dir.path() + "/t-0", "t", 0, config, clock, clean, nullptr, &err);
    EXPECT_TRUE(log) << err;
    return log;
  }
  static Bytes pbatch(int64_t pid, int16_t epoch, int32_t seq, int count, bool txn = false) {
    protocol::RecordBatchBuilder b;
    b.producer(pid, epoch, seq).transactional(txn);
    const uint8_t value[3] = {'v', 'a', 'l'};
    for (int i = 0; i < count; ++i)
      b.add(1000 + i, std::nullopt, std::span<const uint8_t>(value, sizeof value));
    return b.build();
  }
  static std::vector<int64_t> offsets(const PartitionLog& log) {
    std::vector<int64_t> out;
    auto r = log.read(log.log_start_offset(), 1 << 20, true, FetchIsolation::log_end);
    for (const auto& s : r.slices) {
      Bytes buf(s.length);
      EXPECT_EQ(::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)),
                static_cast<ssize_t>(s.length));
      for (auto b : protocol::split_batches(buf).batches)
        out.push_back(protocol::BatchHeader::parse(b)->base_offset);
    }
    return out;
  }
  uint64_t log_file_size() const {
    return fs::file_size(dir.path() + "/t-0/00000000000000000000.log");
  }
  TempDir dir;
  ManualClock clock;
  LogConfig config;
};

TEST_F(AppendFaultTest, FailedIndexWriteLeavesNothingInTheLog) {
  IndexWriteFault fault;
  auto log = open();
  auto first = make_batch(2, 1000, 10);  // the largest timestamp is at offset 1
  ASSERT_EQ(log->append(first, 0, 1000).error, ErrorCode::NONE);
  const uint64_t size = log_file_size();

  fault.arm(true);
  auto refused = make_batch(3, 2000);
  auto r = log->append(refused, 0, 2000);
  fault.arm(false);
  ASSERT_GT(fault.failed(), 0) << "the append wrote no index entry";
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->high_watermark(), 2);
  EXPECT_EQ(log_file_size(), size);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0}));
  EXPECT_EQ(log->max_timestamp_offset().offset, 1);  // not the refused batch's

  // Space again: the retry lands right after the first batch, once.
  auto retry = make_batch(3, 2000);
  r = log->append(retry, 0, 2001);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.base_offset, 2);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(log->offset_for_timestamp(2000).offset, 2);
  log.reset();
  log = open(false);
  EXPECT_EQ(log->log_end_offset(), 5);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0, 2}));
}

// The operator's case: an idempotent producer retries a batch answered with
// KAFKA_STORAGE_ERROR. It must be stored exactly once.
TEST_F(AppendFaultTest, IdempotentRetryAfterFailedIndexWriteIsStoredOnce) {
  IndexWriteFault fault;
  auto log = open();
  constexpr int64_t kPid = 7;
  auto b0 = pbatch(kPid, 0, 0, 2);
  ASSERT_EQ(log->append(b0, 0, 1000).error, ErrorCode::NONE);

  for (int attempt = 0; attempt < 3; ++attempt) {
    fault.arm(true);
    auto b1 = pbatch(kPid, 0, 2, 2);
    auto r = log->append(b1, 0, 1000);
    fault.arm(false);
    EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
    EXPECT_FALSE(r.duplicate);
    EXPECT_EQ(log->log_end_offset(), 2);
  }
  ASSERT_GT(fault.failed(), 0);
  auto b1 = pbatch(kPid, 0, 2, 2);
  auto r = log->append(b1, 0, 1000);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.base_offset, 2);
  // A further retry of the same batch (its answer was lost) is the duplicate.
  auto again = pbatch(kPid, 0, 2, 2);
  r = log->append(again, 0, 1000);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.base_offset, 2);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(log->log_end_offset(), 4);
  auto next = pbatch(kPid, 0, 4, 1);
  EXPECT_EQ(log->append(next, 0, 1000).base_offset, 4);
}

// The transaction index entry of an ABORT cannot be written: the marker is taken back and
// nothing else changes, the producer state included (it used to be rebuilt from the log,
// which brought back a producer that had expired).
TEST_F(AppendFaultTest, FailedTxnIndexWriteLeavesTheProducerStateAsItWas) {
  Fault fault(sys::op_bit(sys::Op::write),
              [](sys::Op, std::string_view path) { return path.ends_with(".txnindex"); });
  auto log = open();
  auto idempotent = pbatch(5, 0, 0, 1);
  ASSERT_EQ(log->append(idempotent, 0, 1000).error, ErrorCode::NONE);  // 0
  auto txn = pbatch(7, 0, 0, 2, true);
  ASSERT_EQ(log->append(txn, 0, 1000).error, ErrorCode::NONE);  // 1-2
  ASSERT_EQ(log->expire_producers(100000, 1000), 1u);           // 5 goes; 7's transaction is open
  ASSERT_EQ(log->producers().size(), 1u);

  fault.arm(true);
  auto r = log->append_control(7, 0, 0, /*commit=*/false, 0, 2000);
  fault.arm(false);
  ASSERT_GT(fault.failed(), 0);
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(log->offline());
  EXPECT_EQ(log->log_end_offset(), 3);
  EXPECT_EQ(log->high_watermark(), 3);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(log->txn_index_entries().empty());
  auto producers = log->producers();
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].producer_id, 7);
  EXPECT_EQ(producers[0].current_txn_start_offset, 1);
  EXPECT_EQ(log->first_unstable_offset(), 1);

  // The marker written again: the abort is indexed once.
  r = log->append_control(7, 0, 0, false, 0, 2001);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.base_offset, 3);
  EXPECT_EQ(log->txn_index_entries(), (std::vector<TxnIndexEntry>{{7, 1, 3, 4}}));
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0, 1, 3}));
  log.reset();
  log = open(false);
  EXPECT_EQ(log->log_end_offset(), 4);
  EXPECT_EQ(log->txn_index_entries(), (std::vector<TxnIndexEntry>{{7, 1, 3, 4}}));
}

// Two faults: the transaction index entry cannot be written, and then the marker cannot be cut
// back out of the log file. The refused marker is not in the log (nor in the producer state)
// even so, and the partition goes offline.
TEST_F(AppendFaultTest, RefusedMarkerThatCannotBeCutBackIsNotShown) {
  Fault fault(sys::op_bit(sys::Op::write) | sys::op_bit(sys::Op::truncate),
              [](sys::Op op, std::string_view path) {
                return op == sys::Op::write ? path.ends_with(".txnindex") : path.ends_with(".log");
              });
  auto log = open();
  auto txn = pbatch(7, 0, 0, 2, true);
  ASSERT_EQ(log->append(txn, 0, 1000).error, ErrorCode::NONE);  // 0-1

  fault.arm(true);
  auto r = log->append_control(7, 0, 0, /*commit=*/false, 0, 2000);
  fault.arm(false);
  ASSERT_GE(fault.failed(), 2);
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->high_watermark(), 2);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0}));
  EXPECT_EQ(log->first_unstable_offset(), 0);  // the transaction is still open
  ASSERT_EQ(log->producers().size(), 1u);
  EXPECT_EQ(log->producers()[0].current_txn_start_offset, 0);
  EXPECT_TRUE(log->txn_index_entries().empty());
  auto next = pbatch(8, 0, 0, 1);
  EXPECT_EQ(log->append(next, 0, 2000).error, ErrorCode::KAFKA_STORAGE_ERROR);
}

// Two faults: the flush flush.messages asks for fails, and then the append cannot be cut back
// out of the log file. The refused batch is not readable, the high watermark and the producer
// state are as before, and the partition is offline.
TEST_F(AppendFaultTest, RefusedAppendWhoseFlushFailedIsNotShownEvenIfItCannotBeCut) {
  config.flush_messages = 1;
  Fault fault(sys::op_bit(sys::Op::sync) | sys::op_bit(sys::Op::truncate),
              [](sys::Op, std::string_view path) { return path.ends_with(".log"); });
  auto log = open();
  auto b0 = pbatch(9, 0, 0, 2);
  ASSERT_EQ(log->append(b0, 0, 1000).error, ErrorCode::NONE);  // 0-1

  fault.arm(true);
  auto b1 = pbatch(9, 0, 2, 2);
  auto r = log->append(b1, 0, 1000);
  fault.arm(false);
  ASSERT_GE(fault.failed(), 2);
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->high_watermark(), 2);
  EXPECT_EQ(offsets(*log), (std::vector<int64_t>{0}));
  EXPECT_EQ(log->read(0, 1 << 20, true).first_batch_last_offset, 1);
  ASSERT_EQ(log->producers().size(), 1u);
  EXPECT_EQ(log->producers()[0].last_sequence, 1);
}

}  // namespace
}  // namespace runnel::storage
