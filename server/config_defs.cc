#include "server/config_defs.h"

#include <algorithm>
#include <array>

namespace runnel::server {

namespace {

using T = ConfigType;
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
constexpr std::string_view kLongMaxText = "9223372036854775807";
constexpr std::string_view kIntMaxText = "2147483647";

// Helpers keep the table one line per key.
constexpr ConfigDef def(std::string_view name, T type, std::optional<std::string_view> dflt,
                        int64_t min = std::numeric_limits<int64_t>::min(), int64_t max = kLongMax) {
  ConfigDef d{name, type, dflt};
  d.min = min;
  d.max = (type == T::kInt && max == kLongMax) ? kIntMax : max;
  if (type == T::kInt && min == std::numeric_limits<int64_t>::min())
    d.min = std::numeric_limits<int32_t>::min();
  return d;
}
constexpr ConfigDef topic(ConfigDef d, std::string_view synonym) {
  d.topic_synonym = synonym;
  d.read_only = false;
  return d;
}
constexpr ConfigDef choice(ConfigDef d, std::string_view one_of) {
  d.one_of = one_of;
  return d;
}
constexpr ConfigDef dynamic(ConfigDef d) {
  d.read_only = false;
  return d;
}
constexpr ConfigDef ignored(ConfigDef d) {
  d.ignored = true;
  return d;
}

constexpr std::string_view kCompression = "uncompressed,zstd,lz4,snappy,gzip,producer";
constexpr std::string_view kTimestampType = "CreateTime,LogAppendTime";

// Sorted by name (checked at start-up by find_config_def's assertion test).
constexpr std::array kDefs = {
    dynamic(def("advertised.listeners", T::kString, std::nullopt)),
    def("auto.create.topics.enable", T::kBool, "true"),
    ignored(def("auto.leader.rebalance.enable", T::kBool, "true")),
    ignored(dynamic(def("background.threads", T::kInt, "10", 1))),
    def("broker.id", T::kInt, "1", 0),
    ignored(def("broker.rack", T::kString, std::nullopt)),
    def("cluster.id", T::kString, std::nullopt),
    topic(choice(def("compression.type", T::kString, "producer"), kCompression),
          "compression.type"),
    def("connections.max.idle.ms", T::kLong, "600000", 1),
    ignored(def("controlled.shutdown.enable", T::kBool, "true")),
    ignored(def("controller.listener.names", T::kString, std::nullopt)),
    ignored(def("controller.quorum.bootstrap.servers", T::kList, "")),
    ignored(def("controller.quorum.voters", T::kList, "")),
    def("default.replication.factor", T::kInt, "1", 1),
    def("delete.topic.enable", T::kBool, "true"),
    def("feature.group.version", T::kInt, std::nullopt, 0, 1),
    def("feature.metadata.version", T::kInt, std::nullopt, 7, 33),
    def("feature.transaction.version", T::kInt, std::nullopt, 0, 2),
    def("fetch.max.bytes", T::kInt, "57671680", 1024),
    choice(def("group.consumer.assignors", T::kList, "uniform,range"), "uniform,range"),
    def("group.consumer.heartbeat.interval.ms", T::kInt, "5000", 1),
    def("group.consumer.max.heartbeat.interval.ms", T::kInt, "15000", 1),
    def("group.consumer.max.session.timeout.ms", T::kInt, "60000", 1),
    def("group.consumer.max.size", T::kInt, kIntMaxText, 1),
    choice(def("group.consumer.migration.policy", T::kString, "bidirectional"),
           "bidirectional,upgrade,downgrade,disabled"),
    def("group.consumer.min.heartbeat.interval.ms", T::kInt, "5000", 1),
    def("group.consumer.min.session.timeout.ms", T::kInt, "45000", 1),
    def("group.consumer.session.timeout.ms", T::kInt, "45000", 1),
    choice(def("group.coordinator.rebalance.protocols", T::kList, "classic,consumer,streams"),
           "classic,consumer,share,streams"),
    def("group.initial.rebalance.delay.ms", T::kInt, "3000", 0),
    def("group.max.session.timeout.ms", T::kInt, "1800000", 1),
    def("group.max.size", T::kInt, kIntMaxText, 1),
    def("group.min.session.timeout.ms", T::kInt, "6000", 1),
    ignored(def("inter.broker.listener.name", T::kString, std::nullopt)),
    dynamic(def("listener.security.protocol.map", T::kString,
                "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL")),
    dynamic(def("listeners", T::kString, "PLAINTEXT://127.0.0.1:9092")),
    topic(def("log.cleaner.delete.retention.ms", T::kLong, "86400000", 0), "delete.retention.ms"),
    def("log.cleaner.enable", T::kBool, "true"),
    topic(def("log.cleaner.max.compaction.lag.ms", T::kLong, kLongMaxText, 1),
          "max.compaction.lag.ms"),
    topic(def("log.cleaner.min.cleanable.ratio", T::kDouble, "0.5"), "min.cleanable.dirty.ratio"),
    topic(def("log.cleaner.min.compaction.lag.ms", T::kLong, "0", 0), "min.compaction.lag.ms"),
    ignored(dynamic(def("log.cleaner.threads", T::kInt, "1", 0))),
    topic(choice(def("log.cleanup.policy", T::kList, "delete"), "compact,delete"),
          "cleanup.policy"),
    def("log.dir", T::kString, "./runnel-data"),
    def("log.dirs", T::kString, std::nullopt),
    topic(def("log.flush.interval.messages", T::kLong, kLongMaxText, 1), "flush.messages"),
    topic(def("log.flush.interval.ms", T::kLong, std::nullopt, 0), "flush.ms"),
    def("log.flush.offset.checkpoint.interval.ms", T::kInt, "60000", 0),
    def("log.flush.scheduler.interval.ms", T::kLong, kLongMaxText, 1),
    topic(def("log.index.interval.bytes", T::kInt, "4096", 0), "index.interval.bytes"),
    topic(def("log.index.size.max.bytes", T::kInt, "10485760", 4), "segment.index.bytes"),
    topic(def("log.message.downconversion.enable", T::kBool, "true"),
          "message.downconversion.enable"),
    topic(def("log.message.timestamp.after.max.ms", T::kLong, "3600000", 0),
          "message.timestamp.after.max.ms"),
    topic(def("log.message.timestamp.before.max.ms", T::kLong, kLongMaxText, 0),
          "message.timestamp.before.max.ms"),
    topic(def("log.message.timestamp.difference.max.ms", T::kLong, kLongMaxText, 0),
          "message.timestamp.difference.max.ms"),
    topic(choice(def("log.message.timestamp.type", T::kString, "CreateTime"), kTimestampType),
          "message.timestamp.type"),
    topic(def("log.preallocate", T::kBool, "false"), "preallocate"),
    topic(def("log.retention.bytes", T::kLong, "-1"), "retention.bytes"),
    def("log.retention.check.interval.ms", T::kLong, "300000", 1),
    def("log.retention.hours", T::kInt, "168"),
    def("log.retention.minutes", T::kInt, std::nullopt),
    topic(def("log.retention.ms", T::kLong, std::nullopt), "retention.ms"),
    def("log.roll.hours", T::kInt, "168", 1),
    def("log.roll.jitter.hours", T::kInt, "0", 0),
    topic(def("log.roll.jitter.ms", T::kLong, std::nullopt), "segment.jitter.ms"),
    topic(def("log.roll.ms", T::kLong, std::nullopt), "segment.ms"),
    topic(def("log.segment.bytes", T::kInt, "1073741824", 14), "segment.bytes"),
    topic(def("log.segment.delete.delay.ms", T::kLong, "60000", 0), "file.delete.delay.ms"),
    ignored(def("max.connections", T::kInt, kIntMaxText, 0)),
    ignored(def("max.connections.per.ip", T::kInt, kIntMaxText, 0)),
    def("max.incremental.fetch.session.cache.slots", T::kInt, "1000", 0),
    topic(def("message.max.bytes", T::kInt, "1048588", 0), "max.message.bytes"),
    topic(def("min.insync.replicas", T::kInt, "1", 1), "min.insync.replicas"),
    def("node.id", T::kInt, "1", 0),
    ignored(dynamic(def("num.io.threads", T::kInt, "8", 1))),
    ignored(dynamic(def("num.network.threads", T::kInt, "3", 1))),
    def("num.partitions", T::kInt, "1", 1),
    ignored(dynamic(def("num.recovery.threads.per.data.dir", T::kInt, "2", 1))),
    def("offset.metadata.max.bytes", T::kInt, "4096"),
    ignored(def("offsets.commit.timeout.ms", T::kInt, "5000", 1)),
    ignored(def("offsets.load.buffer.size", T::kInt, "5242880", 1)),
    def("offsets.retention.check.interval.ms", T::kLong, "600000", 1),
    def("offsets.retention.minutes", T::kInt, "10080", 1),
    ignored(def("offsets.topic.compression.codec", T::kInt, "0")),
    def("offsets.topic.num.partitions", T::kInt, "50", 1),
    def("offsets.topic.replication.factor", T::kInt, "1", 1),
    def("offsets.topic.segment.bytes", T::kInt, "104857600", 1),
    ignored(def("process.roles", T::kList, "")),
    def("producer.id.expiration.check.interval.ms", T::kInt, "600000", 1),
    def("producer.id.expiration.ms", T::kInt, "86400000", 1),
    def("queued.max.request.bytes", T::kLong, "-1"),
    def("queued.max.requests", T::kInt, "500", 1),
    ignored(def("replica.fetch.max.bytes", T::kInt, "1048576", 0)),
    ignored(def("replica.fetch.wait.max.ms", T::kInt, "500")),
    ignored(def("replica.lag.time.max.ms", T::kLong, "30000")),
    def("socket.listen.backlog.size", T::kInt, "50", 1),
    def("socket.receive.buffer.bytes", T::kInt, "102400"),
    def("socket.request.max.bytes", T::kInt, "104857600", 1),
    def("socket.send.buffer.bytes", T::kInt, "102400"),
    def("transaction.abort.timed.out.transaction.cleanup.interval.ms", T::kInt, "10000", 1),
    def("transaction.max.timeout.ms", T::kInt, "900000", 1),
    def("transaction.remove.expired.transaction.cleanup.interval.ms", T::kInt, "3600000", 1),
    def("transaction.state.log.load.buffer.size", T::kInt, "5242880", 1),
    def("transaction.state.log.min.isr", T::kInt, "1", 1),
    def("transaction.state.log.num.partitions", T::kInt, "50", 1),
    def("transaction.state.log.replication.factor", T::kInt, "1", 1),
    def("transaction.state.log.segment.bytes", T::kInt, "104857600", 1),
    def("transactional.id.expiration.ms", T::kInt, "604800000", 1),
    topic(def("unclean.leader.election.enable", T::kBool, "false"),
          "unclean.leader.election.enable"),
};

constexpr bool sorted() {
  for (size_t i = 1; i < kDefs.size(); ++i)
    if (!(kDefs[i - 1].name < kDefs[i].name)) return false;
  return true;
}
static_assert(sorted(), "kDefs must stay sorted by name");

}  // namespace

std::string_view config_type_name(ConfigType t) {
  switch (t) {
    case ConfigType::kInt:
      return "INT";
    case ConfigType::kLong:
      return "LONG";
    case ConfigType::kDouble:
      return "DOUBLE";
    case ConfigType::kBool:
      return "BOOLEAN";
    case ConfigType::kString:
      return "STRING";
    case ConfigType::kList:
      return "LIST";
    case ConfigType::kPassword:
      return "PASSWORD";
  }
  return "UNKNOWN";
}

std::span<const ConfigDef> config_defs() { return kDefs; }

const ConfigDef* find_config_def(std::string_view name) {
  auto it = std::lower_bound(kDefs.begin(), kDefs.end(), name,
                             [](const ConfigDef& d, std::string_view n) { return d.name < n; });
  if (it == kDefs.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace runnel::server
