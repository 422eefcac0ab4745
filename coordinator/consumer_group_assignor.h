// The server-side assignors of the consumer group protocol (KIP-848): `uniform` (the default)
// and `range`, named as in group.consumer.assignors.
//
// An assignor maps the members' subscriptions, the partitions of the subscribed topics and
// the current target assignment to a new target assignment. It is a pure function of its
// input: members and topics are visited in sorted order, so the same input always gives the
// same output.
//
// uniform: every partition of a subscribed topic goes to one member subscribed to its topic;
//   partitions are spread as evenly as the subscriptions allow (with identical subscriptions
//   the counts differ by at most one), and a partition stays with the member that has it in
//   the current target whenever that keeps the balance (the fewest partitions move).
// range: per topic, the members subscribed to it, sorted by member id, get consecutive ranges
//   of partitions, the first (partitions % members) one more, as the classic RangeAssignor
//   does; members subscribed to the same topics therefore get the same partition numbers of
//   each (co-partitioning).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/consumer_group_records.h"

namespace runnel::coordinator {

struct AssignmentTopic {
  protocol::Uuid id;
  std::string name;
  int32_t partitions = 0;
};

struct AssignmentMember {
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::set<protocol::Uuid> subscribed_topic_ids;
  TopicPartitionSet current;  // the member's partitions in the current target assignment
};

struct AssignmentInput {
  std::map<std::string, AssignmentMember> members;   // by member id
  std::map<protocol::Uuid, AssignmentTopic> topics;  // the subscribed topics that exist
};

// Member id -> its partitions; every member of the input has an entry (possibly empty).
using GroupAssignment = std::map<std::string, TopicPartitionSet>;

class ConsumerGroupAssignor {
 public:
  virtual ~ConsumerGroupAssignor() = default;
  virtual std::string_view name() const = 0;
  virtual GroupAssignment assign(const AssignmentInput& input) const = 0;
};

class UniformAssignor final : public ConsumerGroupAssignor {
 public:
  std::string_view name() const override { return "uniform"; }
  GroupAssignment assign(const AssignmentInput& input) const override;
};

class RangeAssignor final : public ConsumerGroupAssignor {
 public:
  std::string_view name() const override { return "range"; }
  GroupAssignment assign(const AssignmentInput& input) const override;
};

// The assignor named `name` ("uniform" or "range"); null for any other name.
std::unique_ptr<ConsumerGroupAssignor> make_assignor(std::string_view name);

}  // namespace runnel::coordinator
