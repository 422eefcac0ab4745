// The producer state of every partition as a clean close left it, in one file
// per log directory (`producer-state-at-close`), so that a clean close writes
// one file instead of a snapshot file per partition, and a clean start loads
// each partition's state without reading its log. Binary, big-endian:
//
//   0  magic     "RNPC"
//   4  version   int16 (0)
//   6  count     int32, entries that follow
//   per entry:
//      topic length int16, topic bytes, partition int32,
//      snapshot length int32, snapshot bytes (producer_state.h's snapshot
//      layout, with its own offset and CRC)
//
// Each snapshot is checked when it is used (CRC, and its offset against the log
// end offset); a file that does not follow this layout is refused as a whole.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "storage/offset_checkpoint.h"

namespace runnel::storage {

class ProducerCheckpoint {
 public:
  using Snapshots = std::map<OffsetCheckpoint::Key, std::string>;

  static std::string encode(const Snapshots& snapshots);
  // Nullopt with `error` set when `bytes` do not follow the layout.
  static std::optional<Snapshots> decode(std::string_view bytes, std::string* error);
  // An absent file is an empty map; an unreadable or malformed one is nullopt with `error` set.
  static std::optional<Snapshots> read(const std::string& path, std::string* error);
  // Writes `path` atomically (temp file, fsync, rename, fsync of the directory).
  static bool write(const std::string& path, const Snapshots& snapshots, std::string* error);
};

}  // namespace runnel::storage
