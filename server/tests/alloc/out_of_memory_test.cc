// Running out of memory for one request closes that connection with a logged
// reason, and only it: the broker goes on serving the others. Its own binary,
// because it replaces the global operator new[] (which takes a request's
// buffer) to fail large allocations on demand, as an address-space limit
// would.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <new>
#include <thread>

#include "protocol/messages/api_versions.h"
#include "server/server.h"
#include "server/tests/socket_test_util.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"

namespace {

// While non-zero, operator new[] of at least this many bytes throws std::bad_alloc.
std::atomic<size_t> g_fail_from{0};
std::atomic<int> g_failed{0};

void* array_alloc(std::size_t n) {
  const size_t from = g_fail_from.load(std::memory_order_relaxed);
  if (from != 0 && n >= from) {
    g_failed.fetch_add(1, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new[](std::size_t n) { return array_alloc(n); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace runnel::server {
namespace {

using protocol::Bytes;
using testing::api_versions_v0;

// Reads time out after 5 s.
struct Client : testing::TestClient {
  explicit Client(uint16_t port) : testing::TestClient(port, 5) {}
};

class OutOfMemoryTest : public ::testing::Test, protected testing::RunningServer {
 protected:
  void SetUp() override {
    config = Config::from_text("listeners=PLAINTEXT://127.0.0.1:0\n");
    handlers.add_entry(*HandlerRegistry::with_all_handlers().find(18));
    start_server();
  }
  void TearDown() override {
    g_fail_from = 0;
    stop_server();
  }
  size_t connections() {
    return on_server_thread([this] { return server->connection_count(); });
  }
  uint64_t pool_used() {
    return on_server_thread([this] { return server->memory_pool().used(); });
  }
};

TEST_F(OutOfMemoryTest, RequestBufferThatCannotBeAllocatedClosesOnlyItsConnection) {
  Client other(port);
  ASSERT_TRUE(other.connected());
  ASSERT_TRUE(other.send_all(api_versions_v0(1)));
  ASSERT_TRUE(other.read_frame().has_value());

  Client greedy(port);
  ASSERT_TRUE(greedy.connected());
  constexpr uint32_t kSize = 8u << 20;  // within socket.request.max.bytes (100 MiB)
  ::testing::internal::CaptureStderr();
  g_fail_from = 1u << 20;
  const Bytes prefix{kSize >> 24, (kSize >> 16) & 0xff, (kSize >> 8) & 0xff, kSize & 0xff};
  ASSERT_TRUE(greedy.send_all(prefix));
  // The broker closes the connection (recv sees the end) rather than leaving it open.
  const ssize_t got = greedy.recv_one();
  g_fail_from = 0;
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_GT(g_failed.load(), 0) << "the request's buffer was never asked for";
  EXPECT_EQ(got, 0) << "the connection was left open";
  EXPECT_NE(log.find("out of memory"), std::string::npos) << log;

  // Only that connection went; the reservation it held was given back.
  EXPECT_EQ(connections(), 1u);
  EXPECT_EQ(pool_used(), 0u);
  ASSERT_TRUE(other.send_all(api_versions_v0(2)));
  EXPECT_TRUE(other.read_frame().has_value());
  Client late(port);
  ASSERT_TRUE(late.send_all(api_versions_v0(3)));
  EXPECT_TRUE(late.read_frame().has_value());
}

}  // namespace
}  // namespace runnel::server
