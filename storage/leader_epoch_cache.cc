#include "storage/leader_epoch_cache.h"

#include <algorithm>
#include <charconv>

#include "storage/checkpoint_text.h"
#include "storage/io_util.h"

namespace runnel::storage {

namespace {

// A partition has few epochs; anything this large is not a checkpoint.
constexpr size_t kMaxFileBytes = 16u << 20;

using checkpoint_text::next_line;
using checkpoint_text::parse_number;

}  // namespace

std::optional<int32_t> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

bool LeaderEpochCache::assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) return false;
  if (!entries_.empty() && entries_.back().epoch == epoch &&
      entries_.back().start_offset <= start_offset)
    return false;
  std::erase_if(entries_, [&](const EpochEntry& e) {
    return e.epoch >= epoch || e.start_offset >= start_offset;
  });
  entries_.push_back({epoch, start_offset});
  return true;
}

bool LeaderEpochCache::truncate_from_end(int64_t end_offset) {
  if (end_offset < 0) return false;
  return std::erase_if(entries_,
                       [&](const EpochEntry& e) { return e.start_offset >= end_offset; }) > 0;
}

bool LeaderEpochCache::truncate_from_start(int64_t start_offset) {
  auto first_above = std::find_if(entries_.begin(), entries_.end(), [&](const EpochEntry& e) {
    return e.start_offset > start_offset;
  });
  if (first_above == entries_.begin()) return false;
  const EpochEntry kept{std::prev(first_above)->epoch, start_offset};
  const bool changed = first_above - entries_.begin() > 1 || entries_.front() != kept;
  entries_.erase(entries_.begin(), std::prev(first_above));
  entries_.front() = kept;
  return changed;
}

EpochEntry LeaderEpochCache::end_offset_for(int32_t requested, int64_t log_end_offset) const {
  const EpochEntry undefined{kUndefinedEpoch, kUndefinedEpochOffset};
  if (requested == kUndefinedEpoch || entries_.empty()) return undefined;
  if (entries_.back().epoch == requested) return {requested, log_end_offset};
  auto higher =
      std::upper_bound(entries_.begin(), entries_.end(), requested,
                       [](int32_t epoch, const EpochEntry& e) { return epoch < e.epoch; });
  if (higher == entries_.end()) return undefined;
  if (higher == entries_.begin()) return {requested, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

std::string LeaderEpochCache::encode(const std::vector<EpochEntry>& entries) {
  std::string out = "0\n" + std::to_string(entries.size()) + "\n";
  for (const EpochEntry& e : entries)
    out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return out;
}

std::optional<std::vector<EpochEntry>> LeaderEpochCache::decode(std::string_view text,
                                                                std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<std::vector<EpochEntry>> {
    if (error) *error = why;
    return std::nullopt;
  };
  size_t pos = 0;
  std::string_view line;
  if (!next_line(text, &pos, &line) || line != "0") return fail("unknown version");
  uint64_t count = 0;
  if (!next_line(text, &pos, &line) || !parse_number(line, &count))
    return fail("malformed entry count");
  std::vector<EpochEntry> entries;
  for (uint64_t i = 0; i < count; ++i) {
    if (!next_line(text, &pos, &line))
      return fail("expected " + std::to_string(count) + " entries but found " + std::to_string(i));
    const size_t space = line.find(' ');
    EpochEntry e;
    if (space == std::string_view::npos || !parse_number(line.substr(0, space), &e.epoch) ||
        !parse_number(line.substr(space + 1), &e.start_offset) || e.epoch < 0 || e.start_offset < 0)
      return fail("malformed entry: " + std::string(line));
    if (!entries.empty() &&
        (e.epoch <= entries.back().epoch || e.start_offset < entries.back().start_offset))
      return fail("entries out of order: " + std::string(line));
    entries.push_back(e);
  }
  while (next_line(text, &pos, &line))
    if (!line.empty()) return fail("more entries than the count " + std::to_string(count));
  return entries;
}

std::optional<std::vector<EpochEntry>> LeaderEpochCache::read(const std::string& dir, bool* present,
                                                              std::string* error) {
  const std::string path = dir + "/" + std::string(kFileName);
  std::string text;
  *present = false;
  if (!io::read_file_if_present(path, &text, present, kMaxFileBytes, error)) return std::nullopt;
  if (!*present) return std::nullopt;
  std::string why;
  auto entries = decode(text, &why);
  if (!entries && error) *error = path + ": " + why;
  return entries;
}

bool LeaderEpochCache::write(const std::string& dir, std::string* error) const {
  return io::write_file_atomic(dir + "/" + std::string(kFileName), encode(entries_), error);
}

}  // namespace runnel::storage
