// ListTransactions (key 66), v0-2: the transactional ids this coordinator knows, filtered by
// state (unknown state names are echoed back in unknown_state_filters), by producer id, from v1
// by duration (only transactions running longer than duration_filter ms) and from v2 by
// transactional_id_pattern (KIP-1152): a regular expression the whole id must match, as
// Kafka's RE2/J Matcher.matches() (coordinator/regular_expression.h); a null or empty pattern
// filters nothing. A pattern that does not compile answers INVALID_REGULAR_EXPRESSION alone,
// with no transactions and no unknown state filters, as Kafka does; so does
// COORDINATOR_LOAD_IN_PROGRESS while a partition of __transaction_state loads.
#include "protocol/messages/list_transactions.h"

#include <optional>

#include "coordinator/regular_expression.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using ListTransactionsHandler = ApiHandler<protocol::ListTransactionsRequest, 0, 2>;

namespace {

using coordinator::RegularExpression;
using protocol::ErrorCode;
using Resp = protocol::ListTransactionsResponse;

protocol::ListTransactionsResponse handle_list_transactions(
    RequestContext& ctx, const protocol::ListTransactionsRequest& req) {
  Resp resp;
  std::optional<RegularExpression> pattern;
  if (ctx.api_version >= 2 && req.transactional_id_pattern &&
      !req.transactional_id_pattern->empty()) {
    pattern = RegularExpression::compile(*req.transactional_id_pattern);
    if (!pattern) {
      resp.error_code = ErrorCode::INVALID_REGULAR_EXPRESSION;
      return resp;
    }
  }
  // As Kafka: nothing is listed while a partition of __transaction_state loads.
  if (ErrorCode e = ctx.broker.txns.coordinator().check_list(); e != ErrorCode::NONE) {
    resp.error_code = e;
    return resp;
  }
  std::vector<std::string> unknown;
  auto listed =
      ctx.broker.txns.coordinator().list(req.state_filters, req.producer_id_filters,
                                         ctx.api_version >= 1 ? req.duration_filter : -1, &unknown);
  resp.unknown_state_filters = std::move(unknown);
  for (const auto& d : listed) {
    if (pattern && !pattern->matches(d.transactional_id)) continue;
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
