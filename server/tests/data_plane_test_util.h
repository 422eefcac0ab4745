// In-process harness for the Produce / Fetch / ListOffsets handlers: a real
// LogManager in a temporary directory with a manual clock, the registered
// handler functions called as coroutines on an io_context, and responses
// decoded back (file ranges read with pread, as the connection would send
// them).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "protocol/messages/fetch.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/produce.h"
#include "protocol/records/record_batch.h"
#include "server/config.h"
#include "server/external_bytes.h"
#include "server/fetch_sessions.h"
#include "server/handler.h"
#include "server/tests/test_services.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/log_manager.h"

namespace runnel::server::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/runnel-dataplane-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The bytes a connection would send for `w`: the buffer with every external
// piece spliced in.
inline protocol::Bytes flatten(const protocol::Writer& w) {
  protocol::Bytes out;
  size_t at = 0;
  auto& buf = w.buf();
  for (auto& s : w.splices()) {
    out.insert(out.end(), buf.begin() + static_cast<ptrdiff_t>(at),
               buf.begin() + static_cast<ptrdiff_t>(s.at));
    at = s.at;
    if (auto* m = dynamic_cast<const MemoryBytes*>(s.bytes.get())) {
      out.insert(out.end(), m->bytes().begin(), m->bytes().end());
    } else if (auto* f = dynamic_cast<const FileSlice*>(s.bytes.get())) {
      size_t base = out.size();
      out.resize(base + f->size());
      ssize_t n = ::pread(f->fd(), out.data() + base, f->size(), static_cast<off_t>(f->position()));
      EXPECT_EQ(n, static_cast<ssize_t>(f->size()));
    } else {
      ADD_FAILURE() << "unknown external piece";
    }
  }
  out.insert(out.end(), buf.begin() + static_cast<ptrdiff_t>(at), buf.end());
  return out;
}

template <typename Resp>
struct Decoded {
  bool sent = false;  // false: the handler answered "no response"
  Resp resp;
  std::shared_ptr<protocol::Bytes> frame;  // owns the bytes records borrow
};

class DataPlane {
 public:
  explicit DataPlane(storage::LogConfig defaults = {})
      : clock_(1'700'000'000'000),
        logs_({dir_.path()}, defaults, clock_),
        handlers_(HandlerRegistry::with_all_handlers()),
        waiters_(io_.get_executor()),
        loaded_(load(logs_)),
        services_(io_, config_, clock_, logs_, waiters_),
        broker_(services_.broker(config_, handlers_, waiters_, clock_, logs_)) {}

  storage::ManualClock& clock() { return clock_; }
  storage::LogManager& logs() { return logs_; }
  FetchSessionCache& sessions() { return services_.sessions(); }
  FetchWaiters& waiters() { return waiters_; }
  asio::io_context& io() { return io_; }
  Broker& broker() { return broker_; }
  const HandlerRegistry& handlers() const { return handlers_; }

  void create_topic(const std::string& name, int32_t partitions,
                    const storage::ConfigMap& configs = {}) {
    auto r = logs_.create_topic(name, partitions, configs);
    ASSERT_TRUE(r.ok()) << r.message;
  }

  // Starts the handler for `req` as a coroutine; the result lands in *out
  // when the io_context runs it to completion.
  template <typename Resp, typename Req>
  void start(int16_t version, const Req& req, std::optional<Decoded<Resp>>* out) {
    auto body = std::make_shared<protocol::Bytes>();
    {
      protocol::Writer w;
      req.encode(w, version);
      *body = std::move(w.buf());
    }
    const HandlerEntry* entry = handlers_.find(Req::kApiKey);
    ASSERT_NE(entry, nullptr);
    asio::co_spawn(
        io_,
        [this, version, body, entry, out]() -> asio::awaitable<void> {
          protocol::RequestHeader header;
          header.request_api_key = Req::kApiKey;
          header.request_api_version = version;
          header.correlation_id = 7;
          ConnectionInfo conn;
          RequestContext ctx{header, version, "test", conn, broker_, std::span<uint8_t>(*body),
                             body};
          protocol::Reader reader(*body);
          auto result = co_await entry->invoke(ctx, reader);
          Decoded<Resp> d;
          if (result) {
            d.sent = true;
            d.frame = std::make_shared<protocol::Bytes>(flatten(*result));
            protocol::Reader r(*d.frame);
            int32_t size = r.i32();
            EXPECT_EQ(static_cast<size_t>(size), d.frame->size() - 4);
            protocol::ResponseHeader h;
            h.decode(r, protocol::response_header_version(Req::kApiKey, version));
            EXPECT_EQ(h.correlation_id, 7);
            d.resp.decode(r, version);
            EXPECT_TRUE(r.done()) << (r.ok() ? "bytes left over" : r.error());
          }
          *out = std::move(d);
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
  }

  // Runs the handler to completion.
  template <typename Resp, typename Req>
  Decoded<Resp> call(int16_t version, const Req& req) {
    std::optional<Decoded<Resp>> out;
    start<Resp>(version, req, &out);
    io_.restart();
    // Only until this request is answered: a waiting fetch started earlier
    // may still be pending.
    while (!out && io_.run_one() > 0) {
    }
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Decoded<Resp>{};
  }

  protocol::ProduceResponse produce(int16_t version, const std::string& topic, int32_t partition,
                                    const protocol::Bytes& records, int16_t acks = -1) {
    protocol::ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 1000;
    protocol::ProduceRequest::TopicProduceData t;
    t.name = topic;
    protocol::ProduceRequest::PartitionProduceData p;
    p.index = partition;
    p.records = protocol::Records::from_bytes(records);
    t.partition_data.push_back(std::move(p));
    req.topic_data.push_back(std::move(t));
    return call<protocol::ProduceResponse>(version, req).resp;
  }

 private:
  TempDir dir_;
  storage::ManualClock clock_;
  storage::LogManager logs_;
  Config config_;
  HandlerRegistry handlers_;
  asio::io_context io_;
  FetchWaiters waiters_;
  bool loaded_;
  testing::TestServices services_;
  Broker broker_;

  static bool load(storage::LogManager& logs) {
    std::string error;
    EXPECT_TRUE(logs.load(&error)) << error;
    return true;
  }
};

// A v2 batch of `n` records "v0".."v<n-1>" with timestamps ts, ts+1, ...
inline protocol::Bytes make_batch(int n, int64_t ts = 1'700'000'000'000,
                                  protocol::Compression codec = protocol::Compression::none) {
  protocol::RecordBatchBuilder b(codec);
  for (int i = 0; i < n; ++i) {
    std::string v = "v" + std::to_string(i);
    b.add(ts + i, std::nullopt,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  }
  return b.build();
}

}  // namespace runnel::server::testing
