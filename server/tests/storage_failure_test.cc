// A topic whose partitions cannot be created (the broker is out of file
// descriptors) is answered with Kafka's storage error by CreateTopics and by
// Metadata's auto-creation; nothing of it is left and the broker goes on.
#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "server/tests/admin_fixture.h"
#include "server/topic_admin.h"
#include "storage/tests/test_util.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using storage::testing::DescriptorsExhausted;
using testing::AdminBroker;

protocol::MetadataRequest by_name(const std::string& name) {
  protocol::MetadataRequest req;
  req.topics.emplace();
  protocol::MetadataRequest::MetadataRequestTopic t;
  t.name = name;
  req.topics->push_back(std::move(t));
  return req;
}

TEST(StorageFailure, MetadataAutoCreateOutOfDescriptorsAnswersStorageErrorAndCreatesNothing) {
  AdminBroker b("num.partitions=3\n");
  protocol::MetadataResponse resp;
  {
    DescriptorsExhausted none(0);
    resp = metadata(b.broker(), by_name("fresh"), 12, "PLAINTEXT");
  }
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_TRUE(resp.topics[0].partitions.empty());
  EXPECT_EQ(b.logs().topic("fresh"), nullptr);

  // With descriptors again, the client's retry creates it.
  resp = metadata(b.broker(), by_name("fresh"), 12, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::LEADER_NOT_AVAILABLE);
  resp = metadata(b.broker(), by_name("fresh"), 12, "PLAINTEXT");
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.topics[0].partitions.size(), 3u);
}

TEST(StorageFailure, CreateTopicsOutOfDescriptorsAnswersStorageErrorWithAMessage) {
  AdminBroker b;
  protocol::CreateTopicsRequest req;
  protocol::CreateTopicsRequest::CreatableTopic t;
  t.name = "orders";
  t.num_partitions = 2;
  t.replication_factor = 1;
  req.topics.push_back(t);
  protocol::CreateTopicsResponse resp;
  {
    DescriptorsExhausted none(0);
    resp = create_topics(b.broker(), req, 7);
  }
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::KAFKA_STORAGE_ERROR);
  ASSERT_TRUE(resp.topics[0].error_message.has_value());
  EXPECT_NE(resp.topics[0].error_message->find("Too many open files"), std::string::npos)
      << *resp.topics[0].error_message;
  EXPECT_EQ(b.logs().topic("orders"), nullptr);

  resp = create_topics(b.broker(), req, 7);
  EXPECT_EQ(resp.topics[0].error_code, ErrorCode::NONE);
  EXPECT_NE(b.logs().topic("orders"), nullptr);
}

}  // namespace
}  // namespace runnel::server
