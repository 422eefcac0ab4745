// Helpers shared by the group coordinator's request handlers (server/handlers/find_coordinator.cc,
// join_group.cc, sync_group.cc, heartbeat.cc, leave_group.cc, offset_commit.cc,
// offset_fetch.cc, describe_groups.cc, list_groups.cc, delete_groups.cc, offset_delete.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

// The answer of an OffsetCommit or TxnOffsetCommit, in the request's order. Topics are named
// by id when `by_id` (OffsetCommit v10+): an unknown id gets UNKNOWN_TOPIC_ID. Otherwise every
// partition gets `error` when it is set, UNKNOWN_TOPIC_OR_PARTITION when it does not exist;
// the others are handed to `commit` in one list (offsets expiring `retention_ms` after the
// commit, -1: never), whose errors, one per partition, are their answers.
template <typename Resp, typename Req, typename Commit>
Resp answer_offset_commit(const Broker& broker, const Req& req, bool by_id,
                          protocol::ErrorCode error, int64_t retention_ms, Commit commit) {
  Resp resp;
  std::vector<coordinator::OffsetCommitPartition> commits;
  resp.topics.reserve(req.topics.size());
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    const storage::TopicInfo* info = nullptr;
    if constexpr (requires { t.topic_id; }) {
      if (by_id) info = broker.logs.topic_by_id(t.topic_id);
      if constexpr (requires { rt.topic_id; }) rt.topic_id = t.topic_id;
    }
    rt.name = by_id ? (info ? info->name : std::string()) : t.name;
    rt.partitions.reserve(t.partitions.size());
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      if (by_id && !info) {
        rp.error_code = protocol::ErrorCode::UNKNOWN_TOPIC_ID;
      } else if (error != protocol::ErrorCode::NONE) {
        rp.error_code = error;
      } else if (!partition_exists(broker, rt.name, p.partition_index)) {
        rp.error_code = protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        commits.push_back({rt.name, p.partition_index, p.committed_offset, p.committed_leader_epoch,
                           p.committed_metadata.value_or(std::string()), retention_ms});
      }
    }
  }
  if (commits.empty()) return resp;
  const std::vector<protocol::ErrorCode> errors = commit(commits);
  size_t next = 0;
  for (auto& rt : resp.topics) {
    for (auto& rp : rt.partitions) {
      if (rp.error_code != protocol::ErrorCode::NONE) continue;
      if (next < errors.size()) rp.error_code = errors[next];
      ++next;
    }
  }
  return resp;
}

}  // namespace runnel::server
