#include "storage/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

using protocol::BatchHeader;

std::string Segment::file_name(int64_t base_offset, std::string_view ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020" PRId64, base_offset);
  return std::string(buf) + std::string(ext);
}

std::unique_ptr<Segment> Segment::open(const std::string& dir, int64_t base_offset,
                                       const SegmentOptions& options, bool create,
                                       int64_t created_ms, std::string* error) {
  std::unique_ptr<Segment> s(new Segment());
  s->dir_ = dir;
  s->base_offset_ = base_offset;
  s->next_offset_ = base_offset;
  s->created_ms_ = created_ms;
  s->options_ = options;
  std::string log_path = dir + "/" + file_name(base_offset, ".log");
  s->log_.set_path(log_path, options.files);
  // `created`: this call made the file (O_EXCL), so a failure below may delete it again.
  bool created = false;
  auto log = s->log_.open(create, error, &created);
  if (!log) return nullptr;
  // A new segment that cannot be opened whole leaves no file behind: an empty `.log` left by a
  // failed roll would be taken for a segment at the next start, and cut the one before it at
  // its base offset although later appends went there.
  auto fail = [&]() -> std::unique_ptr<Segment> {
    s->log_.forget();
    if (created) {
      s->offset_index_.close();
      s->time_index_.close();
      s->txn_index_.close();
      for (const char* ext : {".log", ".index", ".timeindex"})
        sys::unlink(dir + "/" + file_name(base_offset, ext));
    }
    return nullptr;
  };
  struct stat st;
  if (sys::fstat(log->fd(), &st) != 0) {
    if (error) *error = io::errno_message("stat", log_path);
    return fail();
  }
  s->size_ = static_cast<uint64_t>(st.st_size);
  bool offset_ok = false, time_ok = false;
  if (!s->offset_index_.open(dir + "/" + file_name(base_offset, ".index"), options.max_index_bytes,
                             &offset_ok, error, options.files) ||
      !s->time_index_.open(dir + "/" + file_name(base_offset, ".timeindex"),
                           options.max_index_bytes, &time_ok, error, options.files) ||
      !s->txn_index_.open(dir + "/" + file_name(base_offset, ".txnindex"), error, options.files))
    return fail();
  s->indexes_need_rebuild_ =
      s->size_ > 0 &&
      (!offset_ok || !time_ok || !s->offset_index_.sane(s->size_) || s->size_ > UINT32_MAX);
  // An empty log with non-empty indexes: the indexes are simply stale.
  if (s->size_ == 0 && (s->offset_index_.size() > 0 || s->time_index_.size() > 0)) {
    if (!s->offset_index_.rewrite({}) || !s->time_index_.rewrite({})) {
      if (error) *error = io::errno_message("truncate index of", log_path);
      return fail();
    }
  }
  return s;
}

Segment::~Segment() = default;

bool Segment::can_hold_offset(int64_t offset) const {
  return offset >= base_offset_ && offset - base_offset_ <= INT32_MAX;
}

int64_t Segment::time_waited_for_roll(int64_t now_ms, int64_t incoming_max_timestamp) const {
  if (first_batch_timestamp_ >= 0) return incoming_max_timestamp - first_batch_timestamp_;
  return now_ms - created_ms_;
}

bool Segment::track_batch(const BatchHeader& h) {
  if (first_batch_timestamp_ < 0 && next_offset_ == base_offset_)
    first_batch_timestamp_ = h.max_timestamp;
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    offset_of_max_timestamp_ = h.last_offset();
  }
  next_offset_ = h.last_offset() + 1;
  last_epoch_ = h.partition_leader_epoch;
  bool due = bytes_since_index_entry_ > options_.index_interval_bytes;
  if (due) bytes_since_index_entry_ = 0;
  bytes_since_index_entry_ += h.total_size();
  return due;
}

void Segment::forget_headers_from(uint64_t position) {
  if (!header_cache_) return;
  for (auto& c : header_cache_->entries)
    if (c.position != UINT64_MAX && c.position + c.header.total_size() > position)
      c.position = UINT64_MAX;
}

bool Segment::append(const protocol::ValidatedBatches& batches, std::string* error) {
  const AppendMark before = mark();
  const uint64_t start = size_;
  const std::span<const uint8_t> bytes = batches.bytes();
  forget_headers_from(start);
  // Nothing is written when the log cannot be opened (again): nothing to take back.
  auto log = log_.handle(error);
  if (!log) return false;
  log_.mark_written();
  if (!io::pwrite_all(log->fd(), bytes.data(), bytes.size(), start)) {
    if (error) *error = io::errno_message("write", log->path());
    // Do not leave a partial batch behind.
    if (sys::ftruncate(log->fd(), static_cast<off_t>(start)) != 0) {
      // The scan at the next start will cut it.
    }
    return false;
  }
  // All or nothing: when an index entry cannot be written, the log bytes and the index entries
  // of this append are taken back, so the segment is as it was before (the caller answers the
  // append as failed, and a retry must not find it in the log).
  uint64_t position = start;
  bool ok = true;
  for (const protocol::ValidatedBatch& b : batches.batches()) {
    const BatchHeader& h = b.header;
    if (track_batch(h)) {
      ok = offset_index_.append(static_cast<uint32_t>(h.last_offset() - base_offset_),
                                static_cast<uint32_t>(position)) &&
           time_index_.maybe_append(max_timestamp_,
                                    static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_));
      if (!ok) break;
    }
    position += h.total_size();
  }
  if (ok) {
    size_ = start + bytes.size();
    return true;
  }
  if (error) *error = io::errno_message("write index of", log->path());
  if (!rollback(before) && error)
    *error += "; " + io::errno_message("and then truncate", log->path());
  return false;
}

Segment::AppendMark Segment::mark() const {
  return {size_,
          next_offset_,
          max_timestamp_,
          offset_of_max_timestamp_,
          first_batch_timestamp_,
          bytes_since_index_entry_,
          last_epoch_,
          offset_index_.size(),
          time_index_.size(),
          txn_index_.entries().size()};
}

bool Segment::rollback(const AppendMark& m) {
  forget_headers_from(m.size);
  size_ = m.size;
  next_offset_ = m.next_offset;
  max_timestamp_ = m.max_timestamp;
  offset_of_max_timestamp_ = m.offset_of_max_timestamp;
  first_batch_timestamp_ = m.first_batch_timestamp;
  bytes_since_index_entry_ = m.bytes_since_index_entry;
  last_epoch_ = m.last_epoch;
  // Each index cuts its entries in memory before its file; every file is tried.
  bool ok = offset_index_.truncate_to_entries(m.offset_entries);
  ok = time_index_.truncate_to_entries(m.time_entries) && ok;
  ok = txn_index_.truncate_to_entries(m.txn_entries) && ok;
  ok = log_.truncate(m.size) && ok;
  // Only the files disagree with memory now; appends write at size_ again.
  if (!ok) rollback_incomplete_ = true;
  return ok;
}

bool Segment::flush(bool always) {
  bool ok = log_.sync(always);
  ok = offset_index_.flush(always) && ok;
  ok = time_index_.flush(always) && ok;
  ok = txn_index_.flush(always) && ok;
  return ok;
}

std::vector<std::shared_ptr<FileHandle>> Segment::files_to_sync(bool* failed) {
  std::vector<std::shared_ptr<FileHandle>> out;
  for (CachedFile* f : {&log_, &offset_index_.file(), &time_index_.file(), &txn_index_.file()})
    if (auto h = f->handle_to_sync(failed)) out.push_back(std::move(h));
  return out;
}

void Segment::on_become_inactive() {
  if (max_timestamp_ >= 0)
    time_index_.maybe_append(max_timestamp_,
                             static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_), true);
}

bool Segment::truncate_to(int64_t offset) {
  if (!txn_index_.truncate_to(offset)) return false;
  if (offset >= next_offset_) return true;
  uint64_t position = 0;
  if (offset > base_offset_) {
    auto b = find_batch(offset);
    if (!b) return true;
    position = b->position;
  }
  forget_headers_from(position);
  if (!log_.truncate(position)) return false;
  size_ = position;
  return recover(false).error.empty();
}

bool Segment::remove() {
  log_.forget();
  offset_index_.close();
  time_index_.close();
  bool ok = txn_index_.remove();
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    std::string p = dir_ + "/" + file_name(base_offset_, ext);
    if (sys::unlink(p) != 0 && errno != ENOENT) ok = false;
  }
  return ok;
}

std::optional<BatchHeader> Segment::read_header(uint64_t position) const {
  if (position + BatchHeader::kSize > size_) return std::nullopt;
  if (header_cache_) {
    for (const auto& c : header_cache_->entries)
      if (c.position == position && position + c.header.total_size() <= size_) return c.header;
  } else {
    header_cache_ = std::make_unique<HeaderCache>();
  }
  auto log = log_.handle(nullptr);
  if (!log) return std::nullopt;
  uint8_t buf[BatchHeader::kSize];
  if (io::pread_full(log->fd(), buf, sizeof buf, position) != static_cast<int64_t>(sizeof buf))
    return std::nullopt;
  auto h = BatchHeader::parse(buf);
  if (!h ||
      h->batch_length < static_cast<int32_t>(BatchHeader::kSize - BatchHeader::kLogOverhead) ||
      position + h->total_size() > size_)
    return std::nullopt;
  header_cache_->entries[header_cache_->next] = CachedHeader{position, *h};
  header_cache_->next = (header_cache_->next + 1) % kCachedHeaders;
  return h;
}

bool Segment::read_bytes(uint64_t position, std::span<uint8_t> out) const {
  auto log = log_.handle(nullptr);
  return log && io::pread_full(log->fd(), out.data(), out.size(), position) ==
                    static_cast<int64_t>(out.size());
}

std::optional<BatchPosition> Segment::find_batch(int64_t offset) const {
  if (offset >= next_offset_) return std::nullopt;
  uint32_t rel = offset > base_offset_ ? static_cast<uint32_t>(offset - base_offset_) : 0;
  uint64_t pos = offset_index_.lookup(rel).position;
  while (auto h = read_header(pos)) {
    if (h->last_offset() >= offset) return BatchPosition{*h, static_cast<uint32_t>(pos)};
    pos += h->total_size();
  }
  return std::nullopt;
}

std::optional<BatchPosition> Segment::find_batch_by_timestamp(int64_t ts,
                                                              int64_t start_offset) const {
  if (max_timestamp_ < ts || start_offset >= next_offset_) return std::nullopt;
  int64_t from = base_offset_;
  if (auto e = time_index_.lookup(ts)) from = base_offset_ + e->relative_offset;
  from = std::max(from, start_offset);
  uint32_t rel = from > base_offset_ ? static_cast<uint32_t>(from - base_offset_) : 0;
  uint64_t pos = offset_index_.lookup(rel).position;
  while (auto h = read_header(pos)) {
    if (h->max_timestamp >= ts && h->last_offset() >= start_offset)
      return BatchPosition{*h, static_cast<uint32_t>(pos)};
    pos += h->total_size();
  }
  return std::nullopt;
}

void Segment::load_closed(int64_t next_segment_base) {
  next_offset_ = next_segment_base;
  if (auto e = time_index_.last()) {
    max_timestamp_ = e->timestamp;
    offset_of_max_timestamp_ = base_offset_ + e->relative_offset;
  } else {
    uint64_t pos = 0;
    while (auto h = read_header(pos)) {
      if (h->max_timestamp > max_timestamp_) {
        max_timestamp_ = h->max_timestamp;
        offset_of_max_timestamp_ = h->last_offset();
      }
      last_epoch_ = h->partition_leader_epoch;
      pos += h->total_size();
    }
  }
}

}  // namespace runnel::storage
