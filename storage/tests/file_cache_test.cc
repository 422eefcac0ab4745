#include "storage/file_cache.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/partition_log.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using protocol::ErrorCode;
using testing::make_batch;
using testing::TempDir;

std::string read_all(int fd, size_t len) {
  std::string out(len, '\0');
  ssize_t n = ::pread(fd, out.data(), len, 0);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

bool write(CachedFile& f, const std::string& text, uint64_t at = 0) {
  return f.write_at(reinterpret_cast<const uint8_t*>(text.data()), text.size(), at);
}

size_t open_descriptors() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

class FileCacheTest : public ::testing::Test {
 protected:
  std::string path(int i) const { return dir.path() + "/f" + std::to_string(i); }
  TempDir dir;
};

TEST_F(FileCacheTest, KeepsAtMostCapacityAndEvictsTheLeastRecentlyUsed) {
  FileCache cache(2);
  CachedFile a, b, c;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  c.set_path(path(2), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(b.open(true, nullptr));
  ASSERT_TRUE(a.handle(nullptr));  // a is now the most recent
  ASSERT_TRUE(c.open(true, nullptr));
  EXPECT_EQ(cache.open_files(), 2u);
  EXPECT_TRUE(a.is_open());
  EXPECT_FALSE(b.is_open());
  EXPECT_TRUE(c.is_open());
  EXPECT_EQ(cache.stats().evictions, 1u);
  cache.set_capacity(1);
  EXPECT_EQ(cache.open_files(), 1u);
  EXPECT_TRUE(c.is_open());
}

TEST_F(FileCacheTest, AnEvictedFileIsOpenedAgainByPath) {
  FileCache cache(1);
  CachedFile a, b;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(write(a, "hello"));
  ASSERT_TRUE(b.open(true, nullptr));
  ASSERT_FALSE(a.is_open());
  std::string err;
  auto h = a.handle(&err);
  ASSERT_TRUE(h) << err;
  EXPECT_EQ(read_all(h->fd(), 5), "hello");
  EXPECT_EQ(cache.stats().reopens, 1u);
  EXPECT_FALSE(b.is_open());
  // Writes go on where they stopped.
  ASSERT_TRUE(write(a, " world", 5));
  EXPECT_EQ(read_all(a.handle(nullptr)->fd(), 11), "hello world");
}

TEST_F(FileCacheTest, AWrittenFileIsSyncedBeforeItsDescriptorIsClosed) {
  FileCache cache(1);
  CachedFile a, b;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(write(a, "data"));
  ASSERT_TRUE(b.open(true, nullptr));  // evicts a, written: synced first
  EXPECT_EQ(cache.stats().eviction_syncs, 1u);
  // Nothing left to sync: a flush does not need the file open again.
  EXPECT_TRUE(a.sync());
  EXPECT_FALSE(a.is_open());
  // A clean file is closed without a sync.
  ASSERT_TRUE(a.handle(nullptr));
  EXPECT_EQ(cache.stats().eviction_syncs, 1u);
  // Written again and still open: sync() syncs it, then nothing is left for an eviction.
  ASSERT_TRUE(write(a, "more", 4));
  EXPECT_TRUE(a.sync());
  ASSERT_TRUE(b.handle(nullptr));
  EXPECT_EQ(cache.stats().eviction_syncs, 1u);
}

TEST_F(FileCacheTest, AFileThatNeedsNoSyncIsEvictedFirst) {
  FileCache cache(2);
  CachedFile a, b, c;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  c.set_path(path(2), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(write(a, "dirty"));
  ASSERT_TRUE(b.open(true, nullptr));  // more recent than a, but clean
  ASSERT_TRUE(c.open(true, nullptr));
  EXPECT_TRUE(a.is_open());
  EXPECT_FALSE(b.is_open());
  EXPECT_EQ(cache.stats().eviction_syncs, 0u);
}

TEST_F(FileCacheTest, AHandleOutlivesEvictionAndDeletion) {
  FileCache cache(1);
  CachedFile a, b;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(write(a, "still here"));
  std::shared_ptr<FileHandle> slice = a.handle(nullptr);  // as a FileSlice being sent holds it
  ASSERT_TRUE(b.open(true, nullptr));
  EXPECT_FALSE(a.is_open());
  a.forget();
  ASSERT_EQ(::unlink(path(0).c_str()), 0);
  EXPECT_EQ(read_all(slice->fd(), 10), "still here");
  EXPECT_EQ(cache.open_files(), 1u);
}

TEST_F(FileCacheTest, AFileThatCannotBeOpenedAgainIsAnError) {
  FileCache cache(1);
  CachedFile a, b;
  a.set_path(path(0), &cache);
  b.set_path(path(1), &cache);
  ASSERT_TRUE(a.open(true, nullptr));
  ASSERT_TRUE(b.open(true, nullptr));
  ASSERT_EQ(::unlink(path(0).c_str()), 0);
  std::string err;
  EXPECT_FALSE(a.handle(&err));
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
  EXPECT_FALSE(write(a, "x"));
  EXPECT_FALSE(a.truncate(0));
  EXPECT_FALSE(std::filesystem::exists(path(0)));  // never created again
  EXPECT_EQ(cache.stats().open_failures, 3u);
}

TEST_F(FileCacheTest, OutOfDescriptorsTheCacheGivesBackItsOwn) {
  FileCache cache(1000);
  std::vector<std::unique_ptr<CachedFile>> files;
  for (int i = 0; i < 8; ++i) {
    files.push_back(std::make_unique<CachedFile>());
    files.back()->set_path(path(i), &cache);
    ASSERT_TRUE(files.back()->open(true, nullptr));
  }
  CachedFile late;
  late.set_path(path(100), &cache);
  std::shared_ptr<FileHandle> h;
  {
    testing::DescriptorsExhausted none(0);
    h = late.open(true, nullptr);
  }
  ASSERT_TRUE(h);
  EXPECT_EQ(cache.open_files(), 1u);  // the eight were closed to make room
}

// A partition log whose segment files were evicted and deleted answers its reads and appends
// with KAFKA_STORAGE_ERROR, and is not taken offline.
TEST_F(FileCacheTest, PartitionLogAnswersStorageErrorWhenAFileCannotBeReopened) {
  FileCache& cache = FileCache::process();
  const size_t saved = cache.capacity();
  ManualClock clock;
  LogConfig config;
  std::string err;
  auto log = PartitionLog::open(dir.path() + "/t-0", "t", 0, config, clock, true, nullptr, &err);
  ASSERT_TRUE(log) << err;
  auto b = make_batch(3, clock.now_ms());
  ASSERT_EQ(log->append(b, 0, clock.now_ms()).error, ErrorCode::NONE);
  cache.set_capacity(1);
  CachedFile other;  // takes the one place left: every file of the log is evicted
  other.set_path(path(9));
  ASSERT_TRUE(other.open(true, nullptr));
  cache.set_capacity(saved);
  const std::string seg = dir.path() + "/t-0/00000000000000000000.log";
  const std::string moved = dir.path() + "/moved.log";
  ASSERT_EQ(::rename(seg.c_str(), moved.c_str()), 0);
  EXPECT_EQ(log->read(0, 1 << 20, true).error, ErrorCode::KAFKA_STORAGE_ERROR);
  auto b2 = make_batch(2, clock.now_ms());
  EXPECT_EQ(log->append(b2, 0, clock.now_ms()).error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(log->offline());
  EXPECT_EQ(log->log_end_offset(), 3);
  // Back in place: both work again.
  ASSERT_EQ(::rename(moved.c_str(), seg.c_str()), 0);
  auto r = log->read(0, 1 << 20, true);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.first_batch_base_offset, 0);
  auto b3 = make_batch(2, clock.now_ms());
  EXPECT_EQ(log->append(b3, 0, clock.now_ms()).base_offset, 3);
}

// Many partitions through a cache far smaller than their files (120 partitions, 16 places): every
// append and read works, the descriptors stay bounded, and a restart finds everything.
TEST_F(FileCacheTest, ManyPartitionsThroughASmallCache) {
  constexpr int kPartitions = 120;
  constexpr size_t kCapacity = 16;
  FileCache& cache = FileCache::process();
  const size_t saved = cache.capacity();
  cache.set_capacity(kCapacity);
  const size_t before = open_descriptors();
  ManualClock clock;
  LogConfig config;
  config.segment_bytes = 4096;  // a few rolls, so that rolled segments are flushed too
  auto open_all = [&](bool clean) {
    std::vector<std::unique_ptr<PartitionLog>> logs;
    for (int p = 0; p < kPartitions; ++p) {
      std::string err;
      auto log = PartitionLog::open(dir.path() + "/t-" + std::to_string(p), "t", p, config, clock,
                                    clean, nullptr, &err);
      EXPECT_TRUE(log) << err;
      if (!log) break;
      logs.push_back(std::move(log));
    }
    return logs;
  };
  auto logs = open_all(false);
  ASSERT_EQ(logs.size(), static_cast<size_t>(kPartitions));
  for (int round = 0; round < 4; ++round) {
    for (int p = 0; p < kPartitions; ++p) {
      auto b = make_batch(1 + p % 3, clock.now_ms(), 0, 600);
      auto r = logs[p]->append(b, 0, clock.now_ms());
      ASSERT_EQ(r.error, ErrorCode::NONE) << p;
    }
    EXPECT_LE(open_descriptors(), before + kCapacity);
  }
  std::vector<ReadResult> held;  // as fetches still sending: they keep their descriptors
  for (int p = 0; p < kPartitions; ++p) {
    auto r = logs[p]->read(0, 1 << 20, true);
    ASSERT_EQ(r.error, ErrorCode::NONE) << p;
    EXPECT_EQ(r.log_end_offset, 4 * (1 + p % 3));
    EXPECT_EQ(r.first_batch_base_offset, 0);
    if (p % 20 == 0) held.push_back(std::move(r));
  }
  for (const auto& r : held)
    for (const auto& s : r.slices) {
      std::vector<uint8_t> buf(s.length);
      EXPECT_EQ(::pread(s.file->fd(), buf.data(), s.length, static_cast<off_t>(s.file_position)),
                static_cast<ssize_t>(s.length));
    }
  held.clear();
  EXPECT_LE(open_descriptors(), before + kCapacity);
  for (auto& l : logs) ASSERT_TRUE(l->flush());
  for (auto& l : logs) l->close();
  logs.clear();
  logs = open_all(true);
  ASSERT_EQ(logs.size(), static_cast<size_t>(kPartitions));
  for (int p = 0; p < kPartitions; ++p) EXPECT_EQ(logs[p]->log_end_offset(), 4 * (1 + p % 3));
  logs.clear();
  cache.set_capacity(saved);
}

// The same under a real descriptor limit (run in a child process): far more segment files
// than the limit allows open at once. Returns the exit status (0: all worked).
int many_partitions_under_limit(const std::string& root) {
  rlimit lim{128, 128};
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return 2;
  FileCache::process().set_capacity(FileCache::default_capacity());
  ManualClock clock;
  LogConfig config;
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int p = 0; p < 400; ++p) {
    std::string err;
    auto log = PartitionLog::open(root + "/u-" + std::to_string(p), "u", p, config, clock, false,
                                  nullptr, &err);
    if (!log) {
      std::fprintf(stderr, "open %d: %s\n", p, err.c_str());
      return 3;
    }
    logs.push_back(std::move(log));
  }
  for (int p = 0; p < 400; ++p) {
    auto b = make_batch(2, clock.now_ms());
    if (logs[p]->append(b, 0, clock.now_ms()).error != ErrorCode::NONE) return 4;
  }
  for (int p = 0; p < 400; ++p) {
    auto r = logs[p]->read(0, 1 << 20, true);
    if (r.error != ErrorCode::NONE || r.first_batch_base_offset != 0 || r.log_end_offset != 2)
      return 5;
  }
  for (auto& l : logs)
    if (!l->flush()) return 6;
  return 0;
}

TEST_F(FileCacheTest, ManyPartitionsUnderALowDescriptorLimit) {
  EXPECT_EXIT(std::_Exit(many_partitions_under_limit(dir.path())), ::testing::ExitedWithCode(0),
              "");
}

}  // namespace
}  // namespace runnel::storage
