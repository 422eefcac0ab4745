// ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments through their
// handlers, answered as a one-broker Kafka 4.4 answers them: nothing to elect, nothing to move.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/messages/alter_partition_reassignments.h"
#include "protocol/messages/elect_leaders.h"
#include "protocol/messages/list_partition_reassignments.h"
#include "server/tests/data_plane_test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;

using ElectReq = protocol::ElectLeadersRequest;
using ElectResp = protocol::ElectLeadersResponse;
using AlterReq = protocol::AlterPartitionReassignmentsRequest;
using AlterResp = protocol::AlterPartitionReassignmentsResponse;
using ListReq = protocol::ListPartitionReassignmentsRequest;
using ListResp = protocol::ListPartitionReassignmentsResponse;

ElectReq elect(std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics,
               int8_t type = 0, int32_t timeout_ms = 60000) {
  ElectReq req;
  req.election_type = type;
  req.timeout_ms = timeout_ms;
  if (!topics) {
    req.topic_partitions = std::nullopt;
    return req;
  }
  req.topic_partitions.emplace();
  for (auto& [name, parts] : *topics) {
    ElectReq::TopicPartitions t;
    t.topic = name;
    t.partitions = parts;
    req.topic_partitions->push_back(std::move(t));
  }
  return req;
}

// "topic:partition=code ..." ("topic:" for a topic without results).
std::string summary(const ElectResp& resp) {
  std::string out;
  for (const auto& t : resp.replica_election_results) {
    if (!out.empty()) out += " ";
    out += t.topic + ":";
    std::string parts;
    for (const auto& p : t.partition_result) {
      if (!parts.empty()) parts += ",";
      parts +=
          std::to_string(p.partition_id) + "=" + std::to_string(static_cast<int>(p.error_code));
    }
    out += parts;
  }
  return out;
}

TEST(ElectLeaders, EveryPartitionAlreadyHasItsPreferredLeader) {
  DataPlane dp;
  dp.create_topic("alpha", 2);
  for (int16_t v = 0; v <= 2; ++v) {
    for (int8_t type : {0, 1}) {
      if (v == 0 && type == 1) continue;  // v0 elects the preferred leader only
      auto resp = dp.call<ElectResp>(v, elect({{{"alpha", {0, 1, 5, 0, -1}},
                                                {"missing", {0}},
                                                {"alpha", {1}},
                                                {"empty", {}}}},
                                              type))
                      .resp;
      EXPECT_EQ(resp.error_code, ErrorCode::NONE);
      EXPECT_EQ(summary(resp), "alpha:0=84,1=84,5=3,0=84,-1=3 missing:0=3 alpha:1=84 empty:")
          << "v" << v;
      const auto& a = resp.replica_election_results[0].partition_result;
      EXPECT_EQ(a[0].error_message, "Leader election not needed for topic partition.");
      EXPECT_EQ(a[2].error_message, "No such partition as alpha-5");
      EXPECT_EQ(a[4].error_message, "No such partition as alpha--1");
      EXPECT_EQ(resp.replica_election_results[1].partition_result[0].error_message,
                "No such topic as missing");
    }
  }
}

TEST(ElectLeaders, NullPartitionsListsEveryTopicWithNothingElected) {
  DataPlane dp;
  dp.create_topic("beta", 3);
  dp.create_topic("alpha", 1);
  auto resp = dp.call<ElectResp>(2, elect(std::nullopt)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(summary(resp), "alpha: beta:");
}

TEST(ElectLeaders, RequestRefusedAsAWhole) {
  DataPlane dp;
  dp.create_topic("alpha", 1);
  // An empty list: nothing to do, before any check.
  auto resp = dp.call<ElectResp>(
                    2, elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{}, 7, 0))
                  .resp;
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_TRUE(resp.replica_election_results.empty());

  // The deadline passed: REQUEST_TIMED_OUT everywhere, before the election type is looked at.
  resp = dp.call<ElectResp>(2, elect({{{"alpha", {0}}, {"missing", {1}}}}, 7, 0)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::REQUEST_TIMED_OUT);
  EXPECT_EQ(summary(resp), "alpha:0=7 missing:1=7");
  EXPECT_EQ(resp.replica_election_results[0].partition_result[0].error_message, std::nullopt);
  resp = dp.call<ElectResp>(0, elect({{{"alpha", {0}}}}, 0, -5)).resp;
  EXPECT_EQ(summary(resp), "alpha:0=7");
  resp = dp.call<ElectResp>(1, elect(std::nullopt, 0, 0)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::REQUEST_TIMED_OUT);
  EXPECT_TRUE(resp.replica_election_results.empty());

  // An unknown election type.
  resp = dp.call<ElectResp>(1, elect({{{"alpha", {0}}}}, 2)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(summary(resp), "alpha:0=42");
  EXPECT_EQ(resp.replica_election_results[0].partition_result[0].error_message,
            "Unknown election type 2");
  resp = dp.call<ElectResp>(2, elect(std::nullopt, -1)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::INVALID_REQUEST);
  EXPECT_TRUE(resp.replica_election_results.empty());
}

using Assignment = std::optional<std::vector<int32_t>>;

AlterReq alter(
    std::vector<std::pair<std::string, std::vector<std::pair<int32_t, Assignment>>>> topics,
    bool allow_rf_change = true, int32_t timeout_ms = 60000) {
  AlterReq req;
  req.timeout_ms = timeout_ms;
  req.allow_replication_factor_change = allow_rf_change;
  for (auto& [name, parts] : topics) {
    AlterReq::ReassignableTopic t;
    t.name = name;
    for (auto& [index, replicas] : parts) {
      AlterReq::ReassignablePartition p;
      p.partition_index = index;
      p.replicas = replicas;
      t.partitions.push_back(std::move(p));
    }
    req.topics.push_back(std::move(t));
  }
  return req;
}

std::vector<std::pair<int, std::optional<std::string>>> outcomes(const AlterResp& resp) {
  std::vector<std::pair<int, std::optional<std::string>>> out;
  for (const auto& t : resp.responses)
    for (const auto& p : t.partitions)
      out.emplace_back(static_cast<int>(p.error_code), p.error_message);
  return out;
}

TEST(AlterPartitionReassignments, TheSameReplicaIsAcceptedOthersRefusedAsKafkaDoes) {
  DataPlane dp;
  dp.create_topic("alpha", 2);
  const std::string m = "The manual partition assignment includes ";
  for (int16_t v = 0; v <= 1; ++v) {
    auto resp = dp.call<AlterResp>(v, alter({{"alpha",
                                              {{0, std::vector<int32_t>{1}},
                                               {1, std::nullopt},
                                               {0, std::vector<int32_t>{2}},
                                               {1, std::vector<int32_t>{2, 1, 1}},
                                               {1, std::vector<int32_t>{1, -1}},
                                               {0, std::vector<int32_t>{}},
                                               {5, std::vector<int32_t>{1}}}},
                                             {"missing", {{0, std::nullopt}}},
                                             {"alpha", {{1, std::vector<int32_t>{1}}}}},
                                            /*allow_rf_change=*/false))
                    .resp;
    EXPECT_EQ(resp.error_code, ErrorCode::NONE);
    EXPECT_EQ(resp.error_message, std::nullopt);
    if (v >= 1) {
      EXPECT_FALSE(resp.allow_replication_factor_change);
    }
    ASSERT_EQ(resp.responses.size(), 3u);
    EXPECT_EQ(resp.responses[0].name, "alpha");
    EXPECT_EQ(resp.responses[1].name, "missing");
    using O = std::vector<std::pair<int, std::optional<std::string>>>;
    EXPECT_EQ(outcomes(resp), (O{{0, std::nullopt},
                                 {85, std::nullopt},
                                 {39, m + "broker 2, but no such broker is registered."},
                                 {39, m + "the broker 1 more than once."},
                                 {39, m + "broker -1, but no such broker is registered."},
                                 {39, m + "an empty replica list."},
                                 {3, "Unable to find partition alpha:5."},
                                 {3, "Unable to find a topic named missing."},
                                 {0, std::nullopt}}))
        << "v" << v;
  }
}

TEST(AlterPartitionReassignments, EmptyRequestAndPassedDeadline) {
  DataPlane dp;
  dp.create_topic("alpha", 1);
  // No topics: Kafka's controller answers its defaults (an empty message, the flag true).
  auto resp = dp.call<AlterResp>(1, alter({}, false, 0)).resp;
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.error_message, "");
  EXPECT_TRUE(resp.allow_replication_factor_change);
  EXPECT_TRUE(resp.responses.empty());

  resp =
      dp.call<AlterResp>(
            1, alter({{"alpha", {{0, std::vector<int32_t>{1}}}}, {"missing", {{3, std::nullopt}}}},
                     false, 0))
          .resp;
  EXPECT_EQ(resp.error_code, ErrorCode::REQUEST_TIMED_OUT);
  EXPECT_EQ(resp.error_message, std::nullopt);
  EXPECT_TRUE(resp.allow_replication_factor_change);
  using O = std::vector<std::pair<int, std::optional<std::string>>>;
  EXPECT_EQ(outcomes(resp), (O{{7, std::nullopt}, {7, std::nullopt}}));
}

TEST(ListPartitionReassignments, NoneInProgressEvenAfterAnAcceptedOne) {
  DataPlane dp;
  dp.create_topic("alpha", 1);
  ASSERT_EQ(dp.call<AlterResp>(0, alter({{"alpha", {{0, std::vector<int32_t>{1}}}}}))
                .resp.responses.at(0)
                .partitions.at(0)
                .error_code,
            ErrorCode::NONE);
  ListReq all;
  all.topics = std::nullopt;
  ListReq some;
  some.topics.emplace();
  some.topics->push_back({"alpha", {0, 4}, {}});
  some.topics->push_back({"missing", {0}, {}});
  for (const auto& req : {all, some}) {
    auto resp = dp.call<ListResp>(0, req).resp;
    EXPECT_EQ(resp.error_code, ErrorCode::NONE);
    EXPECT_EQ(resp.error_message, std::nullopt);
    EXPECT_TRUE(resp.topics.empty());
  }
}

}  // namespace
}  // namespace runnel::server
