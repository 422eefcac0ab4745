// ListOffsets (key 2), v0-v11.
//
// Per partition, by the requested timestamp:
//   -2 earliest          the log start offset
//   -1 latest            the high watermark (last stable offset for
//                        read_committed, v2+)
//   -3 max timestamp     the record with the largest timestamp (v7+)
//   -4 earliest local    the log start offset (no tiered storage: the whole
//                        log is local)
//   -5 latest tiered     offset -1: nothing is tiered
//   -6 earliest pending  offset -1: no topic has remote storage, which is
//      upload            Kafka's answer then (v11, KIP-1023)
//   other                the first offset whose timestamp is >= it, through
//                        the time index; offset and timestamp -1 when none.
// The leader epoch answered (v4+) is the epoch of the batch holding the
// returned offset, not the current epoch.
//
// v0 answers old_style_offsets: for latest, the high watermark followed by
// the base offsets of the segments, newest first; for earliest, the log start
// offset; for a timestamp, the offset found by the time index (Kafka used
// segment modification times here, which say little about the records).
// At most max_num_offsets values.
//
// A partition named twice in one request (v1+) gets INVALID_REQUEST, as in
// Kafka.
#include "protocol/messages/list_offsets.h"

#include <algorithm>
#include <map>
#include <utility>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "storage/log_manager.h"

namespace runnel::server {

using ListOffsetsHandler = ApiHandler<protocol::ListOffsetsRequest, 0, 11>;

namespace {

using protocol::ErrorCode;
using PartitionResponse = protocol::ListOffsetsResponse::ListOffsetsPartitionResponse;

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;
constexpr int64_t kEarliestPendingUpload = -6;

// The leader epoch of `offset`: its batch's, or for the log end offset (an empty partition's
// start too) the partition's current epoch, which begins there, as Kafka's epoch cache says.
int32_t epoch_of(const storage::PartitionLog& log, int64_t offset) {
  if (offset >= log.log_end_offset()) return leader_epoch(log);
  return log.epoch_for_offset(offset).value_or(-1);
}

void answer_v0(const storage::PartitionLog& log, int64_t timestamp, int32_t max_num_offsets,
               PartitionResponse& r) {
  std::vector<int64_t> offsets;
  if (timestamp == kLatest) {
    offsets.push_back(log.high_watermark());
    auto bases = log.segment_base_offsets();
    for (auto it = bases.rbegin(); it != bases.rend(); ++it)
      if (*it < log.high_watermark()) offsets.push_back(std::max(*it, log.log_start_offset()));
  } else if (timestamp == kEarliest) {
    offsets.push_back(log.log_start_offset());
  } else {
    auto found = log.offset_for_timestamp(timestamp);
    if (found.offset >= 0) offsets.push_back(found.offset);
  }
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  if (max_num_offsets < 0) max_num_offsets = 0;
  if (offsets.size() > static_cast<size_t>(max_num_offsets))
    offsets.resize(static_cast<size_t>(max_num_offsets));
  r.old_style_offsets = std::move(offsets);
}

void answer(const storage::PartitionLog& log, int64_t timestamp, bool read_committed,
            PartitionResponse& r) {
  r.timestamp = -1;
  switch (timestamp) {
    case kLatest:
      // The partition's current leader epoch, as Kafka answers (an empty partition too).
      r.offset = read_committed ? log.last_stable_offset() : log.high_watermark();
      r.leader_epoch = leader_epoch(log);
      return;
    case kEarliest:
    case kEarliestLocal:
      r.offset = log.log_start_offset();
      r.leader_epoch = epoch_of(log, r.offset);
      return;
    case kLatestTiered:
    case kEarliestPendingUpload:
      r.offset = -1;
      r.leader_epoch = -1;
      return;
    case kMaxTimestamp: {
      auto found = log.max_timestamp_offset();
      r.offset = found.offset;
      r.timestamp = found.offset >= 0 ? found.timestamp : -1;
      r.leader_epoch = found.offset >= 0 ? found.leader_epoch : -1;
      return;
    }
    default: {
      auto found = log.offset_for_timestamp(timestamp);
      r.offset = found.offset;
      r.timestamp = found.offset >= 0 ? found.timestamp : -1;
      r.leader_epoch = found.offset >= 0 ? found.leader_epoch : -1;
      return;
    }
  }
}

protocol::ListOffsetsResponse handle_list_offsets(RequestContext& ctx,
                                                  const protocol::ListOffsetsRequest& req) {
  const int16_t version = ctx.api_version;
  const bool read_committed = version >= 2 && req.isolation_level == 1;

  std::map<std::pair<std::string_view, int32_t>, int> seen;
  for (auto& t : req.topics)
    for (auto& p : t.partitions) ++seen[{t.name, p.partition_index}];

  protocol::ListOffsetsResponse resp;
  for (auto& t : req.topics) {
    protocol::ListOffsetsResponse::ListOffsetsTopicResponse tr;
    tr.name = t.name;
    for (auto& p : t.partitions) {
      PartitionResponse r;
      r.partition_index = p.partition_index;
      r.offset = -1;
      r.timestamp = -1;
      r.leader_epoch = -1;
      auto set_error = [&](ErrorCode e) { r.error_code = e; };
      const storage::PartitionLog* log = ctx.broker.logs.get(t.name, p.partition_index);
      if (version >= 1 && seen[{t.name, p.partition_index}] > 1) {
        set_error(ErrorCode::INVALID_REQUEST);
      } else if (!log) {
        set_error(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (auto e = check_current_leader_epoch(*log, p.current_leader_epoch);
                 version >= 4 && e != ErrorCode::NONE) {
        set_error(e);
      } else if (version == 0) {
        answer_v0(*log, p.timestamp, p.max_num_offsets, r);
      } else {
        answer(*log, p.timestamp, read_committed, r);
      }
      tr.partitions.push_back(std::move(r));
    }
    resp.topics.push_back(std::move(tr));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(list_offsets, ListOffsetsHandler, handle_list_offsets)

}  // namespace runnel::server
