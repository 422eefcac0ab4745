#include "storage/offset_checkpoint.h"

#include <cerrno>
#include <charconv>

#include "storage/checkpoint_text.h"
#include "storage/io_util.h"
#include "storage/topic_name.h"

namespace runnel::storage {

namespace {

// Far above what a million partitions need; read whole into memory.
constexpr size_t kMaxFileBytes = size_t{1} << 30;

using checkpoint_text::next_line;
using checkpoint_text::parse_number;

}  // namespace

std::string OffsetCheckpoint::header(size_t count) { return "0\n" + std::to_string(count) + "\n"; }

void OffsetCheckpoint::append(std::string* out, std::string_view topic, int32_t partition,
                              int64_t offset) {
  *out += topic;
  *out += ' ';
  *out += std::to_string(partition);
  *out += ' ';
  *out += std::to_string(offset);
  *out += '\n';
}

std::string OffsetCheckpoint::encode(const Offsets& offsets) {
  std::string out = header(offsets.size());
  for (const auto& [key, offset] : offsets) append(&out, key.first, key.second, offset);
  return out;
}

std::optional<OffsetCheckpoint::Offsets> OffsetCheckpoint::decode(std::string_view text,
                                                                  std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Offsets> {
    if (error) *error = why;
    return std::nullopt;
  };
  size_t pos = 0;
  std::string_view line;
  if (!next_line(text, &pos, &line) || line != "0") return fail("unknown version");
  uint64_t count = 0;
  if (!next_line(text, &pos, &line) || !parse_number(line, &count))
    return fail("malformed entry count");
  Offsets offsets;
  for (uint64_t i = 0; i < count; ++i) {
    if (!next_line(text, &pos, &line))
      return fail("expected " + std::to_string(count) + " entries but found " + std::to_string(i));
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    int32_t partition = 0;
    int64_t offset = 0;
    if (b == std::string_view::npos || !is_valid_topic_name(line.substr(0, a)) ||
        !parse_number(line.substr(a + 1, b - a - 1), &partition) || partition < 0 ||
        !parse_number(line.substr(b + 1), &offset) || offset < 0)
      return fail("malformed entry: " + std::string(line));
    offsets[{std::string(line.substr(0, a)), partition}] = offset;
  }
  while (next_line(text, &pos, &line))
    if (!line.empty()) return fail("more entries than the count " + std::to_string(count));
  return offsets;
}

std::optional<OffsetCheckpoint::Offsets> OffsetCheckpoint::read(const std::string& path,
                                                                std::string* error) {
  std::string text;
  bool present = false;
  if (!io::read_file_if_present(path, &text, &present, kMaxFileBytes, error)) return std::nullopt;
  if (!present) return Offsets{};
  std::string why;
  auto offsets = decode(text, &why);
  if (!offsets && error) *error = path + ": " + why;
  return offsets;
}

bool OffsetCheckpoint::write(const std::string& path, const Offsets& offsets, std::string* error) {
  return io::write_file_atomic(path, encode(offsets), error);
}

}  // namespace runnel::storage
