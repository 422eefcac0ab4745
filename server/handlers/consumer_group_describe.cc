// ConsumerGroupDescribe (key 69), v0-1: the consumer groups (KIP-848) as the coordinator holds
// them: epochs, state, the assignor, and each member with its subscription, its current
// assignment and its target assignment (topic ids and names; partitions of a topic that no
// longer exists are left out, as Kafka leaves them out). A group id that is not a consumer
// group gets GROUP_ID_NOT_FOUND, as Kafka answers. AuthorizedOperations is -2147483648 unless
// requested. v1 tells each member's type (KIP-1099): every member speaks the consumer protocol
// (1), as no classic member joins a consumer group here.
#include "protocol/messages/consumer_group_describe.h"

#include "server/group_handlers.h"

namespace runnel::server {

using ConsumerGroupDescribeHandler = ApiHandler<protocol::ConsumerGroupDescribeRequest, 0, 1>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::ConsumerGroupDescribeResponse;

// Kafka's group operations (AclOperation codes as bits): READ 3, DELETE 6, DESCRIBE 8,
// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
constexpr int32_t kGroupOperations = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);
// MemberType: -1 unknown, 0 a member of the classic protocol (a group being migrated), 1 one
// of the consumer protocol.
constexpr int8_t kClassicMember = 0;
constexpr int8_t kConsumerMember = 1;

Resp::Assignment assignment(const storage::LogManager& logs,
                            const coordinator::TopicPartitionSet& partitions) {
  Resp::Assignment a;
  for (const auto& [id, ps] : partitions) {
    const storage::TopicInfo* t = logs.topic_by_id(id);
    if (!t) continue;
    auto& tp = a.topic_partitions.emplace_back();
    tp.topic_id = id;
    tp.topic_name = t->name;
    tp.partitions.assign(ps.begin(), ps.end());
  }
  return a;
}

Resp::DescribedGroup describe(const Broker& broker, const std::string& group_id) {
  Resp::DescribedGroup g;
  g.group_id = group_id;
  if (ErrorCode e = group_status(broker, group_id, true); e != ErrorCode::NONE) {
    g.error_code = e;
    return g;
  }
  const auto& groups = broker.groups.coordinator().consumer_groups();
  const coordinator::ConsumerGroup* cg = groups.group(group_id);
  if (!cg || !cg->exists()) {
    g.error_code = ErrorCode::GROUP_ID_NOT_FOUND;
    g.error_message = broker.groups.coordinator().group(group_id)
                          ? "Group " + group_id + " is not a consumer group."
                          : "Group " + group_id + " not found.";
    return g;
  }
  g.group_state = std::string(coordinator::to_string(cg->state()));
  g.group_epoch = cg->group_epoch();
  g.assignment_epoch = cg->assignment_epoch();
  g.assignor_name = groups.assignor_name(*cg);
  for (const auto& [id, m] : cg->members()) {
    auto& rm = g.members.emplace_back();
    rm.member_id = id;
    rm.instance_id = m.metadata.instance_id;
    rm.rack_id = m.metadata.rack_id;
    rm.member_epoch = m.member_epoch;
    rm.client_id = m.metadata.client_id;
    rm.client_host = m.metadata.client_host;
    rm.subscribed_topic_names = m.metadata.subscribed_topic_names;
    rm.subscribed_topic_regex = m.metadata.subscribed_topic_regex.value_or("");  // as Kafka
    rm.assignment = assignment(broker.logs, m.assigned_partitions);
    rm.target_assignment = assignment(broker.logs, cg->target(id));
    rm.member_type = m.metadata.classic_member_metadata ? kClassicMember : kConsumerMember;
  }
  return g;
}

protocol::ConsumerGroupDescribeResponse handle_consumer_group_describe(
    RequestContext& ctx, const protocol::ConsumerGroupDescribeRequest& req) {
  Resp resp;
  for (const auto& id : req.group_ids) {
    auto g = describe(ctx.broker, id);
    if (req.include_authorized_operations && g.error_code == ErrorCode::NONE)
      g.authorized_operations = kGroupOperations;
    resp.groups.push_back(std::move(g));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(consumer_group_describe, ConsumerGroupDescribeHandler,
                        handle_consumer_group_describe)

}  // namespace runnel::server
