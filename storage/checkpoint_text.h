// Reading the text checkpoint files Kafka keeps in a log directory (offset checkpoints, the
// leader epoch checkpoint): lines and whole-field numbers.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace runnel::storage::checkpoint_text {

// The next line of `text` from `*pos` (without its '\n'); false at the end.
inline bool next_line(std::string_view text, size_t* pos, std::string_view* line) {
  if (*pos >= text.size()) return false;
  size_t end = text.find('\n', *pos);
  if (end == std::string_view::npos) end = text.size();
  *line = text.substr(*pos, end - *pos);
  *pos = end + 1;
  return true;
}

// True when the whole of `s` is a number of type T.
template <typename T>
bool parse_number(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace runnel::storage::checkpoint_text
