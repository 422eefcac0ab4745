#include "storage/recovery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "protocol/records/crc32c.h"
#include "storage/clock.h"
#include "storage/io_util.h"
#include "storage/segment.h"
#include "storage/sys.h"

namespace runnel::storage {

using protocol::BatchHeader;

namespace {

// check_batch's answer when the log could not be read: nothing is known about the batch, so
// nothing may be cut.
constexpr const char* kUnreadable = "unreadable";

// Why the batch at `pos` is not acceptable, or nullptr when it is.
const char* check_batch(const Segment& seg, int fd, uint64_t pos, uint64_t file_size,
                        int64_t next_offset, bool verify_crc, BatchHeader* out) {
  if (file_size - pos < BatchHeader::kSize) return "torn batch header";
  uint8_t hdr[BatchHeader::kSize];
  int64_t n = io::pread_full(fd, hdr, sizeof hdr, pos);
  if (n < 0) return kUnreadable;
  if (n != static_cast<int64_t>(sizeof hdr)) return "torn batch header";
  auto h = BatchHeader::parse(hdr);
  if (!h) return "unreadable batch header";
  if (h->magic != 2) return "bad magic";
  if (h->batch_length < static_cast<int32_t>(BatchHeader::kSize - BatchHeader::kLogOverhead))
    return "bad batch length";
  if (h->total_size() > file_size - pos) return "torn batch";
  if (h->last_offset_delta < 0 || h->base_offset < next_offset ||
      !seg.can_hold_offset(h->base_offset) || !seg.can_hold_offset(h->last_offset()))
    return "offsets out of order";
  if (verify_crc) {
    uint32_t crc = protocol::crc32c(hdr + BatchHeader::kAttributesOffset,
                                    BatchHeader::kSize - BatchHeader::kAttributesOffset);
    std::vector<uint8_t> buf(std::min<size_t>(h->total_size() - BatchHeader::kSize, 1 << 16));
    uint64_t p = pos + BatchHeader::kSize, end = pos + h->total_size();
    while (p < end) {
      size_t n = std::min<uint64_t>(buf.size(), end - p);
      int64_t got = io::pread_full(fd, buf.data(), n, p);
      if (got < 0) return kUnreadable;
      if (got != static_cast<int64_t>(n)) return "torn batch";
      crc = protocol::crc32c(buf.data(), n, crc);
      p += n;
    }
    if (crc != h->crc) return "CRC mismatch";
  }
  *out = *h;
  return nullptr;
}

}  // namespace

SegmentScan Segment::recover(bool verify_crc) {
  SegmentScan scan;
  std::string err;
  auto log = log_.handle(&err);
  struct stat st;
  if (!log || sys::fstat(log->fd(), &st) != 0) {
    // Nothing is known about the file: leave the segment as it is.
    scan.error = log ? io::errno_message("stat", log_.path()) : err;
    return scan;
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  next_offset_ = base_offset_;
  max_timestamp_ = offset_of_max_timestamp_ = first_batch_timestamp_ = -1;
  last_epoch_ = -1;
  bytes_since_index_entry_ = 0;
  std::vector<OffsetIndexEntry> offsets;
  std::vector<TimeIndexEntry> times;
  size_t max_offset_entries = options_.max_index_bytes / OffsetIndex::kEntrySize;
  size_t max_time_entries = options_.max_index_bytes / TimeIndex::kEntrySize;
  uint64_t pos = 0;
  const char* problem = nullptr;
  while (pos < file_size && pos <= UINT32_MAX) {
    BatchHeader h;
    problem = check_batch(*this, log->fd(), pos, file_size, next_offset_, verify_crc, &h);
    if (problem == kUnreadable) {
      // A read error is not a bad batch: cutting here could drop acknowledged records.
      scan.error = io::errno_message("read", log_.path());
      return scan;
    }
    if (problem) break;
    if (track_batch(h)) {
      auto rel = static_cast<uint32_t>(h.last_offset() - base_offset_);
      if (offsets.size() < max_offset_entries) offsets.push_back({rel, static_cast<uint32_t>(pos)});
      auto trel = static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_);
      if (times.size() < max_time_entries &&
          (times.empty() || max_timestamp_ > times.back().timestamp))
        times.push_back({max_timestamp_, trel});
    }
    pos += h.total_size();
    ++scan.batches;
  }
  if (pos < file_size) {
    scan.corrupt = true;
    scan.bytes_truncated = file_size - pos;
    io::log_line(log_.path() + ": " + (problem ? problem : "segment too large") + " at position " +
                 std::to_string(pos) + ", cutting " + std::to_string(file_size - pos) + " bytes");
    log_.mark_written();
    if (sys::ftruncate(log->fd(), static_cast<off_t>(pos)) != 0)
      io::log_line(io::errno_message("ftruncate", log_.path()));
  }
  size_ = pos;
  scan.valid_bytes = pos;
  // A time index that ends with the final entry of a rolled segment is also
  // right; keep it when it only differs by that entry.
  bool times_match = time_index_.entries() == times;
  if (!times_match && time_index_.size() == times.size() + 1 && max_timestamp_ >= 0) {
    auto with_final = times;
    with_final.push_back(
        {max_timestamp_, static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_)});
    times_match = time_index_.entries() == with_final;
  }
  if (indexes_need_rebuild_ || offset_index_.entries() != offsets || !times_match) {
    offset_index_.rewrite(std::move(offsets));
    time_index_.rewrite(std::move(times));
    scan.indexes_rebuilt = true;
  }
  indexes_need_rebuild_ = false;
  return scan;
}

std::string RecoveryResult::summary() const {
  return "loaded " + std::to_string(segments_loaded) + " segment(s), scanned " +
         std::to_string(segments_scanned) + (crc_checked ? " with CRC" : " without CRC") +
         ", log end offset " + std::to_string(log_end_offset) + ", cut " +
         std::to_string(bytes_truncated) + " byte(s), deleted " + std::to_string(segments_deleted) +
         " segment(s), rebuilt indexes of " + std::to_string(indexes_rebuilt) + " segment(s)";
}

namespace {

// A 20-digit decimal file stem, or -1.
int64_t parse_base(const std::string& stem) {
  if (stem.size() != 20) return -1;
  int64_t v = 0;
  for (char c : stem) {
    if (c < '0' || c > '9') return -1;
    if (v > (INT64_MAX - (c - '0')) / 10) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

bool load_segments(const std::string& dir, const SegmentOptions& options, bool clean_shutdown,
                   int64_t initial_base_offset, const Clock& clock,
                   std::vector<std::unique_ptr<Segment>>* segments, RecoveryResult* result,
                   std::string* error, int64_t recovery_point) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!sys::create_directories(dir, ec)) {
    if (error) *error = "create " + dir + ": " + ec.message();
    return false;
  }
  std::vector<int64_t> bases;
  std::vector<fs::path> strays;
  std::vector<sys::DirEntry> entries;
  if (!sys::list_dir(dir, &entries, ec)) {
    if (error) *error = "list " + dir + ": " + ec.message();
    return false;
  }
  for (const auto& entry : entries) {
    const fs::path p = fs::path(dir) / entry.name;
    std::string ext = p.extension().string();
    int64_t base = parse_base(p.stem().string());
    if (ext == ".log" && base >= 0) {
      bases.push_back(base);
    } else if ((ext == ".index" || ext == ".timeindex" || ext == ".txnindex") && base >= 0) {
      if (!sys::exists(dir + "/" + Segment::file_name(base, ".log"), ec) && !ec)
        strays.push_back(p);
    } else if (ext == ".tmp") {
      strays.push_back(p);
    }
  }
  for (const auto& p : strays) sys::remove(p.string(), ec);
  std::sort(bases.begin(), bases.end());

  *result = RecoveryResult{};
  segments->clear();
  if (bases.empty()) {
    auto seg = Segment::open(dir, initial_base_offset, options, true, clock.now_ms(), error);
    if (!seg) return false;
    result->log_end_offset = initial_base_offset;
    segments->push_back(std::move(seg));
    return true;
  }
  for (size_t i = 0; i < bases.size(); ++i) {
    auto seg = Segment::open(dir, bases[i], options, false, clock.now_ms(), error);
    if (!seg) return false;
    bool last = i + 1 == bases.size();
    int64_t next_base = last ? INT64_MAX : bases[i + 1];
    bool broken_index =
        seg->indexes_need_rebuild() ||
        (!last && !seg->time_index().sane(static_cast<uint64_t>(next_base - bases[i])));
    // Not known to be on disk: a power loss may have torn it anywhere.
    bool unflushed = !clean_shutdown && next_base > recovery_point;
    ++result->segments_loaded;
    if (last || broken_index || unflushed) {
      bool verify_crc = !clean_shutdown || broken_index;
      if (verify_crc) result->crc_checked = true;
      SegmentScan scan = seg->recover(verify_crc);
      if (!scan.error.empty()) {
        if (error) *error = scan.error;
        return false;
      }
      ++result->segments_scanned;
      result->bytes_truncated += scan.bytes_truncated;
      if (scan.indexes_rebuilt) ++result->indexes_rebuilt;
      if (scan.corrupt && !last) {
        // Everything after a corrupt batch goes, later segments included.
        for (size_t j = i + 1; j < bases.size(); ++j) {
          auto later = Segment::open(dir, bases[j], options, false, clock.now_ms(), error);
          if (later) later->remove();
          ++result->segments_deleted;
          io::log_line(dir + ": deleted segment " + Segment::file_name(bases[j], ".log") +
                       " after a corrupt batch in an earlier segment");
        }
        segments->push_back(std::move(seg));
        break;
      }
    } else {
      seg->load_closed(next_base);
    }
    segments->push_back(std::move(seg));
  }
  result->log_end_offset = segments->back()->next_offset();
  result->last_valid_offset =
      result->log_end_offset > segments->front()->base_offset() || !segments->back()->empty()
          ? result->log_end_offset - 1
          : -1;
  if (result->bytes_truncated > 0 || result->segments_deleted > 0 || result->indexes_rebuilt > 0)
    io::log_line(dir + ": recovery " + result->summary());
  return true;
}

}  // namespace runnel::storage
