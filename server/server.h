// Listeners and the set of live connections.
//
// Threading model: the whole broker runs on ONE asio::io_context driven by
// one thread (main's). Handlers, timers, storage calls and socket I/O all
// interleave on it as coroutines; nothing needs a lock. Storage calls are
// synchronous and short (page-cache writes); fsync happens only on flush.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "server/config.h"
#include "server/connection.h"
#include "server/handler.h"

namespace runnel::server {

// Raises the soft RLIMIT_NOFILE to the hard limit (each connection is a
// descriptor) and returns the soft limit in force afterwards (0 when it
// cannot be read).
uint64_t raise_open_file_limit();

class Server {
 public:
  Server(asio::io_context& io, Broker& broker);
  ~Server();

  // Binds every listener of broker.config (throws std::system_error when a
  // port cannot be bound) and starts accepting. For each listener prints
  // "runnel: listening on <host>:<port>" to stdout (the bound port, which
  // matters when the configured one is 0).
  void start();
  // The bound address of each listener, in configuration order.
  std::vector<asio::ip::tcp::endpoint> endpoints() const;

  // Stops accepting new connections.
  void stop_accepting();
  // Graceful stop: stop accepting, stop reading requests, wake waiting
  // fetches, let in-flight responses go out for at most `grace`, then close
  // every connection.
  asio::awaitable<void> shutdown(std::chrono::milliseconds grace);
  // Immediate stop: close listeners and connections.
  void abort();

  size_t connection_count() const { return connections_.size(); }
  const RequestMemoryPool& memory_pool() const { return pool_; }
  // The bounds given to each connection accepted from now on (from the
  // configuration; tests may lower them).
  ConnectionLimits& connection_limits() { return limits_; }

 private:
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, std::string listener);
  void add_connection(asio::ip::tcp::socket socket, const std::string& listener);

  asio::io_context& io_;
  Broker& broker_;
  ConnectionLimits limits_;
  RequestMemoryPool pool_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  asio::steady_timer drained_;
  bool accepting_ = false;
};

}  // namespace runnel::server
