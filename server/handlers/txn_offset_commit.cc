// TxnOffsetCommit (key 28), v0-6: offsets committed inside a producer's transaction. They are
// written to the group's partition of __consumer_offsets as a transactional batch of the
// producer and become the group's committed offsets when the transaction commits (its COMMIT
// marker reaches that partition); an abort drops them.
//
// Checks, as Kafka: the group's partition must be in the producer's ongoing transaction
// (AddOffsetsToTxn first), else INVALID_TXN_STATE; for an older epoch PRODUCER_FENCED (v0-v1
// INVALID_PRODUCER_EPOCH); from v3 a member id, generation and instance id are checked against
// the group when given.
//
// v5+ is transactions v2 (KIP-890): the group's partition of __consumer_offsets joins the
// transaction here (starting it when none is open), so the producer sends no AddOffsetsToTxn.
// v6 names topics by id (UNKNOWN_TOPIC_ID for an id no topic has).
#include "protocol/messages/txn_offset_commit.h"

#include "server/group_handlers.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using TxnOffsetCommitHandler = ApiHandler<protocol::TxnOffsetCommitRequest, 0, 6>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::TxnOffsetCommitResponse;

protocol::TxnOffsetCommitResponse handle_txn_offset_commit(
    RequestContext& ctx, const protocol::TxnOffsetCommitRequest& req) {
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e == ErrorCode::NONE) {
    const int32_t partition = ctx.broker.groups.coordinator().partition_for(req.group_id);
    const coordinator::TopicPartition tp{std::string(kOffsetsTopic), partition};
    auto& txns = ctx.broker.txns.coordinator();
    e = ctx.api_version >= 5
            ? txns.add_partition_for_produce(req.transactional_id, req.producer_id,
                                             req.producer_epoch, tp)
            : txns.check_transactional_produce(req.producer_id, req.producer_epoch, tp);
    e = fenced_for_version(e, ctx.api_version, 2);
  }
  return answer_offset_commit<Resp>(
      ctx.broker, req, ctx.api_version >= 6, e, -1, [&](const auto& commits) {
        auto errors = ctx.broker.groups.coordinator().commit_txn_offsets(
            req.group_id, req.producer_id, req.producer_epoch, req.member_id,
            req.generation_id_or_member_epoch, req.group_instance_id, commits);
        for (auto& error : errors) error = fenced_for_version(error, ctx.api_version, 2);
        return errors;
      });
}

}  // namespace

RUNNEL_REGISTER_HANDLER(txn_offset_commit, TxnOffsetCommitHandler, handle_txn_offset_commit)

}  // namespace runnel::server
