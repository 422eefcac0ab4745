// Topic changes do their file work off the event loop: while a CreateTopics'
// files are being written (held at its first write by a write fault hook),
// another connection's ApiVersions is answered, the topic is not visible, and
// a second create of the same name answers TOPIC_ALREADY_EXISTS. Measured by
// the order of events, not by time (the figures are in docs/benchmarks.md).
#include "server/topic_work.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "protocol/messages/api_keys.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/headers.h"
#include "server/log_service.h"
#include "server/server.h"
#include "server/tests/socket_test_util.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::server {
namespace {

using protocol::Bytes;
using protocol::ErrorCode;
namespace fs = std::filesystem;

using Socket = testing::TestClient;

template <typename Req>
Bytes request(int16_t version, int32_t correlation, const Req& body) {
  protocol::Writer w;
  w.reserve_i32();
  protocol::RequestHeader h;
  h.request_api_key = Req::kApiKey;
  h.request_api_version = version;
  h.correlation_id = correlation;
  h.client_id = "topic-work-test";
  h.encode(w, protocol::request_header_version(Req::kApiKey, version));
  body.encode(w, version);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.buf();
}

template <typename Resp>
Resp response(Socket& s, int16_t api_key, int16_t version, int32_t correlation) {
  auto frame = s.read_frame();
  EXPECT_TRUE(frame.has_value()) << "no answer to api key " << api_key;
  Resp resp;
  if (!frame) return resp;
  protocol::Reader r(*frame);
  protocol::ResponseHeader h;
  h.decode(r, protocol::response_header_version(api_key, version));
  EXPECT_EQ(h.correlation_id, correlation);
  resp.decode(r, version);
  EXPECT_TRUE(r.done());
  return resp;
}

protocol::CreateTopicsRequest create_request(const std::string& name, int32_t partitions) {
  protocol::CreateTopicsRequest req;
  protocol::CreateTopicsRequest::CreatableTopic t;
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  req.topics.push_back(t);
  return req;
}

class TopicWorkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("runnel-topic-work-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    config = Config::from_text("listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=" + dir.string() +
                               "\nauto.create.topics.enable=false\n");
    storage = std::make_unique<LogService>(io, config, clock);
    storage->open();
    handlers = HandlerRegistry::with_all_handlers();
    services = std::make_unique<testing::TestServices>(io, config, clock, storage->logs(), waiters);
    broker = std::make_unique<Broker>(
        services->broker(config, handlers, waiters, clock, storage->logs()));
    broker->topic_work = &storage->topic_work();
    server = std::make_unique<Server>(io, *broker);
    server->start();
    port = server->endpoints().at(0).port();
    thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    storage::sys::set_fault_plan(nullptr);
    std::promise<void> closed;
    asio::post(io, [&] {
      server->abort();
      storage->close();
      work.reset();
      closed.set_value();
    });
    closed.get_future().wait();
    thread.join();
    server.reset();
    storage.reset();
    fs::remove_all(dir);
  }

  // Holds the first file write made after it is called until `release` is set.
  void hold_first_write() {
    hold.ops = storage::sys::op_bit(storage::sys::Op::write);
    hold.match = [this](storage::sys::Op, std::string_view) {
      if (!held.exchange(true)) {
        writing.set_value();
        release.get_future().wait();
      }
      return false;  // counted as no fault: the write goes on
    };
    storage::sys::set_fault_plan(&hold);
  }

  // Runs `f` on the event loop and waits for it.
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&] { task(); });
    return result.get();
  }

  fs::path dir;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Config config;
  storage::ManualClock clock;
  std::unique_ptr<LogService> storage;
  HandlerRegistry handlers;
  FetchWaiters waiters{io.get_executor()};
  std::unique_ptr<testing::TestServices> services;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> held{false};
  storage::sys::FaultPlan hold;
  std::promise<void> writing;
  std::promise<void> release;
};

TEST_F(TopicWorkTest, OtherClientsAreServedWhileATopicsFilesAreWritten) {
  Socket admin(port), other(port);
  ASSERT_TRUE(admin.connected());
  ASSERT_TRUE(other.connected());

  hold_first_write();
  admin.send_raw(request(7, 1, create_request("big", 50)));
  ASSERT_EQ(writing.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);

  // The create is inside its file work: the event loop still answers.
  other.send_raw(request(0, 2, protocol::ApiVersionsRequest{}));
  auto versions = response<protocol::ApiVersionsResponse>(other, 18, 0, 2);
  EXPECT_EQ(versions.error_code, ErrorCode::NONE);
  // Not visible half-made, and the name is taken.
  EXPECT_EQ(on_loop([&] { return storage->logs().topic("big"); }), nullptr);
  other.send_raw(request(7, 3, create_request("big", 1)));
  auto second = response<protocol::CreateTopicsResponse>(other, 19, 7, 3);
  ASSERT_EQ(second.topics.size(), 1u);
  EXPECT_EQ(second.topics[0].error_code, ErrorCode::TOPIC_ALREADY_EXISTS);
  // A delete of the topic being created finds no topic and harms nothing.
  protocol::DeleteTopicsRequest del;
  del.topic_names = {"big"};
  other.send_raw(request(5, 4, del));
  auto deleted = response<protocol::DeleteTopicsResponse>(other, 20, 5, 4);
  ASSERT_EQ(deleted.responses.size(), 1u);
  EXPECT_EQ(deleted.responses[0].error_code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);

  release.set_value();
  auto created = response<protocol::CreateTopicsResponse>(admin, 19, 7, 1);
  ASSERT_EQ(created.topics.size(), 1u);
  EXPECT_EQ(created.topics[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(created.topics[0].num_partitions, 50);
  EXPECT_EQ(on_loop([&] {
              const auto* info = storage->logs().topic("big");
              return info ? info->partitions : 0;
            }),
            50);
  EXPECT_TRUE(fs::exists(dir / ".runnel-topics" / "big"));
  EXPECT_TRUE(fs::exists(dir / "big-49"));

  // Deleting: gone from the answer's point of view at once, files removed.
  del.topic_names = {"big"};
  admin.send_raw(request(5, 5, del));
  auto gone = response<protocol::DeleteTopicsResponse>(admin, 20, 5, 5);
  ASSERT_EQ(gone.responses.size(), 1u);
  EXPECT_EQ(gone.responses[0].error_code, ErrorCode::NONE);
  EXPECT_EQ(on_loop([&] { return storage->logs().topic("big"); }), nullptr);
  EXPECT_FALSE(fs::exists(dir / ".runnel-topics" / "big"));
  EXPECT_FALSE(fs::exists(dir / "big-0"));
}

TEST_F(TopicWorkTest, ShutdownDuringACreateLeavesTheTopicWhole) {
  Socket admin(port);
  ASSERT_TRUE(admin.connected());
  hold_first_write();
  admin.send_raw(request(7, 1, create_request("late", 20)));
  ASSERT_EQ(writing.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // Closing waits for the file work; the topic it committed is closed with the others.
  std::thread releaser([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.set_value();
  });
  EXPECT_TRUE(on_loop([&] { return storage->close(); }));
  releaser.join();
  EXPECT_TRUE(fs::exists(dir / ".runnel-cleanshutdown"));

  storage::LogManager reopened({dir.string()}, log_defaults(config), clock);
  std::string err;
  ASSERT_TRUE(reopened.load(&err)) << err;
  ASSERT_NE(reopened.topic("late"), nullptr);
  EXPECT_EQ(reopened.topic("late")->partitions, 20);
  EXPECT_EQ(reopened.recovery_results().size(), 20u);
}

}  // namespace
}  // namespace runnel::server
