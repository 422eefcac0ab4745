// One client connection: a reader coroutine and a writer coroutine.
//
// The reader reads frames (4-byte big-endian size, then the request),
// checks the size against socket.request.max.bytes before allocating,
// decodes the request header, appends a response slot to a FIFO and starts
// the handler as its own coroutine, so requests on one connection are
// processed concurrently (a long-poll Fetch does not hold up a Produce). The
// writer sends the slot at the head of the FIFO once its handler finished:
// responses leave in request order. A handler that answers nothing (acks=0)
// leaves an empty slot, dropped in order.
//
// Memory is bounded per connection: the reader stops reading (TCP then
// pushes back on the client) while the number of requests in flight reaches
// max_inflight_requests or their bytes would exceed max_inflight_bytes (a
// single request is always admitted when nothing else is in flight).
//
// Everything runs on the broker's single io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "server/dispatch.h"
#include "server/handler.h"

namespace runnel::server {

struct ConnectionLimits {
  int32_t max_request_bytes = 104857600;           // socket.request.max.bytes
  int32_t max_inflight_requests = 500;             // queued.max.requests (per connection)
  int64_t max_inflight_bytes = 104857600;          // queued.max.request.bytes (per connection)
  std::chrono::milliseconds idle_timeout{600000};  // connections.max.idle.ms
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, Broker& broker, ConnectionInfo info,
             ConnectionLimits limits);

  // Starts the reader, writer and idle watchdog.
  void start();
  // Graceful: read no more requests; close once every in-flight response
  // has been written.
  void stop_reading();
  // Abort: close the socket now; in-flight handlers finish into the void.
  void close();

  bool closed() const { return closed_; }
  size_t inflight() const { return slots_.size(); }
  const ConnectionInfo& info() const { return info_; }
  // Called once, when the connection is closed.
  std::function<void(uint64_t id)> on_closed;

 private:
  struct Slot {
    bool ready = false;
    std::optional<Response> response;
    size_t request_bytes = 0;
  };

  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> idle_loop();
  asio::awaitable<void> run_handler(std::shared_ptr<Slot> slot,
                                    std::shared_ptr<const protocol::Bytes> frame,
                                    DecodedHeader decoded);
  // Returns false when the connection must be closed.
  bool accept_frame(std::shared_ptr<const protocol::Bytes> frame);
  asio::awaitable<void> send(const Response& w);
  asio::awaitable<void> send_file(const class FileSlice& f);
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  void fail(const std::string& reason);  // log + close

  asio::ip::tcp::socket socket_;
  Broker& broker_;
  ConnectionInfo info_;
  ConnectionLimits limits_;
  std::deque<std::shared_ptr<Slot>> slots_;
  size_t inflight_bytes_ = 0;
  asio::steady_timer reader_wake_;
  asio::steady_timer writer_wake_;
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool reading_done_ = false;
  bool closed_ = false;
};

}  // namespace runnel::server
