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
//     recovery-point-offset-checkpoint every partition's recovery point
//                                     (offset_checkpoint.h; partition_log.h)
//     log-start-offset-checkpoint     the log start offset of every partition
//                                     where DeleteRecords moved it above the
//                                     first segment's base offset (the same
//                                     layout; Kafka's file)
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
//
// The log start offset checkpoint is written (when its text changes) by every
// delete_records() before it answers and before it deletes a segment, when a
// truncation moves a log start offset below the one it names, when a topic it
// names is deleted or created again, and at the end of load(). Kafka writes it
// every log.flush.start.offset.checkpoint.interval.ms and may lose a deletion
// at a crash; here a DeleteRecords answered is on disk. Read at load(): a log's
// start offset is the larger of its first segment's base offset and the entry.
//
// The recovery point checkpoint is written every
// log.flush.offset.checkpoint.interval.ms when a point moved, at the end of
// load() (before the clean-shutdown marker is removed) and at close(). It may
// lag behind (a lower point only costs recovery work); it must never name a
// point above data that is not on disk, so it is written at once when a
// truncation moves a log's point below it, and when a topic is created again
// while it still holds the points of the deleted one.
//
// Creating or deleting thousands of partitions takes seconds of file work, so
// a topic change comes in three steps (the one-call create_topic,
// create_partitions and delete_topic do all three at once):
//   begin_*()   on the log manager's thread: the checks; the name is then busy
//               until finish(). A delete takes the topic out of the map here.
//   run()       on any thread, once: the file work, touching only the topic's
//               own files and the change's own objects.
//   finish()    on the log manager's thread: a created topic (or the grown
//               partitions) becomes visible, a failed delete puts the topic
//               back; the name is free again.
// A create of a busy name answers TOPIC_ALREADY_EXISTS (Kafka's answer for a
// topic marked for deletion); growing, deleting or reconfiguring a topic
// that is being grown answers REQUEST_TIMED_OUT (retriable). A topic being
// created or deleted is not in the map (unknown to every request): one being
// created becomes visible at finish(), after its topic file was written.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"
#include "storage/clock.h"
#include "storage/log_config.h"
#include "storage/offset_checkpoint.h"
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

  // The file system that holds the log directory, as Kafka's DescribeLogDirs reports it (Java's
  // FileStore): its size and the bytes a writer without privileges may still use (statvfs's
  // f_blocks and f_bavail in f_frsize units; a size past int64 reads INT64_MAX, as Kafka
  // adjusts it). False, with `ec` set, when statvfs fails.
  struct DiskSpace {
    int64_t total_bytes = -1;
    int64_t usable_bytes = -1;
  };
  bool disk_space(DiskSpace* out, std::error_code& ec) const;
  // True when a partition log is offline (a failed fsync, or a refused append that could not be
  // cut back out): Kafka takes the whole log directory offline then.
  bool any_log_offline() const;
  const LogConfig& defaults() const { return defaults_; }
  // Applies to topics without an override for the changed keys.
  void set_defaults(const LogConfig& defaults);
  // The decompressor handed to every partition log.
  void set_decompressor(Decompressor d);
  // The background runner handed to every partition log (PartitionLog::set_background_runner).
  void set_background_runner(PartitionLog::BackgroundRunner r);
  // Writes the recovery point checkpoint when a point moved since the last write
  // (log.flush.offset.checkpoint.interval.ms). False on I/O error (logged).
  bool checkpoint_recovery_points();

  // DeleteRecords: one partition's request and answer.
  struct RecordDeletion {
    PartitionLog* log = nullptr;
    int64_t offset = 0;  // PartitionLog::kHighWatermark: up to the high watermark
    protocol::ErrorCode error = protocol::ErrorCode::NONE;
    int64_t low_watermark = -1;  // the log start offset after it (NONE only)
  };
  // Moves each log's start offset up (PartitionLog::increment_log_start_offset, whose errors
  // each one may answer), writes the log start offset checkpoint once for all of them, and
  // only then deletes the segments entirely below the new log start offsets. When the
  // checkpoint cannot be written (logged), the moves are taken back and each partition that
  // moved answers KAFKA_STORAGE_ERROR.
  void delete_records(std::span<RecordDeletion> deletions);

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

  // The three steps of a topic change (see the top of this file). A begin_*() that answers
  // an error, or validate_only, leaves `change` empty.
  class TopicChange;
  TopicResult begin_create_topic(const std::string& name, int32_t partitions,
                                 const ConfigMap& configs, std::optional<protocol::Uuid> topic_id,
                                 bool validate_only, std::shared_ptr<TopicChange>* change);
  TopicResult begin_create_partitions(const std::string& name, int32_t new_total,
                                      bool validate_only, std::shared_ptr<TopicChange>* change);
  TopicResult begin_delete_topic(const std::string& name, std::shared_ptr<TopicChange>* change);
  // After change->run(): the change's answer. After close(), KAFKA_STORAGE_ERROR (close()
  // has closed what the change had opened).
  TopicResult finish(std::shared_ptr<TopicChange> change);
  // A change of `name` is between begin and finish.
  bool busy(const std::string& name) const { return busy_.count(name) > 0; }

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
  // Closes every log (PartitionLog::close without fsync: snapshots written) on a few threads
  // at once, puts it all on disk with one syncfs of the log directory, writes the recovery
  // point checkpoint (the log end offsets), then the clean-shutdown marker when all of that
  // succeeded. No change's run() may be in progress;
  // the partitions of changes that ran but were not finished are closed too.
  bool close();

 private:
  struct Topic {
    TopicInfo info;
    LogConfig config;
    std::vector<std::unique_ptr<PartitionLog>> partitions;
  };
  std::string partition_dir(const std::string& topic, int32_t partition) const;
  std::string topic_file(const std::string& topic) const;
  // Hands the broker's decompressor and background runner to a newly opened log.
  void adopt(PartitionLog& log);
  std::string checkpoint_path() const;
  // Writes every log's recovery point into the checkpoint file (unless it holds them already).
  bool write_checkpoint();
  // Changes whenever the file would: the version of the topic map and the sum of the points.
  std::pair<uint64_t, int64_t> fingerprint() const;
  std::string log_start_checkpoint_path() const;
  // Writes every log's checkpointed log start offset (PartitionLog::checkpointed_log_start_offset)
  // into the log start offset checkpoint, unless it holds them already. False on I/O error
  // (logged).
  bool write_log_start_checkpoint();

  std::string log_dir_;
  LogConfig defaults_;
  const Clock& clock_;
  Decompressor decompressor_;
  PartitionLog::BackgroundRunner runner_;
  std::map<std::string, Topic> topics_;
  std::map<std::string, RecoveryResult> recovered_;
  std::map<std::string, std::shared_ptr<TopicChange>> busy_;  // between begin and finish
  // The recovery point checkpoint as written last, the topics it names, and its fingerprint.
  std::string checkpointed_text_;
  std::set<std::string> checkpointed_topics_;
  std::pair<uint64_t, int64_t> checkpoint_fingerprint_{UINT64_MAX, 0};
  // The log start offset checkpoint as written last, and the topics it names.
  std::string log_start_text_;
  std::set<std::string> log_start_topics_;
  uint64_t topics_version_ = 0;  // bumped by every finished topic change
  bool closed_ = true;           // until load() succeeds
};

class LogManager::TopicChange {
 public:
  // The file work (any thread, once): creates the partitions and writes the topic file, or
  // removes the topic file and the partition directories.
  void run();

 private:
  friend class LogManager;
  enum class Kind { create, grow, remove };
  TopicChange(Kind kind, std::string log_dir, const Clock& clock)
      : kind_(kind), log_dir_(std::move(log_dir)), clock_(clock) {}
  void create_partitions();
  void remove_topic();

  Kind kind_;
  std::string log_dir_;
  const Clock& clock_;
  // create: the new topic; grow: its info with the new count, its config and the new
  // partitions at [from_, count); remove: the topic taken out of the map.
  Topic topic_;
  int32_t from_ = 0;
  std::map<std::string, RecoveryResult> recovered_;
  TopicResult result_;
  bool ran_ = false;
};

}  // namespace runnel::storage
