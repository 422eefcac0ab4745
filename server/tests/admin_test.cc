#include <gtest/gtest.h>

#include <algorithm>

#include "protocol/errors.h"
#include "server/tests/admin_fixture.h"
#include "server/topic_admin.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::AdminBroker;

using CTReq = protocol::CreateTopicsRequest;

CTReq::CreatableTopic new_topic(std::string name, int32_t partitions = 1, int16_t rf = 1,
                                std::vector<std::pair<std::string, std::string>> configs = {}) {
  CTReq::CreatableTopic t;
  t.name = std::move(name);
  t.num_partitions = partitions;
  t.replication_factor = rf;
  for (auto& [k, v] : configs) {
    CTReq::CreatableTopicConfig c;
    c.name = k;
    c.value = v;
    t.configs.push_back(std::move(c));
  }
  return t;
}

CTReq request(std::vector<CTReq::CreatableTopic> topics, bool validate_only = false) {
  CTReq r;
  r.topics = std::move(topics);
  r.validate_only = validate_only;
  return r;
}

template <typename C>
const auto* find_named(const C& configs, std::string_view name) {
  auto it = std::find_if(configs.begin(), configs.end(), [&](auto& c) { return c.name == name; });
  return it == configs.end() ? nullptr : &*it;
}

// ---- CreateTopics

TEST(CreateTopics, CreatesWithConfigsAndReportsThemFromV5) {
  AdminBroker b;
  auto resp = create_topics(b.broker(),
                            request({new_topic("events", 3, 1, {{"retention.ms", "1000"}})}), 7);
  ASSERT_EQ(resp.topics.size(), 1u);
  const auto& r = resp.topics[0];
  EXPECT_EQ(r.error_code, ErrorCode::NONE) << r.error_message.value_or("");
  EXPECT_FALSE(r.error_message.has_value());
  EXPECT_EQ(r.num_partitions, 3);
  EXPECT_EQ(r.replication_factor, 1);
  const auto* info = b.logs().topic("events");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->partitions, 3);
  EXPECT_EQ(info->configs.at("retention.ms"), "1000");
  EXPECT_EQ(r.topic_id, info->topic_id);
  ASSERT_TRUE(r.configs.has_value());
  const auto* ret = find_named(*r.configs, "retention.ms");
  ASSERT_NE(ret, nullptr);
  EXPECT_EQ(ret->value, "1000");
  EXPECT_EQ(ret->config_source, 1);  // TOPIC_CONFIG
  const auto* seg = find_named(*r.configs, "segment.bytes");
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(seg->value, "1073741824");
  EXPECT_EQ(seg->config_source, 5);  // DEFAULT_CONFIG
}

TEST(CreateTopics, DefaultsForMinusOne) {
  AdminBroker b("num.partitions=5\n");
  auto resp = create_topics(b.broker(), request({new_topic("d", -1, -1)}), 4);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(b.logs().topic("d")->partitions, 5);
}

TEST(CreateTopics, ValidateOnlyCreatesNothing) {
  AdminBroker b;
  auto resp = create_topics(b.broker(), request({new_topic("v", 2)}, true), 5);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.topics[0].num_partitions, 2);
  EXPECT_EQ(b.logs().topic("v"), nullptr);
}

TEST(CreateTopics, Errors) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("exists", 1, {}).ok());
  auto resp =
      create_topics(b.broker(),
                    request({new_topic("exists"), new_topic("bad/name"), new_topic("rf3", 1, 3),
                             new_topic("rf0", 1, 0), new_topic("p0", 0),
                             new_topic("unknown-key", 1, 1, {{"no.such.config", "1"}}),
                             new_topic("bad-value", 1, 1, {{"retention.ms", "soon"}}),
                             new_topic("bad-bool", 1, 1, {{"preallocate", "maybe"}}),
                             new_topic("bad-ratio", 1, 1, {{"min.cleanable.dirty.ratio", "x"}})}),
                    7);
  ASSERT_EQ(resp.topics.size(), 9u);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(resp.topics[1].error_code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(resp.topics[2].error_code, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_NE(resp.topics[2].error_message->find("3"), std::string::npos);
  EXPECT_EQ(resp.topics[3].error_code, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(resp.topics[4].error_code, ErrorCode::INVALID_PARTITIONS);
  for (size_t i = 5; i < 9; ++i)
    EXPECT_EQ(resp.topics[i].error_code, ErrorCode::INVALID_CONFIG) << resp.topics[i].name;
  for (size_t i = 1; i < 9; ++i) EXPECT_EQ(b.logs().topic(resp.topics[i].name), nullptr);
  EXPECT_EQ(resp.topics[2].num_partitions, -1);
}

TEST(CreateTopics, DuplicateNamesAreInvalidRequest) {
  AdminBroker b;
  auto resp =
      create_topics(b.broker(), request({new_topic("dup"), new_topic("ok"), new_topic("dup")}), 7);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].name, "dup");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(resp.topics[1].error_code, ErrorCode::NONE);
  EXPECT_EQ(b.logs().topic("dup"), nullptr);
}

TEST(CreateTopics, ManualAssignmentOnlyToThisNode) {
  AdminBroker b;
  auto good = new_topic("assigned", -1, -1);
  for (int32_t p = 0; p < 2; ++p) {
    CTReq::CreatableReplicaAssignment a;
    a.partition_index = p;
    a.broker_ids = {1};
    good.assignments.push_back(a);
  }
  auto bad = new_topic("elsewhere", -1, -1);
  CTReq::CreatableReplicaAssignment a;
  a.partition_index = 0;
  a.broker_ids = {2};
  bad.assignments.push_back(a);
  auto resp = create_topics(b.broker(), request({good, bad}), 7);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(b.logs().topic("assigned")->partitions, 2);
  EXPECT_EQ(resp.topics[1].error_code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
}

// ---- DeleteTopics

TEST(DeleteTopics, ByNameAndById) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("a", 1, {}).ok());
  ASSERT_TRUE(b.logs().create_topic("b", 1, {}).ok());
  protocol::Uuid id_b = b.logs().topic("b")->topic_id;

  protocol::DeleteTopicsRequest v1;
  v1.topic_names = {"a", "missing"};
  auto resp = delete_topics(b.broker(), v1, 1);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.responses[1].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(b.logs().topic("a"), nullptr);

  protocol::DeleteTopicsRequest v6;
  protocol::DeleteTopicsRequest::DeleteTopicState by_id, unknown_id;
  by_id.topic_id = id_b;
  unknown_id.topic_id = protocol::Uuid::random();
  v6.topics = {by_id, unknown_id};
  resp = delete_topics(b.broker(), v6, 6);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.responses[0].name, "b");
  EXPECT_EQ(resp.responses[0].topic_id, id_b);
  EXPECT_EQ(resp.responses[1].error_code, ErrorCode::UNKNOWN_TOPIC_ID);
  EXPECT_EQ(b.logs().topic("b"), nullptr);
}

TEST(DeleteTopics, DisabledAndInternal) {
  AdminBroker off("delete.topic.enable=false\n");
  ASSERT_TRUE(off.logs().create_topic("keep", 1, {}).ok());
  protocol::DeleteTopicsRequest req;
  req.topic_names = {"keep"};
  EXPECT_EQ(delete_topics(off.broker(), req, 4).responses[0].error_code,
            ErrorCode::TOPIC_DELETION_DISABLED);
  EXPECT_EQ(delete_topics(off.broker(), req, 2).responses[0].error_code,
            ErrorCode::INVALID_REQUEST);
  EXPECT_NE(off.logs().topic("keep"), nullptr);

  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("__consumer_offsets", 1, {}).ok());
  req.topic_names = {"__consumer_offsets"};
  EXPECT_EQ(delete_topics(b.broker(), req, 5).responses[0].error_code,
            ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_NE(b.logs().topic("__consumer_offsets"), nullptr);
}

// ---- CreatePartitions

TEST(CreatePartitions, AnswersPerTopic) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("grow", 2, {}).ok());
  ASSERT_TRUE(b.logs().create_topic("same", 2, {}).ok());
  ASSERT_TRUE(b.logs().create_topic("third", 1, {}).ok());
  protocol::CreatePartitionsRequest req;
  auto topic = [](std::string n, int32_t count) {
    protocol::CreatePartitionsRequest::CreatePartitionsTopic t;
    t.name = std::move(n);
    t.count = count;
    t.assignments = std::nullopt;
    return t;
  };
  auto badassign = topic("third", 2);
  badassign.assignments.emplace();
  badassign.assignments->push_back({});
  badassign.assignments->back().broker_ids = {7};
  req.topics = {topic("grow", 5), topic("missing", 3), topic("dup", 2), topic("dup", 3)};
  auto resp = create_partitions(b.broker(), req, 3);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(b.logs().topic("grow")->partitions, 5);
  EXPECT_EQ(resp.results[1].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(resp.results[2].error_code, ErrorCode::INVALID_REQUEST);

  req.topics = {topic("same", 2), topic("grow", 1), badassign};
  resp = create_partitions(b.broker(), req, 0);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::INVALID_PARTITIONS);
  EXPECT_TRUE(resp.results[0].error_message.has_value());
  EXPECT_EQ(resp.results[1].error_code, ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(resp.results[2].error_code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(b.logs().topic("third")->partitions, 1);

  req.validate_only = true;
  req.topics = {topic("same", 4)};
  resp = create_partitions(b.broker(), req, 1);
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(b.logs().topic("same")->partitions, 2);
}

// ---- DescribeConfigs

protocol::DescribeConfigsRequest describe(int8_t type, std::string name, bool synonyms = true) {
  protocol::DescribeConfigsRequest req;
  req.resources.emplace_back();
  req.resources.back().resource_type = type;
  req.resources.back().resource_name = std::move(name);
  req.resources.back().configuration_keys = std::nullopt;
  req.include_synonyms = synonyms;
  return req;
}

TEST(DescribeConfigs, TopicSourcesAndSynonyms) {
  AdminBroker b("log.segment.bytes=2000000\nlog.retention.ms=5000\n");
  ASSERT_TRUE(b.logs().create_topic("t", 1, {{"cleanup.policy", "compact"}}).ok());
  auto resp = describe_configs(b.broker(), describe(2, "t"), 4);
  ASSERT_EQ(resp.results.size(), 1u);
  const auto& cfgs = resp.results[0].configs;
  EXPECT_EQ(resp.results[0].error_code, ErrorCode::NONE);

  const auto* cp = find_named(cfgs, "cleanup.policy");
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->value, "compact");
  EXPECT_EQ(cp->config_source, 1);  // TOPIC_CONFIG
  EXPECT_EQ(cp->config_type, 7);    // LIST
  EXPECT_FALSE(cp->read_only);
  ASSERT_EQ(cp->synonyms.size(), 2u);
  EXPECT_EQ(cp->synonyms[0].name, "cleanup.policy");
  EXPECT_EQ(cp->synonyms[0].source, 1);
  EXPECT_EQ(cp->synonyms[1].name, "log.cleanup.policy");
  EXPECT_EQ(cp->synonyms[1].value, "delete");
  EXPECT_EQ(cp->synonyms[1].source, 5);

  const auto* sb = find_named(cfgs, "segment.bytes");
  ASSERT_NE(sb, nullptr);
  EXPECT_EQ(sb->value, "2000000");
  EXPECT_EQ(sb->config_source, 4);  // STATIC_BROKER_CONFIG
  ASSERT_EQ(sb->synonyms.size(), 2u);
  EXPECT_EQ(sb->synonyms[0].name, "log.segment.bytes");
  EXPECT_EQ(sb->synonyms[0].source, 4);
  EXPECT_EQ(sb->synonyms[1].source, 5);
  EXPECT_EQ(sb->synonyms[1].value, "1073741824");

  const auto* rm = find_named(cfgs, "retention.ms");
  ASSERT_NE(rm, nullptr);
  EXPECT_EQ(rm->value, "5000");
  EXPECT_EQ(rm->config_source, 4);
  ASSERT_EQ(rm->synonyms.size(), 2u);  // log.retention.ms (static), log.retention.hours (default)
  EXPECT_EQ(rm->synonyms[0].name, "log.retention.ms");
  EXPECT_EQ(rm->synonyms[1].name, "log.retention.hours");
  EXPECT_EQ(rm->config_type, 5);  // LONG

  const auto* mmb = find_named(cfgs, "max.message.bytes");
  ASSERT_NE(mmb, nullptr);
  EXPECT_EQ(mmb->value, "1048588");
  EXPECT_EQ(mmb->config_source, 5);
  EXPECT_EQ(mmb->config_type, 3);  // INT

  // Without include_synonyms: none listed; v0 reports is_default.
  resp = describe_configs(b.broker(), describe(2, "t", false), 0);
  for (const auto& c : resp.results[0].configs) {
    EXPECT_TRUE(c.synonyms.empty());
    EXPECT_EQ(c.is_default, c.config_source == 5) << c.name;
  }
}

TEST(DescribeConfigs, RetentionHoursAloneIsHiddenAsKafkaDoes) {
  // Kafka lists synonyms from the first entry for the primary broker key
  // (log.retention.ms) on; with only log.retention.hours set none remain.
  AdminBroker b("log.retention.hours=1\n");
  ASSERT_TRUE(b.logs().create_topic("t", 1, {}).ok());
  auto resp = describe_configs(b.broker(), describe(2, "t"), 4);
  const auto* rm = find_named(resp.results[0].configs, "retention.ms");
  ASSERT_NE(rm, nullptr);
  EXPECT_EQ(rm->value, "3600000");
  EXPECT_EQ(rm->config_source, 5);
  EXPECT_TRUE(rm->synonyms.empty());
}

TEST(DescribeConfigs, SelectedKeysUnknownTopicAndBadResources) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("t", 1, {}).ok());
  auto req = describe(2, "t");
  req.resources[0].configuration_keys = std::vector<std::string>{"retention.ms", "nope"};
  auto resp = describe_configs(b.broker(), req, 2);
  ASSERT_EQ(resp.results[0].configs.size(), 1u);
  EXPECT_EQ(resp.results[0].configs[0].name, "retention.ms");

  EXPECT_EQ(describe_configs(b.broker(), describe(2, "missing"), 4).results[0].error_code,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(describe_configs(b.broker(), describe(2, "bad name"), 4).results[0].error_code,
            ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(describe_configs(b.broker(), describe(9, "x"), 4).results[0].error_code,
            ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(describe_configs(b.broker(), describe(4, "2"), 4).results[0].error_code,
            ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(describe_configs(b.broker(), describe(4, "x"), 4).results[0].error_code,
            ErrorCode::INVALID_REQUEST);
  auto dflt = describe_configs(b.broker(), describe(4, ""), 4);
  EXPECT_EQ(dflt.results[0].error_code, ErrorCode::NONE);
  EXPECT_TRUE(dflt.results[0].configs.empty());
}

TEST(DescribeConfigs, BrokerConfigsWithSources) {
  AdminBroker b("num.partitions=7\n");
  auto resp = describe_configs(b.broker(), describe(4, "1"), 4);
  ASSERT_EQ(resp.results[0].error_code, ErrorCode::NONE);
  const auto& cfgs = resp.results[0].configs;
  EXPECT_EQ(cfgs.size(), config_defs().size());
  const auto* np = find_named(cfgs, "num.partitions");
  ASSERT_NE(np, nullptr);
  EXPECT_EQ(np->value, "7");
  EXPECT_EQ(np->config_source, 4);
  ASSERT_EQ(np->synonyms.size(), 2u);
  EXPECT_EQ(np->synonyms[1].value, "1");
  const auto* ac = find_named(cfgs, "auto.create.topics.enable");
  ASSERT_NE(ac, nullptr);
  EXPECT_EQ(ac->value, "true");
  EXPECT_EQ(ac->config_source, 5);
  EXPECT_EQ(ac->config_type, 1);  // BOOLEAN
  const auto* rh = find_named(cfgs, "log.retention.hours");
  ASSERT_NE(rh, nullptr);
  ASSERT_EQ(rh->synonyms.size(), 1u);
  EXPECT_EQ(rh->synonyms[0].name, "log.retention.hours");
}

TEST(DescribeConfigs, EncodesAtEveryVersion) {
  AdminBroker b;
  ASSERT_TRUE(b.logs().create_topic("t", 1, {{"retention.ms", "10"}}).ok());
  for (int16_t v = 0; v <= 4; ++v) {
    auto resp = describe_configs(b.broker(), describe(2, "t"), v);
    protocol::Writer w;
    resp.encode(w, v);
    protocol::DescribeConfigsResponse back;
    protocol::Reader r(w.buf());
    back.decode(r, v);
    EXPECT_TRUE(r.done()) << "v" << v;
    EXPECT_EQ(back.results.at(0).configs.size(), resp.results[0].configs.size());
  }
}

// ---- DescribeCluster

TEST(DescribeCluster, ThisNodeAndEndpointTypes) {
  AdminBroker b("listeners=PLAINTEXT://127.0.0.1:29092\n");
  protocol::DescribeClusterRequest req;
  auto resp = describe_cluster(b.broker(), req, 1, "PLAINTEXT");
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.cluster_id, "test-cluster-id");
  EXPECT_EQ(resp.controller_id, 1);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].broker_id, 1);
  EXPECT_EQ(resp.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(resp.brokers[0].port, 29092);
  EXPECT_EQ(resp.cluster_authorized_operations, INT32_MIN);

  req.include_cluster_authorized_operations = true;
  EXPECT_EQ(describe_cluster(b.broker(), req, 0, "PLAINTEXT").cluster_authorized_operations, 8096);

  // v2: fenced brokers asked for; this one never is.
  req.include_fenced_brokers = true;
  auto v2 = describe_cluster(b.broker(), req, 2, "PLAINTEXT");
  ASSERT_EQ(v2.brokers.size(), 1u);
  EXPECT_FALSE(v2.brokers[0].is_fenced);

  req.endpoint_type = 2;
  EXPECT_EQ(describe_cluster(b.broker(), req, 1, "PLAINTEXT").error_code,
            ErrorCode::MISMATCHED_ENDPOINT_TYPE);
  req.endpoint_type = 9;
  EXPECT_EQ(describe_cluster(b.broker(), req, 1, "PLAINTEXT").error_code,
            ErrorCode::UNSUPPORTED_ENDPOINT_TYPE);
}

}  // namespace
}  // namespace runnel::server
