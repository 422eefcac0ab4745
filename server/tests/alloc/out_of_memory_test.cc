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

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send_all(const Bytes& b) {
    return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
  }
  // recv(2)'s result for one byte: 0 when the broker closed the connection,
  // -1 on the 5 s timeout.
  ssize_t recv_one() {
    uint8_t b;
    return ::recv(fd_, &b, 1, 0);
  }
  std::optional<Bytes> read_frame() {
    uint8_t s[4];
    if (!read_exact(s, 4)) return std::nullopt;
    uint32_t size = (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) | (uint32_t{s[2]} << 8) | s[3];
    if (size > (1u << 20)) return std::nullopt;
    Bytes b(size);
    if (!read_exact(b.data(), size)) return std::nullopt;
    return b;
  }

 private:
  bool read_exact(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fd_;
  bool connected_ = false;
};

Bytes api_versions_v0(int32_t correlation) {
  protocol::Writer w;
  w.reserve_i32();
  protocol::RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 0;
  h.correlation_id = correlation;
  h.client_id = "oom-test";
  h.encode(w, 1);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.buf();
}

class OutOfMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config = Config::from_text("listeners=PLAINTEXT://127.0.0.1:0\n");
    handlers.add_entry(*HandlerRegistry::with_all_handlers().find(18));
    log_dir = std::make_unique<testing::TestLogDir>(config, clock);
    services = std::make_unique<testing::TestServices>(io, config, clock, log_dir->logs(), waiters);
    broker = std::make_unique<Broker>(
        services->broker(config, handlers, waiters, clock, log_dir->logs()));
    server = std::make_unique<Server>(io, *broker);
    server->start();
    port = server->endpoints().at(0).port();
    thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    g_fail_from = 0;
    asio::post(io, [this] {
      server->abort();
      waiters.notify_all();
      work.reset();
    });
    thread.join();
  }
  size_t connections() {
    std::promise<size_t> p;
    asio::post(io, [&] { p.set_value(server->connection_count()); });
    return p.get_future().get();
  }
  uint64_t pool_used() {
    std::promise<uint64_t> p;
    asio::post(io, [&] { p.set_value(server->memory_pool().used()); });
    return p.get_future().get();
  }

  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Config config;
  HandlerRegistry handlers;
  FetchWaiters waiters{io.get_executor()};
  storage::ManualClock clock;
  std::unique_ptr<testing::TestLogDir> log_dir;
  std::unique_ptr<testing::TestServices> services;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::thread thread;
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
