// Compiles the generated test support (to_json, fill_for_test) once for all
// protocol tests, and checks the generated API table.
#include <gtest/gtest.h>

#include "protocol/messages/testing.inc"

namespace runnel::protocol {
namespace {

TEST(ApiKeys, TableMatchesMessageTypes) {
  const ApiInfo* produce = api_info(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_STREQ(produce->name, "Produce");
  EXPECT_EQ(produce->max_version, ProduceRequest::kMaxVersion);
  EXPECT_EQ(produce->flexible_min, 9);
  EXPECT_EQ(api_info(-5), nullptr);
  EXPECT_EQ(api_info(10000), nullptr);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::ApiVersions), 18);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::Metadata), MetadataRequest::kApiKey);
  int16_t last = -1;
  for (const auto& a : all_apis()) {
    EXPECT_GT(a.key, last);
    last = a.key;
  }
  EXPECT_GE(all_apis().size(), 80u);
}

TEST(ApiKeys, HeaderVersions) {
  EXPECT_EQ(request_header_version(0, 8), 1);
  EXPECT_EQ(request_header_version(0, 9), 2);
  EXPECT_EQ(response_header_version(0, 8), 0);
  EXPECT_EQ(response_header_version(0, 9), 1);
  EXPECT_EQ(request_header_version(7, 0), 0);
  EXPECT_EQ(request_header_version(7, 1), 1);
  EXPECT_EQ(request_header_version(18, 3), 2);
  EXPECT_EQ(response_header_version(18, 3), 0);
  EXPECT_EQ(response_header_version(18, 0), 0);
}

TEST(Messages, DefaultsFollowTheSchema) {
  ProduceRequest p;
  EXPECT_FALSE(p.transactional_id.has_value());
  ProduceResponse::PartitionProduceResponse pr;
  EXPECT_EQ(pr.log_append_time_ms, -1);
  EXPECT_EQ(pr.current_leader.leader_id, -1);
  FetchRequest f;
  EXPECT_EQ(f.replica_id, -1);
  EXPECT_EQ(f.max_bytes, 0x7fffffff);
  MetadataRequest m;
  EXPECT_TRUE(m.allow_auto_topic_creation);
  RequestHeader h;
  EXPECT_EQ(h.client_id, std::optional<std::string>(""));  // Kafka: "" unless default=null
}

}  // namespace
}  // namespace runnel::protocol
