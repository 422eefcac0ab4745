// libFuzzer target: recovery of a partition directory from arbitrary files.
//
// Input layout:
//   0      flags: bit 0 clean shutdown; bit 1 fix the CRC of every whole batch
//          in the .log; bit 2 fix the CRC and offset of the snapshot (so
//          that random bytes get past those checks and reach what is behind)
//   1      snapshot offset (0..255), the name of the .snapshot file
//   2..9   sizes (big-endian uint16) of the .index, .timeindex, .txnindex and
//          .snapshot contents, which follow in that order (cut short when the
//          input ends)
//   rest   the .log of the segment with base offset 0
//
// The files are written into a fresh directory, the log is opened with
// PartitionLog::open, one batch is appended and read back, the log is closed
// and opened again. Checked: no crash, leak or undefined behaviour; after
// recovery the .log holds only whole batches, each with a correct CRC when
// the shutdown was not clean; the appended batch gets the log end offset and
// is read back; the reopened log keeps it.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "protocol/records/batch_header.h"
#include "protocol/records/crc32c.h"
#include "protocol/records/record_batch.h"
#include "storage/clock.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

using namespace runnel;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "segment_recovery_fuzz: %s\n", what);
  std::abort();
}

const std::string& base_dir() {
  static const std::string dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "runnel-recovery-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("mkdtemp failed");
    return tmpl;
  }();
  return dir;
}

void write_file(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail("cannot write a file");
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

uint64_t be(std::span<const uint8_t> b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | b[at + i];
  return v;
}

void put_be(std::vector<uint8_t>& b, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

// Recomputes the CRC of every whole batch that the lengths allow.
void fix_batch_crcs(std::vector<uint8_t>& log) {
  size_t pos = 0;
  while (log.size() - pos >= protocol::BatchHeader::kSize) {
    auto len = static_cast<int32_t>(be(log, pos + 8, 4));
    if (len < 49) return;
    size_t total = 12 + static_cast<size_t>(len);
    if (total > log.size() - pos) return;
    protocol::update_batch_crc(std::span<uint8_t>(log.data() + pos, total));
    pos += total;
  }
}

// Every batch left in the log is whole, and has a good CRC when asked.
void check_log_is_whole_batches(const std::string& path, bool check_crc) {
  auto log = read_file(path);
  size_t pos = 0;
  while (pos < log.size()) {
    auto h = protocol::BatchHeader::parse(std::span<const uint8_t>(log).subspan(pos));
    if (!h) fail("recovery kept a partial batch header");
    if (h->magic != 2 || h->batch_length < 49) fail("recovery kept a bad batch header");
    if (h->total_size() > log.size() - pos) fail("recovery kept a torn batch");
    auto batch = std::span<const uint8_t>(log).subspan(pos, h->total_size());
    if (check_crc && protocol::compute_batch_crc(batch) != h->crc)
      fail("recovery kept a batch with a bad CRC");
    pos += h->total_size();
  }
}

std::unique_ptr<storage::PartitionLog> open_log(const std::string& dir, bool clean,
                                                const storage::Clock& clock) {
  storage::LogConfig config;
  storage::RecoveryResult recovery;
  std::string error;
  return storage::PartitionLog::open(dir, "fuzz", 0, config, clock, clean, &recovery, &error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 10) return 0;
  std::span<const uint8_t> in(data, size);
  const bool clean = data[0] & 1;
  const bool fix_log = data[0] & 2;
  const bool fix_snapshot = data[0] & 4;
  const int64_t snapshot_offset = data[1];

  std::span<const uint8_t> parts[4];
  size_t pos = 10;
  for (int i = 0; i < 4; ++i) {
    size_t n = std::min<size_t>(be(in, 2 + 2 * static_cast<size_t>(i), 2), size - pos);
    parts[i] = in.subspan(pos, n);
    pos += n;
  }
  std::vector<uint8_t> log(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
  if (fix_log) fix_batch_crcs(log);
  std::vector<uint8_t> snapshot(parts[3].begin(), parts[3].end());
  if (fix_snapshot && snapshot.size() >= 18) {
    put_be(snapshot, 10, static_cast<uint64_t>(snapshot_offset), 8);
    put_be(snapshot, 6, protocol::crc32c(snapshot.data() + 10, snapshot.size() - 10), 4);
  }

  const std::string dir = base_dir() + "/fuzz-0";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string base = dir + "/00000000000000000000";
  write_file(base + ".log", log);
  write_file(base + ".index", parts[0]);
  write_file(base + ".timeindex", parts[1]);
  write_file(base + ".txnindex", parts[2]);
  char name[32];
  std::snprintf(name, sizeof name, "/%020lld.snapshot", static_cast<long long>(snapshot_offset));
  write_file(dir + name, snapshot);

  storage::ManualClock clock;
  int64_t end_after_append = -1;
  {
    auto plog = open_log(dir, clean, clock);
    if (!plog) return 0;  // refusing the directory is allowed; crashing is not
    check_log_is_whole_batches(base + ".log", !clean);

    int64_t end = plog->log_end_offset();
    if (end < plog->log_start_offset()) fail("log end below log start");
    static const uint8_t kValue[] = {'v', 'a', 'l', 'u', 'e'};
    auto batch = protocol::RecordBatchBuilder()
                     .add(clock.now_ms(), std::nullopt, std::span<const uint8_t>(kValue))
                     .build();
    auto result = plog->append(batch, 0, clock.now_ms());
    if (result.error == protocol::ErrorCode::NONE) {
      if (result.base_offset != end) fail("the appended batch did not get the log end offset");
      end_after_append = plog->log_end_offset();
      auto read = plog->read(end, 1 << 20, true, storage::FetchIsolation::log_end);
      if (read.error != protocol::ErrorCode::NONE || read.first_batch_base_offset != end)
        fail("the appended batch is not read back");
    }
    (void)plog->read(plog->log_start_offset(), 1 << 20, true, storage::FetchIsolation::committed);
    plog->close();
  }
  if (end_after_append >= 0) {
    auto again = open_log(dir, true, clock);
    if (!again) fail("a log closed cleanly does not open again");
    if (again->log_end_offset() != end_after_append) fail("reopening changed the log end offset");
  }
  fs::remove_all(dir, ec);
  return 0;
}
