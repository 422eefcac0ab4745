// AddPartitionsToTxn (key 24), v0-5.
//
// v0-3 (clients): one transaction's partitions. v4+ (brokers, KIP-890): several transactions,
// each either added or, with verify_only, only checked. As Kafka: a partition that does not
// exist fails with UNKNOWN_TOPIC_OR_PARTITION and the request's other partitions with
// OPERATION_NOT_ATTEMPTED, and nothing is added. PRODUCER_FENCED from v2, before that
// INVALID_PRODUCER_EPOCH.
#include "protocol/messages/add_partitions_to_txn.h"

#include "server/txn_handlers.h"
#include "storage/log_manager.h"

namespace runnel::server {

using AddPartitionsToTxnHandler = ApiHandler<protocol::AddPartitionsToTxnRequest, 0, 5>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::AddPartitionsToTxnResponse;
using Topic = protocol::AddPartitionsToTxnRequest::AddPartitionsToTxnTopic;

// The per-topic results of one transaction.
std::vector<Resp::AddPartitionsToTxnTopicResult> add_one(const Broker& broker, int16_t version,
                                                         const std::string& id, int64_t producer_id,
                                                         int16_t epoch, bool verify_only,
                                                         const std::vector<Topic>& topics) {
  std::vector<coordinator::TopicPartition> tps;
  for (const auto& t : topics)
    for (int32_t p : t.partitions) tps.push_back({t.name, p});
  std::vector<ErrorCode> errors(tps.size(), ErrorCode::NONE);
  ErrorCode e = txn_status(broker, id);
  bool unknown = false;
  if (e == ErrorCode::NONE) {
    for (size_t i = 0; i < tps.size(); ++i) {
      if (!broker.logs.get(tps[i].topic, tps[i].partition)) {
        errors[i] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
        unknown = true;
      }
    }
  }
  if (e != ErrorCode::NONE) {
    std::fill(errors.begin(), errors.end(), e);
  } else if (unknown) {
    for (auto& x : errors)
      if (x == ErrorCode::NONE) x = ErrorCode::OPERATION_NOT_ATTEMPTED;
  } else if (verify_only) {
    errors = broker.txns.coordinator().verify_partitions(id, producer_id, epoch, tps);
  } else {
    errors = broker.txns.coordinator().add_partitions(id, producer_id, epoch, tps);
  }
  std::vector<Resp::AddPartitionsToTxnTopicResult> out;
  size_t i = 0;
  for (const auto& t : topics) {
    Resp::AddPartitionsToTxnTopicResult tr;
    tr.name = t.name;
    for (int32_t p : t.partitions) {
      Resp::AddPartitionsToTxnPartitionResult pr;
      pr.partition_index = p;
      ErrorCode x = i < errors.size() ? errors[i] : ErrorCode::UNKNOWN_SERVER_ERROR;
      pr.partition_error_code = fenced_for_version(x, version, 2);
      tr.results_by_partition.push_back(pr);
      ++i;
    }
    out.push_back(std::move(tr));
  }
  return out;
}

protocol::AddPartitionsToTxnResponse handle_add_partitions_to_txn(
    RequestContext& ctx, const protocol::AddPartitionsToTxnRequest& req) {
  Resp resp;
  if (ctx.api_version <= 3) {
    resp.results_by_topic_v3_and_below =
        add_one(ctx.broker, ctx.api_version, req.v3_and_below_transactional_id,
                req.v3_and_below_producer_id, req.v3_and_below_producer_epoch, false,
                req.v3_and_below_topics);
  } else {
    for (const auto& t : req.transactions) {
      Resp::AddPartitionsToTxnResult r;
      r.transactional_id = t.transactional_id;
      r.topic_results = add_one(ctx.broker, ctx.api_version, t.transactional_id, t.producer_id,
                                t.producer_epoch, t.verify_only, t.topics);
      resp.results_by_transaction.push_back(std::move(r));
    }
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(add_partitions_to_txn, AddPartitionsToTxnHandler,
                        handle_add_partitions_to_txn)

}  // namespace runnel::server
