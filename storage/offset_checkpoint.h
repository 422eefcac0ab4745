// A file of one offset per partition for a whole log directory, in Kafka's
// checkpoint layout (Kafka keeps `recovery-point-offset-checkpoint` the same
// way), text:
//
//   0                                   version
//   <count>                             number of entries that follow
//   <topic> <partition> <offset>        one line per partition
//
// Topic names never contain a space (topic_name.h). A file that does not
// follow this layout is refused as a whole (Kafka: the checkpoint is not
// used); the caller then knows no offset.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace runnel::storage {

class OffsetCheckpoint {
 public:
  using Key = std::pair<std::string, int32_t>;  // topic, partition
  using Offsets = std::map<Key, int64_t>;

  static std::string encode(const Offsets& offsets);
  // The same, piece by piece, for a caller that has the entries in order already: the first two
  // lines, then one line per entry.
  static std::string header(size_t count);
  static void append(std::string* out, std::string_view topic, int32_t partition, int64_t offset);
  // Nullopt with `error` set when `text` is not a checkpoint of version 0.
  static std::optional<Offsets> decode(std::string_view text, std::string* error);

  // Reads `path`: an absent file is an empty map; an unreadable or malformed one is
  // nullopt with `error` set.
  static std::optional<Offsets> read(const std::string& path, std::string* error);
  // Writes `path` atomically (temp file, fsync, rename, fsync of the directory).
  static bool write(const std::string& path, const Offsets& offsets, std::string* error);
};

}  // namespace runnel::storage
