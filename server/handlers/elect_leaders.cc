// ElectLeaders (key 43), v0-2, as a one-broker Kafka 4.4 answers it: the only replica of every
// partition is its leader and its preferred replica, so no election is ever needed.
// - Each named partition: ELECTION_NOT_NEEDED (84), "Leader election not needed for topic
//   partition.", for a preferred (0) and an unclean (1) election alike; a topic Runnel does not
//   have: UNKNOWN_TOPIC_OR_PARTITION "No such topic as <topic>", a partition it does not have:
//   "No such partition as <topic>-<partition>". Topics and partitions are answered as named, in
//   order, a repeated one again.
// - TopicPartitions null (every partition): each topic, internal ones too, with no partition
//   results, since Kafka leaves out the partitions whose election was not needed.
// - An empty list: an empty answer. Otherwise, TimeoutMs <= 0 (the deadline passed before the
//   controller got to it): REQUEST_TIMED_OUT for the request and every partition named; an
//   election type other than 0 and 1 (v1+): INVALID_REQUEST, "Unknown election type <n>", the
//   same way. The top-level ErrorCode is v1+; v0 carries the error per partition only.
#include "protocol/messages/elect_leaders.h"

#include <optional>
#include <string>

#include "protocol/errors.h"
#include "server/handler.h"
#include "storage/log_manager.h"

namespace runnel::server {

using ElectLeadersHandler = ApiHandler<protocol::ElectLeadersRequest, 0, 2>;

namespace {

using protocol::ErrorCode;
using Req = protocol::ElectLeadersRequest;
using Resp = protocol::ElectLeadersResponse;

constexpr int8_t kPreferred = 0, kUnclean = 1;

Resp::PartitionResult result(int32_t partition, ErrorCode error,
                             std::optional<std::string> message) {
  Resp::PartitionResult r;
  r.partition_id = partition;
  r.error_code = error;
  r.error_message = std::move(message);
  return r;
}

// The whole request refused: the error at the top and for every partition named.
Resp refuse(const Req& req, ErrorCode error, const std::optional<std::string>& message) {
  Resp resp;
  resp.error_code = error;
  if (req.topic_partitions) {
    for (const auto& t : *req.topic_partitions) {
      Resp::ReplicaElectionResult tr;
      tr.topic = t.topic;
      for (int32_t p : t.partitions) tr.partition_result.push_back(result(p, error, message));
      resp.replica_election_results.push_back(std::move(tr));
    }
  }
  return resp;
}

Resp handle_elect_leaders(RequestContext& ctx, const Req& req) {
  const storage::LogManager& logs = ctx.broker.logs;
  Resp resp;
  if (req.topic_partitions && req.topic_partitions->empty()) return resp;
  if (req.timeout_ms <= 0) return refuse(req, ErrorCode::REQUEST_TIMED_OUT, std::nullopt);
  if (req.election_type != kPreferred && req.election_type != kUnclean)
    return refuse(req, ErrorCode::INVALID_REQUEST,
                  "Unknown election type " + std::to_string(req.election_type));
  if (!req.topic_partitions) {
    for (const storage::TopicInfo* info : logs.topics()) {
      Resp::ReplicaElectionResult tr;
      tr.topic = info->name;
      resp.replica_election_results.push_back(std::move(tr));
    }
    return resp;
  }
  for (const auto& t : *req.topic_partitions) {
    Resp::ReplicaElectionResult tr;
    tr.topic = t.topic;
    const storage::TopicInfo* info = logs.topic(t.topic);
    for (int32_t p : t.partitions) {
      if (!info)
        tr.partition_result.push_back(
            result(p, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "No such topic as " + t.topic));
      else if (p < 0 || p >= info->partitions)
        tr.partition_result.push_back(
            result(p, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                   "No such partition as " + t.topic + "-" + std::to_string(p)));
      else
        tr.partition_result.push_back(result(p, ErrorCode::ELECTION_NOT_NEEDED,
                                             "Leader election not needed for topic partition."));
    }
    resp.replica_election_results.push_back(std::move(tr));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(elect_leaders, ElectLeadersHandler, handle_elect_leaders)

}  // namespace runnel::server
