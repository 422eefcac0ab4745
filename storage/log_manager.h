// All partition logs of the broker, and the topic metadata that survives a
// restart.
//
// Directory layout under the log directory (only the first entry of
// `log.dirs` is used; the others are ignored, which is logged at start):
//
//   <log dir>/
//     .runnel-topics/<topic>          topic metadata (below), one per topic
//     <topic>-<partition>/            a partition log (partition_log.h)
//       partition.metadata            "version: 0\ntopic_id: <base64>\n"
//     .runnel-cleanshutdown           present only after a clean close()
//
// Topic metadata file, text, one "key: value" per line:
//   version: 0
//   name: <topic>
//   topic_id: <topic id, Kafka's URL-safe base64 without padding>
//   partitions: <count>
//   config: <key>=<value>             one per override; '%', '\n', '\r' in
//                                     keys and values are written %25 %0A %0D
//
// Every metadata file is written atomically: temp file, fsync, rename, fsync
// of the directory. The topic file is the commit point: create_topic creates
// the partition directories first and the topic file last; delete_topic
// removes the topic file first and the partition directories after. A
// partition directory whose topic file is absent (a create or delete that
// was interrupted) is deleted at start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"
#include "storage/clock.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"
#include "storage/topic_name.h"

namespace runnel::storage {

struct TopicInfo {
  std::string name;
  protocol::Uuid topic_id;
  int32_t partitions = 0;
  ConfigMap configs;  // overrides only
};

struct TopicResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::string message;
  bool ok() const { return error == protocol::ErrorCode::NONE; }
};

class LogManager {
 public:
  // `defaults` are the broker-level settings every topic starts from.
  LogManager(std::vector<std::string> log_dirs, LogConfig defaults, const Clock& clock);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // Creates the log directory if needed and loads (recovering) every topic.
  bool load(std::string* error);

  const std::string& log_dir() const { return log_dir_; }
  const LogConfig& defaults() const { return defaults_; }
  // Applies to topics without an override for the changed keys.
  void set_defaults(const LogConfig& defaults);
  // The decompressor handed to every partition log.
  void set_decompressor(Decompressor d);
  // The background runner handed to every partition log (PartitionLog::set_background_runner).
  void set_background_runner(PartitionLog::BackgroundRunner r);
  // Writes every log's recovery point (log.flush.offset.checkpoint.interval.ms).
  void checkpoint_recovery_points();

  // Kafka's errors: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS,
  // INVALID_PARTITIONS, INVALID_CONFIG, KAFKA_STORAGE_ERROR. A zero or
  // absent topic_id gets a random one. `validate_only` checks and creates
  // nothing.
  TopicResult create_topic(const std::string& name, int32_t partitions, const ConfigMap& configs,
                           std::optional<protocol::Uuid> topic_id = std::nullopt,
                           bool validate_only = false);
  TopicResult delete_topic(const std::string& name);
  // Grows the topic to `new_total` partitions (INVALID_PARTITIONS unless
  // larger than now).
  TopicResult create_partitions(const std::string& name, int32_t new_total,
                                bool validate_only = false);
  // Replaces the topic's overrides with `configs` (a full set, as
  // AlterConfigs; an incremental change is computed by the caller from
  // topic()->configs).
  TopicResult update_topic_config(const std::string& name, const ConfigMap& configs,
                                  bool validate_only = false);

  PartitionLog* get(const std::string& topic, int32_t partition) const;
  const TopicInfo* topic(const std::string& name) const;
  const TopicInfo* topic_by_id(const protocol::Uuid& id) const;
  std::vector<const TopicInfo*> topics() const;  // sorted by name
  // Broker defaults overridden by the topic's configs.
  const LogConfig* topic_config(const std::string& name) const;
  // What recovery found for each partition at load ("topic-N" → result).
  const std::map<std::string, RecoveryResult>& recovery_results() const { return recovered_; }

  // Timer work: segment.ms rolls, retention, flush.ms.
  int apply_retention(int64_t now_ms);
  void maybe_roll_all(int64_t now_ms);
  void maybe_flush_all(int64_t now_ms);
  // Producer expiry over every partition (producer.id.expiration.ms, a
  // broker setting, default 86400000). Returns how many producers went.
  size_t expire_producers(int64_t now_ms, int64_t expiration_ms);
  bool flush_all();
  // Flushes and closes every log, then writes the clean-shutdown marker.
  bool close();

 private:
  struct Topic {
    TopicInfo info;
    LogConfig config;
    std::vector<std::unique_ptr<PartitionLog>> partitions;
  };
  std::string partition_dir(const std::string& topic, int32_t partition) const;
  std::string topic_file(const std::string& topic) const;
  // Writes the topic file of `info`; on failure puts back `before` (nullptr: no file).
  bool write_topic_file(const TopicInfo& info, const TopicInfo* before, std::string* error) const;
  bool open_partition(Topic& t, int32_t partition, bool clean, std::string* error);
  // Closes and deletes partitions [from, to) of a create that failed, directories included.
  void drop_new_partitions(Topic& t, int32_t from, int32_t to);
  // Logs why and answers KAFKA_STORAGE_ERROR.
  static TopicResult creation_failed(const std::string& topic, const std::string& why);

  std::string log_dir_;
  LogConfig defaults_;
  const Clock& clock_;
  Decompressor decompressor_;
  PartitionLog::BackgroundRunner runner_;
  std::map<std::string, Topic> topics_;
  std::map<std::string, RecoveryResult> recovered_;
  bool closed_ = true;  // until load() succeeds
};

}  // namespace runnel::storage
