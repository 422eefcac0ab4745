// DescribeLogDirs (key 35), v0-5: Runnel's one log directory (log.dirs / log.dir), as a
// one-broker Kafka 4.4 answers for its own:
// - LogDir is the directory's absolute path as Java writes it (the working directory joined in
//   front of a relative one, no "//", no trailing "/"; "." and ".." kept).
// - Topics null: every partition; a list: the partitions it names that exist (an unknown topic
//   or partition is left out, without an error; a topic with none left is left out too).
//   PartitionSize is the sum of the partition's segment files, OffsetLag 0 (no future log is
//   catching up), IsFutureKey false. Topics in name order, partitions in index order.
// - v4+: TotalBytes and UsableBytes of the file system (statvfs, as Java's FileStore reads them).
//   v5: IsCordoned false (Runnel cordons no log directory).
// - A directory with an offline partition (a failed fsync, an append that could not be cut back)
//   is offline to Kafka: KAFKA_STORAGE_ERROR, no topics, sizes -1. When statvfs fails, Kafka's
//   answer to the IOException: UNKNOWN_SERVER_ERROR, likewise.
// - v0 is kept (Kafka 4 dropped it; it is v1's layout). The top-level ErrorCode (v3+) is NONE:
//   there is no authorizer.
#include "protocol/messages/describe_log_dirs.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/log.h"
#include "storage/log_manager.h"

namespace runnel::server {

using DescribeLogDirsHandler = ApiHandler<protocol::DescribeLogDirsRequest, 0, 5>;

namespace {

using protocol::ErrorCode;
using Req = protocol::DescribeLogDirsRequest;
using Resp = protocol::DescribeLogDirsResponse;

// java.nio's Path.toAbsolutePath(): the working directory in front of a relative path, then
// Java's normal form of a Unix path (no repeated '/', no trailing '/').
std::string java_absolute_path(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  std::string raw = ec ? dir : abs.string();
  std::string out;
  for (char c : raw)
    if (c != '/' || out.empty() || out.back() != '/') out += c;
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Resp::DescribeLogDirsPartition describe_partition(int32_t index, const storage::PartitionLog& log) {
  Resp::DescribeLogDirsPartition p;
  p.partition_index = index;
  p.partition_size = static_cast<int64_t>(log.size_bytes());
  p.offset_lag = 0;
  p.is_future_key = false;
  return p;
}

std::vector<Resp::DescribeLogDirsTopic> describe_topics(const storage::LogManager& logs,
                                                        const Req& req) {
  std::vector<Resp::DescribeLogDirsTopic> out;
  auto add = [&](const std::string& name, const auto& partitions) {
    Resp::DescribeLogDirsTopic t;
    t.name = name;
    for (int32_t p : partitions)
      if (const storage::PartitionLog* log = logs.get(name, p))
        t.partitions.push_back(describe_partition(p, *log));
    if (!t.partitions.empty()) out.push_back(std::move(t));
  };
  if (!req.topics) {
    for (const storage::TopicInfo* info : logs.topics()) {
      std::vector<int32_t> all;
      for (int32_t p = 0; p < info->partitions; ++p) all.push_back(p);
      add(info->name, all);
    }
    return out;
  }
  // A topic or partition named twice is described once.
  std::map<std::string, std::set<int32_t>> wanted;
  for (const auto& t : *req.topics)
    wanted[t.topic].insert(t.partitions.begin(), t.partitions.end());
  for (const auto& [name, partitions] : wanted)
    if (logs.topic(name)) add(name, partitions);
  return out;
}

Resp handle_describe_log_dirs(RequestContext& ctx, const Req& req) {
  const storage::LogManager& logs = ctx.broker.logs;
  Resp::DescribeLogDirsResult dir;
  dir.log_dir = java_absolute_path(logs.log_dir());
  storage::LogManager::DiskSpace space;
  std::error_code ec;
  if (logs.any_log_offline()) {
    dir.error_code = ErrorCode::KAFKA_STORAGE_ERROR;
  } else if (!logs.disk_space(&space, ec)) {
    log_warn("DescribeLogDirs: statvfs of ", dir.log_dir, " failed: ", ec.message());
    dir.error_code = ErrorCode::UNKNOWN_SERVER_ERROR;
  } else {
    dir.topics = describe_topics(logs, req);
    dir.total_bytes = space.total_bytes;
    dir.usable_bytes = space.usable_bytes;
  }
  Resp resp;
  resp.results.push_back(std::move(dir));
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_log_dirs, DescribeLogDirsHandler, handle_describe_log_dirs)

}  // namespace runnel::server
