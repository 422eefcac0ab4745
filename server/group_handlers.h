// Helpers shared by the group coordinator's request handlers (server/handlers/find_coordinator.cc,
// join_group.cc, sync_group.cc, heartbeat.cc, leave_group.cc, offset_commit.cc,
// offset_fetch.cc, describe_groups.cc, list_groups.cc, delete_groups.cc, offset_delete.cc).
#pragma once

#include <string>
#include <string_view>

#include "protocol/errors.h"
#include "server/group_service.h"
#include "server/handler.h"
#include "storage/log_manager.h"

namespace runnel::server {

// Whether requests for `group_id` can be served now: COORDINATOR_LOAD_IN_PROGRESS while its
// partition loads, INVALID_GROUP_ID for
// an empty id unless `allow_empty` (Kafka allows it for OffsetCommit, OffsetFetch,
// DescribeGroups and DeleteGroups).
inline protocol::ErrorCode group_status(const Broker& broker, std::string_view group_id,
                                        bool allow_empty = false) {
  return broker.groups.coordinator().check_group(group_id, allow_empty);
}

// The client host as Kafka reports it in group descriptions: "/" and the peer address.
inline std::string client_host(const ConnectionInfo& c) {
  std::string_view peer = c.peer;
  auto colon = peer.rfind(':');
  if (colon != std::string_view::npos) peer = peer.substr(0, colon);
  if (peer.size() >= 2 && peer.front() == '[' && peer.back() == ']')
    peer = peer.substr(1, peer.size() - 2);
  return "/" + std::string(peer);
}

inline bool partition_exists(const Broker& broker, const std::string& topic, int32_t partition) {
  return broker.logs.get(topic, partition) != nullptr;
}

}  // namespace runnel::server
