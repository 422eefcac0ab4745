#include "server/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "server/log.h"
#include "server/waiters.h"

namespace runnel::server {

using asio::ip::tcp;

namespace {

constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(50);
constexpr auto kAcceptBackoffMax = std::chrono::milliseconds(1000);

}  // namespace

uint64_t raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(lim.rlim_cur);
}

Server::Server(asio::io_context& io, Broker& broker)
    : io_(io),
      broker_(broker),
      pool_(broker.config.get_long("queued.max.request.bytes")),
      drained_(io, std::chrono::steady_clock::time_point::max()) {
  const Config& c = broker.config;
  limits_.max_request_bytes = c.socket_request_max_bytes();
  limits_.max_inflight_requests = c.max_inflight_requests_per_connection();
  // Per connection: one largest request (Kafka reads one request at a time
  // per connection; Runnel pipelines them within this many bytes).
  limits_.max_inflight_bytes = c.socket_request_max_bytes();
  limits_.idle_timeout = std::chrono::milliseconds(c.connections_max_idle_ms());
}

Server::~Server() { abort(); }

void Server::start() {
  const Config& c = broker_.config;
  tcp::resolver resolver(io_);
  for (const auto& l : c.listeners()) {
    std::string host = l.host.empty() ? "0.0.0.0" : l.host;
    auto results = resolver.resolve(host, std::to_string(l.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service);
    if (results.empty())
      throw std::system_error(asio::error::host_not_found, "cannot resolve listener " + host);
    tcp::endpoint ep = results.begin()->endpoint();
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    acceptor->open(ep.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen(c.get_int("socket.listen.backlog.size"));
    auto bound = acceptor->local_endpoint();
    broker_.bound_ports[l.name] = bound.port();
    std::printf("runnel: listening on %s:%u\n", bound.address().to_string().c_str(),
                static_cast<unsigned>(bound.port()));
    std::fflush(stdout);
    acceptors_.push_back(std::move(acceptor));
    asio::co_spawn(io_, accept_loop(*acceptors_.back(), l.name), asio::detached);
  }
  accepting_ = true;
}

std::vector<tcp::endpoint> Server::endpoints() const {
  std::vector<tcp::endpoint> out;
  for (auto& a : acceptors_) {
    std::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep);
  }
  return out;
}

asio::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor, std::string listener) {
  // While accept keeps failing for lack of resources: one log line, then
  // waits that double up to kAcceptBackoffMax; existing connections are
  // served meanwhile and new ones wait in the listen backlog.
  auto backoff = std::chrono::milliseconds(0);
  uint64_t failures = 0;
  while (acceptor.is_open()) {
    std::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    // A peer that went away before it was accepted: nothing to wait for.
    if (ec == asio::error::connection_aborted) continue;
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE) or kernel memory: retrying at
      // once would spin on the still-readable listener.
      if (failures++ == 0)
        log_warn("accept failed on ", listener, ": ", ec.message(), " (", connections_.size(),
                 " connections open); backing off until it succeeds");
      backoff = std::clamp(backoff * 2, kAcceptBackoffMin, kAcceptBackoffMax);
      asio::steady_timer t(io_, backoff);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (failures > 0) {
      log_info("accepting again on ", listener, " after ", failures, " failed attempt(s)");
      failures = 0;
      backoff = std::chrono::milliseconds(0);
    }
    try {
      add_connection(std::move(socket), listener);
    } catch (const std::bad_alloc&) {
      // The socket closes with its (partly built) connection; the next accept may succeed.
      log_warn("out of memory accepting a connection on ", listener, "; closed it");
    }
  }
}

void Server::add_connection(tcp::socket socket, const std::string& listener) {
  const Config& c = broker_.config;
  std::error_code ec;
  if (int v = c.get_int("socket.send.buffer.bytes"); v > 0)
    socket.set_option(asio::socket_base::send_buffer_size(v), ec);
  if (int v = c.get_int("socket.receive.buffer.bytes"); v > 0)
    socket.set_option(asio::socket_base::receive_buffer_size(v), ec);
  ConnectionInfo info;
  info.id = next_id_++;
  info.listener = listener;
  auto peer = socket.remote_endpoint(ec);
  info.peer =
      ec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port());
  auto conn =
      std::make_shared<Connection>(std::move(socket), broker_, std::move(info), limits_, pool_);
  conn->on_closed = [this](uint64_t id) {
    connections_.erase(id);
    if (connections_.empty()) drained_.cancel();
  };
  connections_.emplace(conn->info().id, conn);
  conn->start();
}

void Server::stop_accepting() {
  accepting_ = false;
  for (auto& a : acceptors_) {
    std::error_code ec;
    a->close(ec);
  }
}

asio::awaitable<void> Server::shutdown(std::chrono::milliseconds grace) {
  stop_accepting();
  broker_.waiters.notify_all();
  std::vector<std::shared_ptr<Connection>> live;
  for (auto& [id, weak] : connections_)
    if (auto c = weak.lock()) live.push_back(c);
  for (auto& c : live) c->stop_reading();
  if (!connections_.empty()) {
    drained_.expires_after(grace);
    std::error_code ec;
    co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!connections_.empty())
    log_warn(connections_.size(), " connection(s) still busy after ", grace.count(),
             " ms; closing them");
  abort();
}

void Server::abort() {
  stop_accepting();
  std::vector<std::shared_ptr<Connection>> live;
  for (auto& [id, weak] : connections_)
    if (auto c = weak.lock()) live.push_back(c);
  for (auto& c : live) {
    c->on_closed = nullptr;
    c->close();
  }
  connections_.clear();
}

}  // namespace runnel::server
