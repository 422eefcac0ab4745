#include "storage/time_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

TimeIndex::~TimeIndex() = default;

void TimeIndex::close() { file_.forget(); }

bool TimeIndex::open(const std::string& path, uint32_t max_index_bytes, bool* loaded_ok,
                     std::string* error, FileCache* cache) {
  file_.set_path(path, cache);
  tail_unknown_ = false;
  max_entries_ = std::max<size_t>(1, max_index_bytes / kEntrySize);
  entries_.clear();
  *loaded_ok = false;
  std::error_code ec;
  bool existed = sys::exists(path, ec);
  auto file = file_.open(true, error);
  if (!file) return false;
  struct stat st;
  if (sys::fstat(file->fd(), &st) != 0) {
    if (error) *error = io::errno_message("stat", path);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // One entry more than the limit is allowed: the final entry of a rolled segment.
  if (!existed || size % kEntrySize != 0 || size / kEntrySize > max_entries_ + 1) return true;
  std::vector<uint8_t> buf(size);
  if (io::pread_full(file->fd(), buf.data(), size, 0) != static_cast<int64_t>(size)) {
    if (error) *error = io::errno_message("read", path);
    return false;
  }
  entries_.reserve(size / kEntrySize);
  for (size_t i = 0; i < size; i += kEntrySize)
    entries_.push_back({static_cast<int64_t>(io::get_u64(&buf[i])), io::get_u32(&buf[i + 8])});
  *loaded_ok = true;
  return true;
}

bool TimeIndex::sane(uint64_t max_relative_offset) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].relative_offset >= max_relative_offset) return false;
    if (i > 0 && (entries_[i].timestamp <= entries_[i - 1].timestamp ||
                  entries_[i].relative_offset < entries_[i - 1].relative_offset))
      return false;
  }
  return true;
}

std::optional<TimeIndexEntry> TimeIndex::lookup(int64_t timestamp) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), timestamp,
                             [](int64_t v, const TimeIndexEntry& e) { return v < e.timestamp; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

bool TimeIndex::maybe_append(int64_t timestamp, uint32_t relative_offset, bool even_if_full) {
  if (full() && !even_if_full) return true;
  if (!entries_.empty() &&
      (timestamp <= entries_.back().timestamp || relative_offset < entries_.back().relative_offset))
    return true;
  uint8_t buf[kEntrySize];
  io::put_u64(buf, static_cast<uint64_t>(timestamp));
  io::put_u32(buf + 8, relative_offset);
  bool touched = false;
  if (!file_.write_at(buf, kEntrySize, entries_.size() * kEntrySize, &touched)) {
    tail_unknown_ = tail_unknown_ || touched;
    return false;
  }
  entries_.push_back({timestamp, relative_offset});
  return true;
}

bool TimeIndex::truncate_to_offset(uint32_t relative_offset) {
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), relative_offset,
                       [](const TimeIndexEntry& e, uint32_t v) { return e.relative_offset < v; });
  entries_.erase(it, entries_.end());
  return file_.truncate(entries_.size() * kEntrySize);
}

bool TimeIndex::rewrite(std::vector<TimeIndexEntry> entries) {
  entries_ = std::move(entries);
  std::vector<uint8_t> buf(entries_.size() * kEntrySize);
  for (size_t i = 0; i < entries_.size(); ++i) {
    io::put_u64(&buf[i * kEntrySize], static_cast<uint64_t>(entries_[i].timestamp));
    io::put_u32(&buf[i * kEntrySize + 8], entries_[i].relative_offset);
  }
  if (!file_.truncate(0)) return false;
  tail_unknown_ = false;
  if (buf.empty()) return true;
  bool touched = false;
  if (!file_.write_at(buf.data(), buf.size(), 0, &touched)) {
    tail_unknown_ = touched;
    return false;
  }
  return true;
}

bool TimeIndex::truncate_to_entries(size_t n) {
  // Nothing to cut when no write reached the file since it matched the entries (the append
  // that failed could not even open it).
  if (n >= entries_.size() && !tail_unknown_) return true;
  if (n < entries_.size()) entries_.resize(n);
  if (!file_.truncate(entries_.size() * kEntrySize)) return false;
  tail_unknown_ = false;
  return true;
}

bool TimeIndex::flush(bool always) { return file_.sync(always); }

}  // namespace runnel::storage
