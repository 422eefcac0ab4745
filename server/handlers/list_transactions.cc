// ListTransactions (key 66), v0-1: the transactional ids this coordinator knows, filtered by
// state (unknown state names are echoed back in unknown_state_filters), by producer id, and
// from v1 by duration (only transactions running longer than duration_filter ms).
#include "protocol/messages/list_transactions.h"

#include "server/txn_handlers.h"

namespace runnel::server {

using ListTransactionsHandler = ApiHandler<protocol::ListTransactionsRequest, 0, 1>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::ListTransactionsResponse;

protocol::ListTransactionsResponse handle_list_transactions(
    RequestContext& ctx, const protocol::ListTransactionsRequest& req) {
  Resp resp;
  std::vector<std::string> unknown;
  auto listed =
      ctx.broker.txns.coordinator().list(req.state_filters, req.producer_id_filters,
                                         ctx.api_version >= 1 ? req.duration_filter : -1, &unknown);
  resp.unknown_state_filters = std::move(unknown);
  for (const auto& d : listed) {
    Resp::TransactionState s;
    s.transactional_id = d.transactional_id;
    s.producer_id = d.producer_id;
    s.transaction_state = d.state;
    resp.transaction_states.push_back(std::move(s));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(list_transactions, ListTransactionsHandler, handle_list_transactions)

}  // namespace runnel::server
