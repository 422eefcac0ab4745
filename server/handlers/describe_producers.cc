// DescribeProducers (key 61), v0: the active producers of each partition, from its producer
// state (id, epoch, last sequence, last timestamp, coordinator epoch, and the first offset of
// an open transaction).
#include "protocol/messages/describe_producers.h"

#include "server/handler.h"
#include "storage/log_manager.h"

namespace runnel::server {

using DescribeProducersHandler = ApiHandler<protocol::DescribeProducersRequest, 0, 0>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::DescribeProducersResponse;

protocol::DescribeProducersResponse handle_describe_producers(
    RequestContext& ctx, const protocol::DescribeProducersRequest& req) {
  Resp resp;
  for (const auto& t : req.topics) {
    Resp::TopicResponse tr;
    tr.name = t.name;
    for (int32_t p : t.partition_indexes) {
      Resp::PartitionResponse pr;
      pr.partition_index = p;
      storage::PartitionLog* log = ctx.broker.logs.get(t.name, p);
      if (!log) {
        pr.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        for (const auto& info : log->producers()) {
          Resp::ProducerState s;
          s.producer_id = info.producer_id;
          s.producer_epoch = info.epoch;
          s.last_sequence = info.last_sequence;
          s.last_timestamp = info.last_timestamp;
          s.coordinator_epoch = info.coordinator_epoch;
          s.current_txn_start_offset = info.current_txn_start_offset;
          pr.active_producers.push_back(s);
        }
      }
      tr.partitions.push_back(std::move(pr));
    }
    resp.topics.push_back(std::move(tr));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_producers, DescribeProducersHandler, handle_describe_producers)

}  // namespace runnel::server
