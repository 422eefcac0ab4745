#include "storage/offset_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

OffsetIndex::~OffsetIndex() { close(); }

void OffsetIndex::close() {
  if (fd_ >= 0) sys::close(fd_);
  fd_ = -1;
}

bool OffsetIndex::open(const std::string& path, uint32_t max_index_bytes, bool* loaded_ok,
                       std::string* error) {
  close();
  path_ = path;
  max_entries_ = std::max<size_t>(1, max_index_bytes / kEntrySize);
  entries_.clear();
  *loaded_ok = false;
  std::error_code ec;
  bool existed = sys::exists(path, ec);
  fd_ = sys::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    if (error) *error = io::errno_message("open", path);
    return false;
  }
  struct stat st;
  if (sys::fstat(fd_, &st) != 0) {
    if (error) *error = io::errno_message("stat", path);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!existed || size % kEntrySize != 0 || size / kEntrySize > max_entries_ + 1) return true;
  std::vector<uint8_t> buf(size);
  if (io::pread_full(fd_, buf.data(), size, 0) != static_cast<int64_t>(size)) {
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
  if (!io::pwrite_all(fd_, buf, kEntrySize, entries_.size() * kEntrySize)) return false;
  entries_.push_back({relative_offset, position});
  return true;
}

bool OffsetIndex::truncate_to_position(uint32_t position) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), position,
                             [](const OffsetIndexEntry& e, uint32_t v) { return e.position < v; });
  entries_.erase(it, entries_.end());
  return sys::ftruncate(fd_, static_cast<off_t>(entries_.size() * kEntrySize)) == 0;
}

bool OffsetIndex::rewrite(std::vector<OffsetIndexEntry> entries) {
  entries_ = std::move(entries);
  std::vector<uint8_t> buf(entries_.size() * kEntrySize);
  for (size_t i = 0; i < entries_.size(); ++i) {
    io::put_u32(&buf[i * kEntrySize], entries_[i].relative_offset);
    io::put_u32(&buf[i * kEntrySize + 4], entries_[i].position);
  }
  if (sys::ftruncate(fd_, 0) != 0) return false;
  return io::pwrite_all(fd_, buf.data(), buf.size(), 0);
}

bool OffsetIndex::truncate_to_entries(size_t n) {
  if (n < entries_.size()) entries_.resize(n);
  return sys::ftruncate(fd_, static_cast<off_t>(entries_.size() * kEntrySize)) == 0;
}

bool OffsetIndex::flush() { return fd_ < 0 || sys::fdatasync(fd_) == 0; }

}  // namespace runnel::storage
