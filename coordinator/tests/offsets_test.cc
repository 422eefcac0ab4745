#include "coordinator/offsets.h"

#include <gtest/gtest.h>

#include <string>

#include "coordinator/offsets_records.h"
#include "coordinator/transaction_records.h"

namespace runnel::coordinator {
namespace {

using protocol::Bytes;
using protocol::ErrorCode;

// Java's String.hashCode() over UTF-16 code units, computed from a UTF-16 literal encoded by
// the compiler (independent of the UTF-8 decoder under test).
int32_t reference_hash(std::u16string_view s) {
  int32_t h = 0;
  for (char16_t c : s)
    h = static_cast<int32_t>(static_cast<uint32_t>(h) * 31u + static_cast<uint32_t>(c));
  return h;
}

std::string from_u8(std::u8string_view s) { return std::string(s.begin(), s.end()); }

ErrorCode replay_all(OffsetStore& store, const std::vector<OffsetsTopicRecord>& records) {
  for (const auto& r : records) {
    std::optional<std::span<const uint8_t>> value;
    if (r.value) value = std::span<const uint8_t>(*r.value);
    ErrorCode e = store.replay(r.key, value);
    if (e != ErrorCode::NONE) return e;
  }
  return ErrorCode::NONE;
}

void commit(OffsetStore& store, std::string_view group, std::string_view topic, int32_t p,
            int64_t offset, int64_t now_ms) {
  auto prepared = store.prepare_commit(group, topic, p, offset, 3, "meta", now_ms);
  ASSERT_EQ(prepared.error, ErrorCode::NONE);
  ASSERT_EQ(prepared.records.size(), 1u);
  ASSERT_EQ(replay_all(store, prepared.records), ErrorCode::NONE);
}

TEST(OffsetsRecords, OffsetCommitKeyV1Bytes) {
  Bytes expected = {0x00, 0x01,               // version 1
                    0x00, 0x01, 'g',          // group
                    0x00, 0x02, 't',  'p',    // topic
                    0x00, 0x00, 0x01, 0x02};  // partition 258
  EXPECT_EQ(encode_offset_commit_key({"g", "tp", 258}), expected);
  auto key = decode_offsets_topic_key(expected);
  ASSERT_TRUE(key);
  EXPECT_EQ(std::get<OffsetCommitKey>(*key), (OffsetCommitKey{"g", "tp", 258}));
  // Version 0 has the same layout.
  expected[1] = 0x00;
  ASSERT_TRUE(decode_offsets_topic_key(expected));
  EXPECT_EQ(std::get<OffsetCommitKey>(*decode_offsets_topic_key(expected)).topic, "tp");
}

TEST(OffsetsRecords, GroupMetadataKeyBytes) {
  Bytes expected = {0x00, 0x02, 0x00, 0x03, 'a', 'b', 'c'};
  EXPECT_EQ(encode_group_metadata_key({"abc"}), expected);
  auto key = decode_offsets_topic_key(expected);
  ASSERT_TRUE(key);
  EXPECT_EQ(std::get<GroupMetadataKey>(*key).group, "abc");
  auto other = decode_offsets_topic_key(Bytes{0x00, 0x05, 0x01});
  ASSERT_TRUE(other);
  EXPECT_EQ(std::get<OtherKey>(*other).version, 5);
}

TEST(OffsetsRecords, OffsetCommitValueV3Bytes) {
  OffsetCommitValue v{0x0102, 7, "m", 1000, -1};
  Bytes expected = {0x00, 0x03,                                       // version 3
                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,   // offset
                    0x00, 0x00, 0x00, 0x07,                           // leader epoch
                    0x00, 0x01, 'm',                                  // metadata
                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8};  // commit timestamp
  EXPECT_EQ(encode_offset_commit_value(v), expected);
  auto decoded = decode_offset_commit_value(expected);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, v);
}

TEST(OffsetsRecords, ValueRoundTripEveryVersion) {
  const OffsetCommitValue full{123456789012LL, 42, "some metadata", 1700000000000LL,
                               1700000600000LL};
  for (int16_t version = 0; version <= 3; ++version) {
    SCOPED_TRACE(version);
    Bytes bytes = encode_offset_commit_value(full, version);
    EXPECT_EQ(bytes[0], 0);
    EXPECT_EQ(bytes[1], version);
    auto decoded = decode_offset_commit_value(bytes);
    ASSERT_TRUE(decoded);
    OffsetCommitValue want = full;
    if (version < 3) want.leader_epoch = -1;
    if (version != 1) want.expire_timestamp = -1;
    EXPECT_EQ(*decoded, want);
  }
  // Sizes: 2 + 8 + (2 + 13) + 8, plus 8 for v1's expire timestamp, plus 4 for v3's epoch.
  EXPECT_EQ(encode_offset_commit_value(full, 0).size(), 33u);
  EXPECT_EQ(encode_offset_commit_value(full, 1).size(), 41u);
  EXPECT_EQ(encode_offset_commit_value(full, 2).size(), 33u);
  EXPECT_EQ(encode_offset_commit_value(full, 3).size(), 37u);
}

TEST(OffsetsRecords, MalformedBytesRejected) {
  Bytes key = encode_offset_commit_key({"group", "topic", 1});
  for (size_t n = 0; n < key.size(); ++n)
    EXPECT_FALSE(decode_offsets_topic_key(std::span<const uint8_t>(key.data(), n))) << n;
  Bytes trailing = key;
  trailing.push_back(0);
  EXPECT_FALSE(decode_offsets_topic_key(trailing));
  EXPECT_FALSE(decode_offsets_topic_key(Bytes{0xFF, 0xFF}));  // negative version
  // A string length far larger than the bytes present.
  EXPECT_FALSE(decode_offsets_topic_key(Bytes{0x00, 0x01, 0x7F, 0xFF, 'a'}));
  EXPECT_FALSE(decode_offsets_topic_key(Bytes{0x00, 0x01, 0xFF, 0xFE}));  // negative length
  EXPECT_FALSE(decode_offsets_topic_key(Bytes{0x00, 0x01, 0xFF, 0xFF}));  // null group

  Bytes value = encode_offset_commit_value({1, 2, "meta", 3, -1});
  for (size_t n = 0; n < value.size(); ++n)
    EXPECT_FALSE(decode_offset_commit_value(std::span<const uint8_t>(value.data(), n))) << n;
  value.push_back(0);
  EXPECT_FALSE(decode_offset_commit_value(value));
  EXPECT_FALSE(decode_offset_commit_value(Bytes{0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 1}));
  Bytes garbage(64, 0xA5);
  EXPECT_FALSE(decode_offset_commit_value(garbage));
  EXPECT_FALSE(decode_offsets_topic_key(garbage));  // version 0xA5A5 is negative
}

// Kafka's Utils.abs.
int32_t kafka_abs(int32_t h) { return h == INT32_MIN ? 0 : (h < 0 ? -h : h); }

TEST(OffsetsRecords, PartitionForGroupAscii) {
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("a"), 97);
  EXPECT_EQ(java_string_hash("ab"), 97 * 31 + 98);
  EXPECT_EQ(java_string_hash("hello"), 99162322);
  EXPECT_EQ(partition_for_group("", 50), 0);
  EXPECT_EQ(partition_for_group("hello", 50), 99162322 % 50);
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Kafka's Utils.abs gives 0 for it,
  // not a negative number (as Math.abs would).
  EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(partition_for_group("polygenelubricants", 50), 0);
  // A negative hash: the absolute value, as Kafka (not the low 31 bits).
  EXPECT_EQ(java_string_hash("my-txn"), -1061187895);
  EXPECT_EQ(partition_for_group("my-txn", 50), 1061187895 % 50);
  for (std::u16string_view id : {u"my-group", u"console-consumer-12345", u"g"}) {
    std::string utf8(id.begin(), id.end());  // ASCII: one byte per unit
    EXPECT_EQ(java_string_hash(utf8), reference_hash(id));
    EXPECT_EQ(partition_for_group(utf8, 50), partition_for_transactional_id(utf8, 50));
    EXPECT_EQ(partition_for_group(utf8, 50), kafka_abs(reference_hash(id)) % 50);
  }
}

TEST(OffsetsRecords, PartitionForGroupNonAscii) {
  // Two-, three- and four-byte UTF-8 sequences; the last is a surrogate pair in UTF-16.
  const std::string utf8 = from_u8(u8"gr\u00fc\u00dfe-\u65e5\u672c-\U0001F600");
  const std::u16string_view utf16 = u"gr\u00fc\u00dfe-\u65e5\u672c-\U0001F600";
  EXPECT_EQ(utf16.size(), 11u);
  EXPECT_EQ(java_string_length(utf8), 11u);
  EXPECT_EQ(java_string_hash(utf8), reference_hash(utf16));
  for (int32_t n : {1, 7, 50})
    EXPECT_EQ(partition_for_group(utf8, n), kafka_abs(reference_hash(utf16)) % n);
  // A malformed byte counts as U+FFFD.
  EXPECT_EQ(java_string_hash("\xff"), 0xFFFD);
  EXPECT_EQ(java_string_hash("a\xc3"), 97 * 31 + 0xFFFD);
}

TEST(OffsetStore, CommitReplayFetch) {
  OffsetStore store;
  EXPECT_FALSE(store.fetch("g", "t", 0));
  auto prepared = store.prepare_commit("g", "t", 0, 100, 5, "meta", 1000);
  ASSERT_EQ(prepared.error, ErrorCode::NONE);
  // Preparing changes nothing until the records are replayed.
  EXPECT_FALSE(store.fetch("g", "t", 0));
  ASSERT_EQ(replay_all(store, prepared.records), ErrorCode::NONE);
  auto got = store.fetch("g", "t", 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (CommittedOffset{100, 5, "meta", 1000, -1}));

  commit(store, "g", "t", 0, 200, 2000);
  commit(store, "g", "a", 3, 7, 2000);
  commit(store, "other", "t", 0, 1, 2000);
  EXPECT_EQ(store.fetch("g", "t", 0)->offset, 200);
  auto all = store.fetch_all("g");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].topic, "a");
  EXPECT_EQ(all[0].partition, 3);
  EXPECT_EQ(all[1].topic, "t");
  EXPECT_EQ(all[1].committed.offset, 200);
  EXPECT_TRUE(store.fetch_all("none").empty());
  EXPECT_EQ(store.groups(), (std::vector<std::string>{"g", "other"}));
}

TEST(OffsetStore, LoadingIsReplayingOlderVersions) {
  OffsetStore store;
  Bytes key = encode_offset_commit_key({"g", "t", 1});
  Bytes v1 = encode_offset_commit_value({10, -1, "x", 500, 900}, 1);
  ASSERT_EQ(store.replay(key, std::span<const uint8_t>(v1)), ErrorCode::NONE);
  EXPECT_EQ(*store.fetch("g", "t", 1), (CommittedOffset{10, -1, "x", 500, 900}));
  Bytes v0 = encode_offset_commit_value({11, -1, "", 600, -1}, 0);
  ASSERT_EQ(store.replay(key, std::span<const uint8_t>(v0)), ErrorCode::NONE);
  EXPECT_EQ(*store.fetch("g", "t", 1), (CommittedOffset{11, -1, "", 600, -1}));
  // Group metadata records are not offsets and are ignored.
  Bytes gkey = encode_group_metadata_key({"g"});
  EXPECT_EQ(store.replay(gkey, std::nullopt), ErrorCode::NONE);
  EXPECT_TRUE(store.fetch("g", "t", 1));
}

TEST(OffsetStore, TombstoneDeletes) {
  OffsetStore store;
  commit(store, "g", "t", 0, 1, 10);
  commit(store, "g", "t", 1, 2, 10);
  Bytes key = encode_offset_commit_key({"g", "t", 0});
  EXPECT_EQ(store.replay(key, std::nullopt), ErrorCode::NONE);
  EXPECT_FALSE(store.fetch("g", "t", 0));
  EXPECT_TRUE(store.fetch("g", "t", 1));
  // A tombstone for something absent is harmless.
  EXPECT_EQ(store.replay(encode_offset_commit_key({"x", "t", 0}), std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(store.replay(key, std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(store.replay(encode_offset_commit_key({"g", "t", 1}), std::nullopt), ErrorCode::NONE);
  EXPECT_FALSE(store.has_offsets("g"));
  EXPECT_TRUE(store.groups().empty());
}

TEST(OffsetStore, CorruptRecordsLeaveStateAlone) {
  OffsetStore store;
  commit(store, "g", "t", 0, 1, 10);
  Bytes key = encode_offset_commit_key({"g", "t", 0});
  Bytes truncated_value = encode_offset_commit_value({5, 1, "m", 10, -1});
  truncated_value.pop_back();
  EXPECT_EQ(store.replay(key, std::span<const uint8_t>(truncated_value)),
            ErrorCode::CORRUPT_MESSAGE);
  Bytes garbage(3, 0x00);
  EXPECT_EQ(store.replay(garbage, std::nullopt), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(store.replay({}, std::nullopt), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(store.fetch("g", "t", 0)->offset, 1);
}

TEST(OffsetStore, DeleteGroupAndOffsets) {
  OffsetStore store;
  commit(store, "g", "t", 0, 1, 10);
  commit(store, "g", "t", 1, 2, 10);
  commit(store, "g", "u", 0, 3, 10);
  commit(store, "h", "t", 0, 4, 10);

  auto some = store.prepare_delete_offsets("g", {{"t", 1}, {"missing", 0}, {"t", 9}});
  ASSERT_EQ(some.size(), 1u);
  EXPECT_FALSE(some[0].value);
  EXPECT_EQ(some[0].key, encode_offset_commit_key({"g", "t", 1}));
  ASSERT_EQ(replay_all(store, some), ErrorCode::NONE);
  EXPECT_FALSE(store.fetch("g", "t", 1));
  EXPECT_TRUE(store.fetch("g", "t", 0));
  EXPECT_TRUE(store.prepare_delete_offsets("nope", {{"t", 0}}).empty());

  auto all = store.prepare_delete_group("g");
  EXPECT_EQ(all.size(), 2u);
  ASSERT_EQ(replay_all(store, all), ErrorCode::NONE);
  EXPECT_FALSE(store.has_offsets("g"));
  EXPECT_TRUE(store.fetch("h", "t", 0));
  EXPECT_TRUE(store.prepare_delete_group("g").empty());
}

TEST(OffsetStore, Expiry) {
  OffsetStore store;
  const int64_t retention = 1000;
  commit(store, "empty", "t", 0, 1, 100);
  commit(store, "empty", "t", 1, 1, 600);
  commit(store, "busy", "t", 0, 1, 100);
  // An old-style commit with an explicit expire timestamp.
  Bytes key = encode_offset_commit_key({"empty", "old", 0});
  Bytes v1 = encode_offset_commit_value({9, -1, "", 100, 300}, 1);
  ASSERT_EQ(store.replay(key, std::span<const uint8_t>(v1)), ErrorCode::NONE);

  auto is_empty = [](std::string_view g) { return g != "busy"; };
  EXPECT_TRUE(store.expire(299, retention, is_empty).empty());
  auto at300 = store.expire(300, retention, is_empty);
  ASSERT_EQ(at300.size(), 1u);
  EXPECT_EQ(at300[0].key, key);

  // now - commit_timestamp >= retention expires; one millisecond earlier does not.
  EXPECT_EQ(store.expire(1099, retention, is_empty).size(), 1u);
  auto at1100 = store.expire(1100, retention, is_empty);
  ASSERT_EQ(at1100.size(), 2u);
  ASSERT_EQ(replay_all(store, at1100), ErrorCode::NONE);
  EXPECT_FALSE(store.fetch("empty", "t", 0));
  EXPECT_TRUE(store.fetch("empty", "t", 1));
  EXPECT_TRUE(store.fetch("busy", "t", 0));  // a group with members keeps its offsets

  auto later = store.expire(100000, retention, is_empty);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].key, encode_offset_commit_key({"empty", "t", 1}));
  EXPECT_EQ(store.expire(100000, retention, [](std::string_view) { return true; }).size(), 2u);
}

TEST(OffsetStore, MetadataTooLarge) {
  EXPECT_EQ(check_offset_metadata_size(std::string(4096, 'x')), ErrorCode::NONE);
  EXPECT_EQ(check_offset_metadata_size(std::string(4097, 'x')),
            ErrorCode::OFFSET_METADATA_TOO_LARGE);
  // Counted in UTF-16 code units, as Java's String.length(): 2000 two-byte characters fit.
  std::string two_byte;
  for (int i = 0; i < 2100; ++i) two_byte += from_u8(u8"\u00e9");
  EXPECT_EQ(check_offset_metadata_size(two_byte), ErrorCode::NONE);
  EXPECT_EQ(check_offset_metadata_size(two_byte, 2099), ErrorCode::OFFSET_METADATA_TOO_LARGE);

  OffsetStore store(10);
  auto too_big = store.prepare_commit("g", "t", 0, 1, -1, "01234567890", 5);
  EXPECT_EQ(too_big.error, ErrorCode::OFFSET_METADATA_TOO_LARGE);
  EXPECT_TRUE(too_big.records.empty());
  auto fits = store.prepare_commit("g", "t", 0, 1, -1, "0123456789", 5);
  EXPECT_EQ(fits.error, ErrorCode::NONE);
  EXPECT_EQ(fits.records.size(), 1u);
}

}  // namespace
}  // namespace runnel::coordinator
