// The broker-wide request memory pool, the in-memory size of responses, and
// a client that never reads its responses against an in-process server: the
// broker stops reading it at the per-connection bound and keeps serving
// others.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "protocol/messages/api_versions.h"
#include "server/external_bytes.h"
#include "server/server.h"
#include "server/tests/socket_test_util.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"

namespace runnel::server {
namespace {

using protocol::Bytes;
using testing::api_versions_v0;
using testing::correlation_of;

TEST(RequestMemoryPool, UnboundedAlwaysReserves) {
  RequestMemoryPool pool(-1);
  EXPECT_FALSE(pool.bounded());
  EXPECT_TRUE(pool.try_reserve(size_t{1} << 40));
  EXPECT_FALSE(pool.exhausted());
  pool.release(size_t{1} << 40);
  EXPECT_EQ(pool.used(), 0u);
  RequestMemoryPool zero(0);
  EXPECT_FALSE(zero.bounded());
  EXPECT_TRUE(zero.try_reserve(5));
}

TEST(RequestMemoryPool, ReservesWhileRoomIsLeftAndOvershootsByOne) {
  RequestMemoryPool pool(100);
  EXPECT_TRUE(pool.try_reserve(60));
  EXPECT_TRUE(pool.try_reserve(60));  // 60 < 100: admitted, now over the cap
  EXPECT_EQ(pool.used(), 120u);
  EXPECT_TRUE(pool.exhausted());
  EXPECT_FALSE(pool.try_reserve(1));
  EXPECT_EQ(pool.used(), 120u);
  pool.release(60);
  EXPECT_FALSE(pool.exhausted());
  EXPECT_TRUE(pool.try_reserve(1));
  EXPECT_EQ(pool.used(), 61u);
}

TEST(RequestMemoryPool, ForcedReservationsCountAgainstTheCap) {
  RequestMemoryPool pool(100);
  pool.force_reserve(150);
  EXPECT_TRUE(pool.exhausted());
  EXPECT_FALSE(pool.try_reserve(1));
  pool.release(150);
  EXPECT_TRUE(pool.try_reserve(1));
}

TEST(RequestMemoryPool, WaitersAreWokenOnceWhenRoomReturns) {
  RequestMemoryPool pool(10);
  ASSERT_TRUE(pool.try_reserve(20));
  int a = 0, b = 0, c = 0;
  pool.wait(1, [&] { ++a; });
  pool.wait(2, [&] { ++b; });
  pool.wait(3, [&] { ++c; });
  pool.wait(2, [&] { b += 10; });  // replaces the first wait of key 2
  pool.cancel_wait(3);
  EXPECT_EQ(pool.waiting(), 2u);
  pool.release(5);  // 15 used: still exhausted, nobody woken
  EXPECT_EQ(a + b + c, 0);
  pool.release(10);  // 5 used: room
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 10);
  EXPECT_EQ(c, 0);
  EXPECT_EQ(pool.waiting(), 0u);
  pool.release(5);
  EXPECT_EQ(a, 1);
}

TEST(RequestMemoryPool, ReleasingMoreThanUsedStopsAtZero) {
  RequestMemoryPool pool(10);
  ASSERT_TRUE(pool.try_reserve(3));
  pool.release(7);
  EXPECT_EQ(pool.used(), 0u);
}

TEST(ResponseMemoryBytes, CountsBufferAndMemoryPiecesNotFileRanges) {
  Response w;
  w.i32(7);
  w.external(std::make_shared<MemoryBytes>(Bytes(1000, 1)));
  w.external(std::make_shared<FileSlice>(-1, nullptr, 0, size_t{1} << 20));
  w.i32(8);
  size_t n = response_memory_bytes(w);
  EXPECT_GE(n, 1008u);
  EXPECT_EQ(n, w.buf().capacity() + 1000);
}

// ---- against an in-process server ----

// Small kernel buffers: what the broker has not read stays small.
struct Client : testing::TestClient {
  explicit Client(uint16_t port) : testing::TestClient(port, 10, 4096) {}
};

constexpr int32_t kMaxRequestBytes = 50000;

class ConnectionLimitsTest : public ::testing::Test, protected testing::RunningServer {
 protected:
  void SetUp() override {
    config = Config::from_text(
        "listeners=PLAINTEXT://127.0.0.1:0\n"
        "socket.request.max.bytes=" +
        std::to_string(kMaxRequestBytes) +
        "\n"
        "socket.send.buffer.bytes=16384\n"
        "socket.receive.buffer.bytes=16384\n");
    if (all_apis)
      handlers = HandlerRegistry::with_all_handlers();  // ApiVersions answers list them all
    else
      handlers.add_entry(*HandlerRegistry::with_all_handlers().find(18));
    start_server();
  }
  void TearDown() override { stop_server(); }
  // The pool's usage, read on the broker's thread.
  uint64_t pool_used() {
    return on_server_thread([this] { return server->memory_pool().used(); });
  }

  bool all_apis = false;
};

TEST_F(ConnectionLimitsTest, ClientThatNeverReadsIsBoundedAndOthersAreServed) {
  Client slow(port);
  ASSERT_TRUE(slow.connected());
  // A send that cannot progress for a second means the broker stopped
  // reading this socket (and the kernel buffers are full).
  timeval tv{1, 0};
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one_response = 0;
  {
    // The size of one answer, to state the bound in responses.
    Client probe(port);
    ASSERT_TRUE(probe.send_all(api_versions_v0(1)));
    auto f = probe.read_frame();
    ASSERT_TRUE(f.has_value());
    one_response = static_cast<int>(f->size());
  }
  int32_t sent = 0;
  const int32_t kMaxSends = 2000000;
  while (sent < kMaxSends && slow.send_all(api_versions_v0(sent))) ++sent;
  ASSERT_LT(sent, kMaxSends) << "the broker never stopped reading";
  // More answers than fit the bound were asked for: the rest wait in TCP.
  ASSERT_GT(static_cast<int64_t>(sent) * one_response, int64_t{kMaxRequestBytes});

  uint64_t used = pool_used();
  std::printf("client that never reads: %d requests sent, %llu bytes held by the broker\n", sent,
              static_cast<unsigned long long>(used));
  // Within the per-connection bound plus the last admitted request and its answer.
  EXPECT_LE(used, static_cast<uint64_t>(kMaxRequestBytes + 4 * one_response));
  EXPECT_GT(used, static_cast<uint64_t>(kMaxRequestBytes / 2));

  // Another client is served meanwhile.
  Client other(port);
  ASSERT_TRUE(other.send_all(api_versions_v0(424242)));
  auto f = other.read_frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(correlation_of(*f), 424242);

  // Once the slow client reads, every answer arrives, in order. The last
  // send may have gone out in part, so its answer is not awaited.
  ::shutdown(slow.fd(), SHUT_WR);
  for (int32_t i = 0; i < sent; ++i) {
    auto r = slow.read_frame();
    ASSERT_TRUE(r.has_value()) << "answer " << i << " of " << sent;
    ASSERT_EQ(correlation_of(*r), i);
  }
}

// The operator's case: a client pipelines requests whose answers are larger
// than the requests and never reads. What the broker holds for it is bounded
// by the bytes of its unsent responses, not by queued.max.requests answers.
class UnsentResponsesTest : public ConnectionLimitsTest {
 protected:
  UnsentResponsesTest() { all_apis = true; }
};

TEST_F(UnsentResponsesTest, UnsentResponsesAreBoundedInBytes) {
  constexpr int64_t kResponseBound = 4096;
  asio::post(io,
             [this] { server->connection_limits().max_unsent_response_bytes = kResponseBound; });
  pool_used();  // the change is made on the broker's thread before the next connection
  int one_response = 0;
  {
    Client probe(port);
    ASSERT_TRUE(probe.send_all(api_versions_v0(1)));
    auto f = probe.read_frame();
    ASSERT_TRUE(f.has_value());
    one_response = static_cast<int>(f->size());
  }
  const int request_size = static_cast<int>(api_versions_v0(0).size());
  Client slow(port);
  ASSERT_TRUE(slow.connected());
  timeval tv{1, 0};
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // A send that cannot progress for a second means the broker stopped reading
  // (and the kernel buffers are full). The requests are far smaller than
  // socket.request.max.bytes (50,000).
  const int32_t kMaxSends = 200000;
  int32_t sent = 0;
  while (sent < kMaxSends && slow.send_all(api_versions_v0(sent))) ++sent;
  ASSERT_LT(sent, kMaxSends) << "the broker never stopped reading";
  ASSERT_GT(static_cast<int64_t>(sent) * one_response, 4 * kResponseBound)
      << "too few requests were sent to test the bound";
  const uint64_t used = pool_used();
  std::printf("%d requests pipelined, %d bytes per answer: %llu bytes held by the broker\n", sent,
              one_response, static_cast<unsigned long long>(used));
  // Requests are small, answers large: at most the bound, plus the answer
  // that crossed it (an encoder's buffer may be up to twice its bytes), plus
  // the requests waiting in their slots.
  ASSERT_GT(one_response, 4 * request_size);
  const int answers_held = static_cast<int>(kResponseBound / one_response) + 2;
  EXPECT_LE(used,
            static_cast<uint64_t>(kResponseBound + 2 * one_response + answers_held * request_size));
  EXPECT_GE(used, static_cast<uint64_t>(kResponseBound));

  // Others are served meanwhile, and the slow client gets every answer in order once it reads.
  Client other(port);
  ASSERT_TRUE(other.send_all(api_versions_v0(424242)));
  auto f = other.read_frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(correlation_of(*f), 424242);
  ::shutdown(slow.fd(), SHUT_WR);
  for (int32_t i = 0; i < sent; ++i) {
    auto r = slow.read_frame();
    ASSERT_TRUE(r.has_value()) << "answer " << i << " of " << sent;
    ASSERT_EQ(correlation_of(*r), i);
  }
}

}  // namespace
}  // namespace runnel::server
