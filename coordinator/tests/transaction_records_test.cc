#include "coordinator/transaction_records.h"

#include <gtest/gtest.h>

#include <string>

#include "coordinator/tests/mutations.h"

namespace runnel::coordinator {
namespace {

using protocol::Bytes;

// Java's String.hashCode() over UTF-16 code units of a compiler-encoded literal.
int32_t reference_hash(std::u16string_view s) {
  uint32_t h = 0;
  for (char16_t c : s) h = h * 31u + static_cast<uint32_t>(c);
  return static_cast<int32_t>(h);
}

TxnLogValue sample_value() {
  TxnLogValue v;
  v.producer_id = 0x0102030405060708;
  v.producer_epoch = 3;
  v.transaction_timeout_ms = 60000;
  v.status = TransactionState::Ongoing;
  v.partitions = std::vector<TxnLogPartitions>{{"t", {0, 2}}, {"u", {7}}};
  v.last_update_timestamp_ms = 1000;
  v.start_timestamp_ms = 900;
  return v;
}

TEST(TransactionRecords, KeyBytes) {
  const Bytes expected = {0x00, 0x00, 0x00, 0x03, 't', 'x', '1'};
  EXPECT_EQ(encode_txn_log_key("tx1"), expected);
  auto k = decode_txn_log_key(expected);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->version, 0);
  EXPECT_EQ(k->transactional_id, "tx1");
}

TEST(TransactionRecords, KeyOfAnotherVersionIsReportedNotDecoded) {
  const Bytes other = {0x00, 0x05, 0xde, 0xad};
  auto k = decode_txn_log_key(other);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->version, 5);
  EXPECT_TRUE(k->transactional_id.empty());
}

TEST(TransactionRecords, MalformedKeys) {
  EXPECT_FALSE(decode_txn_log_key(Bytes{}));
  EXPECT_FALSE(decode_txn_log_key(Bytes{0x00}));
  EXPECT_FALSE(decode_txn_log_key(Bytes{0xff, 0xff, 0x00, 0x00}));          // negative version
  EXPECT_FALSE(decode_txn_log_key(Bytes{0x00, 0x00, 0x00, 0x05, 'a'}));     // truncated id
  EXPECT_FALSE(decode_txn_log_key(Bytes{0x00, 0x00, 0x00, 0x01, 'a', 0}));  // trailing byte
  EXPECT_FALSE(decode_txn_log_key(Bytes{0x00, 0x00, 0xff, 0xff}));          // null id
}

TEST(TransactionRecords, ValueV0Bytes) {
  const Bytes expected = {
      0x00, 0x00,                                      // version 0
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // producer id
      0x00, 0x03,                                      // epoch
      0x00, 0x00, 0xea, 0x60,                          // timeout 60000
      0x01,                                            // Ongoing
      0x00, 0x00, 0x00, 0x02,                          // two topics
      0x00, 0x01, 't',                                 //
      0x00, 0x00, 0x00, 0x02,                          // two ids
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // 0, 2
      0x00, 0x01, 'u',                                 //
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,  // [7]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // last update 1000
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x84,  // start 900
  };
  EXPECT_EQ(encode_txn_log_value(sample_value()), expected);
  auto v = decode_txn_log_value(expected);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, sample_value());
}

TEST(TransactionRecords, ValueV0NullPartitions) {
  TxnLogValue v = sample_value();
  v.status = TransactionState::Empty;
  v.partitions.reset();
  Bytes b = encode_txn_log_value(v);
  // version 2 + pid 8 + epoch 2 + timeout 4 + status 1, then the array count.
  ASSERT_EQ(b.size(), 2u + 8 + 2 + 4 + 1 + 4 + 8 + 8);
  EXPECT_EQ(Bytes(b.begin() + 17, b.begin() + 21), (Bytes{0xff, 0xff, 0xff, 0xff}));
  auto d = decode_txn_log_value(b);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->partitions);
  EXPECT_EQ(*d, v);
}

TEST(TransactionRecords, ValueV1BytesAndTags) {
  TxnLogValue v;
  v.producer_id = 1;
  v.producer_epoch = 0;
  v.transaction_timeout_ms = 1;
  v.status = TransactionState::PrepareCommit;
  v.partitions = std::vector<TxnLogPartitions>{{"a", {5}}};
  v.last_update_timestamp_ms = 2;
  v.start_timestamp_ms = 3;
  const Bytes plain = {
      0x00, 0x01,                                      // version 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // producer id
      0x00, 0x00,                                      // epoch
      0x00, 0x00, 0x00, 0x01,                          // timeout
      0x02,                                            // PrepareCommit
      0x02,                                            // compact array: one topic
      0x02, 'a',                                       // compact string
      0x02, 0x00, 0x00, 0x00, 0x05,                    // compact int32 array [5]
      0x00,                                            // topic's tagged fields
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // last update
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // start
      0x00,                                            // no tagged fields
  };
  EXPECT_EQ(encode_txn_log_value(v, 1), plain);
  ASSERT_TRUE(decode_txn_log_value(plain));
  EXPECT_EQ(*decode_txn_log_value(plain), v);

  v.previous_producer_id = 9;
  v.client_transaction_version = 2;
  Bytes tagged = encode_txn_log_value(v, 1);
  const Bytes tail = {0x02,                                        // two tags
                      0x00, 0x08, 0,    0,   0, 0, 0, 0, 0, 0x09,  // tag 0
                      0x02, 0x02, 0x00, 0x02};                     // tag 2
  ASSERT_GE(tagged.size(), tail.size());
  EXPECT_EQ(Bytes(tagged.end() - static_cast<ptrdiff_t>(tail.size()), tagged.end()), tail);
  auto d = decode_txn_log_value(tagged);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, v);
  EXPECT_EQ(d->next_producer_id, -1);

  // An unknown tag is skipped; a known tag of the wrong size is malformed.
  Bytes unknown = plain;
  unknown.back() = 0x01;
  for (uint8_t b : {0x07, 0x02, 0xaa, 0xbb}) unknown.push_back(b);
  ASSERT_TRUE(decode_txn_log_value(unknown));
  EXPECT_EQ(*decode_txn_log_value(unknown), *decode_txn_log_value(plain));
  Bytes wrong = plain;
  wrong.back() = 0x01;
  for (uint8_t b : {0x00, 0x02, 0xaa, 0xbb}) wrong.push_back(b);
  EXPECT_FALSE(decode_txn_log_value(wrong));
}

TEST(TransactionRecords, EveryTruncationIsRejected) {
  for (int16_t version : {0, 1}) {
    TxnLogValue v = sample_value();
    v.previous_producer_id = 77;
    if (version == 0) v.previous_producer_id = -1;
    const Bytes full = encode_txn_log_value(v, version);
    ASSERT_TRUE(decode_txn_log_value(full)) << version;
    for (size_t n = 0; n < full.size(); ++n) {
      Bytes cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
      EXPECT_FALSE(decode_txn_log_value(cut)) << "version " << version << " length " << n;
    }
    Bytes longer = full;
    longer.push_back(0);
    EXPECT_FALSE(decode_txn_log_value(longer)) << version;
  }
}

TEST(TransactionRecords, MalformedValues) {
  Bytes b = encode_txn_log_value(sample_value());
  Bytes bad_version = b;
  bad_version[1] = 2;
  EXPECT_FALSE(decode_txn_log_value(bad_version));
  Bytes bad_status = b;
  bad_status[16] = 8;
  EXPECT_FALSE(decode_txn_log_value(bad_status));
  bad_status[16] = static_cast<uint8_t>(-1);
  EXPECT_FALSE(decode_txn_log_value(bad_status));
  // A topic count far beyond the bytes present is rejected before allocating.
  Bytes huge_topics = b;
  huge_topics[17] = 0x7f;
  EXPECT_FALSE(decode_txn_log_value(huge_topics));
  // So is a partition id count.
  Bytes huge_ids = b;
  huge_ids[24] = 0x7f;
  EXPECT_FALSE(decode_txn_log_value(huge_ids));
  Bytes negative_ids = b;
  negative_ids[24] = 0xff;
  negative_ids[25] = 0xff;
  negative_ids[26] = 0xff;
  negative_ids[27] = 0xff;
  EXPECT_FALSE(decode_txn_log_value(negative_ids));
}

TEST(TransactionRecords, ValueOfMetadataGroupsByTopic) {
  TransactionMetadata m;
  m.transactional_id = "x";
  m.producer_id = 4;
  m.producer_epoch = 1;
  m.timeout_ms = 100;
  m.state = TransactionState::Ongoing;
  m.partitions = {{"b", 1}, {"a", 3}, {"b", 0}, {"a", 1}};
  m.start_time_ms = 10;
  m.last_update_time_ms = 20;
  TxnLogValue v = txn_log_value_of(m);
  ASSERT_TRUE(v.partitions);
  EXPECT_EQ(*v.partitions, (std::vector<TxnLogPartitions>{{"a", {1, 3}}, {"b", {0, 1}}}));
  EXPECT_EQ(v.status, TransactionState::Ongoing);
  EXPECT_EQ(v.start_timestamp_ms, 10);
  EXPECT_EQ(v.last_update_timestamp_ms, 20);
  m.state = TransactionState::Empty;
  m.partitions.clear();
  EXPECT_FALSE(txn_log_value_of(m).partitions);
  m.state = TransactionState::CompleteCommit;
  ASSERT_TRUE(txn_log_value_of(m).partitions);
  EXPECT_TRUE(txn_log_value_of(m).partitions->empty());
}

TEST(TransactionRecords, PartitionForUsesKafkasAbs) {
  for (std::u16string_view id :
       {u"my-txn", u"producer-1", u"txn-zz", u"a", u"\u00e9t\u00e9", u"polygenelubricants"}) {
    const int32_t h = reference_hash(id);
    const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    std::string utf8;
    for (char16_t c : id) {
      if (c < 0x80) {
        utf8.push_back(static_cast<char>(c));
      } else {
        utf8.push_back(static_cast<char>(0xC0 | (c >> 6)));
        utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
    }
    EXPECT_EQ(partition_for_transactional_id(utf8, 50), abs % 50);
    EXPECT_EQ(partition_for_transactional_id(utf8, 1), 0);
  }
  // A negative hash: Kafka's abs, not a sign-bit mask.
  const int32_t h = reference_hash(u"my-txn");
  ASSERT_LT(h, 0);
  EXPECT_EQ(partition_for_transactional_id("my-txn", 50), (-h) % 50);
  EXPECT_EQ(reference_hash(u"polygenelubricants"), INT32_MIN);
  EXPECT_EQ(partition_for_transactional_id("polygenelubricants", 7), 0);
}

TEST(TransactionRecords, StateNamesAndTransitions) {
  using S = TransactionState;
  for (int8_t id = 0; id <= 7; ++id) {
    auto s = transaction_state_from_id(id);
    ASSERT_TRUE(s);
    EXPECT_EQ(static_cast<int8_t>(*s), id);
    EXPECT_EQ(transaction_state_from_name(transaction_state_name(*s)), s);
  }
  EXPECT_FALSE(transaction_state_from_id(8));
  EXPECT_FALSE(transaction_state_from_name("ongoing"));  // case-sensitive, as Kafka
  EXPECT_EQ(transaction_state_name(S::PrepareEpochFence), "PrepareEpochFence");

  // The whole table: every pair, against the allowed list.
  const std::set<std::pair<S, S>> allowed = {
      {S::Empty, S::Empty},
      {S::CompleteCommit, S::Empty},
      {S::CompleteAbort, S::Empty},
      {S::Empty, S::Ongoing},
      {S::Ongoing, S::Ongoing},
      {S::CompleteCommit, S::Ongoing},
      {S::CompleteAbort, S::Ongoing},
      {S::Ongoing, S::PrepareCommit},
      {S::Ongoing, S::PrepareAbort},
      {S::PrepareEpochFence, S::PrepareAbort},
      // Transactions v2: an abort with no transaction open.
      {S::Empty, S::PrepareAbort},
      {S::CompleteCommit, S::PrepareAbort},
      {S::CompleteAbort, S::PrepareAbort},
      {S::PrepareCommit, S::CompleteCommit},
      {S::PrepareAbort, S::CompleteAbort},
      {S::Empty, S::Dead},
      {S::CompleteCommit, S::Dead},
      {S::CompleteAbort, S::Dead},
      {S::Ongoing, S::PrepareEpochFence},
  };
  for (int8_t a = 0; a <= 7; ++a)
    for (int8_t b = 0; b <= 7; ++b) {
      const auto from = static_cast<S>(a), to = static_cast<S>(b);
      EXPECT_EQ(is_valid_transition(from, to), allowed.count({from, to}) == 1)
          << transaction_state_name(from) << " -> " << transaction_state_name(to);
    }
  EXPECT_TRUE(is_epoch_exhausted(32766));
  EXPECT_FALSE(is_epoch_exhausted(32765));
}

TEST(TransactionRecords, MutatedBytesNeverCrash) {
  // Deterministic mutations of valid encodings: every result either decodes or is rejected.
  std::vector<Bytes> seeds = {encode_txn_log_value(sample_value(), 0),
                              encode_txn_log_value(sample_value(), 1), encode_txn_log_key("tx")};
  size_t decoded = 0;
  testing::for_each_mutation(seeds, 20000, 12345, [&](const Bytes& b) {
    if (decode_txn_log_value(b)) ++decoded;
    if (decode_txn_log_key(b)) ++decoded;
  });
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace runnel::coordinator
