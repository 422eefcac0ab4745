#include "server/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "server/external_bytes.h"
#include "server/log.h"

namespace runnel::server {

namespace {

using asio::use_awaitable;

constexpr auto kForever = std::chrono::steady_clock::time_point::max();

// Errors that are a normal end of a connection, not worth a log line.
bool is_normal_close(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::error::not_connected ||
         ec == asio::error::shut_down;
}

asio::awaitable<void> wait_on(asio::steady_timer& t) {
  std::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace

bool RequestMemoryPool::try_reserve(size_t n) {
  if (exhausted()) return false;
  used_ += n;
  return true;
}

void RequestMemoryPool::release(size_t n) {
  used_ -= std::min<uint64_t>(n, used_);
  if (exhausted() || waiters_.empty()) return;
  auto woken = std::move(waiters_);
  waiters_.clear();
  for (auto& [key, wake] : woken) wake();
}

size_t response_memory_bytes(const Response& r) {
  size_t n = r.buf().capacity();
  for (const auto& splice : r.splices())
    if (auto* mem = dynamic_cast<const MemoryBytes*>(splice.bytes.get())) n += mem->size();
  return n;
}

Connection::Connection(asio::ip::tcp::socket socket, Broker& broker, ConnectionInfo info,
                       ConnectionLimits limits, RequestMemoryPool& pool)
    : socket_(std::move(socket)),
      broker_(broker),
      info_(std::move(info)),
      limits_(limits),
      pool_(pool),
      reader_wake_(socket_.get_executor(), kForever),
      writer_wake_(socket_.get_executor(), kForever),
      idle_timer_(socket_.get_executor()) {
  touch();
}

void Connection::start() {
  auto self = shared_from_this();
  auto ex = socket_.get_executor();
  std::error_code ec;
  // sendfile(2) is called directly on the descriptor; it must not block.
  socket_.native_non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  asio::co_spawn(
      ex, [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      ex, [self]() { return self->write_loop(); }, asio::detached);
  asio::co_spawn(
      ex, [self]() { return self->idle_loop(); }, asio::detached);
}

void Connection::stop_reading() {
  if (reading_done_ || closed_) return;
  reading_done_ = true;
  std::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_receive, ec);
  reader_wake_.cancel();
  writer_wake_.cancel();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  reading_done_ = true;
  // The pool outlives only the open connection: give everything back now.
  pool_.cancel_wait(info_.id);
  pool_.release(inflight_bytes_);
  inflight_bytes_ = 0;
  unsent_response_bytes_ = 0;
  std::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  socket_.close(ec);
  reader_wake_.cancel();
  writer_wake_.cancel();
  idle_timer_.cancel();
  if (on_closed) {
    auto cb = std::move(on_closed);
    on_closed = nullptr;
    cb(info_.id);
  }
}

void Connection::fail(const std::string& reason) {
  log_warn("closing connection ", info_.id, " from ", info_.peer, ": ", reason);
  close();
}

void Connection::fail_noexcept(const char* reason) noexcept {
  if (closed_) return;
  try {
    fail(reason);
  } catch (...) {
    // Not even the log line could be allocated: close without it.
    close();
  }
}

asio::awaitable<void> Connection::read_loop() {
  try {
    while (!reading_done_) {
      uint8_t size_buf[4];
      co_await asio::async_read(socket_, asio::buffer(size_buf), use_awaitable);
      touch();
      int32_t size =
          static_cast<int32_t>((uint32_t{size_buf[0]} << 24) | (uint32_t{size_buf[1]} << 16) |
                               (uint32_t{size_buf[2]} << 8) | uint32_t{size_buf[3]});
      if (size < 0) {
        fail("negative request size " + std::to_string(size));
        co_return;
      }
      if (size > limits_.max_request_bytes) {
        fail("request size " + std::to_string(size) + " exceeds socket.request.max.bytes (" +
             std::to_string(limits_.max_request_bytes) + ")");
        co_return;
      }
      // Back-pressure: wait for room before allocating the frame.
      if (!co_await admit(static_cast<size_t>(size))) co_return;
      auto frame = co_await read_frame(static_cast<size_t>(size));
      if (closed_) co_return;
      if (!accept_frame(std::move(frame))) co_return;
    }
  } catch (const std::system_error& e) {
    if (!closed_ && !is_normal_close(e.code()))
      log_warn("connection ", info_.id, " from ", info_.peer, ": read failed: ", e.what());
  } catch (const std::bad_alloc&) {
    // Out of memory for this request (e.g. under an address-space limit): this connection
    // goes, the others are served.
    fail_noexcept("out of memory reading a request");
    co_return;
  } catch (const std::exception& e) {
    fail_noexcept(e.what());
    co_return;
  }
  // End of input: finish what is in flight, then close (see write_loop).
  reading_done_ = true;
  writer_wake_.cancel();
}

asio::awaitable<bool> Connection::admit(size_t size) {
  for (;;) {
    if (closed_ || reading_done_) co_return false;
    const bool room =
        slots_.empty() ||
        (slots_.size() < static_cast<size_t>(limits_.max_inflight_requests) &&
         inflight_bytes_ + size <= static_cast<size_t>(limits_.max_inflight_bytes) &&
         unsent_response_bytes_ < static_cast<size_t>(limits_.max_unsent_response_bytes));
    if (room && pool_.try_reserve(size)) {
      inflight_bytes_ += size;
      co_return true;
    }
    // Waiting for the broker's memory is not this client's idleness;
    // waiting for its own responses to drain is (see idle_loop).
    waiting_for_pool_ = room;
    if (room) pool_.wait(info_.id, [this] { reader_wake_.cancel(); });
    co_await wait_on(reader_wake_);
    if (waiting_for_pool_) {
      waiting_for_pool_ = false;
      if (!closed_) pool_.cancel_wait(info_.id);
      touch();
    }
  }
}

asio::awaitable<std::shared_ptr<FrameBytes>> Connection::read_frame(size_t size) {
  auto frame = std::make_shared<FrameBytes>(size);
  size_t got = 0;
  while (got < size) {
    size_t n = co_await socket_.async_read_some(asio::buffer(frame->data() + got, size - got),
                                                use_awaitable);
    got += n;
    touch();
  }
  co_return frame;
}

void Connection::hold(size_t n) {
  inflight_bytes_ += n;
  pool_.force_reserve(n);
}

void Connection::release(size_t n) {
  n = std::min(n, inflight_bytes_);
  inflight_bytes_ -= n;
  pool_.release(n);
}

bool Connection::accept_frame(std::shared_ptr<FrameBytes> frame) {
  DecodedHeader d = decode_request_header(frame->span(), broker_.handlers);
  if (!d.error.empty()) {
    fail(d.error);
    return false;
  }
  const int16_t key = d.header.request_api_key;
  const int16_t version = d.header.request_api_version;
  if (!d.version_supported) {
    if (key == static_cast<int16_t>(protocol::ApiKey::ApiVersions) && d.handler) {
      auto slot = std::make_shared<Slot>();
      slot->ready = true;
      slot->request_bytes = frame->size();
      slot->response = unsupported_api_versions_response(d.header.correlation_id, broker_.handlers);
      slot->response_bytes = response_memory_bytes(*slot->response);
      hold(slot->response_bytes);
      unsent_response_bytes_ += slot->response_bytes;
      slots_.push_back(std::move(slot));
      writer_wake_.cancel();
      return true;
    }
    fail(std::string(d.handler ? "unsupported version " + std::to_string(version) + " of "
                               : "no handler for ") +
         d.info->name + (d.handler ? "" : " v" + std::to_string(version)));
    return false;
  }
  auto slot = std::make_shared<Slot>();
  slot->request_bytes = frame->size();  // reserved by admit()
  slots_.push_back(slot);
  if (d.handler->plain) {
    run_plain_handler(*slot, frame, d);
    return !closed_;
  }
  asio::co_spawn(
      socket_.get_executor(),
      [self = shared_from_this(), slot, frame, d = std::move(d)]() mutable {
        return self->run_handler(std::move(slot), std::move(frame), std::move(d));
      },
      asio::detached);
  return true;
}

namespace {

// The context of one request, its header and body taken from `frame`.
struct HandlerCall {
  HandlerCall(const DecodedHeader& d, const ConnectionInfo& info, Broker& broker,
              const std::shared_ptr<FrameBytes>& frame)
      : client_id(d.header.client_id ? std::string_view(*d.header.client_id) : std::string_view()),
        ctx{d.header, d.header.request_api_version, client_id, info, broker, frame->span(), frame},
        body(std::span<const uint8_t>(frame->span()).subspan(d.body_offset)) {}
  // A view of the header's own string (a conditional with "" would make a temporary copy).
  std::string_view client_id;
  RequestContext ctx;
  protocol::Reader body;
};

// Why the connection closes for the exception a handler threw (the current one).
std::string handler_failure(const DecodedHeader& d) {
  const std::string what =
      std::string(d.handler->name) + " v" + std::to_string(d.header.request_api_version);
  try {
    throw;
  } catch (const MalformedRequest& e) {
    return std::string("malformed request: ") + e.what();
  } catch (const std::bad_alloc&) {
    return "out of memory in handler " + what;
  } catch (const std::exception& e) {
    return "handler " + what + " failed: " + e.what();
  } catch (...) {
    return "handler " + what + " failed";
  }
}

}  // namespace

void Connection::run_plain_handler(Slot& slot, const std::shared_ptr<FrameBytes>& frame,
                                   const DecodedHeader& decoded) {
  std::string failure;
  try {
    HandlerCall call(decoded, info_, broker_, frame);
    slot.response = decoded.handler->plain(call.ctx, call.body);
  } catch (...) {
    failure = handler_failure(decoded);
  }
  finish_handler(slot, failure);
}

asio::awaitable<void> Connection::run_handler(std::shared_ptr<Slot> slot,
                                              std::shared_ptr<FrameBytes> frame,
                                              DecodedHeader decoded) {
  auto self = shared_from_this();
  std::string failure;
  try {
    HandlerCall call(decoded, info_, broker_, frame);
    slot->response = co_await decoded.handler->fn(call.ctx, call.body);
  } catch (...) {
    failure = handler_failure(decoded);
  }
  finish_handler(*slot, failure);
}

void Connection::finish_handler(Slot& slot, const std::string& failure) {
  if (!failure.empty()) {
    if (!closed_) fail(failure);
    return;
  }
  if (closed_) return;
  if (slot.response) {
    slot.response_bytes = response_memory_bytes(*slot.response);
    hold(slot.response_bytes);
    unsent_response_bytes_ += slot.response_bytes;
  }
  slot.ready = true;
  writer_wake_.cancel();
}

asio::awaitable<void> Connection::write_loop() {
  try {
    while (!closed_) {
      if (slots_.empty() || !slots_.front()->ready) {
        if (slots_.empty() && reading_done_) break;
        co_await wait_on(writer_wake_);
        continue;
      }
      std::shared_ptr<Slot> slot = slots_.front();
      if (slot->response) co_await send(*slot->response);
      if (closed_) co_return;
      slots_.pop_front();
      unsent_response_bytes_ -= std::min(unsent_response_bytes_, slot->response_bytes);
      release(slot->request_bytes + slot->response_bytes);
      slot->response.reset();
      reader_wake_.cancel();
      touch();
    }
  } catch (const std::system_error& e) {
    if (!closed_ && !is_normal_close(e.code()))
      log_warn("connection ", info_.id, " from ", info_.peer, ": write failed: ", e.what());
  } catch (const std::exception& e) {
    if (!closed_) log_warn("connection ", info_.id, ": write failed: ", e.what());
  }
  close();
}

asio::awaitable<void> Connection::write_buffers(std::vector<asio::const_buffer>& buffers) {
  // Most writes fit in the socket's buffer: write at once, and suspend only
  // for what is left (an immediately completed async_write still goes
  // through the scheduler and an extra epoll_wait before the writer goes on).
  size_t left = 0;
  for (const auto& b : buffers) left += b.size();
  size_t first = 0;  // buffers[first..] hold what is left
  while (left > 0) {
    iovec iov[64];
    int n_iov = 0;
    for (size_t i = first; i < buffers.size() && n_iov < 64; ++i) {
      if (buffers[i].size() == 0) continue;
      iov[n_iov].iov_base = const_cast<void*>(buffers[i].data());
      iov[n_iov].iov_len = buffers[i].size();
      ++n_iov;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n_iov);
    const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      throw std::system_error(errno, asio::error::get_system_category(), "sendmsg");
    }
    touch();
    left -= static_cast<size_t>(n);
    for (size_t done = static_cast<size_t>(n); done > 0;) {
      const size_t take = std::min(done, buffers[first].size());
      buffers[first] += take;
      done -= take;
      if (buffers[first].size() == 0) ++first;
    }
    while (first < buffers.size() && buffers[first].size() == 0) ++first;
  }
  if (left == 0) co_return;
  buffers.erase(buffers.begin(), buffers.begin() + static_cast<ptrdiff_t>(first));
  // Every partial write is progress for the idle clock.
  size_t seen = 0;
  co_await asio::async_write(
      socket_, buffers,
      [this, &seen](const std::error_code& ec, size_t written) -> size_t {
        if (written != seen) {
          seen = written;
          touch();
        }
        return ec ? 0 : 65536;
      },
      use_awaitable);
}

asio::awaitable<void> Connection::send(const Response& w) {
  const auto& buf = w.buf();
  // A response with file ranges goes out corked: the encoder's bytes before,
  // between and after the ranges ride in the same segments as the file's
  // bytes instead of leaving as small packets of their own (TCP_NODELAY is
  // on). Uncorking at the end pushes the last partial segment.
  const bool has_file =
      std::any_of(w.splices().begin(), w.splices().end(), [](const protocol::Writer::Splice& s) {
        return dynamic_cast<const FileSlice*>(s.bytes.get()) != nullptr;
      });
  if (has_file) set_cork(true);
  std::vector<asio::const_buffer> pending;
  size_t pos = 0;
  for (const auto& splice : w.splices()) {
    if (splice.at > pos) pending.emplace_back(buf.data() + pos, splice.at - pos);
    pos = splice.at;
    const protocol::ExternalBytes* piece = splice.bytes.get();
    if (auto* mem = dynamic_cast<const MemoryBytes*>(piece)) {
      if (!mem->bytes().empty()) pending.emplace_back(mem->bytes().data(), mem->bytes().size());
    } else if (auto* file = dynamic_cast<const FileSlice*>(piece)) {
      if (!pending.empty()) {
        co_await write_buffers(pending);
        pending.clear();
      }
      co_await send_file(*file);
    } else {
      throw std::runtime_error("response holds external bytes of an unknown kind");
    }
  }
  if (pos < buf.size()) pending.emplace_back(buf.data() + pos, buf.size() - pos);
  if (!pending.empty()) co_await write_buffers(pending);
  if (has_file) set_cork(false);
}

void Connection::set_cork(bool on) {
  const int v = on ? 1 : 0;
  // A failure only costs packet sizes; the bytes are the same.
  (void)::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

asio::awaitable<void> Connection::send_file(const FileSlice& f) {
  off_t offset = static_cast<off_t>(f.position());
  size_t left = f.size();
  while (left > 0) {
    size_t chunk = std::min<size_t>(left, size_t{1} << 30);
    ssize_t n = ::sendfile(socket_.native_handle(), f.fd(), &offset, chunk);
    if (n > 0) {
      left -= static_cast<size_t>(n);
      touch();
      // Less than asked: the socket's send buffer is full. Wait for room
      // rather than calling again only to get EAGAIN.
      if (static_cast<size_t>(n) < chunk)
        co_await socket_.async_wait(asio::socket_base::wait_write, use_awaitable);
      continue;
    }
    if (n == 0) throw std::runtime_error("file slice extends past the end of its file");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      co_await socket_.async_wait(asio::socket_base::wait_write, use_awaitable);
      continue;
    }
    throw std::system_error(errno, asio::error::get_system_category(), "sendfile");
  }
}

asio::awaitable<void> Connection::idle_loop() {
  auto self = shared_from_this();
  while (!closed_) {
    idle_timer_.expires_at(last_activity_ + limits_.idle_timeout);
    std::error_code ec;
    co_await idle_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) break;
    auto now = std::chrono::steady_clock::now();
    if (now < last_activity_ + limits_.idle_timeout) continue;
    // The broker holds the connection up: a handler still running (a long
    // poll) at the head of the queue, or the reader waiting for memory.
    // Responses that are ready but not taken by the client are idleness.
    if (waiting_for_pool_ || (!slots_.empty() && !slots_.front()->ready)) {
      touch();
      continue;
    }
    log_info("closing connection ", info_.id, " from ", info_.peer, ": idle for more than ",
             limits_.idle_timeout.count(), " ms (connections.max.idle.ms)",
             slots_.empty()
                 ? std::string()
                 : ", " + std::to_string(slots_.size()) + " response(s) not taken by the client");
    close();
  }
}

}  // namespace runnel::server
