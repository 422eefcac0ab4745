// AddOffsetsToTxn (key 25), v0-4: adds the group's partition of __consumer_offsets to the
// producer's transaction, so that TxnOffsetCommit may write there and EndTxn writes a marker
// there.
#include "protocol/messages/add_offsets_to_txn.h"

#include "server/group_service.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using AddOffsetsToTxnHandler = ApiHandler<protocol::AddOffsetsToTxnRequest, 0, 4>;

namespace {

using protocol::ErrorCode;

protocol::AddOffsetsToTxnResponse handle_add_offsets_to_txn(
    RequestContext& ctx, const protocol::AddOffsetsToTxnRequest& req) {
  protocol::AddOffsetsToTxnResponse resp;
  ErrorCode e = txn_status(ctx.broker, req.transactional_id);
  if (e == ErrorCode::NONE) e = ctx.broker.groups.ensure_offsets_topic();
  if (e == ErrorCode::NONE) {
    const int32_t partition = ctx.broker.groups.coordinator().partition_for(req.group_id);
    e = ctx.broker.txns.coordinator().add_offsets(req.transactional_id, req.producer_id,
                                                  req.producer_epoch, partition);
  }
  resp.error_code = fenced_for_version(e, ctx.api_version, 2);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(add_offsets_to_txn, AddOffsetsToTxnHandler, handle_add_offsets_to_txn)

}  // namespace runnel::server
