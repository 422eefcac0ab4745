// Producer ids that stay unique across restarts.
//
// Kafka hands brokers blocks of producer ids from the controller and never hands out the same
// block twice. On one node Runnel does the same with a file in the log directory:
//
//   <log dir>/.runnel-producer-ids    "version: 0\nnext_block: <decimal>\n"
//
// `next_block` is the first id of the block after the one in use. Taking the first id of a
// block writes the file (atomically) before the id is returned, so after a crash at any moment
// the next start begins past every id that may have been handed out. Ids of a block left
// unused at a restart are skipped, as in Kafka.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace runnel::server {

class ProducerIds {
 public:
  static constexpr int64_t kBlockSize = 1000;  // Kafka's producer id block size

  // `dir` empty: ids are kept in memory only (tests without storage).
  explicit ProducerIds(std::string dir) : dir_(std::move(dir)) {}

  // Reads the file (absent: start at 0). False, with `error`, when it is unreadable or bad.
  bool load(std::string* error);
  // The next id; nullopt when the file cannot be written (or ids are exhausted).
  std::optional<int64_t> next();

  int64_t next_block() const { return next_block_; }

 private:
  std::string path() const;

  std::string dir_;
  int64_t next_id_ = 0;
  int64_t block_end_ = 0;   // one past the last id of the block in use
  int64_t next_block_ = 0;  // as stored in the file
};

}  // namespace runnel::server
