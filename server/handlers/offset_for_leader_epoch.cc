// OffsetForLeaderEpoch (key 23), v0-v4.
//
// Per partition: the largest leader epoch at or below the requested one and the end offset of
// that epoch (the start offset of the next larger epoch, or the log end offset for the
// partition's current epoch), from the partition's leader epoch cache
// (storage/leader_epoch_cache.h, Kafka's LeaderEpochFileCache.endOffsetFor). A requested epoch
// below every epoch the cache holds answers itself with the first epoch's start offset;
// UNDEFINED_EPOCH (-1), or one above the current epoch, answers -1 / -1 with NONE, as Kafka.
// The consumer sends it (KIP-320) to check its position for truncation after a leader change.
//
// v2+ carry current_leader_epoch: older than the partition's epoch answers
// FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. Only -1 (NO_PARTITION_LEADER_EPOCH) is not
// checked: another negative epoch is older than any and answers FENCED_LEADER_EPOCH, as Kafka. v3+
// carry replica_id, which Kafka does not look at (a consumer sends -1, a follower its broker id;
// both are answered from the leader's log). v1+ answer the epoch found; v0 only the end offset. An
// unknown topic or partition answers UNKNOWN_TOPIC_OR_PARTITION.
#include "protocol/messages/offset_for_leader_epoch.h"

#include <utility>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "storage/log_manager.h"

namespace runnel::server {

using OffsetForLeaderEpochHandler = ApiHandler<protocol::OffsetForLeaderEpochRequest, 0, 4>;

namespace {

using protocol::ErrorCode;
using EpochEndOffset = protocol::OffsetForLeaderEpochResponse::EpochEndOffset;

protocol::OffsetForLeaderEpochResponse handle_offset_for_leader_epoch(
    RequestContext& ctx, const protocol::OffsetForLeaderEpochRequest& req) {
  protocol::OffsetForLeaderEpochResponse resp;
  for (const auto& t : req.topics) {
    protocol::OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult tr;
    tr.topic = t.topic;
    for (const auto& p : t.partitions) {
      EpochEndOffset r;
      r.partition = p.partition;
      const storage::PartitionLog* log = ctx.broker.logs.get(t.topic, p.partition);
      if (!log) {
        r.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      } else if (p.current_leader_epoch != -1 && p.current_leader_epoch < leader_epoch(*log)) {
        r.error_code = ErrorCode::FENCED_LEADER_EPOCH;
      } else if (auto e = check_current_leader_epoch(*log, p.current_leader_epoch);
                 e != ErrorCode::NONE) {
        r.error_code = e;
      } else {
        const storage::EpochEntry found = log->end_offset_for_epoch(p.leader_epoch);
        r.leader_epoch = found.epoch;
        r.end_offset = found.start_offset;
      }
      tr.partitions.push_back(std::move(r));
    }
    resp.topics.push_back(std::move(tr));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(offset_for_leader_epoch, OffsetForLeaderEpochHandler,
                        handle_offset_for_leader_epoch)

}  // namespace runnel::server
