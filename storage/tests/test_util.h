// Test helpers: temp directories and valid magic-2 record batches.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "protocol/records/batch_header.h"
#include "protocol/records/crc32c.h"

namespace runnel::storage::testing {

class TempDir {
 public:
  // Under `base` (a memory file system such as /dev/shm keeps tests that create thousands of
  // files fast).
  explicit TempDir(const std::string& base = "/tmp") {
    std::string tmpl = base + "/runnel-storage-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the process out of file descriptors, leaving `left_free` of them, until destroyed: the
// soft RLIMIT_NOFILE is lowered to a little above the descriptors in use (so that filling the
// table is quick) and the rest is filled with copies of /dev/null. The destructor closes them
// and restores the limit. Make no assertion that needs a descriptor while one is alive.
class DescriptorsExhausted {
 public:
  explicit DescriptorsExhausted(int left_free) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(highest + 64);
    if (saved_.rlim_cur != RLIM_INFINITY && low.rlim_cur > saved_.rlim_cur)
      low.rlim_cur = saved_.rlim_cur;
    ::setrlimit(RLIMIT_NOFILE, &low);
    fds_.push_back(highest);
    for (;;) {
      int fd = ::dup(highest);
      if (fd < 0) break;
      fds_.push_back(fd);
    }
    for (int i = 0; i < left_free && !fds_.empty(); ++i) {
      ::close(fds_.back());
      fds_.pop_back();
    }
  }
  ~DescriptorsExhausted() {
    for (int fd : fds_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorsExhausted(const DescriptorsExhausted&) = delete;
  DescriptorsExhausted& operator=(const DescriptorsExhausted&) = delete;
  // Descriptors it holds (0 would mean it could not take any).
  size_t held() const { return fds_.size(); }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
};

inline void put_uvarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
inline void put_varlong(std::vector<uint8_t>& out, int64_t v) {
  put_uvarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// A batch of `count` uncompressed records; record i has timestamp
// `base_ts + i * ts_step` and a value of `value_size` bytes.
inline std::vector<uint8_t> make_batch(int count, int64_t base_ts, int64_t ts_step = 0,
                                       size_t value_size = 10) {
  std::vector<uint8_t> records;
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> rec;
    rec.push_back(0);  // attributes
    put_varlong(rec, i * ts_step);
    put_varlong(rec, i);
    put_varlong(rec, -1);  // null key
    put_varlong(rec, static_cast<int64_t>(value_size));
    for (size_t j = 0; j < value_size; ++j) rec.push_back(static_cast<uint8_t>('a' + j % 26));
    put_varlong(rec, 0);  // headers
    put_varlong(records, static_cast<int64_t>(rec.size()));
    records.insert(records.end(), rec.begin(), rec.end());
  }
  protocol::BatchHeader h;
  h.base_offset = 0;
  h.batch_length = static_cast<int32_t>(protocol::BatchHeader::kSize - 12 + records.size());
  h.partition_leader_epoch = -1;
  h.last_offset_delta = count - 1;
  h.base_timestamp = base_ts;
  h.max_timestamp = base_ts + (count - 1) * ts_step;
  h.record_count = count;
  std::vector<uint8_t> out(protocol::BatchHeader::kSize);
  h.write(out);
  out.insert(out.end(), records.begin(), records.end());
  uint32_t crc = protocol::crc32c(out.data() + 21, out.size() - 21);
  out[17] = static_cast<uint8_t>(crc >> 24);
  out[18] = static_cast<uint8_t>(crc >> 16);
  out[19] = static_cast<uint8_t>(crc >> 8);
  out[20] = static_cast<uint8_t>(crc);
  return out;
}

inline bool crc_ok(const std::vector<uint8_t>& batch) {
  auto h = protocol::BatchHeader::parse(batch);
  return h && protocol::crc32c(batch.data() + 21, batch.size() - 21) == h->crc;
}

}  // namespace runnel::storage::testing
