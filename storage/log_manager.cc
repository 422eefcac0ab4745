#include "storage/log_manager.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

namespace fs = std::filesystem;
using protocol::ErrorCode;

namespace {

constexpr const char* kTopicsDir = ".runnel-topics";
constexpr const char* kCleanShutdown = ".runnel-cleanshutdown";
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
  return log_dir_ + "/" + topic + "-" + std::to_string(partition);
}

std::string LogManager::topic_file(const std::string& topic) const {
  return log_dir_ + "/" + kTopicsDir + "/" + topic;
}

bool LogManager::write_topic_file(const TopicInfo& info, const TopicInfo* before,
                                  std::string* error) const {
  auto text = [](const TopicInfo& i) {
    std::string t = "version: 0\nname: " + i.name + "\ntopic_id: " + i.topic_id.to_string() +
                    "\npartitions: " + std::to_string(i.partitions) + "\n";
    for (const auto& [k, v] : i.configs) t += "config: " + escape(k) + "=" + escape(v) + "\n";
    return t;
  };
  if (io::write_file_atomic(topic_file(info.name), text(info), error)) return true;
  // The write may have failed after its rename (the fsync of the directory): the new file can be
  // in place although the change is answered as failed. Put the old state back, so that a
  // restart does not find a topic, partition count or config that was refused.
  std::string ignored;
  if (before) {
    io::write_file_atomic(topic_file(info.name), text(*before), &ignored);
  } else {
    std::error_code ec;
    sys::remove(topic_file(info.name), ec);
    io::fsync_dir(log_dir_ + "/" + kTopicsDir);
  }
  return false;
}

bool LogManager::open_partition(Topic& t, int32_t partition, bool clean, std::string* error) {
  std::string dir = partition_dir(t.info.name, partition);
  std::error_code ec;
  bool existed = sys::exists(dir, ec);
  RecoveryResult rec;
  auto log = PartitionLog::open(dir, t.info.name, partition, t.config, clock_, clean, &rec, error);
  if (!log) return false;
  if (decompressor_) log->set_decompressor(decompressor_);
  if (runner_) log->set_background_runner(runner_);
  std::string meta_path = dir + "/partition.metadata";
  std::string meta = "version: 0\ntopic_id: " + t.info.topic_id.to_string() + "\n";
  std::string current;
  if (!existed || !io::read_file(meta_path, &current) || current != meta) {
    if (existed && !current.empty())
      io::log_line(meta_path + " did not match the topic's id; rewritten");
    if (!io::write_file_atomic(meta_path, meta, error)) return false;
  }
  recovered_[t.info.name + "-" + std::to_string(partition)] = rec;
  if (static_cast<size_t>(partition) >= t.partitions.size()) t.partitions.resize(partition + 1);
  t.partitions[partition] = std::move(log);
  return true;
}

void LogManager::drop_new_partitions(Topic& t, int32_t from, int32_t to) {
  for (int32_t p = from; p < to; ++p) {
    if (static_cast<size_t>(p) < t.partitions.size() && t.partitions[p])
      t.partitions[p]->remove_all();
    recovered_.erase(t.info.name + "-" + std::to_string(p));
    // Also the directory of a partition that failed half-way through opening. When even that
    // fails (e.g. still out of descriptors), the next create of the name or the next start-up
    // removes it: without a topic file it belongs to no topic.
    std::error_code ec;
    // remove_all needs a descriptor to list the directory; an empty one goes without.
    if (!sys::remove_all(partition_dir(t.info.name, p), ec))
      sys::remove(partition_dir(t.info.name, p), ec);
    if (ec)
      io::log_line("cannot remove " + partition_dir(t.info.name, p) + " yet: " + ec.message());
  }
  if (t.partitions.size() > static_cast<size_t>(from)) t.partitions.resize(from);
}

TopicResult LogManager::creation_failed(const std::string& topic, const std::string& why) {
  io::log_line("cannot create partitions of topic " + topic + ": " + why);
  return {ErrorCode::KAFKA_STORAGE_ERROR, why};
}

bool LogManager::load(std::string* error) {
  std::error_code ec;
  if (!sys::create_directories(log_dir_ + "/" + kTopicsDir, ec)) {
    if (error) *error = "create " + log_dir_ + ": " + ec.message();
    return false;
  }
  std::string marker = log_dir_ + "/" + kCleanShutdown;
  bool clean = sys::exists(marker, ec);
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
      if (!open_partition(slot, p, clean, error)) {
        // One log directory: when it cannot be read the broker cannot serve (Kafka shuts
        // down when all its log directories are offline at start-up).
        if (error)
          *error = "cannot open partition " + name + "-" + std::to_string(p) + ": " + *error;
        return false;
      }
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

void LogManager::checkpoint_recovery_points() {
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->checkpoint_recovery_point();
}

void LogManager::set_decompressor(Decompressor d) {
  decompressor_ = std::move(d);
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->set_decompressor(decompressor_);
}

TopicResult LogManager::create_topic(const std::string& name, int32_t partitions,
                                     const ConfigMap& configs,
                                     std::optional<protocol::Uuid> topic_id, bool validate_only) {
  TopicResult r;
  std::string reason;
  if (!is_valid_topic_name(name, &reason)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, reason};
  if (topics_.count(name)) return {ErrorCode::TOPIC_ALREADY_EXISTS, "topic " + name + " exists"};
  for (const auto& [other, t] : topics_)
    if (topic_names_collide(name, other))
      return {ErrorCode::INVALID_TOPIC_EXCEPTION, "topic " + name + " collides with " + other};
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
  t.info.partitions = partitions;
  t.info.configs = configs;
  std::string err;
  for (int32_t p = 0; p < partitions; ++p) {
    std::error_code ec;
    sys::remove_all(partition_dir(name, p), ec);  // leftovers of an interrupted delete
    if (!open_partition(t, p, true, &err)) {
      drop_new_partitions(t, 0, p + 1);
      return creation_failed(name, err);
    }
  }
  if (!write_topic_file(t.info, nullptr, &err)) {
    drop_new_partitions(t, 0, partitions);
    return creation_failed(name, err);
  }
  topics_[name] = std::move(t);
  return r;
}

TopicResult LogManager::delete_topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  if (sys::unlink(topic_file(name)) != 0)
    return {ErrorCode::KAFKA_STORAGE_ERROR, io::errno_message("unlink", topic_file(name))};
  io::fsync_dir(log_dir_ + "/" + kTopicsDir);
  for (auto& p : it->second.partitions) p->remove_all();
  for (int32_t p = 0; p < it->second.info.partitions; ++p)
    recovered_.erase(name + "-" + std::to_string(p));
  topics_.erase(it);
  io::fsync_dir(log_dir_);
  return {};
}

TopicResult LogManager::create_partitions(const std::string& name, int32_t new_total,
                                          bool validate_only) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  Topic& t = it->second;
  if (new_total <= t.info.partitions || new_total > kMaxPartitions)
    return {ErrorCode::INVALID_PARTITIONS, "topic " + name + " has " +
                                               std::to_string(t.info.partitions) +
                                               " partitions; the new count must be larger"};
  if (validate_only) return {};
  std::string err;
  int32_t old = t.info.partitions;
  for (int32_t p = old; p < new_total; ++p) {
    std::error_code ec;
    sys::remove_all(partition_dir(name, p), ec);
    if (!open_partition(t, p, true, &err)) {
      drop_new_partitions(t, old, p + 1);
      return creation_failed(name, err);
    }
  }
  TopicInfo info = t.info;
  info.partitions = new_total;
  if (!write_topic_file(info, &t.info, &err)) {
    drop_new_partitions(t, old, new_total);
    return creation_failed(name, err);
  }
  t.info.partitions = new_total;
  return {};
}

TopicResult LogManager::update_topic_config(const std::string& name, const ConfigMap& configs,
                                            bool validate_only) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "unknown topic " + name};
  TopicResult r;
  LogConfig config;
  if (defaults_.with_overrides(configs, &config, &r.message) != ErrorCode::NONE)
    return {ErrorCode::INVALID_CONFIG, r.message};
  if (validate_only) return r;
  TopicInfo info = it->second.info;
  info.configs = configs;
  std::string err;
  if (!write_topic_file(info, &it->second.info, &err)) return {ErrorCode::KAFKA_STORAGE_ERROR, err};
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
  bool ok = flush_all();
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) p->close();
  topics_.clear();
  if (ok) {
    std::string err;
    ok = io::write_file_atomic(log_dir_ + "/" + kCleanShutdown, "", &err);
    if (!ok) io::log_line(err);
  }
  return ok;
}

}  // namespace runnel::storage
