// DescribeTransactions (key 65), v0: the state of each named transactional id, or
// TRANSACTIONAL_ID_NOT_FOUND.
#include "protocol/messages/describe_transactions.h"

#include <map>

#include "server/txn_handlers.h"

namespace runnel::server {

using DescribeTransactionsHandler = ApiHandler<protocol::DescribeTransactionsRequest, 0, 0>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::DescribeTransactionsResponse;

protocol::DescribeTransactionsResponse handle_describe_transactions(
    RequestContext& ctx, const protocol::DescribeTransactionsRequest& req) {
  Resp resp;
  for (const auto& id : req.transactional_ids) {
    Resp::TransactionState s;
    s.transactional_id = id;
    // An error answer carries the schema's defaults (0), as Kafka's does.
    s.transaction_timeout_ms = 0;
    s.transaction_start_time_ms = 0;
    s.producer_id = 0;
    s.producer_epoch = 0;
    ErrorCode e = txn_status(ctx.broker, id);
    if (e == ErrorCode::NONE) {
      auto d = ctx.broker.txns.coordinator().describe(id);
      e = d.error;
      if (e == ErrorCode::NONE) {
        s.transaction_state = d.state;
        s.transaction_timeout_ms = d.timeout_ms;
        s.transaction_start_time_ms = d.start_time_ms;
        s.producer_id = d.producer_id;
        s.producer_epoch = d.producer_epoch;
        std::map<std::string, std::vector<int32_t>> by_topic;
        for (const auto& tp : d.partitions) by_topic[tp.topic].push_back(tp.partition);
        for (auto& [topic, parts] : by_topic) {
          Resp::TopicData td;
          td.topic = topic;
          td.partitions = std::move(parts);
          s.topics.push_back(std::move(td));
        }
      }
    }
    s.error_code = e;
    resp.transaction_states.push_back(std::move(s));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_transactions, DescribeTransactionsHandler,
                        handle_describe_transactions)

}  // namespace runnel::server
