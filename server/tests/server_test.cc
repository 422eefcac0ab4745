// Starts the server in-process on 127.0.0.1:0 and talks to it over plain
// sockets (blocking POSIX calls with a receive timeout, so a broken server
// fails the test instead of hanging it).
#include "server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "protocol/messages/api_versions.h"
#include "server/tests/socket_test_util.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"

namespace runnel::server {
namespace {

using protocol::Bytes;
using protocol::ErrorCode;
using testing::correlation_of;

using Client = testing::TestClient;

// A request frame: size, header (v1 or v2 from the api key and version), body.
Bytes request(int16_t key, int16_t version, int32_t correlation,
              const std::function<void(protocol::Writer&)>& body = {},
              int16_t header_version = -1) {
  protocol::Writer w;
  w.reserve_i32();
  protocol::RequestHeader h;
  h.request_api_key = key;
  h.request_api_version = version;
  h.correlation_id = correlation;
  h.client_id = "server-test";
  if (header_version < 0) header_version = protocol::request_header_version(key, version);
  h.encode(w, header_version);
  if (body) body(w);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.buf();
}

Bytes api_versions_request(int16_t version, int32_t correlation, std::string name = "runnel-test",
                           std::string sw_version = "1.0") {
  return request(18, version, correlation, [&](protocol::Writer& w) {
    if (version >= 3) {
      protocol::ApiVersionsRequest r;
      r.client_software_name = name;
      r.client_software_version = sw_version;
      r.encode(w, version);
    }
  });
}

struct Decoded {
  int32_t correlation = 0;
  protocol::ApiVersionsResponse resp;
  bool ok = false;
};

Decoded decode_api_versions(const Bytes& frame, int16_t version) {
  Decoded d;
  protocol::Reader r(frame);
  d.correlation = r.i32();  // response header v0 at every version
  d.resp.decode(r, version);
  d.ok = r.done();
  return d;
}

class ServerTest : public ::testing::Test, protected testing::RunningServer {
 protected:
  void SetUp() override {
    config = Config::from_text(
        "listeners=PLAINTEXT://127.0.0.1:0\n"
        "socket.request.max.bytes=100000\n");
    // ApiVersions as registered, plus test-only handlers (below) so that the
    // connection machinery is tested independently of the real APIs.
    handlers.add_entry(*HandlerRegistry::with_all_handlers().find(18));
    add_test_handlers();
    start_server();
  }
  void TearDown() override { stop_server(); }

  // Test-only APIs: Fetch (1) waits for a notify of ("slow", 0);
  // Metadata (3) answers at once and reports that it ran; Produce (0)
  // answers nothing (like acks=0); ListOffsets (2) throws.
  void add_test_handlers() {
    static ServerTest* self;
    self = this;
    handlers.add_entry(
        {1, 0, 17, "test_slow",
         [](RequestContext& ctx, protocol::Reader&) -> asio::awaitable<HandlerResult> {
           std::vector<PartitionKey> keys{{"slow", 0}};
           co_await ctx.broker.waiters.wait_any(keys,
                                                FetchWaiters::Clock::now() + std::chrono::hours(1));
           Response w = begin_response(ctx.header.correlation_id, 0);
           finish_response(w);
           co_return w;
         }});
    handlers.add_entry(
        {3, 0, 12, "test_fast",
         [](RequestContext& ctx, protocol::Reader&) -> asio::awaitable<HandlerResult> {
           self->fast_ran.set_value();
           Response w = begin_response(ctx.header.correlation_id, 0);
           finish_response(w);
           co_return w;
         }});
    handlers.add_entry({0, 0, 11, "test_silent",
                        [](RequestContext&, protocol::Reader&) -> asio::awaitable<HandlerResult> {
                          co_return std::nullopt;
                        }});
    handlers.add_entry({2, 0, 9, "test_throws",
                        [](RequestContext&, protocol::Reader&) -> asio::awaitable<HandlerResult> {
                          throw std::runtime_error("boom");
                          co_return std::nullopt;
                        }});
  }

  void expect_api_versions_work(Client& c, int32_t correlation) {
    c.send_raw(api_versions_request(0, correlation));
    auto f = c.read_frame();
    ASSERT_TRUE(f.has_value());
    auto d = decode_api_versions(*f, 0);
    EXPECT_TRUE(d.ok);
    EXPECT_EQ(d.correlation, correlation);
    EXPECT_EQ(d.resp.error_code, ErrorCode::NONE);
  }

  std::promise<void> fast_ran;
};

const protocol::ApiVersionsResponse::ApiVersion* find_key(const protocol::ApiVersionsResponse& r,
                                                          int16_t key) {
  for (auto& k : r.api_keys)
    if (k.api_key == key) return &k;
  return nullptr;
}

TEST_F(ServerTest, ApiVersionsAtEveryVersion) {
  Client c(port);
  ASSERT_TRUE(c.connected());
  for (int16_t v = 0; v <= 5; ++v) {
    c.send_raw(api_versions_request(v, 100 + v));
    auto f = c.read_frame();
    ASSERT_TRUE(f.has_value()) << "v" << v;
    auto d = decode_api_versions(*f, v);
    EXPECT_TRUE(d.ok) << "v" << v;
    EXPECT_EQ(d.correlation, 100 + v);
    EXPECT_EQ(d.resp.error_code, ErrorCode::NONE);
    auto* k = find_key(d.resp, 18);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->min_version, 0);
    EXPECT_EQ(k->max_version, 5);
    // Exactly the registered handlers, with their declared ranges.
    EXPECT_EQ(d.resp.api_keys.size(), handlers.all().size());
    for (auto& e : handlers.all()) {
      auto* got = find_key(d.resp, e.api_key);
      ASSERT_NE(got, nullptr) << e.api_key;
      EXPECT_EQ(got->min_version, e.min_version);
      EXPECT_EQ(got->max_version, e.max_version);
    }
  }
}

TEST_F(ServerTest, ApiVersionsUnsupportedVersionAnswersInV0Layout) {
  Client c(port);
  c.send_raw(request(18, 99, 5, [](protocol::Writer& w) {
    w.uvarint(0);  // whatever a future version sends; not parsed
  }));
  auto f = c.read_frame();
  ASSERT_TRUE(f.has_value());
  auto d = decode_api_versions(*f, 0);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.correlation, 5);
  EXPECT_EQ(d.resp.error_code, ErrorCode::UNSUPPORTED_VERSION);
  // Only ApiVersions' own range, as Kafka answers (KIP-511).
  EXPECT_EQ(d.resp.api_keys.size(), 1u);
  auto* k = find_key(d.resp, 18);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->max_version, 5);
  // The connection stays usable.
  expect_api_versions_work(c, 6);
}

TEST_F(ServerTest, ApiVersionsInvalidSoftwareName) {
  Client c(port);
  c.send_raw(api_versions_request(3, 8, "bad name!", "1.0"));
  auto f = c.read_frame();
  ASSERT_TRUE(f.has_value());
  auto d = decode_api_versions(*f, 3);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.resp.error_code, ErrorCode::INVALID_REQUEST);
}

// v5 (KIP-1242): a client naming another cluster or node is told to rebootstrap, with no API
// list; naming this one, or none, gets the usual answer.
TEST_F(ServerTest, ApiVersionsV5ChecksTheClusterAndNodeTheClientMeant) {
  Client c(port);
  auto ask = [&](std::optional<std::string> cluster_id, int32_t node_id, int32_t correlation) {
    c.send_raw(request(18, 5, correlation, [&](protocol::Writer& w) {
      protocol::ApiVersionsRequest r;
      r.client_software_name = "runnel-test";
      r.client_software_version = "1.0";
      r.cluster_id = cluster_id;
      r.node_id = node_id;
      r.encode(w, 5);
    }));
    auto f = c.read_frame();
    EXPECT_TRUE(f.has_value());
    auto d = f ? decode_api_versions(*f, 5) : Decoded{};
    EXPECT_TRUE(d.ok);
    EXPECT_EQ(d.correlation, correlation);
    return d.resp;
  };
  const std::string cluster = broker->cluster_id;
  const int32_t node = broker->node_id;
  auto resp = ask(std::nullopt, -1, 1);
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.api_keys.size(), handlers.all().size());
  resp = ask(cluster, node, 2);
  EXPECT_EQ(resp.error_code, ErrorCode::NONE);
  EXPECT_EQ(resp.api_keys.size(), handlers.all().size());
  for (auto [cluster_id, node_id] : {std::pair{std::string("other-cluster"), node},
                                     std::pair{cluster, node + 1}, std::pair{cluster, -1}}) {
    resp = ask(cluster_id, node_id, 3);
    EXPECT_EQ(resp.error_code, ErrorCode::REBOOTSTRAP_REQUIRED) << cluster_id << " " << node_id;
    EXPECT_TRUE(resp.api_keys.empty());
  }
  expect_api_versions_work(c, 4);
}

TEST_F(ServerTest, PipelinedResponsesKeepRequestOrder) {
  Client c(port);
  Bytes both = api_versions_request(0, 1);
  Bytes second = api_versions_request(3, 2);
  both.insert(both.end(), second.begin(), second.end());
  c.send_raw(both);
  auto f1 = c.read_frame();
  auto f2 = c.read_frame();
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(decode_api_versions(*f1, 0).correlation, 1);
  EXPECT_EQ(decode_api_versions(*f2, 3).correlation, 2);
}

TEST_F(ServerTest, SlowRequestDoesNotBlockProcessingButOrderHolds) {
  Client c(port);
  c.send_raw(request(1, 4, 10));  // waits for a notify
  c.send_raw(request(3, 1, 11));  // answers at once
  // The second request is processed while the first one waits...
  ASSERT_EQ(fast_ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  asio::post(io, [this] { waiters.notify("slow", 0); });
  // ...but the responses leave in request order.
  auto f1 = c.read_frame();
  auto f2 = c.read_frame();
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(correlation_of(*f1), 10);
  EXPECT_EQ(correlation_of(*f2), 11);
}

TEST_F(ServerTest, NoResponseSlotIsSkippedInOrder) {
  Client c(port);
  c.send_raw(request(0, 3, 20));
  c.send_raw(api_versions_request(1, 21));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(correlation_of(*f), 21);
}

TEST_F(ServerTest, NegativeAndOversizedFramesCloseOnlyThatConnection) {
  Client bystander(port);
  expect_api_versions_work(bystander, 1);

  Client negative(port);
  negative.send_raw({0xff, 0xff, 0xff, 0xfe});
  EXPECT_TRUE(negative.closed_by_server());

  Client oversized(port);
  oversized.send_raw({0x00, 0x01, 0x86, 0xa1});  // 100001 > socket.request.max.bytes
  EXPECT_TRUE(oversized.closed_by_server());

  expect_api_versions_work(bystander, 2);
  Client fresh(port);
  expect_api_versions_work(fresh, 3);
}

TEST_F(ServerTest, BadRequestsCloseTheConnection) {
  {
    Client c(port);
    c.send_raw(request(999, 0, 1, {}, 1));  // unknown api key
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(port);
    c.send_raw(request(9, 0, 1));  // a known api without a handler here
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(port);
    c.send_raw(request(1, 99, 1));  // unsupported version of another api
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(port);
    c.send_raw(request(18, 3, 1, [](protocol::Writer& w) { w.uvarint(200); }));  // truncated
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(port);
    c.send_raw(request(2, 1, 1));  // the handler throws
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(port);
    c.send_raw({0, 0, 0, 2, 0, 18});  // shorter than a header
    EXPECT_TRUE(c.closed_by_server());
  }
  Client c(port);
  expect_api_versions_work(c, 2);
}

// Kafka's request parser ignores bytes after a body that decoded, and
// librdkafka 2.x relies on it (a 4-byte topic count placeholder in Metadata
// v9+): such a request is answered, and the connection keeps serving.
TEST_F(ServerTest, BytesAfterADecodedBodyAreIgnored) {
  Client c(port);
  c.send_raw(request(18, 0, 41, [](protocol::Writer& w) { w.i8(1); }));
  auto frame = c.read_frame();
  ASSERT_TRUE(frame.has_value());
  auto d = decode_api_versions(*frame, 0);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.correlation, 41);
  EXPECT_EQ(d.resp.error_code, ErrorCode::NONE);
  c.send_raw(request(18, 3, 42, [](protocol::Writer& w) {
    protocol::ApiVersionsRequest r;
    r.client_software_name = "trailing";
    r.client_software_version = "1.0";
    r.encode(w, 3);
    w.i32(0);
  }));
  frame = c.read_frame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(correlation_of(*frame), 42);
  expect_api_versions_work(c, 43);
}

TEST(HandlerRegistry, ApiVersionsIsRegisteredWithItsDeclaredRange) {
  auto r = HandlerRegistry::with_all_handlers();
  auto* e = r.find(18);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->min_version, 0);
  EXPECT_EQ(e->max_version, 5);
  EXPECT_THROW(r.add_entry(*e), std::logic_error);
}

}  // namespace
}  // namespace runnel::server
