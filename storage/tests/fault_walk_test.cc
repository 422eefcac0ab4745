// Walks a fault over every storage I/O call of a workload: produce (plain, idempotent and
// transactional batches) with rolls by size and by time, retention, flush, a clean close and
// reopen, a torn tail and an unclean reopen. A counting run learns the calls (T); then, for
// each call N and each errno that call can realistically see (EIO for all; ENOSPC for writes,
// creates, renames and truncates; EMFILE for opens and listings; a short write for writes),
// the workload runs again with call N failing. Afterwards the log directory is reopened
// without faults, once as it was left and once as after a crash, and:
//  - the workload never threw or crashed, and a start-up that failed said why;
//  - the log starts no later than retention moved it, and every acknowledged batch from there
//    on is readable at its offset, byte for byte;
//  - every batch in the log is one that was acknowledged at that offset (no refused batch, no
//    second copy of a retry, no stray bytes);
//  - offsets are contiguous from the log start offset to the log end offset;
//  - a topic whose creation was refused does not exist;
//  - new appends work, and the idempotent producer carries on where its answers left it.
// Every call is walked (the workload is kept small for that, and fsyncs are skipped: no power
// is lost here); nothing is sampled. A second walk fills the disk for good from each write on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/records/record_batch.h"
#include "storage/log_manager.h"
#include "storage/sys.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using protocol::BatchHeader;
using protocol::Bytes;
using protocol::ErrorCode;
using sys::Op;
using testing::TempDir;

constexpr const char* kTopic = "walk";
constexpr int64_t kIdempotentPid = 1000;
constexpr int64_t kTxnPid = 2000;

// What the workload was told.
struct Outcome {
  bool topic_created = false;
  // Acknowledged batches by base offset: their bytes as stored (offsets assigned), or empty
  // for a transaction marker (whose bytes Runnel builds).
  std::map<int64_t, Bytes> acked;
  int32_t next_seq = 0;                  // the idempotent producer's next sequence
  std::optional<Bytes> last_idempotent;  // its last acknowledged batch, as sent
  int64_t last_idempotent_offset = -1;
  // The log start offset retention moved to (below it acknowledged batches may go).
  int64_t retained_from = 0;
  std::vector<std::string> start_errors;  // start-ups that failed, with their reason
};

Bytes plain_batch(int id, int64_t ts) {
  protocol::RecordBatchBuilder b;
  std::string value = "plain-" + std::to_string(id);
  for (int i = 0; i < 2; ++i)
    b.add(ts, std::nullopt,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  return b.build();
}

Bytes idempotent_batch(int32_t seq, int64_t ts) {
  protocol::RecordBatchBuilder b;
  b.producer(kIdempotentPid, 0, seq);
  std::string value = "idem-" + std::to_string(seq);
  b.add(ts, std::nullopt,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  return b.build();
}

Bytes txn_batch(int64_t ts) {
  protocol::RecordBatchBuilder b;
  b.producer(kTxnPid, 0, 0).transactional(true);
  const uint8_t value[] = {'t', 'x', 'n'};
  b.add(ts, std::nullopt, std::span<const uint8_t>(value, sizeof value));
  return b.build();
}

class Workload {
 public:
  Workload(const std::string& dir, ManualClock& clock) : dir_(dir), clock_(clock) {
    defaults_.segment_bytes = 400;  // three or four batches per segment
    defaults_.segment_ms = 60'000;
    defaults_.retention_bytes = 900;
    defaults_.retention_ms = -1;
    defaults_.index_interval_bytes = 0;  // an index entry for every batch
    defaults_.flush_messages = 5;        // some appends flush before they are answered
  }

  Outcome run() {
    Outcome out;
    // First start: create the topic, produce with rolls, retention, flush, clean close.
    if (auto lm = start(out)) {
      auto created = lm->create_topic(kTopic, 1, {});
      out.topic_created = created.ok();
      if (PartitionLog* log = lm->get(kTopic, 0)) {
        for (int i = 0; i < 6; ++i) produce(*log, out, i);
        transaction(*log, out);
        retention(*lm, *log, out);
        lm->flush_all();
        for (int i = 6; i < 8; ++i) produce(*log, out, i);
      }
      lm->close();
    }
    // Clean restart: produce, a roll by time, retention, clean close.
    if (auto lm = start(out)) {
      if (PartitionLog* log = lm->get(kTopic, 0)) {
        for (int i = 8; i < 10; ++i) produce(*log, out, i);
        clock_.advance(defaults_.segment_ms + 1);
        lm->maybe_roll_all(clock_.now_ms());
        produce(*log, out, 10);
        retention(*lm, *log, out);
      }
      lm->close();
    }
    // A crash that tore the last write: unclean restart, produce, close.
    tear_tail();
    if (auto lm = start(out)) {
      if (PartitionLog* log = lm->get(kTopic, 0))
        for (int i = 11; i < 13; ++i) produce(*log, out, i);
      lm->close();
    }
    return out;
  }

  const LogConfig& defaults() const { return defaults_; }

 private:
  std::unique_ptr<LogManager> start(Outcome& out) {
    auto lm = std::make_unique<LogManager>(std::vector<std::string>{dir_}, defaults_, clock_);
    std::string err;
    if (lm->load(&err)) return lm;
    out.start_errors.push_back(err);
    return nullptr;
  }

  void produce(PartitionLog& log, Outcome& out, int i) {
    clock_.advance(1000);
    const int64_t now = clock_.now_ms();
    if (i % 2 == 0) {
      Bytes b = plain_batch(i, now);
      auto r = log.append(b, 0, now);
      if (r.error == ErrorCode::NONE) out.acked[r.base_offset] = b;
      return;
    }
    // An idempotent producer retries a refused batch once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      Bytes sent = idempotent_batch(out.next_seq, now);
      Bytes b = sent;
      auto r = log.append(b, 0, now);
      if (r.error != ErrorCode::NONE) continue;
      if (!r.duplicate) out.acked[r.base_offset] = b;
      out.last_idempotent = sent;
      out.last_idempotent_offset = r.base_offset;
      ++out.next_seq;
      return;
    }
  }

  void retention(LogManager& lm, const PartitionLog& log, Outcome& out) {
    lm.apply_retention(clock_.now_ms());
    out.retained_from = std::max(out.retained_from, log.log_start_offset());
  }

  void transaction(PartitionLog& log, Outcome& out) {
    clock_.advance(1000);
    const int64_t now = clock_.now_ms();
    Bytes b = txn_batch(now);
    auto r = log.append(b, 0, now);
    if (r.error == ErrorCode::NONE) out.acked[r.base_offset] = b;
    auto m = log.append_control(kTxnPid, 0, 0, /*commit=*/false, 0, now);
    if (m.error == ErrorCode::NONE) out.acked[m.base_offset] = Bytes{};
  }

  // The clean-shutdown marker goes and half a batch follows the last one (not through the
  // seam: this is the crash, not the broker).
  void tear_tail() {
    std::error_code ec;
    fs::remove(dir_ + "/.runnel-cleanshutdown", ec);
    std::string part = dir_ + "/" + kTopic + "-0";
    std::string last;
    for (const auto& e : fs::directory_iterator(part, ec))
      if (e.path().extension() == ".log" && e.path().string() > last) last = e.path().string();
    if (last.empty()) return;
    Bytes torn = plain_batch(99, clock_.now_ms());
    torn.resize(torn.size() / 2);
    int fd = ::open(last.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = ::write(fd, torn.data(), torn.size());
    (void)n;
    ::close(fd);
  }

  std::string dir_;
  ManualClock& clock_;
  LogConfig defaults_;
};

// The batches of `log` from its start offset to its end, as whole batches.
std::vector<Bytes> read_all(const PartitionLog& log) {
  std::vector<Bytes> out;
  auto r = log.read(log.log_start_offset(), 1 << 20, true, FetchIsolation::log_end);
  for (const auto& s : r.slices) {
    Bytes buf(s.length);
    if (::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)) !=
        static_cast<ssize_t>(s.length))
      return {};
    for (auto b : protocol::split_batches(buf).batches) out.emplace_back(b.begin(), b.end());
  }
  return out;
}

// Opens the directory without faults and checks it against what the workload was told.
// Returns a description of the first disagreement, or "".
std::string check_restart(const std::string& dir, const LogConfig& defaults, ManualClock& clock,
                          const Outcome& out, bool crash) {
  if (crash) fs::remove(dir + "/.runnel-cleanshutdown");
  LogManager lm({dir}, defaults, clock);
  std::string err;
  if (!lm.load(&err)) return "restart failed: " + err;
  PartitionLog* log = lm.get(kTopic, 0);
  if (!out.topic_created) return log ? "a refused topic creation left the topic" : "";
  if (!log) return "the created topic is gone";
  const int64_t start = log->log_start_offset(), end = log->log_end_offset();
  if (start > out.retained_from)
    return "the log starts at " + std::to_string(start) + ", retention moved it to " +
           std::to_string(out.retained_from);
  int64_t next = start;
  for (const Bytes& b : read_all(*log)) {
    auto h = BatchHeader::parse(b);
    if (h->base_offset != next)
      return "offsets not contiguous: batch at " + std::to_string(h->base_offset) + ", expected " +
             std::to_string(next);
    next = h->last_offset() + 1;
    auto it = out.acked.find(h->base_offset);
    if (it == out.acked.end())
      return "batch at " + std::to_string(h->base_offset) + " was never acknowledged";
    if (it->second.empty() ? !h->is_control() : it->second != b)
      return "batch at " + std::to_string(h->base_offset) + " is not the acknowledged one";
  }
  if (next != end)
    return "the log ends at " + std::to_string(next) + ", its end offset is " + std::to_string(end);
  for (const auto& acked : out.acked)
    if (acked.first >= start && acked.first >= next)
      return "acknowledged batch at " + std::to_string(acked.first) + " lost (log " +
             std::to_string(start) + ".." + std::to_string(end) + ")";
  // The idempotent producer: its last batch is a duplicate, its next sequence is welcome.
  if (out.last_idempotent && out.last_idempotent_offset >= start) {
    Bytes again = *out.last_idempotent;
    auto r = log->append(again, 0, clock.now_ms());
    if (r.error != ErrorCode::NONE || !r.duplicate || r.base_offset != out.last_idempotent_offset)
      return "the last idempotent batch, retried, is not answered as a duplicate";
  }
  Bytes next_idem = idempotent_batch(out.next_seq, clock.now_ms());
  auto r = log->append(next_idem, 0, clock.now_ms());
  if (r.error != ErrorCode::NONE || r.base_offset != end)
    return "the idempotent producer's next batch was refused: " +
           std::string(protocol::error_name(r.error));
  Bytes plain = plain_batch(1000, clock.now_ms());
  r = log->append(plain, 0, clock.now_ms());
  if (r.error != ErrorCode::NONE || r.base_offset != end + 1) return "a new append failed";
  // Take the two test appends back out, so that the second restart sees what the walk left.
  if (!log->truncate_to(end)) return "truncate_to failed";
  return "";
}

// Keeps the thousands of logged storage errors of a walk off the test output (set
// RUNNEL_WALK_VERBOSE to see them).
class QuietStderr {
 public:
  QuietStderr() {
    if (std::getenv("RUNNEL_WALK_VERBOSE")) return;
    std::fflush(stderr);
    saved_ = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, 2);
    ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

// /dev/shm when there is one: thousands of directories are made and removed.
std::string walk_base() {
  std::error_code ec;
  return fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

struct Fault {
  int error;
  bool short_write;
  const char* name;
};

// The faults a call of this kind is walked with.
std::vector<Fault> faults_for(Op op) {
  std::vector<Fault> f{{EIO, false, "EIO"}};
  if (op == Op::write || op == Op::open || op == Op::mkdir || op == Op::rename ||
      op == Op::truncate)
    f.push_back({ENOSPC, false, "ENOSPC"});
  if (op == Op::open || op == Op::list) f.push_back({EMFILE, false, "EMFILE"});
  if (op == Op::write) f.push_back({ENOSPC, true, "short write"});
  return f;
}

// Runs the workload under `plan`, then checks two restarts without faults. Returns the first
// problem, or "".
std::string run_once(const std::string& base, sys::FaultPlan& plan) {
  TempDir dir(base);
  ManualClock clock;
  Workload w(dir.path(), clock);
  Outcome out;
  std::string problem;
  QuietStderr quiet;
  sys::set_fault_plan(&plan);
  try {
    out = w.run();
  } catch (const std::exception& e) {
    problem = std::string("the workload threw: ") + e.what();
  }
  sys::FaultPlan none;
  none.skip_sync = true;
  sys::set_fault_plan(&none);
  for (const auto& e : out.start_errors)
    if (e.empty() && problem.empty()) problem = "a start-up failed without a reason";
  try {
    if (problem.empty()) problem = check_restart(dir.path(), w.defaults(), clock, out, false);
    if (problem.empty()) problem = check_restart(dir.path(), w.defaults(), clock, out, true);
  } catch (const std::exception& e) {
    problem = std::string("the restart threw: ") + e.what();
  }
  sys::set_fault_plan(nullptr);
  return problem;
}

// The counting run: every call of the workload, in order.
std::vector<sys::FaultPlan::Call> count_calls(const std::string& base) {
  sys::FaultPlan count;
  count.skip_sync = true;
  count.record_trace = true;
  TempDir dir(base);
  ManualClock clock;
  Workload w(dir.path(), clock);
  Outcome clean;
  {
    QuietStderr quiet;
    sys::set_fault_plan(&count);
    clean = w.run();
    sys::set_fault_plan(nullptr);
  }
  EXPECT_TRUE(clean.topic_created);
  EXPECT_TRUE(clean.start_errors.empty());
  EXPECT_GE(clean.acked.size(), 12u);
  return count.trace;
}

std::string report(const std::vector<std::string>& failures, size_t runs) {
  std::string all =
      std::to_string(failures.size()) + " of " + std::to_string(runs) + " runs failed:\n";
  for (size_t i = 0; i < failures.size() && i < 40; ++i) all += failures[i] + "\n";
  return all;
}

TEST(FaultWalkTest, EveryIoCallOfProduceRollRetentionAndRecovery) {
  const std::string base = walk_base();
  const std::vector<sys::FaultPlan::Call> calls = count_calls(base);
  ASSERT_GT(calls.size(), 100u);
  std::map<Op, int> kinds;
  for (const auto& c : calls) ++kinds[c.op];
  std::string summary;
  for (const auto& [op, n] : kinds)
    summary += std::string(" ") + sys::op_name(op) + "=" + std::to_string(n);

  size_t runs = 0, fired = 0;
  std::vector<std::string> failures;
  for (uint64_t n = 1; n <= calls.size(); ++n) {
    for (const Fault& f : faults_for(calls[n - 1].op)) {
      sys::FaultPlan plan;
      plan.skip_sync = true;
      plan.fail_at = n;
      plan.error = f.error;
      plan.short_write = f.short_write;
      std::string problem = run_once(base, plan);
      ++runs;
      fired += plan.failed;
      if (!problem.empty())
        failures.push_back("call " + std::to_string(n) + " (" + sys::op_name(calls[n - 1].op) +
                           " " + calls[n - 1].path + ") " + f.name + ": " + problem);
    }
  }
  std::printf("walked %zu calls (%s ) in %zu runs\n", calls.size(), summary.c_str(), runs);
  EXPECT_EQ(fired, runs) << "some runs never reached their faulty call";
  EXPECT_TRUE(failures.empty()) << report(failures, runs);
}

// A disk that fills up and stays full: from the Nth write on, every write fails with ENOSPC
// (whole or short); everything else works, so taking an append back always can.
TEST(FaultWalkTest, DiskStaysFullFromEveryWriteOn) {
  const std::string base = walk_base();
  const std::vector<sys::FaultPlan::Call> calls = count_calls(base);
  uint64_t writes = 0;
  for (const auto& c : calls) writes += c.op == Op::write;
  ASSERT_GT(writes, 20u);
  size_t runs = 0;
  std::vector<std::string> failures;
  for (uint64_t n = 1; n <= writes; ++n) {
    for (bool short_write : {false, true}) {
      sys::FaultPlan plan;
      plan.skip_sync = true;
      plan.ops = sys::op_bit(Op::write);
      plan.fail_at = n;
      plan.fail_count = UINT64_MAX;
      plan.error = ENOSPC;
      plan.short_write = short_write;
      std::string problem = run_once(base, plan);
      ++runs;
      if (plan.failed == 0) problem = "the write never came";
      if (!problem.empty())
        failures.push_back("write " + std::to_string(n) + (short_write ? " (short)" : "") +
                           " and after: " + problem);
    }
  }
  std::printf("walked %llu writes in %zu runs\n", static_cast<unsigned long long>(writes), runs);
  EXPECT_TRUE(failures.empty()) << report(failures, runs);
}

}  // namespace
}  // namespace runnel::storage
