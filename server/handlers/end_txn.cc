// EndTxn (key 26), v0-4: commits or aborts the producer's transaction. The coordinator writes
// PrepareCommit/PrepareAbort to __transaction_state, a marker to every partition of the
// transaction, then CompleteCommit/CompleteAbort; the answer comes once all are written.
#include "protocol/messages/end_txn.h"

#include "server/group_service.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using EndTxnHandler = ApiHandler<protocol::EndTxnRequest, 0, 4>;

namespace {

using protocol::ErrorCode;

protocol::EndTxnResponse handle_end_txn(RequestContext& ctx, const protocol::EndTxnRequest& req) {
  protocol::EndTxnResponse resp;
  ErrorCode e = txn_status(ctx.broker, req.transactional_id);
  if (e == ErrorCode::NONE)
    e = ctx.broker.txns.coordinator().end_txn(req.transactional_id, req.producer_id,
                                              req.producer_epoch, req.committed);
  resp.error_code = fenced_for_version(e, ctx.api_version, 2);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(end_txn, EndTxnHandler, handle_end_txn)

}  // namespace runnel::server
