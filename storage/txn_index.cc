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

TxnIndex::~TxnIndex() = default;

bool TxnIndex::open(const std::string& path, std::string* error, FileCache* cache) {
  file_.set_path(path, cache);
  entries_.clear();
  exists_ = false;
  std::error_code ec;
  if (!sys::exists(path, ec)) {
    if (!ec) return true;
    if (error) *error = "open " + path + ": " + ec.message();
    return false;
  }
  auto file = file_.open(false, error);
  if (!file) return false;
  exists_ = true;
  struct stat st;
  if (sys::fstat(file->fd(), &st) != 0) {
    if (error) *error = io::errno_message("stat", path);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // A txn index is small; refuse anything absurd rather than allocate it.
  if (size > (64u << 20)) size = 0;
  std::vector<uint8_t> bytes(size - size % kEntrySize);
  if (!bytes.empty() && io::pread_full(file->fd(), bytes.data(), bytes.size(), 0) !=
                            static_cast<int64_t>(bytes.size()))
    bytes.clear();
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
    if (!file_.truncate(entries_.size() * kEntrySize)) {
      if (error) *error = io::errno_message("ftruncate", path);
      return false;
    }
  }
  return true;
}

bool TxnIndex::ensure_created() {
  if (exists_) return true;
  if (file_.path().empty()) return false;
  std::string err;
  if (!file_.open(true, &err)) {
    io::log_line(err);
    return false;
  }
  exists_ = true;
  return true;
}

bool TxnIndex::append(const TxnIndexEntry& e) {
  if (!entries_.empty() && e.last_offset <= entries_.back().last_offset) return false;
  if (!ensure_created()) return false;
  uint8_t buf[kEntrySize];
  encode(e, buf);
  bool touched = false;
  if (!file_.write_at(buf, sizeof buf, entries_.size() * kEntrySize, &touched)) {
    io::log_line(io::errno_message("write", file_.path()));
    tail_unknown_ = tail_unknown_ || touched;
    return false;
  }
  entries_.push_back(e);
  return true;
}

bool TxnIndex::truncate_to_entries(size_t n) {
  if (n >= entries_.size() && !tail_unknown_) return true;
  if (n < entries_.size()) entries_.resize(n);
  if (exists_ && !file_.truncate(entries_.size() * kEntrySize)) return false;
  tail_unknown_ = false;
  return true;
}

bool TxnIndex::truncate_to(int64_t offset) {
  size_t keep = 0;
  while (keep < entries_.size() && entries_[keep].last_offset < offset) ++keep;
  if (keep == entries_.size()) return true;
  entries_.resize(keep);
  if (!exists_) return true;
  return file_.truncate(keep * kEntrySize);
}

bool TxnIndex::flush(bool always) { return !exists_ || file_.sync(always); }

void TxnIndex::close() { file_.forget(); }

bool TxnIndex::remove() {
  close();
  entries_.clear();
  exists_ = false;
  if (file_.path().empty()) return true;
  return ::unlink(file_.path().c_str()) == 0 || errno == ENOENT;
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
