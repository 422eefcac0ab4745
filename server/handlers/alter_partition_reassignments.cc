// AlterPartitionReassignments (key 45), v0-1, as a one-broker Kafka 4.4 answers it. The only
// replica assignment a partition can have is [this broker], which it has already, so no
// reassignment is ever started (ListPartitionReassignments lists none):
// - Replicas [node id]: NONE (nothing to move).
// - Replicas checked as Kafka's controller checks a manual assignment, in ascending broker id
//   order: an empty list, a broker id other than this node's ("The manual partition assignment
//   includes broker <id>, but no such broker is registered.") or one named twice ("... includes
//   the broker <id> more than once.") is INVALID_REPLICA_ASSIGNMENT with Kafka's message. With
//   v1's AllowReplicationFactorChange false Kafka also refuses a changed replica count, which
//   no assignment that passed these checks can have here.
// - Replicas null (cancel): NO_REASSIGNMENT_IN_PROGRESS, no message.
// - An unknown topic: UNKNOWN_TOPIC_OR_PARTITION "Unable to find a topic named <topic>.", an
//   unknown partition: "Unable to find partition <topic>:<partition>.".
// - Partitions are answered as named, in order. The answer's ErrorMessage is null and v1 echoes
//   AllowReplicationFactorChange; an empty topic list is answered as Kafka's controller answers
//   it, with an empty ErrorMessage ("") and AllowReplicationFactorChange true. TimeoutMs <= 0
//   (the deadline passed before the controller got to it): REQUEST_TIMED_OUT at the top and for
//   every partition, messages null.
#include "protocol/messages/alter_partition_reassignments.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "server/handler.h"
#include "storage/log_manager.h"

namespace runnel::server {

using AlterPartitionReassignmentsHandler =
    ApiHandler<protocol::AlterPartitionReassignmentsRequest, 0, 1>;

namespace {

using protocol::ErrorCode;
using Req = protocol::AlterPartitionReassignmentsRequest;
using Resp = protocol::AlterPartitionReassignmentsResponse;

struct Outcome {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> message;
};

// Kafka's check of a manual partition assignment against the registered brokers (this one).
Outcome check_replicas(std::vector<int32_t> replicas, int32_t node_id) {
  const std::string prefix = "The manual partition assignment includes ";
  if (replicas.empty())
    return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, prefix + "an empty replica list."};
  std::sort(replicas.begin(), replicas.end());
  std::optional<int32_t> prev;
  for (int32_t id : replicas) {
    if (id != node_id)
      return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
              prefix + "broker " + std::to_string(id) + ", but no such broker is registered."};
    if (prev == id)
      return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
              prefix + "the broker " + std::to_string(id) + " more than once."};
    prev = id;
  }
  return {};
}

Outcome reassign(const storage::LogManager& logs, int32_t node_id, const std::string& topic,
                 const Req::ReassignablePartition& p) {
  const storage::TopicInfo* info = logs.topic(topic);
  if (!info)
    return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Unable to find a topic named " + topic + "."};
  if (p.partition_index < 0 || p.partition_index >= info->partitions)
    return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            "Unable to find partition " + topic + ":" + std::to_string(p.partition_index) + "."};
  if (!p.replicas) return {ErrorCode::NO_REASSIGNMENT_IN_PROGRESS, std::nullopt};
  return check_replicas(*p.replicas, node_id);
}

Resp handle_alter_partition_reassignments(RequestContext& ctx, const Req& req) {
  Resp resp;
  if (req.topics.empty()) return resp;
  resp.error_message = std::nullopt;
  bool timed_out = req.timeout_ms <= 0;
  if (timed_out)
    resp.error_code = ErrorCode::REQUEST_TIMED_OUT;
  else
    resp.allow_replication_factor_change = req.allow_replication_factor_change;
  for (const auto& t : req.topics) {
    Resp::ReassignableTopicResponse tr;
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      Outcome o = timed_out ? Outcome{ErrorCode::REQUEST_TIMED_OUT, std::nullopt}
                            : reassign(ctx.broker.logs, ctx.broker.node_id, t.name, p);
      Resp::ReassignablePartitionResponse pr;
      pr.partition_index = p.partition_index;
      pr.error_code = o.error;
      pr.error_message = std::move(o.message);
      tr.partitions.push_back(std::move(pr));
    }
    resp.responses.push_back(std::move(tr));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(alter_partition_reassignments, AlterPartitionReassignmentsHandler,
                        handle_alter_partition_reassignments)

}  // namespace runnel::server
