// The request handler framework.
//
// One handler per API, in server/handlers/<api_name>.cc. A handler file
// declares its version range ONCE, in the handler's type, and registers it:
//
//   using HeartbeatHandler = ApiHandler<protocol::HeartbeatRequest, 0, 4>;
//
//   protocol::HeartbeatResponse handle_heartbeat(RequestContext& ctx,
//                                                const protocol::HeartbeatRequest& req) {
//     protocol::HeartbeatResponse resp;
//     ...
//     return resp;
//   }
//
//   RUNNEL_REGISTER_HANDLER(heartbeat, HeartbeatHandler, handle_heartbeat)
//
// The first macro argument must be the file's stem: the build generates
// register_all_handlers() calling runnel_register_handler_<stem>() for every
// file in server/handlers/, so adding a handler is adding one file (a wrong
// stem is a link error, never a silently missing API). Dispatch and the
// ApiVersions answer both read the resulting HandlerRegistry.
//
// A handler runs on the broker's single event-loop thread. It takes the
// decoded request and returns the response struct; the framework decodes
// before and encodes after (at the request's version, with its header). One
// that may suspend (a long-poll Fetch, JoinGroup and SyncGroup waiting for the
// group, topic changes waiting for their file work) is a coroutine, taking the
// request by value and returning asio::awaitable<Response>, and other requests
// on the same connection keep being processed meanwhile — responses still
// leave in request order. Every other handler is a plain function; the
// connection calls it directly, with no coroutine frame. A handler that needs
// the frame itself (Produce answers nothing for acks=0; Fetch splices file
// bytes into its answer) takes (RequestContext&, protocol::Reader& body) and
// returns HandlerResult (std::nullopt: "send no response"), as a plain
// function or as asio::awaitable<HandlerResult>. Throwing MalformedRequest
// (decode_request does it) closes the connection with the reason logged, as
// Kafka does for a request it cannot parse; any other exception is logged and
// closes the connection too.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "protocol/messages/api_keys.h"
#include "protocol/messages/headers.h"
#include "protocol/wire.h"

namespace runnel::storage {
class LogManager;
class Clock;
}  // namespace runnel::storage

namespace runnel::server {

class Config;
class FetchWaiters;
class FetchSessionCache;
class GroupService;
class TxnService;
class Features;
class TopicWork;
class HandlerRegistry;

// The services a handler may use. Each is a narrow, separately owned piece;
// a handler takes the ones it needs. Tests build every one of them too
// (server/tests/test_services.h), so no handler checks for a missing one.
struct Broker {
  const Config& config;
  const HandlerRegistry& handlers;
  FetchWaiters& waiters;
  const storage::Clock& clock;
  storage::LogManager& logs;
  FetchSessionCache& fetch_sessions;
  GroupService& groups;
  TxnService& txns;
  Features& features;
  std::string cluster_id;
  int32_t node_id = 1;
  TopicWork* topic_work = nullptr;  // null: the file work of topic changes runs inline (tests)
  // Listener name → port actually bound (filled by Server::start; matters
  // when the configured port is 0).
  std::map<std::string, uint16_t, std::less<>> bound_ports = {};
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string listener;  // "PLAINTEXT"
  std::string peer;      // "127.0.0.1:54321"
};

struct RequestContext {
  const protocol::RequestHeader& header;
  int16_t api_version;
  std::string_view client_id;
  const ConnectionInfo& connection;
  Broker& broker;
  // The whole request frame (without the size prefix), this request's alone.
  // The body Reader and decoded `records` borrow from it; a handler that
  // keeps such bytes past its return holds `frame_owner`.
  std::span<uint8_t> frame;
  std::shared_ptr<const void> frame_owner;

  // The writable view of `part` (bytes borrowed from the frame, e.g. a
  // decoded records field), so that a handler may change them in place (the
  // base offset of a produced batch) instead of copying them; empty when
  // `part` is not inside the frame.
  std::span<uint8_t> writable(std::span<const uint8_t> part) const {
    if (part.empty() || frame.empty() || part.data() < frame.data() ||
        part.data() + part.size() > frame.data() + frame.size())
      return {};
    return frame.subspan(static_cast<size_t>(part.data() - frame.data()), part.size());
  }
};

// The bytes of one request frame. They are not zero-filled: the reader
// writes every byte before a handler sees them, and pages of a large frame
// that a client never sent are not touched.
class FrameBytes {
 public:
  explicit FrameBytes(size_t size) : data_(new uint8_t[size]), size_(size) {}
  uint8_t* data() { return data_.get(); }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_.get(), size_}; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_;
};

// A complete response frame: size prefix + response header + body (+ splices).
using Response = protocol::Writer;
using HandlerResult = std::optional<Response>;
using HandlerFn = asio::awaitable<HandlerResult> (*)(RequestContext&, protocol::Reader&);
using PlainHandlerFn = HandlerResult (*)(RequestContext&, protocol::Reader&);

// A request that cannot be parsed: the connection is closed with this reason.
class MalformedRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The one declaration of an API's handled version range.
template <typename Request, int16_t MinVersion, int16_t MaxVersion>
struct ApiHandler {
  using request_type = Request;
  static constexpr int16_t api_key = Request::kApiKey;
  static constexpr int16_t min_version = MinVersion;
  static constexpr int16_t max_version = MaxVersion;
  static_assert(MinVersion >= Request::kMinVersion, "below the schema's versions");
  static_assert(MaxVersion <= Request::kMaxVersion, "beyond the schema's versions");
  static_assert(MinVersion <= MaxVersion);
};

struct HandlerEntry {
  int16_t api_key = 0;
  int16_t min_version = 0;
  int16_t max_version = 0;
  std::string_view name;
  HandlerFn fn = nullptr;          // a handler that may suspend, or
  PlainHandlerFn plain = nullptr;  // one that never does

  // Runs the handler (tests; the connection calls `plain` without a coroutine).
  asio::awaitable<HandlerResult> invoke(RequestContext& ctx, protocol::Reader& body) const {
    if (plain) co_return plain(ctx, body);
    co_return co_await fn(ctx, body);
  }
};

class HandlerRegistry {
 public:
  // The registry of every handler file in server/handlers/.
  static HandlerRegistry with_all_handlers();

  // Registers `Fn` as H's handler; see RUNNEL_REGISTER_HANDLER for the forms it may take.
  template <typename H, auto Fn>
  void add(std::string_view name);
  void add_entry(HandlerEntry e);  // throws std::logic_error on a duplicate key

  const HandlerEntry* find(int16_t api_key) const;
  // Ascending api key.
  std::vector<HandlerEntry> all() const;

 private:
  std::map<int16_t, HandlerEntry> entries_;
};

// Decodes the body into H's request type at ctx.api_version; throws
// MalformedRequest when a field is missing or invalid. Bytes after a body that
// decoded are ignored, as Kafka's request parser ignores them: librdkafka 2.x
// sends a 4-byte topic count placeholder in Metadata v9+ "all topics" requests
// and relies on it.
template <typename H>
typename H::request_type decode_request(const RequestContext& ctx, protocol::Reader& body) {
  typename H::request_type req;
  req.decode(body, ctx.api_version);
  if (!body.ok()) {
    auto info = protocol::api_info(ctx.header.request_api_key);
    throw MalformedRequest(std::string("cannot parse ") + (info ? info->name : "request") + " v" +
                           std::to_string(ctx.api_version) + ": " + body.error());
  }
  return req;
}

// Begins a response frame: size placeholder and response header.
Response begin_response(int32_t correlation_id, int16_t header_version);
// Patches the size prefix; throws std::length_error beyond 2 GiB.
void finish_response(Response& w);

// Encodes `resp` as the answer to ctx's request (header version chosen from
// the api key and version).
template <typename Resp>
HandlerResult encode_response(const RequestContext& ctx, const Resp& resp) {
  Response w = begin_response(
      ctx.header.correlation_id,
      protocol::response_header_version(ctx.header.request_api_key, ctx.api_version));
  resp.encode(w, ctx.api_version);
  finish_response(w);
  return w;
}

// A handler that answers with a response struct, wrapped into the frame-level forms: the
// request is decoded before the handler runs and its answer encoded after.
template <typename H, auto Fn>
HandlerResult answer_now(RequestContext& ctx, protocol::Reader& body) {
  return encode_response(ctx, Fn(ctx, decode_request<H>(ctx, body)));
}
template <typename H, auto Fn>
asio::awaitable<HandlerResult> answer_later(RequestContext& ctx, protocol::Reader& body) {
  auto req = decode_request<H>(ctx, body);
  co_return encode_response(ctx, co_await Fn(ctx, std::move(req)));
}

template <typename H, auto Fn>
void HandlerRegistry::add(std::string_view name) {
  using Req = typename H::request_type;
  using Resp = typename Req::Response;
  using F = decltype(Fn);
  HandlerEntry e{H::api_key, H::min_version, H::max_version, name, nullptr, nullptr};
  if constexpr (std::is_same_v<F, Resp (*)(RequestContext&, const Req&)>) {
    e.plain = &answer_now<H, Fn>;
  } else if constexpr (std::is_same_v<F, asio::awaitable<Resp> (*)(RequestContext&, Req)>) {
    e.fn = &answer_later<H, Fn>;
  } else if constexpr (std::is_same_v<F, PlainHandlerFn>) {
    e.plain = Fn;
  } else {
    static_assert(std::is_same_v<F, HandlerFn>, "not one of the handler forms");
    e.fn = Fn;
  }
  add_entry(e);
}

}  // namespace runnel::server

#define RUNNEL_REGISTER_HANDLER(stem, HandlerType, function)                         \
  void runnel_register_handler_##stem(::runnel::server::HandlerRegistry& registry) { \
    registry.add<HandlerType, &function>(#stem);                                     \
  }
