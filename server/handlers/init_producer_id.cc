// InitProducerId (key 22), v0-5.
//
// Without a transactional id: a fresh producer id with epoch 0 (an idempotent producer).
// With one: the transaction coordinator bumps the id's epoch, fencing older producers of the
// same id and aborting a transaction they left open; from v3 the producer may send the id and
// epoch it has, to resume after an error (KIP-360). PRODUCER_FENCED from v4, before that
// INVALID_PRODUCER_EPOCH.
#include "protocol/messages/init_producer_id.h"

#include "server/txn_handlers.h"

namespace runnel::server {

using InitProducerIdHandler = ApiHandler<protocol::InitProducerIdRequest, 0, 5>;

namespace {

using protocol::ErrorCode;

protocol::InitProducerIdResponse handle_init_producer_id(
    RequestContext& ctx, const protocol::InitProducerIdRequest& req) {
  protocol::InitProducerIdResponse resp;
  resp.producer_id = -1;
  resp.producer_epoch = -1;
  ErrorCode e = ErrorCode::NONE;
  if (req.transactional_id && !req.transactional_id->empty()) {
    e = ctx.broker.txns.ensure_state_topic();
    if (e == ErrorCode::NONE) e = txn_status(ctx.broker, *req.transactional_id);
  }
  if (e == ErrorCode::NONE) {
    auto r = ctx.broker.txns.coordinator().init_producer_id(
        req.transactional_id, req.transaction_timeout_ms, req.producer_id, req.producer_epoch);
    e = r.error;
    if (e == ErrorCode::NONE) {
      resp.producer_id = r.producer_id;
      resp.producer_epoch = r.producer_epoch;
    }
  }
  resp.error_code = fenced_for_version(e, ctx.api_version, 4);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(init_producer_id, InitProducerIdHandler, handle_init_producer_id)

}  // namespace runnel::server
