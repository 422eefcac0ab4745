// <log dir>/meta.properties, as Kafka (KRaft) writes it:
//   cluster.id=<22-char base64 UUID>
//   node.id=<int>
//   version=1
// Created at first start (with a fresh cluster id unless cluster.id is
// configured); afterwards it must agree with the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace runnel::server {

struct MetaProperties {
  std::string cluster_id;
  int32_t node_id = 1;
  int32_t version = 1;
};

// Reads or creates `dir`/meta.properties (creating `dir` as needed). Throws
// ConfigError when the file disagrees with `node_id` or a configured
// cluster id, or is unreadable/malformed; std::runtime_error on I/O errors.
MetaProperties load_or_create_meta_properties(const std::string& dir, int32_t node_id,
                                              const std::optional<std::string>& cluster_id);

}  // namespace runnel::server
