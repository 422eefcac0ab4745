#include "coordinator/consumer_group_records.h"

#include <gtest/gtest.h>

#include "coordinator/offsets_records.h"
#include "coordinator/tests/mutations.h"

namespace runnel::coordinator {
namespace {

protocol::Uuid uuid(uint8_t b) {
  protocol::Uuid u;
  u.bytes.fill(b);
  return u;
}

// Every strict prefix of `bytes` is rejected, and so is one trailing byte.
template <typename Decode>
void expect_prefixes_rejected(const protocol::Bytes& bytes, Decode decode) {
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode(std::span<const uint8_t>(bytes.data(), n))) << "prefix of " << n;
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode(std::span<const uint8_t>(longer)));
}

template <typename Decode>
void expect_other_versions_rejected(protocol::Bytes bytes, Decode decode) {
  bytes[1] = 1;
  EXPECT_FALSE(decode(std::span<const uint8_t>(bytes)));
  bytes[0] = 0xff;
  bytes[1] = 0xff;
  EXPECT_FALSE(decode(std::span<const uint8_t>(bytes)));
}

TEST(ConsumerGroupRecordsTest, KeysRoundTrip) {
  for (auto type :
       {ConsumerGroupRecordType::GroupMetadata, ConsumerGroupRecordType::PartitionMetadata,
        ConsumerGroupRecordType::TargetAssignmentMetadata}) {
    ConsumerGroupKey k{type, "g", ""};
    auto bytes = encode_consumer_group_key(k);
    EXPECT_EQ(decode_consumer_group_key(bytes), k);
    expect_prefixes_rejected(bytes, decode_consumer_group_key);
  }
  for (auto type :
       {ConsumerGroupRecordType::MemberMetadata, ConsumerGroupRecordType::TargetAssignmentMember,
        ConsumerGroupRecordType::CurrentMemberAssignment,
        ConsumerGroupRecordType::RegularExpression}) {
    ConsumerGroupKey k{type, "group", "member-1"};
    auto bytes = encode_consumer_group_key(k);
    EXPECT_EQ(decode_consumer_group_key(bytes), k);
    expect_prefixes_rejected(bytes, decode_consumer_group_key);
  }
}

TEST(ConsumerGroupRecordsTest, KeyLayoutIsTypeThenStrings) {
  auto bytes = encode_consumer_group_key({ConsumerGroupRecordType::MemberMetadata, "g", "m"});
  EXPECT_EQ(bytes, (protocol::Bytes{0, 5, 0, 1, 'g', 0, 1, 'm'}));
  // The classic decoder sees these as keys it does not interpret.
  auto k = decode_offsets_topic_key(bytes);
  ASSERT_TRUE(k);
  EXPECT_EQ(std::get<OtherKey>(*k).version, 5);
  // Other types are not consumer group keys.
  EXPECT_FALSE(decode_consumer_group_key(protocol::Bytes{0, 9, 0, 1, 'g'}));
  EXPECT_FALSE(decode_consumer_group_key(protocol::Bytes{0, 2, 0, 1, 'g'}));
}

TEST(ConsumerGroupRecordsTest, GroupMetadataRoundTrip) {
  for (int64_t hash : {int64_t{0}, int64_t{-42}}) {
    ConsumerGroupMetadataValue v{7, hash};
    auto bytes = encode(v);
    EXPECT_EQ(decode_consumer_group_metadata_value(bytes), v);
    expect_prefixes_rejected(bytes, decode_consumer_group_metadata_value);
    expect_other_versions_rejected(bytes, decode_consumer_group_metadata_value);
  }
  // Without the tag: version, epoch, empty tag section.
  EXPECT_EQ(encode(ConsumerGroupMetadataValue{1, 0}), (protocol::Bytes{0, 0, 0, 0, 0, 1, 0}));
}

TEST(ConsumerGroupRecordsTest, UnknownTagsAreSkipped) {
  // epoch 3, two tags: 5 (unknown, 2 bytes) and 0 (hash 9).
  protocol::Bytes bytes{0, 0, 0, 0, 0, 3, 2, 5, 2, 0xaa, 0xbb, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9};
  auto v = decode_consumer_group_metadata_value(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->epoch, 3);
  EXPECT_EQ(v->metadata_hash, 9);
  // A known tag of the wrong size is malformed.
  protocol::Bytes bad{0, 0, 0, 0, 0, 3, 1, 0, 2, 0, 9};
  EXPECT_FALSE(decode_consumer_group_metadata_value(bad));
  // A tag larger than the bytes left.
  protocol::Bytes huge{0, 0, 0, 0, 0, 3, 1, 5, 0x7f};
  EXPECT_FALSE(decode_consumer_group_metadata_value(huge));
}

TEST(ConsumerGroupRecordsTest, PartitionMetadataRoundTrip) {
  ConsumerGroupPartitionMetadataValue v;
  v.topics.push_back({uuid(1), "a", 3});
  v.topics.push_back({uuid(2), "b", 1});
  auto bytes = encode(v);
  EXPECT_EQ(decode_consumer_group_partition_metadata_value(bytes), v);
  expect_prefixes_rejected(bytes, decode_consumer_group_partition_metadata_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_partition_metadata_value);
}

TEST(ConsumerGroupRecordsTest, MemberMetadataRoundTrip) {
  ConsumerGroupMemberMetadataValue v;
  v.instance_id = "i";
  v.client_id = "client";
  v.client_host = "/127.0.0.1";
  v.subscribed_topic_names = {"a", "b"};
  v.subscribed_topic_regex = "t.*";
  v.rebalance_timeout_ms = 30000;
  v.server_assignor = "uniform";
  auto bytes = encode(v);
  EXPECT_EQ(decode_consumer_group_member_metadata_value(bytes), v);
  expect_prefixes_rejected(bytes, decode_consumer_group_member_metadata_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_member_metadata_value);

  v.classic_member_metadata = ClassicMemberMetadata{45000, {{"range", {0, 3, 1}}, {"rr", {}}}};
  v.instance_id.reset();
  bytes = encode(v);
  EXPECT_EQ(decode_consumer_group_member_metadata_value(bytes), v);
  expect_prefixes_rejected(bytes, decode_consumer_group_member_metadata_value);
}

TEST(ConsumerGroupRecordsTest, TargetAssignmentRoundTrip) {
  ConsumerGroupTargetAssignmentMetadataValue m{12, 1'700'000'000'000};
  auto bytes = encode(m);
  EXPECT_EQ(decode_consumer_group_target_assignment_metadata_value(bytes), m);
  expect_prefixes_rejected(bytes, decode_consumer_group_target_assignment_metadata_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_target_assignment_metadata_value);

  ConsumerGroupTargetAssignmentMemberValue t;
  t.partitions[uuid(1)] = {0, 2};
  t.partitions[uuid(3)] = {};
  bytes = encode(t);
  EXPECT_EQ(decode_consumer_group_target_assignment_member_value(bytes), t);
  expect_prefixes_rejected(bytes, decode_consumer_group_target_assignment_member_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_target_assignment_member_value);
}

TEST(ConsumerGroupRecordsTest, CurrentMemberAssignmentRoundTrip) {
  ConsumerGroupCurrentMemberAssignmentValue v;
  v.member_epoch = 5;
  v.previous_member_epoch = 4;
  v.state = MemberState::UNREVOKED_PARTITIONS;
  v.assigned_partitions[uuid(1)] = {1};
  v.partitions_pending_revocation[uuid(1)] = {0, 3};
  auto bytes = encode(v);
  EXPECT_EQ(decode_consumer_group_current_member_assignment_value(bytes), v);
  expect_prefixes_rejected(bytes, decode_consumer_group_current_member_assignment_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_current_member_assignment_value);
  // An unknown member state is rejected.
  bytes[10] = 9;
  EXPECT_FALSE(decode_consumer_group_current_member_assignment_value(bytes));
}

TEST(ConsumerGroupRecordsTest, AssignmentEpochsTagIsReadAndChecked) {
  // epoch 1, previous 0, STABLE, one topic (uuid 7) with partition 4 and AssignmentEpochs [1].
  protocol::Bytes bytes{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2};
  for (int i = 0; i < 16; ++i) bytes.push_back(7);
  for (uint8_t b : {2, 0, 0, 0, 4, 1, 0, 5, 2, 0, 0, 0, 1}) bytes.push_back(b);
  bytes.push_back(1);  // no pending revocation
  bytes.push_back(0);  // no tags
  auto v = decode_consumer_group_current_member_assignment_value(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->assigned_partitions.at(uuid(7)), std::set<int32_t>{4});
}

TEST(ConsumerGroupRecordsTest, HugeCountsAreRejectedBeforeAllocating) {
  // Target assignment: one topic whose partition array claims 2^28 elements.
  protocol::Bytes bytes{0, 0, 2};
  for (int i = 0; i < 16; ++i) bytes.push_back(1);
  for (uint8_t b : {0x80, 0x80, 0x80, 0x80, 0x01}) bytes.push_back(b);
  EXPECT_FALSE(decode_consumer_group_target_assignment_member_value(bytes));
  // Null where an array is required.
  EXPECT_FALSE(decode_consumer_group_target_assignment_member_value(protocol::Bytes{0, 0, 0, 0}));
}

TEST(ConsumerGroupRecordsTest, RegularExpressionRoundTrip) {
  ConsumerGroupRegularExpressionValue v{{"ta", "tb"}, 3, 1234};
  auto bytes = encode(v);
  EXPECT_EQ(decode_consumer_group_regular_expression_value(bytes), v);
  expect_prefixes_rejected(bytes, decode_consumer_group_regular_expression_value);
  expect_other_versions_rejected(bytes, decode_consumer_group_regular_expression_value);
}

TEST(ConsumerGroupRecordsTest, MutatedBytesNeverCrash) {
  // Deterministic mutations of valid encodings: every result either decodes or is rejected.
  ConsumerGroupCurrentMemberAssignmentValue current;
  current.member_epoch = 3;
  current.assigned_partitions[uuid(1)] = {0, 1, 2};
  current.partitions_pending_revocation[uuid(2)] = {7};
  ConsumerGroupMemberMetadataValue member;
  member.client_id = "c";
  member.subscribed_topic_names = {"a", "b"};
  member.subscribed_topic_regex = "x.*";
  member.classic_member_metadata = ClassicMemberMetadata{10000, {{"range", {1, 2}}}};
  ConsumerGroupTargetAssignmentMemberValue target;
  target.partitions[uuid(4)] = {1, 5};
  std::vector<protocol::Bytes> seeds = {
      encode(current),
      encode(member),
      encode(target),
      encode(ConsumerGroupMetadataValue{4, 99}),
      encode(ConsumerGroupRegularExpressionValue{{"a"}, 1, 2}),
      encode(ConsumerGroupPartitionMetadataValue{{{uuid(1), "a", 3}}}),
      encode_consumer_group_key({ConsumerGroupRecordType::MemberMetadata, "g", "m"})};
  size_t decoded = 0;
  testing::for_each_mutation(seeds, 20000, 4242, [&](const protocol::Bytes& b) {
    decoded += decode_consumer_group_key(b).has_value();
    decoded += decode_consumer_group_metadata_value(b).has_value();
    decoded += decode_consumer_group_partition_metadata_value(b).has_value();
    decoded += decode_consumer_group_member_metadata_value(b).has_value();
    decoded += decode_consumer_group_target_assignment_metadata_value(b).has_value();
    decoded += decode_consumer_group_target_assignment_member_value(b).has_value();
    decoded += decode_consumer_group_current_member_assignment_value(b).has_value();
    decoded += decode_consumer_group_regular_expression_value(b).has_value();
  });
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace runnel::coordinator
