#include "storage/txn_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

namespace {

void encode(const TxnIndexEntry& e, uint8_t* p) {
  p[0] = 0;
  p[1] = 0;
  io::put_u64(p + 2, static_cast<uint64_t>(e.producer_id));
  io::put_u64(p + 10, static_cast<uint64_t>(e.first_offset));
  io::put_u64(p + 18, static_cast<uint64_t>(e.last_offset));
  io::put_u64(p + 26, static_cast<uint64_t>(e.last_stable_offset));
}

}  // namespace

TxnIndex::~TxnIndex() { close(); }

bool TxnIndex::open(const std::string& path, std::string* error) {
  close();
  path_ = path;
  entries_.clear();
  int fd = sys::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;
    if (error) *error = io::errno_message("open", path);
    return false;
  }
  fd_ = fd;
  struct stat st;
  if (sys::fstat(fd_, &st) != 0) {
    if (error) *error = io::errno_message("stat", path);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // A txn index is small; refuse anything absurd rather than allocate it.
  if (size > (64u << 20)) size = 0;
  std::vector<uint8_t> bytes(size - size % kEntrySize);
  if (!bytes.empty() && io::pread_full(fd_, bytes.data(), bytes.size(), 0) < 0) {
    // Not a reason to cut the index: it may be whole.
    if (error) *error = io::errno_message("read", path);
    return false;
  }
  for (size_t off = 0; off + kEntrySize <= bytes.size(); off += kEntrySize) {
    const uint8_t* p = bytes.data() + off;
    TxnIndexEntry e;
    e.producer_id = static_cast<int64_t>(io::get_u64(p + 2));
    e.first_offset = static_cast<int64_t>(io::get_u64(p + 10));
    e.last_offset = static_cast<int64_t>(io::get_u64(p + 18));
    e.last_stable_offset = static_cast<int64_t>(io::get_u64(p + 26));
    bool ordered = entries_.empty() || e.last_offset > entries_.back().last_offset;
    if (p[0] != 0 || p[1] != 0 || e.first_offset < 0 || e.first_offset > e.last_offset || !ordered)
      break;
    entries_.push_back(e);
  }
  if (entries_.size() * kEntrySize != static_cast<uint64_t>(st.st_size)) {
    io::log_line(path + ": cutting the aborted-transaction index to " +
                 std::to_string(entries_.size()) + " entries");
    if (sys::ftruncate(fd_, static_cast<off_t>(entries_.size() * kEntrySize)) != 0) {
      if (error) *error = io::errno_message("ftruncate", path);
      return false;
    }
  }
  return true;
}

bool TxnIndex::ensure_open() {
  if (fd_ >= 0) return true;
  if (path_.empty()) return false;
  fd_ = sys::open(path_, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  return fd_ >= 0;
}

bool TxnIndex::append(const TxnIndexEntry& e) {
  if (!entries_.empty() && e.last_offset <= entries_.back().last_offset) return false;
  if (!ensure_open()) {
    io::log_line(io::errno_message("open", path_));
    return false;
  }
  uint8_t buf[kEntrySize];
  encode(e, buf);
  if (!io::pwrite_all(fd_, buf, sizeof buf, entries_.size() * kEntrySize)) {
    io::log_line(io::errno_message("write", path_));
    return false;
  }
  entries_.push_back(e);
  return true;
}

bool TxnIndex::truncate_to(int64_t offset) {
  size_t keep = 0;
  while (keep < entries_.size() && entries_[keep].last_offset < offset) ++keep;
  if (keep == entries_.size()) return true;
  entries_.resize(keep);
  if (fd_ < 0) return true;
  return sys::ftruncate(fd_, static_cast<off_t>(keep * kEntrySize)) == 0;
}

bool TxnIndex::flush() { return fd_ < 0 || sys::fdatasync(fd_) == 0; }

void TxnIndex::close() {
  if (fd_ >= 0) sys::close(fd_);
  fd_ = -1;
}

bool TxnIndex::remove() {
  close();
  entries_.clear();
  if (path_.empty()) return true;
  return sys::unlink(path_) == 0 || errno == ENOENT;
}

bool TxnIndex::collect(int64_t fetch_offset, int64_t upper_bound_offset,
                       std::vector<AbortedTxn>* out) const {
  for (const auto& e : entries_) {
    if (e.last_offset >= fetch_offset && e.first_offset < upper_bound_offset)
      out->push_back({e.producer_id, e.first_offset});
    if (e.last_stable_offset >= upper_bound_offset) return true;
  }
  return false;
}

}  // namespace runnel::storage
