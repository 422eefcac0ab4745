// Minimal logging to stderr: one line per call, "runnel: <level>: <message>".
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace runnel::server {

void log_line(std::string_view level, const std::string& message);

template <typename... A>
void log_info(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  log_line("info", s.str());
}
template <typename... A>
void log_warn(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  log_line("warn", s.str());
}
template <typename... A>
void log_error(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  log_line("error", s.str());
}

}  // namespace runnel::server
