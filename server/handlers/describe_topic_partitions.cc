// DescribeTopicPartitions (key 75), v0: the partitions of the named topics (of every topic for
// an empty list, the internal ones too), in topic name order, with the same leader, epoch and
// replicas as Metadata. What the Java admin's describeTopics() asks by name.
//
// As Kafka 4.4 answers it:
// - Topics before the cursor's topic are left out; the cursor's topic starts at its partition.
//   A named list must hold the cursor's topic and the cursor's partition must not be negative:
//   either otherwise is INVALID_REQUEST for the whole request (every requested topic, in
//   request order, with the error and nothing else). With an empty list the cursor's topic
//   need not exist.
// - ResponsePartitionLimit is clamped to [1, 2000] (Kafka's max.request.partition.size.limit
//   default) and caps the partitions of the answer. A topic cut short gives NextCursor (that
//   topic, its first partition left out) and ends the answer; when the limit is used up just
//   at a topic's end, NextCursor names the next topic (partition 0), even an unknown one.
// - A requested topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, or
//   INVALID_TOPIC_EXCEPTION for a name a topic cannot have, with a zero topic id and no
//   partitions. Such topics count nothing against the limit.
// - EligibleLeaderReplicas and LastKnownElr are empty (a single node has no ELR), never null.
// - TopicAuthorizedOperations is always set (every topic operation: no authorizer), error or
//   not; a whole-request error leaves it unset.
// - Kafka reads the cursor's partition index for the topic named "" even without a cursor: a
//   request naming "" with no cursor fails with UNKNOWN_SERVER_ERROR as a whole, and Kafka's
//   int arithmetic wraps for a cursor's partition near 2^31, which gives a negative
//   NextCursor partition; Runnel answers both the same.
#include "protocol/messages/describe_topic_partitions.h"

#include <algorithm>
#include <set>
#include <string>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "server/topic_admin.h"
#include "storage/log_manager.h"
#include "storage/topic_name.h"

namespace runnel::server {

using DescribeTopicPartitionsHandler = ApiHandler<protocol::DescribeTopicPartitionsRequest, 0, 0>;

namespace {

using protocol::ErrorCode;
using Req = protocol::DescribeTopicPartitionsRequest;
using Resp = protocol::DescribeTopicPartitionsResponse;

// Kafka's max.request.partition.size.limit (default).
constexpr int32_t kMaxPartitionsPerResponse = 2000;

Resp whole_request_error(const Req& req, ErrorCode error) {
  Resp resp;
  for (const auto& rt : req.topics) {
    Resp::DescribeTopicPartitionsResponseTopic t;
    t.error_code = error;
    t.name = rt.name;
    resp.topics.push_back(std::move(t));
  }
  return resp;
}

// Java's int addition, which wraps.
int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

Resp::DescribeTopicPartitionsResponsePartition describe_partition(const Broker& broker,
                                                                  const std::string& topic,
                                                                  int32_t p) {
  Resp::DescribeTopicPartitionsResponsePartition part;
  part.partition_index = p;
  part.leader_id = broker.node_id;
  const storage::PartitionLog* log = broker.logs.get(topic, p);
  part.leader_epoch = log ? leader_epoch(*log) : kInitialLeaderEpoch;
  part.replica_nodes = {broker.node_id};
  part.isr_nodes = {broker.node_id};
  part.eligible_leader_replicas.emplace();
  part.last_known_elr.emplace();
  return part;
}

Resp handle_describe_topic_partitions(RequestContext& ctx, const Req& req) {
  const Broker& broker = ctx.broker;
  const bool all_topics = req.topics.empty();
  const std::string cursor_topic = req.cursor ? req.cursor->topic_name : std::string();

  std::set<std::string> names;  // from the cursor's topic on, in name order
  if (all_topics) {
    for (const storage::TopicInfo* info : broker.logs.topics())
      if (info->name >= cursor_topic) names.insert(info->name);
  } else {
    for (const auto& rt : req.topics)
      if (rt.name >= cursor_topic) names.insert(rt.name);
    if (req.cursor && !names.count(cursor_topic))
      return whole_request_error(req, ErrorCode::INVALID_REQUEST);
  }
  if (req.cursor && req.cursor->partition_index < 0)
    return whole_request_error(req, ErrorCode::INVALID_REQUEST);

  int32_t remaining =
      std::max(std::min(kMaxPartitionsPerResponse, req.response_partition_limit), 1);
  Resp resp;
  for (const std::string& name : names) {
    if (remaining == 0) {
      resp.next_cursor.emplace();
      resp.next_cursor->topic_name = name;
      resp.next_cursor->partition_index = 0;
      break;
    }
    if (name == cursor_topic && !req.cursor)
      return whole_request_error(req, ErrorCode::UNKNOWN_SERVER_ERROR);
    const int32_t first = name == cursor_topic ? req.cursor->partition_index : 0;
    Resp::DescribeTopicPartitionsResponseTopic t;
    t.name = name;
    t.is_internal = is_internal_topic(name);
    t.topic_authorized_operations = all_topic_operations();
    const storage::TopicInfo* info = broker.logs.topic(name);
    if (!info) {
      if (all_topics) continue;
      t.error_code = storage::is_valid_topic_name(name) ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                                                        : ErrorCode::INVALID_TOPIC_EXCEPTION;
      resp.topics.push_back(std::move(t));
      continue;
    }
    t.topic_id = info->topic_id;
    const int32_t end = std::min(info->partitions, wrapping_add(first, remaining));
    for (int32_t p = first; p < end; ++p)
      t.partitions.push_back(describe_partition(broker, name, p));
    remaining -= static_cast<int32_t>(t.partitions.size());
    resp.topics.push_back(std::move(t));
    if (end < info->partitions) {
      resp.next_cursor.emplace();
      resp.next_cursor->topic_name = name;
      resp.next_cursor->partition_index = end;
      break;
    }
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_topic_partitions, DescribeTopicPartitionsHandler,
                        handle_describe_topic_partitions)

}  // namespace runnel::server
