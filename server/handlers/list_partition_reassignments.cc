// ListPartitionReassignments (key 46), v0: no reassignment is ever in progress on one broker
// (AlterPartitionReassignments never starts one), so the answer lists none, whatever topics
// and partitions are named (an unknown one is no error, as in Kafka 4.4) and whatever TimeoutMs
// says. ErrorMessage is null.
#include "protocol/messages/list_partition_reassignments.h"

#include <optional>

#include "server/handler.h"

namespace runnel::server {

using ListPartitionReassignmentsHandler =
    ApiHandler<protocol::ListPartitionReassignmentsRequest, 0, 0>;

namespace {

protocol::ListPartitionReassignmentsResponse handle_list_partition_reassignments(
    RequestContext&, const protocol::ListPartitionReassignmentsRequest&) {
  protocol::ListPartitionReassignmentsResponse resp;
  resp.error_message = std::nullopt;
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(list_partition_reassignments, ListPartitionReassignmentsHandler,
                        handle_list_partition_reassignments)

}  // namespace runnel::server
