#include "storage/offset_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

OffsetIndex::~OffsetIndex() = default;

void OffsetIndex::close() { file_.forget(); }

bool OffsetIndex::open(const std::string& path, uint32_t max_index_bytes, bool* loaded_ok,
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
  if (!existed || size % kEntrySize != 0 || size / kEntrySize > max_entries_ + 1) return true;
  std::vector<uint8_t> buf(size);
  if (io::pread_full(file->fd(), buf.data(), size, 0) != static_cast<int64_t>(size)) {
    if (error) *error = io::errno_message("read", path);
    return false;
  }
  entries_.reserve(size / kEntrySize);
  for (size_t i = 0; i < size; i += kEntrySize)
    entries_.push_back({io::get_u32(&buf[i]), io::get_u32(&buf[i + 4])});
  *loaded_ok = true;
  return true;
}

bool OffsetIndex::sane(uint64_t log_size) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].position >= log_size) return false;
    if (entries_[i].relative_offset > static_cast<uint32_t>(INT32_MAX)) return false;
    if (i > 0 && (entries_[i].relative_offset <= entries_[i - 1].relative_offset ||
                  entries_[i].position <= entries_[i - 1].position))
      return false;
  }
  return true;
}

OffsetIndexEntry OffsetIndex::lookup(uint32_t relative_offset) const {
  auto it =
      std::upper_bound(entries_.begin(), entries_.end(), relative_offset,
                       [](uint32_t v, const OffsetIndexEntry& e) { return v < e.relative_offset; });
  if (it == entries_.begin()) return {};
  return *std::prev(it);
}

OffsetIndexEntry OffsetIndex::lookup_position(uint32_t position) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), position,
                             [](uint32_t v, const OffsetIndexEntry& e) { return v < e.position; });
  if (it == entries_.begin()) return {};
  return *std::prev(it);
}

bool OffsetIndex::append(uint32_t relative_offset, uint32_t position) {
  if (full()) return true;
  if (!entries_.empty() &&
      (relative_offset <= entries_.back().relative_offset || position <= entries_.back().position))
    return true;
  uint8_t buf[kEntrySize];
  io::put_u32(buf, relative_offset);
  io::put_u32(buf + 4, position);
  bool touched = false;
  if (!file_.write_at(buf, kEntrySize, entries_.size() * kEntrySize, &touched)) {
    tail_unknown_ = tail_unknown_ || touched;
    return false;
  }
  entries_.push_back({relative_offset, position});
  return true;
}

bool OffsetIndex::truncate_to_position(uint32_t position) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), position,
                             [](const OffsetIndexEntry& e, uint32_t v) { return e.position < v; });
  entries_.erase(it, entries_.end());
  return file_.truncate(entries_.size() * kEntrySize);
}

bool OffsetIndex::rewrite(std::vector<OffsetIndexEntry> entries) {
  entries_ = std::move(entries);
  std::vector<uint8_t> buf(entries_.size() * kEntrySize);
  for (size_t i = 0; i < entries_.size(); ++i) {
    io::put_u32(&buf[i * kEntrySize], entries_[i].relative_offset);
    io::put_u32(&buf[i * kEntrySize + 4], entries_[i].position);
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

bool OffsetIndex::truncate_to_entries(size_t n) {
  // Nothing to cut when no write reached the file since it matched the entries (the append
  // that failed could not even open it).
  if (n >= entries_.size() && !tail_unknown_) return true;
  if (n < entries_.size()) entries_.resize(n);
  if (!file_.truncate(entries_.size() * kEntrySize)) return false;
  tail_unknown_ = false;
  return true;
}

bool OffsetIndex::flush(bool always) { return file_.sync(always); }

}  // namespace runnel::storage
