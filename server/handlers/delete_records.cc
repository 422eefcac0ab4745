// DeleteRecords (key 21), v0-v2 (v2 flexible; the versions differ in nothing else).
//
// Per partition, as Kafka's KafkaApis.handleDeleteRecordsRequest and
// ReplicaManager.deleteRecords on one node: the offset moves the partition's
// log start offset up (-1: to the high watermark); a smaller one leaves it.
// The answer is the new low watermark, the log start offset (one replica:
// nothing to wait for, so TimeoutMs is not used). Errors, with low watermark -1:
//   UNKNOWN_TOPIC_OR_PARTITION  the topic or partition does not exist
//   INVALID_TOPIC_EXCEPTION     an internal topic (__consumer_offsets, ...)
//   OFFSET_OUT_OF_RANGE         an offset above the high watermark, or below -1
//   POLICY_VIOLATION            cleanup.policy=compact without delete
//   KAFKA_STORAGE_ERROR         the partition is offline, or the log start
//                               offset checkpoint cannot be written (logged)
// Segments entirely below the new log start offset are deleted once the
// checkpoint holds it (storage/log_manager.h).
//
// As Kafka's answer is built from a map, a partition named twice is answered
// once (its last offset counts), and a topic named twice is one topic in the
// answer.
#include "protocol/messages/delete_records.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/handler.h"
#include "server/topic_admin.h"
#include "storage/log_manager.h"

namespace runnel::server {

using DeleteRecordsHandler = ApiHandler<protocol::DeleteRecordsRequest, 0, 2>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::DeleteRecordsResponse;

protocol::DeleteRecordsResponse handle_delete_records(RequestContext& ctx,
                                                      const protocol::DeleteRecordsRequest& req) {
  storage::LogManager& logs = ctx.broker.logs;
  // Topics in the order they first appear, each partition once with its last offset.
  struct Wanted {
    std::vector<std::pair<int32_t, int64_t>> partitions;  // index, offset
    std::map<int32_t, size_t> position;                   // index → its place in `partitions`
  };
  std::vector<std::string> topic_order;
  std::map<std::string, Wanted> wanted;
  for (const auto& t : req.topics) {
    auto [it, added] = wanted.try_emplace(t.name);
    if (added) topic_order.push_back(t.name);
    Wanted& w = it->second;
    for (const auto& p : t.partitions) {
      auto [pos, fresh] = w.position.try_emplace(p.partition_index, w.partitions.size());
      if (fresh)
        w.partitions.emplace_back(p.partition_index, p.offset);
      else
        w.partitions[pos->second].second = p.offset;
    }
  }

  Resp resp;
  std::vector<storage::LogManager::RecordDeletion> deletions;
  std::vector<Resp::DeleteRecordsPartitionResult*> answers;  // one per deletion
  resp.topics.reserve(topic_order.size());
  for (const auto& name : topic_order) {
    Resp::DeleteRecordsTopicResult& tr = resp.topics.emplace_back();
    tr.name = name;
    const auto& partitions = wanted[name].partitions;
    tr.partitions.reserve(partitions.size());
    for (const auto& [index, offset] : partitions) {
      Resp::DeleteRecordsPartitionResult& pr = tr.partitions.emplace_back();
      pr.partition_index = index;
      pr.low_watermark = -1;
      storage::PartitionLog* log = logs.get(name, index);
      if (!log) {
        pr.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      } else if (is_internal_topic(name)) {
        pr.error_code = ErrorCode::INVALID_TOPIC_EXCEPTION;
      } else {
        deletions.push_back({log, offset});
        answers.push_back(&pr);
      }
    }
  }
  logs.delete_records(deletions);
  for (size_t i = 0; i < deletions.size(); ++i) {
    answers[i]->error_code = deletions[i].error;
    answers[i]->low_watermark = deletions[i].low_watermark;
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(delete_records, DeleteRecordsHandler, handle_delete_records)

}  // namespace runnel::server
