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
// Memory is bounded per connection and broker-wide. Per connection, the
// bytes of requests in flight plus the in-memory bytes of responses not yet
// written (file ranges sent with sendfile do not count) may not exceed
// max_inflight_bytes, nor the requests max_inflight_requests, and no new
// request is read while the responses not yet written hold
// max_unsent_response_bytes or more (a client that pipelines requests and
// never reads holds about that much, not max_inflight_requests responses);
// at a bound the reader stops reading (TCP then pushes back on the client).
// A single request is always admitted when nothing else is in flight.
// Running out of memory (std::bad_alloc) while reading or handling a request
// closes that connection with a logged reason; the others go on. Broker-wide,
// the same bytes of every connection are reserved in one RequestMemoryPool
// (queued.max.request.bytes). A frame's buffer is taken at its full size but
// not zero-filled, so the pages of a large request sent in part that the
// client never wrote are not touched (not resident).
//
// Idleness (connections.max.idle.ms): the clock restarts on every read or
// write that moves bytes. A connection is closed when it stays idle for that
// long, unless the broker is the one holding it up (a handler still running,
// e.g. a long poll, or the reader waiting for broker-wide memory). So a
// client that stops half-way through a request, or that never reads its
// responses, is closed after connections.max.idle.ms.
//
// Everything runs on the broker's single io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "server/dispatch.h"
#include "server/handler.h"

namespace runnel::server {

struct ConnectionLimits {
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
  int32_t max_inflight_requests = 500;    // queued.max.requests (per connection)
  // Requests in flight plus unsent responses, per connection
  // (socket.request.max.bytes: one connection may buffer one largest request).
  int64_t max_inflight_bytes = 104857600;
  // In-memory bytes of responses not yet written, per connection: at or above
  // it the reader stops until the client has taken some (Kafka mutes a
  // channel while its one response is in flight).
  int64_t max_unsent_response_bytes = kDefaultMaxUnsentResponseBytes;
  static constexpr int64_t kDefaultMaxUnsentResponseBytes = 1 << 20;
  std::chrono::milliseconds idle_timeout{600000};  // connections.max.idle.ms
};

// The broker-wide byte budget for requests being read or in flight and for
// responses waiting to be written (queued.max.request.bytes; a capacity <= 0
// means no broker-wide cap). As in Kafka's memory pool, a reservation
// succeeds while anything is left, so usage may overshoot the capacity by
// at most one request; responses are added without asking (the request that
// produced them was already admitted). Readers that find the pool exhausted
// wait and are woken when bytes are released. Single-threaded, no I/O.
class RequestMemoryPool {
 public:
  explicit RequestMemoryPool(int64_t capacity) : capacity_(capacity) {}

  int64_t capacity() const { return capacity_; }
  bool bounded() const { return capacity_ > 0; }
  uint64_t used() const { return used_; }
  bool exhausted() const { return bounded() && used_ >= static_cast<uint64_t>(capacity_); }

  // Reserves n bytes unless the pool is exhausted.
  bool try_reserve(size_t n);
  // Reserves n bytes even beyond the capacity.
  void force_reserve(size_t n) { used_ += n; }
  // Gives n bytes back (n must have been reserved) and, once the pool is no
  // longer exhausted, calls and forgets every waiter.
  void release(size_t n);

  // `wake` is called once, on the first release that leaves room; a second
  // wait with the same key replaces the first.
  void wait(uint64_t key, std::function<void()> wake) { waiters_[key] = std::move(wake); }
  void cancel_wait(uint64_t key) { waiters_.erase(key); }
  size_t waiting() const { return waiters_.size(); }

 private:
  int64_t capacity_;
  uint64_t used_ = 0;
  std::map<uint64_t, std::function<void()>> waiters_;
};

// In-memory bytes a response holds until it is written: the encoder's
// buffer and MemoryBytes pieces (file ranges are not in memory).
size_t response_memory_bytes(const Response& r);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `pool` must outlive the connection's open life; it is not used after
  // close().
  Connection(asio::ip::tcp::socket socket, Broker& broker, ConnectionInfo info,
             ConnectionLimits limits, RequestMemoryPool& pool);

  // Starts the reader, writer and idle watchdog.
  void start();
  // Graceful: read no more requests; close once every in-flight response
  // has been written.
  void stop_reading();
  // Abort: close the socket now; in-flight handlers finish into the void.
  void close();

  bool closed() const { return closed_; }
  size_t inflight() const { return slots_.size(); }
  // Bytes this connection holds: requests in flight or being read plus
  // unsent responses.
  size_t inflight_bytes() const { return inflight_bytes_; }
  // The in-memory bytes of its responses not yet written.
  size_t unsent_response_bytes() const { return unsent_response_bytes_; }
  const ConnectionInfo& info() const { return info_; }
  // Called once, when the connection is closed.
  std::function<void(uint64_t id)> on_closed;

 private:
  struct Slot {
    bool ready = false;
    std::optional<Response> response;
    size_t request_bytes = 0;
    size_t response_bytes = 0;
  };

  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> idle_loop();
  // A handler that may suspend runs as a coroutine of its own; a plain one runs at once.
  asio::awaitable<void> run_handler(std::shared_ptr<Slot> slot, std::shared_ptr<FrameBytes> frame,
                                    DecodedHeader decoded);
  void run_plain_handler(Slot& slot, const std::shared_ptr<FrameBytes>& frame,
                         const DecodedHeader& decoded);
  // What the handler's answer (or `failure`, the reason it threw) does to the connection.
  void finish_handler(Slot& slot, const std::string& failure);
  // Returns false when the connection must be closed.
  bool accept_frame(std::shared_ptr<FrameBytes> frame);
  // Waits until a request of `size` bytes fits the connection's and the
  // broker's bounds and reserves it; false when the connection closed.
  asio::awaitable<bool> admit(size_t size);
  // Reads a frame of `size` bytes into one buffer taken at its full size
  // (admit() reserved it) and not zero-filled.
  asio::awaitable<std::shared_ptr<FrameBytes>> read_frame(size_t size);
  void hold(size_t n);     // counts n bytes against both bounds
  void release(size_t n);  // gives n bytes back to both bounds
  // Writes `buffers` (consumed on the way), suspending only when the socket
  // is full.
  asio::awaitable<void> write_buffers(std::vector<asio::const_buffer>& buffers);
  asio::awaitable<void> send(const Response& w);
  asio::awaitable<void> send_file(const class FileSlice& f);
  void set_cork(bool on);  // TCP_CORK
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  void fail(const std::string& reason);  // log + close
  // The same where memory may have run out: closes even when logging fails.
  void fail_noexcept(const char* reason) noexcept;

  asio::ip::tcp::socket socket_;
  Broker& broker_;
  ConnectionInfo info_;
  ConnectionLimits limits_;
  RequestMemoryPool& pool_;
  std::deque<std::shared_ptr<Slot>> slots_;
  size_t inflight_bytes_ = 0;
  size_t unsent_response_bytes_ = 0;
  asio::steady_timer reader_wake_;
  asio::steady_timer writer_wake_;
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool reading_done_ = false;
  bool waiting_for_pool_ = false;
  bool closed_ = false;
};

}  // namespace runnel::server
