// A blocking loopback client for tests that talk to a running Server over a
// real socket: raw bytes out, whole response frames in.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>

#include "protocol/messages/headers.h"
#include "protocol/wire.h"

namespace runnel::server::testing {

class TestClient {
 public:
  // `timeout_s`: how long a read waits (a stalled broker fails the test instead of hanging
  // it); `buffer_bytes` > 0: the kernel's send and receive buffers are that small, so that
  // what the broker has not read stays small.
  explicit TestClient(uint16_t port, int timeout_s = 10, int buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    }
    timeval tv{timeout_s, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~TestClient() { ::close(fd_); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // True when all of `b` was sent; false on a send timeout or error.
  bool send_all(const protocol::Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  void send_raw(const protocol::Bytes& b) { send_all(b); }
  // recv(2)'s result for one byte: 0 when the broker closed the connection, -1 on the timeout.
  ssize_t recv_one() {
    uint8_t b;
    return ::recv(fd_, &b, 1, 0);
  }
  // One response frame (without the size); nullopt on EOF, error, timeout or a
  // frame over 16 MiB.
  std::optional<protocol::Bytes> read_frame() {
    uint8_t s[4];
    if (!read_exact(s, 4)) return std::nullopt;
    uint32_t size = (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) | (uint32_t{s[2]} << 8) | s[3];
    if (size > (1u << 24)) return std::nullopt;
    protocol::Bytes b(size);
    if (!read_exact(b.data(), size)) return std::nullopt;
    return b;
  }
  // True when the server closed the connection (EOF or reset).
  bool closed_by_server() {
    uint8_t c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
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

// The frame of an ApiVersions v0 request (size prefix included) with `correlation`.
inline protocol::Bytes api_versions_v0(int32_t correlation) {
  protocol::Writer w;
  w.reserve_i32();
  protocol::RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 0;
  h.correlation_id = correlation;
  h.client_id = "runnel-test";
  h.encode(w, 1);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.buf();
}

// The correlation id a response frame (without its size) starts with.
inline int32_t correlation_of(const protocol::Bytes& frame) {
  protocol::Reader r(frame);
  return r.i32();
}

}  // namespace runnel::server::testing
