// TxnOffsetCommit (key 28), v0-4: offsets committed inside a producer's transaction. They are
// written to the group's partition of __consumer_offsets as a transactional batch of the
// producer and become the group's committed offsets when the transaction commits (its COMMIT
// marker reaches that partition); an abort drops them.
//
// Checks, as Kafka: the group's partition must be in the producer's ongoing transaction
// (AddOffsetsToTxn first), else INVALID_TXN_STATE; for an older epoch PRODUCER_FENCED (v0-v1
// INVALID_PRODUCER_EPOCH); from v3 a member id, generation and instance id are checked against
// the group when given.
#include "protocol/messages/txn_offset_commit.h"

#include "server/group_handlers.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using TxnOffsetCommitHandler = ApiHandler<protocol::TxnOffsetCommitRequest, 0, 4>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::TxnOffsetCommitResponse;

HandlerResult handle_txn_offset_commit(RequestContext& ctx, protocol::Reader& body) {
  auto req = decode_request<TxnOffsetCommitHandler>(ctx, body);
  Resp resp;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e == ErrorCode::NONE) {
    const int32_t partition = ctx.broker.groups.coordinator().partition_for(req.group_id);
    e = ctx.broker.txns.coordinator().check_transactional_produce(
        req.producer_id, req.producer_epoch,
        coordinator::TopicPartition{std::string(kOffsetsTopic), partition});
    e = fenced_for_version(e, ctx.api_version, 2);
  }
  std::vector<coordinator::OffsetCommitPartition> commits;
  std::vector<Resp::TxnOffsetCommitResponsePartition*> answers;
  for (auto& t : req.topics) {
    Resp::TxnOffsetCommitResponseTopic rt;
    rt.name = t.name;
    for (auto& p : t.partitions) {
      Resp::TxnOffsetCommitResponsePartition rp;
      rp.partition_index = p.partition_index;
      if (e != ErrorCode::NONE)
        rp.error_code = e;
      else if (!partition_exists(ctx.broker, t.name, p.partition_index))
        rp.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      rt.partitions.push_back(rp);
    }
    resp.topics.push_back(std::move(rt));
  }
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& t = req.topics[ti];
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& rp = resp.topics[ti].partitions[pi];
      if (rp.error_code != ErrorCode::NONE) continue;
      auto& p = t.partitions[pi];
      commits.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch,
                         p.committed_metadata.value_or(std::string()), -1});
      answers.push_back(&rp);
    }
  }
  if (!commits.empty()) {
    auto errors = ctx.broker.groups.coordinator().commit_txn_offsets(
        req.group_id, req.producer_id, req.producer_epoch, req.member_id,
        req.generation_id_or_member_epoch, req.group_instance_id, commits);
    for (size_t i = 0; i < answers.size() && i < errors.size(); ++i)
      answers[i]->error_code = fenced_for_version(errors[i], ctx.api_version, 2);
  }
  return encode_response(ctx, resp);
}

}  // namespace

RUNNEL_REGISTER_HANDLER(txn_offset_commit, TxnOffsetCommitHandler, handle_txn_offset_commit)

}  // namespace runnel::server
