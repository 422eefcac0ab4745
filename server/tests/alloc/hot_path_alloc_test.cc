// The data path makes no allocation per record: the number of heap
// allocations made while a Produce or a Fetch handler runs is the same for a
// batch of 10 records as for one of 2,000 (and batch validation allocates
// nothing). The in-memory offset and time indexes grow (amortised) with the
// bytes of a segment, one entry per index.interval.bytes, not per record;
// that interval is set out of reach here so that only the per-record
// behaviour is measured. Its own binary, because it replaces the global
// operator new to count.
#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <new>
#include <vector>

#include "protocol/messages/fetch.h"
#include "protocol/messages/produce.h"
#include "protocol/records/record_batch.h"
#include "server/tests/data_plane_test_util.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
std::atomic<uint64_t> g_allocated_bytes{0};

void* counted_alloc(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_allocated_bytes.fetch_add(n, std::memory_order_relaxed);
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  return p;
}

void* counted_aligned_alloc(std::size_t n, std::align_val_t a) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_allocated_bytes.fetch_add(n, std::memory_order_relaxed);
  }
  const auto align = static_cast<std::size_t>(a);
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace runnel::server {
namespace {

using testing::DataPlane;

storage::LogConfig no_index_entries() {
  storage::LogConfig c;
  c.index_interval_bytes = INT32_MAX;
  return c;
}

// Counts the allocations made while `fn` runs (their bytes in g_allocated_bytes).
template <typename Fn>
uint64_t allocations_during(Fn&& fn) {
  g_allocations = 0;
  g_allocated_bytes = 0;
  g_counting = true;
  fn();
  g_counting = false;
  return g_allocations.load();
}

// A batch of `n` records of 100-byte values, as a producer sends them.
protocol::Bytes batch_of(int n) {
  std::string value(100, 'x');
  protocol::RecordBatchBuilder b;
  for (int i = 0; i < n; ++i)
    b.add(1'700'000'000'000 + i, std::nullopt,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  return b.build();
}

// The encoded request, ready for the handler (encoded before counting).
template <typename Req>
std::shared_ptr<protocol::Bytes> encode(const Req& req, int16_t version) {
  protocol::Writer w;
  req.encode(w, version);
  return std::make_shared<protocol::Bytes>(std::move(w.buf()));
}

// Runs the handler for `key` on `body` and counts only the handler's own
// allocations (its coroutine frame, the decoded request, the storage call and
// the encoded response); the response is dropped unread.
uint64_t handler_allocations(DataPlane& dp, int16_t key, int16_t version,
                             const std::shared_ptr<protocol::Bytes>& body) {
  const HandlerEntry* entry = dp.handlers().find(key);
  EXPECT_NE(entry, nullptr);
  if (!entry) return 0;
  protocol::RequestHeader header;
  header.request_api_key = key;
  header.request_api_version = version;
  header.correlation_id = 1;
  ConnectionInfo conn;
  bool answered = false;
  uint64_t n = allocations_during([&] {
    asio::co_spawn(
        dp.io(),
        [&]() -> asio::awaitable<void> {
          RequestContext ctx{header, version, "test", conn, dp.broker(), std::span<uint8_t>(*body),
                             body};
          protocol::Reader reader(*body);
          auto result = co_await entry->invoke(ctx, reader);
          answered = result.has_value();
        },
        asio::detached);
    dp.io().restart();
    while (!answered && dp.io().run_one() > 0) {
    }
  });
  EXPECT_TRUE(answered);
  return n;
}

std::shared_ptr<protocol::Bytes> produce_request(int records) {
  protocol::ProduceRequest req;
  req.acks = 1;
  req.timeout_ms = 1000;
  protocol::ProduceRequest::TopicProduceData t;
  t.name = "t";
  protocol::ProduceRequest::PartitionProduceData p;
  p.index = 0;
  p.records = protocol::Records::from_bytes(batch_of(records));
  t.partition_data.push_back(std::move(p));
  req.topic_data.push_back(std::move(t));
  return encode(req, 9);
}

std::shared_ptr<protocol::Bytes> fetch_request(int64_t offset, int16_t version = 11,
                                               int32_t max_bytes = 50 << 20) {
  protocol::FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = 0;
  req.min_bytes = 1;
  req.max_bytes = max_bytes;
  req.session_id = 0;
  req.session_epoch = -1;
  protocol::FetchRequest::FetchTopic t;
  t.topic = "t";
  protocol::FetchRequest::FetchPartition p;
  p.partition = 0;
  p.fetch_offset = offset;
  p.partition_max_bytes = 10 << 20;
  p.log_start_offset = -1;
  p.current_leader_epoch = -1;
  p.last_fetched_epoch = -1;
  t.partitions.push_back(std::move(p));
  req.topics.push_back(std::move(t));
  return encode(req, version);
}

TEST(HotPathAllocations, ValidatingABatchAllocatesNothing) {
  auto batch = batch_of(2000);
  uint64_t n = allocations_during(
      [&] { EXPECT_EQ(protocol::validate_batch(batch), protocol::ErrorCode::NONE); });
  EXPECT_EQ(n, 0u);
}

TEST(HotPathAllocations, ProduceAllocatesTheSameForTenOrTwoThousandRecords) {
  DataPlane dp(no_index_entries());
  dp.create_topic("t", 1);
  // The first append opens the segment's files and state: not measured.
  handler_allocations(dp, protocol::ProduceRequest::kApiKey, 9, produce_request(10));
  const uint64_t small =
      handler_allocations(dp, protocol::ProduceRequest::kApiKey, 9, produce_request(10));
  const uint64_t large =
      handler_allocations(dp, protocol::ProduceRequest::kApiKey, 9, produce_request(2000));
  const uint64_t small_again =
      handler_allocations(dp, protocol::ProduceRequest::kApiKey, 9, produce_request(10));
  EXPECT_GT(small, 0u);  // the counter sees the handler at all
  EXPECT_EQ(large, small);
  EXPECT_EQ(small_again, small);
  EXPECT_EQ(dp.logs().get("t", 0)->log_end_offset(), 10 + 10 + 2000 + 10);
}

TEST(HotPathAllocations, FetchAllocatesTheSameForTenOrTwoThousandRecords) {
  DataPlane dp(no_index_entries());
  dp.create_topic("t", 1);
  dp.produce(9, "t", 0, batch_of(10));                                                // offsets 0-9
  dp.produce(9, "t", 0, batch_of(2000));                                              // 10-2009
  dp.produce(9, "t", 0, batch_of(10));                                                // 2010-2019
  handler_allocations(dp, protocol::FetchRequest::kApiKey, 11, fetch_request(2010));  // warm-up
  const uint64_t small =
      handler_allocations(dp, protocol::FetchRequest::kApiKey, 11, fetch_request(2010));
  const uint64_t large =
      handler_allocations(dp, protocol::FetchRequest::kApiKey, 11, fetch_request(10));
  EXPECT_GT(small, 0u);
  EXPECT_EQ(large, small);
}

// An old client's Fetch of a compressed batch that expands far past its
// max_bytes: down-conversion holds the batch decompressed (as validation
// does), and writes only the messages that fit, never the whole expansion.
TEST(HotPathAllocations, DownConversionWritesNoMoreThanTheFetchTakes) {
  DataPlane dp;
  dp.create_topic("t", 1);
  protocol::RecordBatchBuilder b(protocol::Compression::zstd);
  const std::vector<uint8_t> zeros(16 << 10, 0);
  for (int i = 0; i < 1024; ++i)
    b.add(1'700'000'000'000 + i, std::nullopt, std::span<const uint8_t>(zeros));  // 16 MiB
  const protocol::Bytes batch = b.build();
  dp.produce(9, "t", 0, batch);
  allocations_during([&] { EXPECT_TRUE(protocol::RecordBatchView::open(batch)); });
  const uint64_t decompressing = g_allocated_bytes.load();
  handler_allocations(dp, protocol::FetchRequest::kApiKey, 3, fetch_request(0, 3, 1024));
  const uint64_t fetching = g_allocated_bytes.load();
  EXPECT_LT(fetching, decompressing + (1u << 20))
      << "decompressing alone: " << decompressing << " bytes";
}

}  // namespace
}  // namespace runnel::server
