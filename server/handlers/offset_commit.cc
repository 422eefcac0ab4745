// OffsetCommit (key 8), v0-10. A commit with generation -1 and no member id is a standalone
// commit (allowed while the group has no members); otherwise the member and generation must
// be current. Partitions of topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION; the
// others are written to __consumer_offsets in one batch. v2-4's retention_time_ms, when
// set, makes those offsets expire that long after the commit (value v1, as Kafka writes).
// v10 names topics by id (KIP-848): an id no topic has gets UNKNOWN_TOPIC_ID for each of its
// partitions, as Kafka answers before it looks at the group; offsets are kept by name.
// For a consumer group (KIP-848) the generation is the member epoch (STALE_MEMBER_EPOCH,
// UNKNOWN_MEMBER_ID), and a member must commit with v9+ (UNSUPPORTED_VERSION before).
#include "protocol/messages/offset_commit.h"

#include "server/group_handlers.h"

namespace runnel::server {

using OffsetCommitHandler = ApiHandler<protocol::OffsetCommitRequest, 0, 10>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::OffsetCommitResponse;

// Kafka refuses a commit older than v9 from a member of a consumer group (KIP-848): only v9+
// carries the member epoch. A standalone commit (negative epoch, no members) is not one.
bool commit_needs_v9(const Broker& broker, const protocol::OffsetCommitRequest& req) {
  const auto* cg = broker.groups.coordinator().consumer_groups().group(req.group_id);
  if (!cg || !cg->exists()) return false;
  if (req.generation_id_or_member_epoch < 0 && cg->members().empty()) return false;
  return cg->member(req.member_id) != nullptr;
}

protocol::OffsetCommitResponse handle_offset_commit(RequestContext& ctx,
                                                    const protocol::OffsetCommitRequest& req) {
  const ErrorCode group_error = group_status(ctx.broker, req.group_id, true);
  const bool has_retention =
      ctx.api_version >= 2 && ctx.api_version <= 4 && req.retention_time_ms >= 0;
  return answer_offset_commit<Resp>(
      ctx.broker, req, ctx.api_version >= 10, group_error,
      has_retention ? req.retention_time_ms : -1, [&](const auto& commits) {
        if (ctx.api_version < 9 && commit_needs_v9(ctx.broker, req))
          return std::vector<ErrorCode>(commits.size(), ErrorCode::UNSUPPORTED_VERSION);
        return ctx.broker.groups.coordinator().commit_offsets(req.group_id, req.member_id,
                                                              req.generation_id_or_member_epoch,
                                                              req.group_instance_id, commits);
      });
}

}  // namespace

RUNNEL_REGISTER_HANDLER(offset_commit, OffsetCommitHandler, handle_offset_commit)

}  // namespace runnel::server
