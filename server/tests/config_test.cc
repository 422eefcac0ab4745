#include "server/config.h"

#include <gtest/gtest.h>

#include "server/group_service.h"

namespace runnel::server {
namespace {

TEST(ConfigDefs, LookupAndDefaults) {
  auto* d = find_config_def("log.segment.bytes");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->topic_synonym, "segment.bytes");
  EXPECT_EQ(*d->default_value, "1073741824");
  EXPECT_EQ(find_config_def("no.such.key"), nullptr);
  EXPECT_FALSE(find_config_def("log.flush.interval.ms")->default_value.has_value());
}

TEST(Config, Defaults) {
  Config c;
  EXPECT_EQ(c.node_id(), 1);
  EXPECT_EQ(c.get_int("num.partitions"), 1);
  EXPECT_EQ(c.get_long("log.flush.interval.messages"), INT64_MAX);
  EXPECT_EQ(c.log_retention_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_roll_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_dir(), "./runnel-data");
  EXPECT_EQ(c.socket_request_max_bytes(), 104857600);
  EXPECT_TRUE(c.get_bool("auto.create.topics.enable"));
  EXPECT_EQ(c.get_int("message.max.bytes"), 1048588);
  EXPECT_FALSE(c.value("log.flush.interval.ms").has_value());
  EXPECT_EQ(c.source("num.partitions"), ConfigSource::DEFAULT_CONFIG);
  auto ls = c.listeners();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0].name, "PLAINTEXT");
  EXPECT_EQ(ls[0].host, "127.0.0.1");
  EXPECT_EQ(ls[0].port, 9092);
}

TEST(Properties, Syntax) {
  auto kv = parse_properties(
      "# comment\n"
      "! also a comment\n"
      "\n"
      "  a.b = 1 \n"
      "c.d: two words\r\n"
      "e.f    spaced\n"
      "g.h=multi\\\n"
      "     line\n"
      "i\\=j=k\n"
      "empty=\n",
      "t");
  ASSERT_EQ(kv.size(), 6u);
  EXPECT_EQ(kv[0], (std::pair<std::string, std::string>{"a.b", "1"}));
  EXPECT_EQ(kv[1].second, "two words");
  EXPECT_EQ(kv[2], (std::pair<std::string, std::string>{"e.f", "spaced"}));
  EXPECT_EQ(kv[3].second, "multiline");
  EXPECT_EQ(kv[4].first, "i=j");
  EXPECT_EQ(kv[4].second, "k");
  EXPECT_EQ(kv[5].second, "");
}

TEST(Config, FileThenOverrides) {
  auto c =
      Config::from_text("num.partitions=3\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs=/tmp/x\n",
                        {"num.partitions=7", "log.retention.minutes = 5"});
  EXPECT_EQ(c.get_int("num.partitions"), 7);
  EXPECT_EQ(c.source("num.partitions"), ConfigSource::STATIC_BROKER_CONFIG);
  EXPECT_EQ(c.listeners()[0].port, 0);
  EXPECT_EQ(c.log_dir(), "/tmp/x");
  EXPECT_EQ(c.log_retention_ms(), 5 * 60000);
}

TEST(Config, RetentionPrecedence) {
  EXPECT_EQ(
      Config::from_text("log.retention.hours=1\nlog.retention.minutes=2\n").log_retention_ms(),
      120000);
  EXPECT_EQ(Config::from_text("log.retention.minutes=2\nlog.retention.ms=5\n").log_retention_ms(),
            5);
  EXPECT_EQ(Config::from_text("log.retention.ms=-1\n").log_retention_ms(), -1);
  EXPECT_EQ(Config::from_text("log.retention.hours=-1\n").log_retention_ms(), -1);
  EXPECT_EQ(Config::from_text("log.roll.hours=2\nlog.roll.ms=10\n").log_roll_ms(), 10);
  EXPECT_EQ(Config::from_text("log.roll.hours=2\n").log_roll_ms(), 7200000);
  EXPECT_EQ(Config::from_text("log.flush.interval.ms=1000\n").log_flush_interval_ms(), 1000);
}

TEST(Config, NodeIdAndBrokerId) {
  EXPECT_EQ(Config::from_text("broker.id=4\n").node_id(), 4);
  EXPECT_EQ(Config::from_text("node.id=4\n").get_int("broker.id"), 4);
  EXPECT_THROW(Config::from_text("node.id=4\nbroker.id=5\n"), ConfigError);
}

void expect_error(std::string_view text, std::string_view must_mention,
                  const std::vector<std::string>& overrides = {}) {
  try {
    Config::from_text(text, overrides);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
  }
}

TEST(Config, Rejections) {
  expect_error("num.partitions=abc\n", "num.partitions");
  expect_error("num.partitions=0\n", "num.partitions");
  expect_error("num.partitions=99999999999\n", "num.partitions");
  expect_error("no.such.thing=1\n", "no.such.thing");
  expect_error("auto.create.topics.enable=yes\n", "auto.create.topics.enable");
  expect_error("log.message.timestamp.type=Wallclock\n", "log.message.timestamp.type");
  expect_error("log.cleanup.policy=delete,shred\n", "log.cleanup.policy");
  expect_error("compression.type=brotli\n", "compression.type");
  expect_error("socket.request.max.bytes=-5\n", "socket.request.max.bytes");
  expect_error("listeners=127.0.0.1:9092\n", "listeners");
  expect_error("listeners=PLAINTEXT://127.0.0.1:70000\n", "listeners");
  expect_error("listeners=SSL://127.0.0.1:9093\n", "listeners");
  expect_error("log.cleaner.min.cleanable.ratio=half\n", "log.cleaner.min.cleanable.ratio");
  expect_error("", "--override", {"novalue"});
  expect_error("", "bogus", {"bogus=1"});
  expect_error("=5\n", "without a key");
}

TEST(Config, ConsumerGroupKeysAsKafka) {
  Config d = Config::from_text("");
  EXPECT_EQ(d.get_int("group.consumer.session.timeout.ms"), 45000);
  EXPECT_EQ(d.get_int("group.consumer.heartbeat.interval.ms"), 5000);
  EXPECT_EQ(d.get_list("group.consumer.assignors"), (std::vector<std::string>{"uniform", "range"}));
  EXPECT_EQ(d.get_list("group.coordinator.rebalance.protocols"),
            (std::vector<std::string>{"classic", "consumer", "streams"}));
  auto cc = coordinator_config(Config::from_text(
      "group.consumer.session.timeout.ms=50000\ngroup.consumer.heartbeat.interval.ms=6000\n"
      "group.consumer.max.size=7\ngroup.consumer.assignors=range\n"));
  EXPECT_EQ(cc.consumer_group.session_timeout_ms, 50000);
  EXPECT_EQ(cc.consumer_group.heartbeat_interval_ms, 6000);
  EXPECT_EQ(cc.consumer_group.max_size, 7);
  EXPECT_EQ(cc.consumer_group.assignors, std::vector<std::string>{"range"});
  // Kafka's GroupCoordinatorConfig checks.
  expect_error("group.consumer.session.timeout.ms=30000\n", "group.consumer.session.timeout.ms");
  expect_error("group.consumer.heartbeat.interval.ms=20000\n",
               "group.consumer.heartbeat.interval.ms");
  expect_error("group.consumer.min.session.timeout.ms=70000\n",
               "group.consumer.min.session.timeout.ms");
  expect_error("group.consumer.assignors=sticky\n", "group.consumer.assignors");
  expect_error("group.coordinator.rebalance.protocols=consumer\n",
               "group.coordinator.rebalance.protocols");
  expect_error("group.coordinator.rebalance.protocols=classic,eager\n",
               "group.coordinator.rebalance.protocols");
}

TEST(Config, ListsAndIgnoredKeys) {
  auto c =
      Config::from_text("log.cleanup.policy = compact , delete\nprocess.roles=broker,controller\n");
  EXPECT_EQ(c.get_list("log.cleanup.policy"), (std::vector<std::string>{"compact", "delete"}));
  EXPECT_EQ(c.value("log.cleanup.policy"), "compact,delete");
  EXPECT_EQ(c.ignored_keys_set(), std::vector<std::string>{"process.roles"});
}

TEST(Config, EntriesCoverTable) {
  Config c = Config::from_text("num.partitions=2\n");
  auto entries = c.entries();
  EXPECT_EQ(entries.size(), config_defs().size());
  bool found = false;
  for (auto& e : entries)
    if (e.def->name == "num.partitions") {
      found = true;
      EXPECT_EQ(e.value, "2");
      EXPECT_EQ(e.source, ConfigSource::STATIC_BROKER_CONFIG);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace runnel::server
