#include "server/log.h"

#include <cstdio>

namespace runnel::server {

void log_line(std::string_view level, const std::string& message) {
  std::fprintf(stderr, "runnel: %.*s: %s\n", static_cast<int>(level.size()), level.data(),
               message.c_str());
}

}  // namespace runnel::server
