#include "server/fetch_sessions.h"

#include <gtest/gtest.h>

#include <limits>

namespace runnel::server {
namespace {

using protocol::ErrorCode;

SessionPartitionKey key(const std::string& topic, int32_t p) { return {{}, topic, p}; }

CachedPartition cached(const std::string& topic, int32_t p, int64_t fetch_offset) {
  CachedPartition c;
  c.key = key(topic, p);
  c.params.fetch_offset = fetch_offset;
  c.params.max_bytes = 1024;
  return c;
}

using Updates = std::vector<std::pair<SessionPartitionKey, SessionFetchParams>>;

TEST(FetchSessionCache, CreateGivesDistinctNonZeroIdsAndEpochOne) {
  FetchSessionCache cache(10, 120'000, 42);
  auto a = cache.create({cached("t", 0, 0)}, false, 1000);
  auto b = cache.create({cached("t", 1, 0)}, false, 1000);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id(), 0);
  EXPECT_NE(a->id(), b->id());
  EXPECT_EQ(a->epoch(), 1);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get(a->id()), a);
}

TEST(FetchSessionCache, ZeroSlotsCreatesNothing) {
  FetchSessionCache cache(0);
  EXPECT_EQ(cache.create({cached("t", 0, 0)}, false, 0), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(FetchSessionCache, IncrementalChecksIdAndEpochAndAdvancesEpoch) {
  FetchSessionCache cache(10, 120'000, 1);
  auto s = cache.create({cached("t", 0, 5)}, false, 0);
  Updates none;
  std::vector<SessionPartitionKey> forget;

  auto r = cache.incremental(s->id() + 1, 1, false, none, forget, 10);
  EXPECT_EQ(r.error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);

  r = cache.incremental(s->id(), 2, false, none, forget, 10);
  EXPECT_EQ(r.error, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
  EXPECT_EQ(s->epoch(), 1);  // a failed request changes nothing

  r = cache.incremental(s->id(), 1, true, none, forget, 10);
  EXPECT_EQ(r.error, ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR);

  r = cache.incremental(s->id(), 1, false, none, forget, 10);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.session, s);
  EXPECT_EQ(s->epoch(), 2);
  EXPECT_EQ(s->last_used_ms(), 10);

  // Replaying the same epoch is refused.
  r = cache.incremental(s->id(), 1, false, none, forget, 11);
  EXPECT_EQ(r.error, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
}

TEST(FetchSessionCache, IncrementalAddsUpdatesAndForgetsPartitions) {
  FetchSessionCache cache(10, 120'000, 1);
  auto s = cache.create({cached("a", 0, 5), cached("a", 1, 7)}, false, 0);
  SessionFetchParams moved;
  moved.fetch_offset = 9;
  moved.max_bytes = 100;
  SessionFetchParams added;
  added.fetch_offset = 0;
  Updates updates{{key("a", 0), moved}, {key("b", 3), added}};
  std::vector<SessionPartitionKey> forget{key("a", 1), key("zzz", 0)};
  auto r = cache.incremental(s->id(), 1, false, updates, forget, 5);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  ASSERT_EQ(s->partitions().size(), 2u);
  EXPECT_EQ(s->partitions()[0].key, key("a", 0));
  EXPECT_EQ(s->partitions()[0].params.fetch_offset, 9);
  EXPECT_EQ(s->partitions()[0].params.max_bytes, 100);
  EXPECT_EQ(s->partitions()[1].key, key("b", 3));
}

TEST(FetchSessionCache, FullCacheEvictsIdleThenLeastRecentlyUsed) {
  FetchSessionCache cache(2, 1000, 3);
  auto a = cache.create({}, false, 0);
  auto b = cache.create({}, false, 100);
  Updates none;
  std::vector<SessionPartitionKey> forget;
  ASSERT_EQ(cache.incremental(a->id(), 1, false, none, forget, 200).error, ErrorCode::NONE);
  // Full, nothing idle for 1000 ms: the least recently used (b) goes.
  auto c = cache.create({}, false, 300);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.get(a->id()), nullptr);
  EXPECT_EQ(cache.get(b->id()), nullptr);
  EXPECT_NE(cache.get(c->id()), nullptr);
  // Later both are idle: expire() drops them.
  EXPECT_EQ(cache.expire(1300), 2u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(FetchSessionCache, RemoveCloses) {
  FetchSessionCache cache(10);
  auto a = cache.create({}, true, 0);
  EXPECT_TRUE(a->uses_topic_ids());
  EXPECT_TRUE(cache.remove(a->id()));
  EXPECT_FALSE(cache.remove(a->id()));
  EXPECT_EQ(cache.get(a->id()), nullptr);
}

TEST(FetchSessionCache, EpochWrapsSkippingZero) {
  EXPECT_EQ(next_fetch_epoch(1), 2);
  EXPECT_EQ(next_fetch_epoch(std::numeric_limits<int32_t>::max()), 1);
}

TEST(CachedPartition, RespondsOnlyWhenSomethingChanged) {
  CachedPartition p = cached("t", 0, 0);
  EXPECT_TRUE(p.update_response(ErrorCode::NONE, false, 10, 10, 0));  // first time: new values
  EXPECT_FALSE(p.update_response(ErrorCode::NONE, false, 10, 10, 0));
  EXPECT_TRUE(p.update_response(ErrorCode::NONE, true, 10, 10, 0));   // records
  EXPECT_TRUE(p.update_response(ErrorCode::NONE, false, 11, 10, 0));  // high watermark
  EXPECT_TRUE(p.update_response(ErrorCode::NONE, false, 11, 11, 0));  // last stable offset
  EXPECT_TRUE(p.update_response(ErrorCode::NONE, false, 11, 11, 3));  // log start offset
  EXPECT_TRUE(p.update_response(ErrorCode::OFFSET_OUT_OF_RANGE, false, 11, 11, 3));
  EXPECT_FALSE(p.update_response(ErrorCode::NONE, false, 11, 11, 3));
}

}  // namespace
}  // namespace runnel::server
