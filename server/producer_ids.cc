#include "server/producer_ids.h"

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include "server/log.h"
#include "storage/io_util.h"

namespace runnel::server {

std::string ProducerIds::path() const { return dir_ + "/.runnel-producer-ids"; }

bool ProducerIds::load(std::string* error) {
  if (dir_.empty()) return true;
  std::ifstream in(path());
  if (!in) return true;  // no ids handed out yet
  std::string line;
  bool version_ok = false;
  std::optional<int64_t> next;
  while (std::getline(in, line)) {
    if (line == "version: 0") {
      version_ok = true;
    } else if (line.rfind("next_block: ", 0) == 0) {
      std::string_view v = std::string_view(line).substr(12);
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec == std::errc() && ptr == v.data() + v.size() && n >= 0) next = n;
    }
  }
  if (!version_ok || !next) {
    *error = path() + " is not a producer id file Runnel can read";
    return false;
  }
  next_block_ = *next;
  next_id_ = block_end_ = next_block_;  // start with a fresh block
  return true;
}

std::optional<int64_t> ProducerIds::next() {
  if (next_id_ >= block_end_) {
    const int64_t start = next_block_;
    if (start > std::numeric_limits<int64_t>::max() - kBlockSize) return std::nullopt;
    const int64_t after = start + kBlockSize;
    if (!dir_.empty()) {
      std::string error;
      if (!storage::io::write_file_atomic(
              path(), "version: 0\nnext_block: " + std::to_string(after) + "\n", &error)) {
        log_error("cannot allocate producer ids: ", error);
        return std::nullopt;
      }
    }
    next_block_ = after;
    next_id_ = start;
    block_end_ = after;
  }
  return next_id_++;
}

}  // namespace runnel::server
