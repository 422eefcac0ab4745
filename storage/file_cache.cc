#include "storage/file_cache.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

namespace {
constexpr int kOpenFlags = O_RDWR | O_CLOEXEC;
// Out of descriptors: how many of its own the cache closes before trying once more.
constexpr size_t kEvictOnEmfile = 64;
// How far from the least recently used end an eviction looks for a file that needs no sync.
constexpr int kCleanVictimSearch = 8;
}  // namespace

// --- CachedFile ---

CachedFile::~CachedFile() { forget(); }

void CachedFile::set_path(std::string path, FileCache* cache) {
  forget();
  cache_ = cache ? cache : &FileCache::process();
  path_ = std::move(path);
  written_ = false;
  sync_failed_ = false;
}

std::shared_ptr<FileHandle> CachedFile::open(bool create, std::string* error, bool* created) {
  if (created) *created = false;
  std::lock_guard lock(cache_->mutex_);
  if (handle_) {
    cache_->touch(this);
    return handle_;
  }
  if (!create) return cache_->open_locked(this, kOpenFlags, error);
  if (!created) return cache_->open_locked(this, kOpenFlags | O_CREAT, error);
  // O_EXCL first, to tell whether this call made the file.
  auto h = cache_->open_locked(this, kOpenFlags | O_CREAT | O_EXCL, error);
  if (h) {
    *created = true;
    return h;
  }
  if (errno != EEXIST) return nullptr;
  return cache_->open_locked(this, kOpenFlags, error);
}

std::shared_ptr<FileHandle> CachedFile::handle(std::string* error) {
  if (!cache_) {
    if (error) *error = "no file";
    return nullptr;
  }
  std::lock_guard lock(cache_->mutex_);
  if (handle_) {
    cache_->touch(this);
    return handle_;
  }
  ++cache_->stats_.reopens;
  return cache_->open_locked(this, kOpenFlags, error);
}

bool CachedFile::write_at(const uint8_t* data, size_t len, uint64_t offset, bool* touched) {
  if (touched) *touched = false;
  auto h = handle(nullptr);
  if (!h) return false;
  if (touched) *touched = true;
  mark_written();
  return io::pwrite_all(h->fd(), data, len, offset);
}

bool CachedFile::truncate(uint64_t size) {
  auto h = handle(nullptr);
  if (!h) return false;
  mark_written();
  return sys::ftruncate(h->fd(), static_cast<off_t>(size)) == 0;
}

void CachedFile::mark_written() {
  if (!cache_) return;
  std::lock_guard lock(cache_->mutex_);
  written_ = true;
}

bool CachedFile::sync(bool always) {
  if (!cache_) return true;
  std::shared_ptr<FileHandle> h;
  bool ok = true;
  {
    std::lock_guard lock(cache_->mutex_);
    ok = !sync_failed_;
    sync_failed_ = false;
    if (!written_ && !always) return ok;
    h = handle_;
    if (!h) {
      std::string err;
      h = cache_->open_locked(this, kOpenFlags, &err);
      if (!h) {
        io::log_line("sync: " + err);
        return false;
      }
    }
    written_ = false;
  }
  // Outside the lock: other files stay usable while this one syncs.
  if (sys::fdatasync(h->fd()) != 0) {
    io::log_line(io::errno_message("fdatasync", path_));
    std::lock_guard lock(cache_->mutex_);
    written_ = true;
    return false;
  }
  return ok;
}

std::shared_ptr<FileHandle> CachedFile::handle_to_sync(bool* failed) {
  if (!cache_) return nullptr;
  std::lock_guard lock(cache_->mutex_);
  if (sync_failed_) *failed = true;
  return written_ ? handle_ : nullptr;
}

void CachedFile::forget() {
  if (!cache_) return;
  std::lock_guard lock(cache_->mutex_);
  if (handle_) {
    cache_->unlink(this);
    handle_.reset();
  }
  written_ = false;
}

bool CachedFile::is_open() const {
  if (!cache_) return false;
  std::lock_guard lock(cache_->mutex_);
  return handle_ != nullptr;
}

// --- FileCache ---

FileCache::FileCache(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

FileCache::~FileCache() {
  std::lock_guard lock(mutex_);
  // Files that outlive their cache (none should) keep working without it.
  while (tail_) {
    CachedFile* f = tail_;
    unlink(f);
    f->handle_.reset();
  }
}

FileCache& FileCache::process() {
  static FileCache cache(default_capacity());
  return cache;
}

size_t FileCache::default_capacity() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 512;
  if (lim.rlim_cur == RLIM_INFINITY) return 1'000'000;
  return std::max<size_t>(16, static_cast<size_t>(lim.rlim_cur) / 2);
}

size_t FileCache::capacity() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}

void FileCache::set_capacity(size_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max<size_t>(1, capacity);
  evict_down_to(capacity_);
}

size_t FileCache::open_files() const {
  std::lock_guard lock(mutex_);
  return count_;
}

FileCache::Stats FileCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::shared_ptr<FileHandle> FileCache::open_locked(CachedFile* f, int flags, std::string* error) {
  evict_down_to(capacity_ - 1);
  int fd = sys::open(f->path_, flags, 0644);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && count_ > 0) {
    // Descriptors went elsewhere (connections, files being sent): give back some of ours.
    evict_down_to(count_ > kEvictOnEmfile ? count_ - kEvictOnEmfile : 0);
    fd = sys::open(f->path_, flags, 0644);
  }
  if (fd < 0) {
    const int e = errno;
    if (error) *error = io::errno_message("open", f->path_);
    ++stats_.open_failures;
    errno = e;
    return nullptr;
  }
  ++stats_.opens;
  f->handle_ = std::make_shared<FileHandle>(fd, f->path_);
  push_front(f);
  return f->handle_;
}

void FileCache::push_front(CachedFile* f) {
  f->prev_ = nullptr;
  f->next_ = head_;
  if (head_) head_->prev_ = f;
  head_ = f;
  if (!tail_) tail_ = f;
  ++count_;
}

void FileCache::unlink(CachedFile* f) {
  if (f->prev_) f->prev_->next_ = f->next_;
  if (f->next_) f->next_->prev_ = f->prev_;
  if (head_ == f) head_ = f->next_;
  if (tail_ == f) tail_ = f->prev_;
  f->prev_ = f->next_ = nullptr;
  --count_;
}

void FileCache::touch(CachedFile* f) {
  if (head_ == f) return;
  unlink(f);
  push_front(f);
}

void FileCache::evict(CachedFile* f) {
  ++stats_.evictions;
  if (f->written_) {
    // Synced now so that a later flush of the file never needs it open again.
    ++stats_.eviction_syncs;
    if (sys::fdatasync(f->handle_->fd()) != 0) {
      io::log_line(io::errno_message("fdatasync (closing)", f->path_));
      f->sync_failed_ = true;
    }
    f->written_ = false;
  }
  unlink(f);
  f->handle_.reset();
}

void FileCache::evict_down_to(size_t count) {
  while (count_ > count && tail_) {
    // A file that needs no sync goes first when one is near the end, so that appends to many
    // partitions do not pay an fdatasync for each file they push out.
    CachedFile* victim = tail_;
    CachedFile* f = tail_;
    for (int i = 0; i < kCleanVictimSearch && f; ++i, f = f->prev_) {
      if (!f->written_) {
        victim = f;
        break;
      }
    }
    evict(victim);
  }
}

}  // namespace runnel::storage
