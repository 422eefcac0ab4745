#include "storage/log_manager.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <thread>

#include "storage/io_util.h"
#include "storage/offset_checkpoint.h"
#include "storage/producer_checkpoint.h"
#include "storage/sys.h"

namespace runnel::storage {

namespace fs = std::filesystem;
using protocol::ErrorCode;

namespace {

constexpr const char* kTopicsDir = ".runnel-topics";
constexpr const char* kCleanShutdown = ".runnel-cleanshutdown";
constexpr const char* kRecoveryCheckpoint = "recovery-point-offset-checkpoint";
constexpr const char* kLogStartCheckpoint = "log-start-offset-checkpoint";
constexpr const char* kProducerCheckpoint = "producer-state-at-close";
constexpr int32_t kMaxPartitions = 1 << 20;

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == '\n')
      out += "%0A";
    else if (c == '\r')
      out += "%0D";
    else
      out += c;
  }
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      std::string_view code = s.substr(i + 1, 2);
      if (code == "25")
        out += '%';
      else if (code == "0A")
        out += '\n';
      else if (code == "0D")
        out += '\r';
      else
        out += s.substr(i, 3);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool parse_topic_file(const std::string& text, TopicInfo* info) {
  std::istringstream in(text);
  std::string line;
  bool have_version = false, have_id = false, have_count = false;
  while (std::getline(in, line)) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "version") {
      if (value != "0") return false;
      have_version = true;
    } else if (key == "name") {
      info->name = value;
    } else if (key == "topic_id") {
      auto id = protocol::Uuid::parse(value);
      if (!id) return false;
      info->topic_id = *id;
      have_id = true;
    } else if (key == "partitions") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || n < 1 || n > kMaxPartitions) return false;
      info->partitions = static_cast<int32_t>(n);
      have_count = true;
    } else if (key == "config") {
      size_t eq = value.find('=');
      if (eq == std::string::npos) return false;
      info->configs[unescape(value.substr(0, eq))] = unescape(value.substr(eq + 1));
    }
  }
  return have_version && have_id && have_count && is_valid_topic_name(info->name);
}

// Closing thousands of logs is mostly waiting for fsync: a few threads wait at once.
constexpr size_t kCloseThreads = 8;
constexpr size_t kLogsPerCloseThread = 64;

std::string partition_dir_of(const std::string& log_dir, const std::string& topic,
                             int32_t partition) {
  return log_dir + "/" + topic + "-" + std::to_string(partition);
}

std::string topic_file_of(const std::string& log_dir, const std::string& topic) {
  return log_dir + "/" + kTopicsDir + "/" + topic;
}

// Writes the topic file of `info`; on failure puts back `before` (nullptr: no file).
bool write_topic_file(const std::string& log_dir, const TopicInfo& info, const TopicInfo* before,
                      std::string* error) {
  auto text = [](const TopicInfo& i) {
    std::string t = "version: 0\nname: " + i.name + "\ntopic_id: " + i.topic_id.to_string() +
                    "\npartitions: " + std::to_string(i.partitions) + "\n";
    for (const auto& [k, v] : i.configs) t += "config: " + escape(k) + "=" + escape(v) + "\n";
    return t;
  };
  const std::string path = topic_file_of(log_dir, info.name);
  if (io::write_file_atomic(path, text(info), error)) return true;
  // The write may have failed after its rename (the fsync of the directory): the new file can be
  // in place although the change is answered as failed. Put the old state back, so that a
  // restart does not find a topic, partition count or config that was refused.
  std::string ignored;
  if (before) {
    io::write_file_atomic(path, text(*before), &ignored);
  } else {
    std::error_code ec;
    sys::remove(path, ec);
    io::fsync_dir(log_dir + "/" + kTopicsDir);
  }
  return false;
}

// Opens (creating) the log of one partition and writes its partition.metadata when missing
// or different. Touches nothing but that partition's directory.
std::unique_ptr<PartitionLog> open_partition_log(const std::string& log_dir, const TopicInfo& info,
                                                 const LogConfig& config, int32_t partition,
                                                 const Clock& clock, bool clean,
                                                 RecoveryResult* rec, std::string* error,
                                                 const PartitionLog::Checkpointed& kept = {}) {
  std::string dir = partition_dir_of(log_dir, info.name, partition);
  std::error_code ec;
  bool existed = sys::exists(dir, ec);
  auto log = PartitionLog::open(dir, info.name, partition, config, clock, clean, rec, error, kept);
  if (!log) return nullptr;
  std::string meta_path = dir + "/partition.metadata";
  std::string meta = "version: 0\ntopic_id: " + info.topic_id.to_string() + "\n";
  std::string current;
  if (!existed || !io::read_file(meta_path, &current) || current != meta) {
    if (existed && !current.empty())
      io::log_line(meta_path + " did not match the topic's id; rewritten");
    if (!io::write_file_atomic(meta_path, meta, error)) return nullptr;
  }
  return log;
}

// Closes and deletes partitions [from, to) of a create that failed, directories included.
void drop_new_partitions(const std::string& log_dir, const std::string& topic,
                         std::vector<std::unique_ptr<PartitionLog>>& logs, int32_t from,
                         int32_t to) {
  for (int32_t p = from; p < to; ++p) {
    if (static_cast<size_t>(p) < logs.size() && logs[p]) logs[p]->remove_all();
    // Also the directory of a partition that failed half-way through opening. When even that
    // fails (e.g. still out of descriptors), the next create of the name or the next start-up
    // removes it: without a topic file it belongs to no topic.
    std::string dir = partition_dir_of(log_dir, topic, p);
    std::error_code ec;
    // remove_all needs a descriptor to list the directory; an empty one goes without.
    if (!sys::remove_all(dir, ec)) sys::remove(dir, ec);
    if (ec) io::log_line("cannot remove " + dir + " yet: " + ec.message());
  }
  if (logs.size() > static_cast<size_t>(from)) logs.resize(from);
}

// Logs why and answers KAFKA_STORAGE_ERROR.
TopicResult creation_failed(const std::string& topic, const std::string& why) {
  io::log_line("cannot create partitions of topic " + topic + ": " + why);
  return {ErrorCode::KAFKA_STORAGE_ERROR, why};
}

// Closes every log with close_unsynced(), on up to kCloseThreads threads: whether each close
// succeeded and its producer snapshot, in the order of `logs`.
std::vector<char> close_logs(const std::vector<PartitionLog*>& logs,
                             std::vector<std::string>* snapshots) {
  std::vector<char> ok(logs.size(), 0);
  snapshots->assign(logs.size(), {});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < logs.size();)
      ok[i] = logs[i]->close_unsynced(&(*snapshots)[i]);
  };
  size_t extra = std::min(kCloseThreads, logs.size() / kLogsPerCloseThread + 1) - 1;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < extra; ++i) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer threads: the ones there are (and this one) do it all
    }
  }
  work();
  for (auto& t : threads) t.join();
  return ok;
}

}  // namespace

LogManager::LogManager(std::vector<std::string> log_dirs, LogConfig defaults, const Clock& clock)
    : log_dir_(log_dirs.empty() ? std::string("/tmp/runnel-logs") : log_dirs.front()),
      defaults_(std::move(defaults)),
      clock_(clock) {
  if (log_dirs.size() > 1)
    io::log_line("only the first of " + std::to_string(log_dirs.size()) +
                 " log.dirs is used: " + log_dir_);
}

LogManager::~LogManager() { close(); }

std::string LogManager::partition_dir(const std::string& topic, int32_t partition) const {
  return partition_dir_of(log_dir_, topic, partition);
}

std::string LogManager::topic_file(const std::string& topic) const {
  return topic_file_of(log_dir_, topic);
}

void LogManager::adopt(PartitionLog& log) {
  if (decompressor_) log.set_decompressor(decompressor_);
  if (runner_) log.set_background_runner(runner_);
  log.set_recovery_point_lowered([this] { write_checkpoint(); });
  log.set_log_start_offset_lowered([this] { write_log_start_checkpoint(); });
}

std::string LogManager::log_start_checkpoint_path() const {
  return log_dir_ + "/" + kLogStartCheckpoint;
}

bool LogManager::write_log_start_checkpoint() {
  OffsetCheckpoint::Offsets offsets;
  for (const auto& [name, t] : topics_)
    for (const auto& p : t.partitions)
      if (auto start = p->checkpointed_log_start_offset()) offsets[{name, p->partition()}] = *start;
  std::string text = OffsetCheckpoint::encode(offsets);
  if (text == log_start_text_) return true;
  std::string err;
  if (!io::write_file_atomic(log_start_checkpoint_path(), text, &err)) {
    io::log_line(err);
    return false;
  }
  log_start_text_ = std::move(text);
  log_start_topics_.clear();
  for (const auto& [key, offset] : offsets) log_start_topics_.insert(key.first);
  return true;
}

void LogManager::delete_records(std::span<RecordDeletion> deletions) {
  std::vector<int64_t> previous(deletions.size(), 0);
  bool moved = false;
  for (size_t i = 0; i < deletions.size(); ++i) {
    auto& d = deletions[i];
    d.error = d.log->increment_log_start_offset(d.offset, &previous[i]);
    moved = moved || (d.error == ErrorCode::NONE && d.log->log_start_offset() > previous[i]);
  }
  if (moved && !write_log_start_checkpoint()) {
    // Nothing moved then: the answer and what a restart finds agree. The file may hold the new
    // offsets although its write failed (after its rename): write the old ones once more.
    for (size_t i = 0; i < deletions.size(); ++i) {
      auto& d = deletions[i];
      if (d.error != ErrorCode::NONE || d.log->log_start_offset() == previous[i]) continue;
      d.log->set_log_start_offset_back(previous[i]);
      d.error = ErrorCode::KAFKA_STORAGE_ERROR;
      io::log_line("DeleteRecords on " + d.log->topic() + "-" + std::to_string(d.log->partition()) +
                   " refused: the log start offset checkpoint cannot be written");
    }
    log_start_text_.clear();
    write_log_start_checkpoint();
  }
  for (size_t i = 0; i < deletions.size(); ++i) {
    auto& d = deletions[i];
    if (d.error != ErrorCode::NONE) continue;
    d.low_watermark = d.log->log_start_offset();
    if (d.low_watermark == previous[i]) continue;
    const int deleted = d.log->delete_segments_below_log_start();
    io::log_line(d.log->dir() + ": log start offset moved to " + std::to_string(d.low_watermark) +
                 " by DeleteRecords, " + std::to_string(deleted) + " segment(s) deleted");
  }
}

std::string LogManager::checkpoint_path() const { return log_dir_ + "/" + kRecoveryCheckpoint; }

bool LogManager::write_checkpoint() {
  // topics_ is sorted by name and each topic's logs by partition: the file's order.
  size_t count = 0;
  for (const auto& [name, t] : topics_) count += t.partitions.size();
  std::string text = OffsetCheckpoint::header(count);
  for (const auto& [name, t] : topics_)
    for (const auto& p : t.partitions)
      OffsetCheckpoint::append(&text, name, p->partition(), p->recovery_point());
  if (text != checkpointed_text_) {
    std::string err;
    if (!io::write_file_atomic(checkpoint_path(), text, &err)) {
      io::log_line(err);
      return false;
    }
    checkpointed_text_ = std::move(text);
  }
  checkpointed_topics_.clear();
  for (const auto& [name, t] : topics_) {
    checkpointed_topics_.insert(name);
    for (const auto& p : t.partitions) p->set_checkpointed_recovery_point(p->recovery_point());
  }
  checkpoint_fingerprint_ = fingerprint();
  return true;
}

std::pair<uint64_t, int64_t> LogManager::fingerprint() const {
  // Points only move up between writes (a truncation below the file writes it at once), and a
  // change of the topics bumps the version: an equal sum is an equal file.
  int64_t sum = 0;
  for (const auto& [name, t] : topics_)
    for (const auto& p : t.partitions) sum += p->recovery_point();
  return {topics_version_, sum};
}

bool LogManager::load(std::string* error) {
  std::error_code ec;
  if (!sys::create_directories(log_dir_ + "/" + kTopicsDir, ec)) {
    if (error) *error = "create " + log_dir_ + ": " + ec.message();
    return false;
  }
  std::string marker = log_dir_ + "/" + kCleanShutdown;
  bool clean = sys::exists(marker, ec);
  std::string why;
  auto stored = OffsetCheckpoint::read(checkpoint_path(), &why);
  if (!stored) {
    // As Kafka: a checkpoint that cannot be used is no checkpoint (every segment is scanned
    // after an unclean shutdown).
    io::log_line("ignoring the recovery point checkpoint: " + why);
    stored.emplace();
  }
  auto starts = OffsetCheckpoint::read(log_start_checkpoint_path(), &why);
  if (!starts) {
    // As Kafka: every log then starts at its first segment.
    io::log_line("ignoring the log start offset checkpoint: " + why);
    starts.emplace();
  }
  // The producer states a clean close left (used only after a clean close).
  ProducerCheckpoint::Snapshots producer_states;
  const std::string producer_path = log_dir_ + "/" + kProducerCheckpoint;
  if (clean) {
    auto read = ProducerCheckpoint::read(producer_path, &why);
    if (read)
      producer_states = std::move(*read);
    else
      io::log_line("ignoring the producer states of the last close: " + why);
  }
  std::vector<sys::DirEntry> entries;
  // A topic left out for a failed read would look like an orphan below and lose its partitions:
  // a topics directory or topic file that cannot be read fails the start-up instead.
  if (!sys::list_dir(log_dir_ + "/" + kTopicsDir, &entries, ec)) {
    if (error) *error = "list " + log_dir_ + "/" + kTopicsDir + ": " + ec.message();
    return false;
  }
  for (const auto& entry : entries) {
    const std::string& name = entry.name;
    const std::string path = log_dir_ + "/" + kTopicsDir + "/" + name;
    if (fs::path(name).extension() == ".tmp") {
      sys::remove(path, ec);
      continue;
    }
    std::string text;
    Topic t;
    if (!io::read_file(path, &text)) {
      if (error) *error = io::errno_message("read", path);
      return false;
    }
    if (!parse_topic_file(text, &t.info) || t.info.name != name) {
      io::log_line("ignoring unreadable topic metadata " + path);
      continue;
    }
    std::string msg;
    if (defaults_.with_overrides(t.info.configs, &t.config, &msg) != ErrorCode::NONE) {
      io::log_line("topic " + name + ": " + msg + "; using broker defaults");
      t.config = defaults_;
    }
    auto& slot = topics_[name] = std::move(t);
    for (int32_t p = 0; p < slot.info.partitions; ++p) {
      RecoveryResult rec;
      PartitionLog::Checkpointed kept;
      if (auto it = stored->find({name, p}); it != stored->end()) kept.recovery_point = it->second;
      if (auto it = starts->find({name, p}); it != starts->end())
        kept.log_start_offset = it->second;
      if (auto it = producer_states.find({name, p}); it != producer_states.end())
        kept.producer_snapshot = std::move(it->second);
      auto log =
          open_partition_log(log_dir_, slot.info, slot.config, p, clock_, clean, &rec, error, kept);
      if (!log) {
        // One log directory: when it cannot be read the broker cannot serve (Kafka shuts
        // down when all its log directories are offline at start-up).
        if (error)
          *error = "cannot open partition " + name + "-" + std::to_string(p) + ": " + *error;
        return false;
      }
      adopt(*log);
      recovered_[name + "-" + std::to_string(p)] = rec;
      slot.partitions.push_back(std::move(log));
    }
  }
  // Partition directories of topics that no longer exist (interrupted create/delete).
  if (!sys::list_dir(log_dir_, &entries, ec)) entries.clear();
  for (const auto& entry : entries) {
    if (!entry.is_directory) continue;
    const std::string& dir = entry.name;
    size_t dash = dir.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == dir.size()) continue;
    std::string topic = dir.substr(0, dash);
    std::string num = dir.substr(dash + 1);
    if (num.find_first_not_of("0123456789") != std::string::npos) continue;
    auto it = topics_.find(topic);
    long p = std::strtol(num.c_str(), nullptr, 10);
    if (it != topics_.end() && p < it->second.info.partitions) continue;
    io::log_line("removing orphan partition directory " + log_dir_ + "/" + dir);
    sys::remove_all(log_dir_ + "/" + dir, ec);
  }
  // Every log is on disk to its end now (an unclean start flushed what recovery kept). Before
  // the marker goes: a recovery that cut a log below its checkpointed point must not leave that
  // point behind (the data written there next would be taken as synced).
  // The file as it was read, so that an unchanged one is not written again.
  checkpointed_text_ = OffsetCheckpoint::encode(*stored);
  if (!write_checkpoint()) {
    if (error) *error = "cannot write " + checkpoint_path();
    return false;
  }
  // Entries of deleted topics and of logs whose first segment is now at their start go; a
  // failure only leaves entries that a later write removes.
  log_start_text_ = OffsetCheckpoint::encode(*starts);
  for (const auto& [key, offset] : *starts) log_start_topics_.insert(key.first);
  write_log_start_checkpoint();
  // Describes the logs as they were at the close only.
  sys::remove(producer_path, ec);
  sys::remove(marker, ec);
  io::fsync_dir(log_dir_);
  closed_ = false;
  return true;
}

void LogManager::set_defaults(const LogConfig& defaults) {
  defaults_ = defaults;
  for (auto& [name, t] : topics_) {
    std::string msg;
    if (defaults_.with_overrides(t.info.configs, &t.config, &msg) != ErrorCode::NONE) continue;
    for (auto& p : t.partitions) p->set_config(t.config);
  }
}

void LogManager::set_background_runner(PartitionLog::BackgroundRunner r) {
  runner_ = std::move(r);
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->set_background_runner(runner_);
}

bool LogManager::checkpoint_recovery_points() {
  return fingerprint() == checkpoint_fingerprint_ || write_checkpoint();
}

void LogManager::set_decompressor(Decompressor d) {
  decompressor_ = std::move(d);
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->set_decompressor(decompressor_);
}

TopicResult LogManager::create_topic(const std::string& name, int32_t partitions,
                                     const ConfigMap& configs,
                                     std::optional<protocol::Uuid> topic_id, bool validate_only) {
  std::shared_ptr<TopicChange> change;
  TopicResult r = begin_create_topic(name, partitions, configs, topic_id, validate_only, &change);
  if (!change) return r;
  change->run();
  return finish(std::move(change));
}

TopicResult LogManager::delete_topic(const std::string& name) {
  std::shared_ptr<TopicChange> change;
  TopicResult r = begin_delete_topic(name, &change);
  if (!change) return r;
  change->run();
  return finish(std::move(change));
}

TopicResult LogManager::create_partitions(const std::string& name, int32_t new_total,
                                          bool validate_only) {
  std::shared_ptr<TopicChange> change;
  TopicResult r = begin_create_partitions(name, new_total, validate_only, &change);
  if (!change) return r;
  change->run();
  return finish(std::move(change));
}

TopicResult LogManager::begin_create_topic(const std::string& name, int32_t partitions,
                                           const ConfigMap& configs,
                                           std::optional<protocol::Uuid> topic_id,
                                           bool validate_only,
                                           std::shared_ptr<TopicChange>* change) {
  change->reset();
  TopicResult r;
  std::string reason;
  if (!is_valid_topic_name(name, &reason)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, reason};
  if (topics_.count(name)) return {ErrorCode::TOPIC_ALREADY_EXISTS, "topic " + name + " exists"};
  if (busy_.count(name))
    return {ErrorCode::TOPIC_ALREADY_EXISTS,
            "topic " + name + " is being created or deleted by another request"};
  for (const auto& [other, t] : topics_)
    if (topic_names_collide(name, other))
      return {ErrorCode::INVALID_TOPIC_EXCEPTION, "topic " + name + " collides with " + other};
  for (const auto& [other, c] : busy_)
    if (c->kind_ == TopicChange::Kind::create && topic_names_collide(name, other))
      return {ErrorCode::INVALID_TOPIC_EXCEPTION,
              "topic " + name + " collides with " + other + ", being created"};
  if (partitions < 1 || partitions > kMaxPartitions)
    return {ErrorCode::INVALID_PARTITIONS, "partition count must be at least 1"};
  Topic t;
  if (defaults_.with_overrides(configs, &t.config, &r.message) != ErrorCode::NONE)
    return {ErrorCode::INVALID_CONFIG, r.message};
  if (validate_only) return r;
  t.info.name = name;
  t.info.topic_id = topic_id && !topic_id->is_zero() ? *topic_id : protocol::Uuid::random();
  for (const auto& [id_name, other] : topics_)
    if (other.info.topic_id == t.info.topic_id)
      return {ErrorCode::TOPIC_ALREADY_EXISTS, "topic id in use by " + id_name};
  for (const auto& [id_name, c] : busy_)
    if (c->kind_ == TopicChange::Kind::create && c->topic_.info.topic_id == t.info.topic_id)
      return {ErrorCode::TOPIC_ALREADY_EXISTS, "topic id in use by " + id_name};
  t.info.partitions = partitions;
  t.info.configs = configs;
  auto c =
      std::shared_ptr<TopicChange>(new TopicChange(TopicChange::Kind::create, log_dir_, clock_));
  c->topic_ = std::move(t);
  busy_[name] = c;
  *change = std::move(c);
  return r;
}

TopicResult LogManager::begin_delete_topic(const std::string& name,
                                           std::shared_ptr<TopicChange>* change) {
  change->reset();
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  if (busy_.count(name))
    return {ErrorCode::REQUEST_TIMED_OUT, "topic " + name + " is being changed by another request"};
  auto c =
      std::shared_ptr<TopicChange>(new TopicChange(TopicChange::Kind::remove, log_dir_, clock_));
  // Out of the map at once: no request finds the topic any more, and the logs are the
  // change's alone (no background flush completes into them).
  c->topic_ = std::move(it->second);
  topics_.erase(it);
  for (auto& p : c->topic_.partitions) p->forget_background_work();
  busy_[name] = c;
  *change = std::move(c);
  return {};
}

TopicResult LogManager::begin_create_partitions(const std::string& name, int32_t new_total,
                                                bool validate_only,
                                                std::shared_ptr<TopicChange>* change) {
  change->reset();
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  if (busy_.count(name))
    return {ErrorCode::REQUEST_TIMED_OUT, "topic " + name + " is being changed by another request"};
  const Topic& t = it->second;
  if (new_total <= t.info.partitions || new_total > kMaxPartitions)
    return {ErrorCode::INVALID_PARTITIONS, "topic " + name + " has " +
                                               std::to_string(t.info.partitions) +
                                               " partitions; the new count must be larger"};
  if (validate_only) return {};
  auto c = std::shared_ptr<TopicChange>(new TopicChange(TopicChange::Kind::grow, log_dir_, clock_));
  c->topic_.info = t.info;
  c->topic_.info.partitions = new_total;
  c->topic_.config = t.config;
  c->from_ = t.info.partitions;
  busy_[name] = c;
  *change = std::move(c);
  return {};
}

void LogManager::TopicChange::run() {
  if (ran_) return;
  ran_ = true;
  if (kind_ == Kind::remove)
    remove_topic();
  else
    create_partitions();
}

void LogManager::TopicChange::create_partitions() {
  const TopicInfo& info = topic_.info;
  auto& logs = topic_.partitions;
  logs.resize(info.partitions);
  std::string err;
  for (int32_t p = from_; p < info.partitions; ++p) {
    std::error_code ec;
    sys::remove_all(partition_dir_of(log_dir_, info.name, p), ec);  // leftovers of a delete
    RecoveryResult rec;
    logs[p] = open_partition_log(log_dir_, info, topic_.config, p, clock_, true, &rec, &err);
    if (!logs[p]) {
      drop_new_partitions(log_dir_, info.name, logs, from_, p + 1);
      result_ = creation_failed(info.name, err);
      return;
    }
    recovered_[info.name + "-" + std::to_string(p)] = rec;
  }
  // The commit point. A grow puts the old partition count back when it fails.
  TopicInfo before = info;
  before.partitions = from_;
  if (!write_topic_file(log_dir_, info, kind_ == Kind::grow ? &before : nullptr, &err)) {
    drop_new_partitions(log_dir_, info.name, logs, from_, info.partitions);
    result_ = creation_failed(info.name, err);
  }
}

void LogManager::TopicChange::remove_topic() {
  const std::string& name = topic_.info.name;
  const std::string file = topic_file_of(log_dir_, name);
  // The commit point.
  if (sys::unlink(file) != 0) {
    result_ = {ErrorCode::KAFKA_STORAGE_ERROR, io::errno_message("unlink", file)};
    return;
  }
  io::fsync_dir(log_dir_ + "/" + kTopicsDir);
  for (auto& p : topic_.partitions) p->remove_all();
  io::fsync_dir(log_dir_);
}

TopicResult LogManager::finish(std::shared_ptr<TopicChange> change) {
  const std::string name = change->topic_.info.name;
  if (auto it = busy_.find(name); it != busy_.end() && it->second == change) busy_.erase(it);
  if (closed_ || !change->ran_)
    return {ErrorCode::KAFKA_STORAGE_ERROR, "the broker is shutting down"};
  Topic& t = change->topic_;
  switch (change->kind_) {
    case TopicChange::Kind::create:
      if (!change->result_.ok()) break;
      for (auto& p : t.partitions) adopt(*p);
      for (auto& [k, v] : change->recovered_) recovered_[k] = v;
      topics_[name] = std::move(t);
      // Created again while the checkpoint still holds the deleted topic's points, which the
      // new logs have not reached on disk.
      if (checkpointed_topics_.count(name)) write_checkpoint();
      // Nor may the log start offsets of the deleted topic apply to the new one.
      if (log_start_topics_.count(name)) write_log_start_checkpoint();
      break;
    case TopicChange::Kind::grow: {
      if (!change->result_.ok()) break;
      auto it = topics_.find(name);  // the name was busy: nothing deleted it
      if (it == topics_.end())
        return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
      auto& logs = it->second.partitions;
      logs.resize(t.info.partitions);
      for (int32_t p = change->from_; p < t.info.partitions; ++p) {
        adopt(*t.partitions[p]);
        logs[p] = std::move(t.partitions[p]);
      }
      it->second.info.partitions = t.info.partitions;
      for (auto& [k, v] : change->recovered_) recovered_[k] = v;
      break;
    }
    case TopicChange::Kind::remove:
      if (!change->result_.ok()) {
        for (auto& p : t.partitions) adopt(*p);  // background flushes again reach it
        topics_[name] = std::move(t);
        break;
      }
      for (int32_t p = 0; p < t.info.partitions; ++p)
        recovered_.erase(name + "-" + std::to_string(p));
      if (log_start_topics_.count(name)) write_log_start_checkpoint();
      break;
  }
  ++topics_version_;
  return change->result_;
}

TopicResult LogManager::update_topic_config(const std::string& name, const ConfigMap& configs,
                                            bool validate_only) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  if (busy_.count(name))
    return {ErrorCode::REQUEST_TIMED_OUT, "topic " + name + " is being changed by another request"};
  TopicResult r;
  LogConfig config;
  if (defaults_.with_overrides(configs, &config, &r.message) != ErrorCode::NONE)
    return {ErrorCode::INVALID_CONFIG, r.message};
  if (validate_only) return r;
  TopicInfo info = it->second.info;
  info.configs = configs;
  std::string err;
  if (!write_topic_file(log_dir_, info, &it->second.info, &err))
    return {ErrorCode::KAFKA_STORAGE_ERROR, err};
  it->second.info = std::move(info);
  it->second.config = config;
  for (auto& p : it->second.partitions) p->set_config(config);
  return r;
}

PartitionLog* LogManager::get(const std::string& topic, int32_t partition) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.partitions.size())
    return nullptr;
  return it->second.partitions[partition].get();
}

namespace {

// blocks * block size, or INT64_MAX past int64 (Kafka's adjustForLargeFileSystems).
int64_t bytes_of(uint64_t blocks, uint64_t block_size) {
  if (block_size != 0 && blocks > static_cast<uint64_t>(INT64_MAX) / block_size) return INT64_MAX;
  return static_cast<int64_t>(blocks * block_size);
}

}  // namespace

bool LogManager::disk_space(DiskSpace* out, std::error_code& ec) const {
  struct statvfs st {};
  if (sys::statvfs(log_dir_, &st) != 0) {
    ec = std::error_code(errno, std::generic_category());
    return false;
  }
  out->total_bytes = bytes_of(st.f_blocks, st.f_frsize);
  out->usable_bytes = bytes_of(st.f_bavail, st.f_frsize);
  return true;
}

bool LogManager::any_log_offline() const {
  for (const auto& [name, t] : topics_)
    for (const auto& p : t.partitions)
      if (p && p->offline()) return true;
  return false;
}

const TopicInfo* LogManager::topic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second.info;
}

const TopicInfo* LogManager::topic_by_id(const protocol::Uuid& id) const {
  for (const auto& [name, t] : topics_)
    if (t.info.topic_id == id) return &t.info;
  return nullptr;
}

std::vector<const TopicInfo*> LogManager::topics() const {
  std::vector<const TopicInfo*> out;
  for (const auto& [name, t] : topics_) out.push_back(&t.info);
  return out;
}

const LogConfig* LogManager::topic_config(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second.config;
}

int LogManager::apply_retention(int64_t now_ms) {
  int n = 0;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) n += p->apply_retention(now_ms);
  return n;
}

void LogManager::maybe_roll_all(int64_t now_ms) {
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->maybe_roll(now_ms);
}

size_t LogManager::expire_producers(int64_t now_ms, int64_t expiration_ms) {
  size_t removed = 0;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) removed += p->expire_producers(now_ms, expiration_ms);
  return removed;
}

void LogManager::maybe_flush_all(int64_t now_ms) {
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->maybe_flush(now_ms);
}

bool LogManager::flush_all() {
  bool ok = true;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) ok = p->flush() && ok;
  return ok;
}

bool LogManager::close() {
  if (closed_) return true;
  closed_ = true;
  std::vector<PartitionLog*> logs;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) logs.push_back(p.get());
  // Changes that ran but were not finished: a created topic exists on disk (its topic file
  // was written), a failed delete left its topic; their logs are closed like the others.
  for (auto& [name, c] : busy_)
    for (auto& p : c->topic_.partitions)
      if (p) logs.push_back(p.get());
  // No log syncs or writes a file of its own: one syncfs puts all of them on disk (thousands of
  // fsyncs would each wait for the disk, and every new file costs an inode), then one file holds
  // the recovery points and one the producer states.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> snapshots;
  const std::vector<char> closed = close_logs(logs, &snapshots);
  bool ok = std::all_of(closed.begin(), closed.end(), [](char c) { return c != 0; });
  const auto closed_at = std::chrono::steady_clock::now();
  bool synced = sys::syncfs(log_dir_) == 0;
  if (!synced) {
    io::log_line(io::errno_message("syncfs", log_dir_));
    ok = false;
  }
  const auto synced_at = std::chrono::steady_clock::now();
  OffsetCheckpoint::Offsets points;
  ProducerCheckpoint::Snapshots states;
  for (size_t i = 0; i < logs.size(); ++i) {
    if (logs[i]->segment_count() == 0) continue;  // deleted
    OffsetCheckpoint::Key key{logs[i]->topic(), logs[i]->partition()};
    points[key] = synced && closed[i] ? logs[i]->log_end_offset() : logs[i]->recovery_point();
    if (closed[i]) states[key] = std::move(snapshots[i]);
  }
  std::string err;
  if (!OffsetCheckpoint::write(checkpoint_path(), points, &err)) {
    io::log_line(err);
    ok = false;
  }
  if (ok) {
    ok = ProducerCheckpoint::write(log_dir_ + "/" + kProducerCheckpoint, states, &err);
    if (!ok) io::log_line(err);
  }
  auto ms = [](auto from, auto to) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
  };
  io::log_line("closed " + std::to_string(logs.size()) + " partition logs: " +
               ms(start, closed_at) + " ms, syncfs " + ms(closed_at, synced_at) +
               " ms, checkpoint " + ms(synced_at, std::chrono::steady_clock::now()) + " ms");
  topics_.clear();
  busy_.clear();
  // Last, and only when everything before it is on disk.
  if (ok) {
    std::string err;
    ok = io::write_file_atomic(log_dir_ + "/" + kCleanShutdown, "", &err);
    if (!ok) io::log_line(err);
  }
  return ok;
}

}  // namespace runnel::storage
