// EndTxn (key 26), v0-5: commits or aborts the producer's transaction. The coordinator writes
// PrepareCommit/PrepareAbort to __transaction_state, a marker to every partition of the
// transaction, then CompleteCommit/CompleteAbort; the answer comes once all are written.
//
// v5 is transactions v2 (KIP-890): the end of every transaction bumps the producer epoch, and
// the answer carries the producer id and epoch the producer continues with (a new producer id
// at epoch 0 once the epoch is used up). v0-4 keep the epoch, and answer no producer.
#include "protocol/messages/end_txn.h"

#include "server/group_service.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using EndTxnHandler = ApiHandler<protocol::EndTxnRequest, 0, 5>;

namespace {

using protocol::ErrorCode;

protocol::EndTxnResponse handle_end_txn(RequestContext& ctx, const protocol::EndTxnRequest& req) {
  protocol::EndTxnResponse resp;
  ErrorCode e = txn_status(ctx.broker, req.transactional_id);
  if (e == ErrorCode::NONE && ctx.api_version >= 5) {
    auto r = ctx.broker.txns.coordinator().end_txn_v2(req.transactional_id, req.producer_id,
                                                      req.producer_epoch, req.committed);
    e = r.error;
    resp.producer_id = r.producer_id;
    resp.producer_epoch = r.producer_epoch;
  } else if (e == ErrorCode::NONE) {
    e = ctx.broker.txns.coordinator().end_txn(req.transactional_id, req.producer_id,
                                              req.producer_epoch, req.committed);
  }
  resp.error_code = fenced_for_version(e, ctx.api_version, 2);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(end_txn, EndTxnHandler, handle_end_txn)

}  // namespace runnel::server
