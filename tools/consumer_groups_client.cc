#include "tools/consumer_groups_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "protocol/messages/api_versions.h"
#include "tools/consumer_groups_core.h"

namespace runnel::tools::groups {

namespace {

constexpr int32_t kMaxResponseSize = 100 << 20;

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits until fd is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string BrokerConnection::api_name(int16_t key) {
  const auto* info = protocol::api_info(key);
  return info ? info->name : "API " + std::to_string(key);
}

BrokerConnection::BrokerConnection(std::string host, int port, int timeout_ms)
    : host_(std::move(host)),
      port_(port),
      address_(host_ + ":" + std::to_string(port_)),
      timeout_ms_(timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
  if (rc != 0) throw ToolError("cannot resolve broker " + address_ + ": " + ::gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (!wait_ready(fd, POLLOUT, deadline)) {
      last_error = "timed out after " + std::to_string(timeout_ms_) + " ms";
      ::close(fd);
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) throw ToolError("cannot connect to broker " + address_ + ": " + last_error);
  negotiate();
}

BrokerConnection::~BrokerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void BrokerConnection::send_all(const uint8_t* p, size_t n) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (n > 0) {
    ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd_, POLLOUT, deadline))
        throw ToolError("timed out sending to broker " + address_);
      continue;
    }
    throw ToolError("connection to broker " + address_ + " failed: " + std::strerror(errno));
  }
}

void BrokerConnection::recv_all(uint8_t* p, size_t n) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (n > 0) {
    ssize_t k = ::recv(fd_, p, n, 0);
    if (k > 0) {
      p += k;
      n -= static_cast<size_t>(k);
      continue;
    }
    if (k == 0) throw ToolError("broker " + address_ + " closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd_, POLLIN, deadline))
        throw ToolError("timed out after " + std::to_string(timeout_ms_) +
                        " ms waiting for an answer from broker " + address_);
      continue;
    }
    throw ToolError("connection to broker " + address_ + " failed: " + std::strerror(errno));
  }
}

protocol::Bytes BrokerConnection::roundtrip(int16_t api_key, int16_t version,
                                            const protocol::Bytes& body) {
  protocol::RequestHeader header;
  header.request_api_key = api_key;
  header.request_api_version = version;
  header.correlation_id = next_correlation_++;
  header.client_id = "runnel-consumer-groups";
  protocol::Writer w;
  w.i32(0);  // size, patched below
  header.encode(w, protocol::request_header_version(api_key, version));
  w.raw(body);
  protocol::Bytes& frame = w.buf();
  uint32_t size = static_cast<uint32_t>(frame.size() - 4);
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  send_all(frame.data(), frame.size());

  uint8_t size_bytes[4];
  recv_all(size_bytes, 4);
  int32_t n = static_cast<int32_t>(static_cast<uint32_t>(size_bytes[0]) << 24 |
                                   static_cast<uint32_t>(size_bytes[1]) << 16 |
                                   static_cast<uint32_t>(size_bytes[2]) << 8 | size_bytes[3]);
  if (n < 4 || n > kMaxResponseSize)
    throw ToolError("broker " + address_ + " sent a response of invalid size " + std::to_string(n));
  protocol::Bytes response(static_cast<size_t>(n));
  recv_all(response.data(), response.size());
  int32_t corr = static_cast<int32_t>(static_cast<uint32_t>(response[0]) << 24 |
                                      static_cast<uint32_t>(response[1]) << 16 |
                                      static_cast<uint32_t>(response[2]) << 8 | response[3]);
  if (corr != header.correlation_id)
    throw ToolError("broker " + address_ + " answered correlation id " + std::to_string(corr) +
                    ", expected " + std::to_string(header.correlation_id));
  return response;
}

void BrokerConnection::negotiate() {
  using protocol::ApiVersionsRequest;
  using protocol::ApiVersionsResponse;
  int16_t version = ApiVersionsRequest::kMaxVersion;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ApiVersionsRequest req;
    req.client_software_name = "runnel-consumer-groups";
    req.client_software_version = "1";
    protocol::Writer w;
    req.encode(w, version);
    protocol::Bytes body = roundtrip(ApiVersionsRequest::kApiKey, version, w.buf());
    protocol::Reader r(body);
    protocol::ResponseHeader header;
    header.decode(r, 0);  // ApiVersions answers with header v0 at every version
    // A version the broker does not support is answered in the v0 layout with
    // UNSUPPORTED_VERSION and its own range; peek at the error code first.
    protocol::Reader peek(std::span<const uint8_t>(body).subspan(4));
    const auto error = static_cast<protocol::ErrorCode>(peek.i16());
    ApiVersionsResponse resp;
    resp.decode(r, error == protocol::ErrorCode::UNSUPPORTED_VERSION ? 0 : version);
    if (!r.ok()) throw ToolError("malformed ApiVersions response from broker " + address_);
    for (const auto& k : resp.api_keys) versions_[k.api_key] = {k.min_version, k.max_version};
    if (error == protocol::ErrorCode::UNSUPPORTED_VERSION && attempt == 0) {
      auto it = versions_.find(ApiVersionsRequest::kApiKey);
      int16_t broker_max = it == versions_.end() ? 0 : it->second.second;
      version = std::min<int16_t>(version, broker_max);
      versions_.clear();
      continue;
    }
    if (error != protocol::ErrorCode::NONE)
      throw ToolError("broker " + address_ + " answered ApiVersions with " +
                      error_name(protocol::code(error)));
    return;
  }
  throw ToolError("broker " + address_ + " does not accept any ApiVersions version");
}

bool BrokerConnection::supports(int16_t api_key, int16_t min_version) const {
  auto it = versions_.find(api_key);
  return it != versions_.end() && it->second.second >= min_version;
}

int16_t BrokerConnection::version(int16_t api_key, int16_t our_min, int16_t our_max) const {
  auto it = versions_.find(api_key);
  if (it == versions_.end())
    throw ToolError("broker " + address_ + " does not support " + api_name(api_key));
  int16_t v = std::min(our_max, it->second.second);
  if (v < std::max(our_min, it->second.first))
    throw ToolError("broker " + address_ + " supports " + api_name(api_key) + " versions " +
                    std::to_string(it->second.first) + "-" + std::to_string(it->second.second) +
                    ", this tool needs " + std::to_string(our_min) + "-" + std::to_string(our_max));
  return v;
}

Cluster::Cluster(std::vector<std::pair<std::string, int>> bootstrap, int timeout_ms)
    : bootstrap_(std::move(bootstrap)), timeout_ms_(timeout_ms) {}

BrokerConnection& Cluster::any() {
  if (bootstrap_conn_) return *bootstrap_conn_;
  std::string errors;
  for (const auto& [host, port] : bootstrap_) {
    try {
      bootstrap_conn_ = std::make_unique<BrokerConnection>(host, port, timeout_ms_);
      return *bootstrap_conn_;
    } catch (const ToolError& e) {
      if (!errors.empty()) errors += "; ";
      errors += e.what();
    }
  }
  throw ToolError(errors);
}

BrokerConnection& Cluster::node(int32_t node_id, const std::string& host, int port) {
  auto it = nodes_.find(node_id);
  if (it != nodes_.end()) return *it->second;
  auto conn = std::make_unique<BrokerConnection>(host, port, timeout_ms_);
  return *nodes_.emplace(node_id, std::move(conn)).first->second;
}

}  // namespace runnel::tools::groups
