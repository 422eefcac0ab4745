// runnel [server.properties] [--override key=value]...
//
// Loads the configuration, opens the log directory (meta.properties and the
// partition logs), starts the listeners and serves until SIGTERM or SIGINT.
// Shutdown: stop accepting, finish in-flight requests (at most 5 s), flush
// and close the logs, exit 0. Any configuration or start-up error exits 1.
#include <asio.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "server/config.h"
#include "server/features.h"
#include "server/fetch_sessions.h"
#include "server/group_service.h"
#include "server/handler.h"
#include "server/log.h"
#include "server/log_service.h"
#include "server/meta_properties.h"
#include "server/server.h"
#include "server/txn_service.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/file_cache.h"

#ifndef RUNNEL_VERSION
#define RUNNEL_VERSION "0.1.0"
#endif

namespace {

constexpr auto kShutdownGrace = std::chrono::milliseconds(5000);

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: runnel [server.properties] [--override key=value]...\n"
               "       runnel --help | --version\n"
               "\n"
               "A Kafka-compatible broker. Configuration keys are Kafka's broker keys\n"
               "(see docs/configuration.md); --override sets one key and wins over the file.\n"
               "Defaults: listeners=PLAINTEXT://127.0.0.1:9092, log.dir=./runnel-data\n");
}

int run(int argc, char** argv) {
  using namespace runnel::server;
  std::optional<std::string> path;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("runnel %s\n", RUNNEL_VERSION);
      return 0;
    }
    if (a == "--override") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "runnel: --override needs key=value\n");
        return 1;
      }
      overrides.emplace_back(argv[++i]);
    } else if (a.starts_with("--override=")) {
      overrides.emplace_back(a.substr(std::strlen("--override=")));
    } else if (a.starts_with("-")) {
      std::fprintf(stderr, "runnel: unknown option %s\n", argv[i]);
      usage(stderr);
      return 1;
    } else if (path) {
      std::fprintf(stderr, "runnel: more than one properties file given\n");
      return 1;
    } else {
      path = std::string(a);
    }
  }

  Config config;
  try {
    config = Config::load(path, overrides);
    log_defaults(config);  // storage's own checks of the log.* values
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "runnel: configuration error: %s\n", e.what());
    return 1;
  }
  for (auto& k : config.ignored_keys_set())
    log_info("configuration key ", k, " is accepted but has no effect in Runnel");

  MetaProperties meta;
  try {
    meta = load_or_create_meta_properties(config.log_dir(), config.node_id(),
                                          config.value("cluster.id"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runnel: %s\n", e.what());
    return 1;
  }

  Features features(config);
  {
    std::string error;
    if (!features.load(config.log_dir(), &error)) {
      std::fprintf(stderr, "runnel: %s\n", error.c_str());
      return 1;
    }
  }

  {
    // Each connection is a descriptor; thousands of idle clients are normal.
    uint64_t nofile = raise_open_file_limit();
    log_info("open file limit (RLIMIT_NOFILE): ",
             nofile == UINT64_MAX ? std::string("unlimited") : std::to_string(nofile));
    // Segment files beyond it are opened on demand (storage/file_cache.h).
    log_info("segment files kept open at most: ", runnel::storage::FileCache::process().capacity());
  }

  asio::io_context io(1);
  runnel::storage::SystemClock clock;
  LogService storage(io, config, clock);
  try {
    storage.open();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runnel: %s\n", e.what());
    return 1;
  }

  HandlerRegistry handlers = HandlerRegistry::with_all_handlers();
  FetchWaiters waiters(io.get_executor());
  FetchSessionCache fetch_sessions(
      static_cast<size_t>(config.get_int("max.incremental.fetch.session.cache.slots")));
  GroupService groups(io, config, clock, storage.logs(), waiters);
  TxnService txns(io, config, clock, storage.logs(), waiters, {&groups.runtime()});
  {
    std::string error;
    if (!txns.init(&error)) {
      std::fprintf(stderr, "runnel: %s\n", error.c_str());
      storage.close();
      return 1;
    }
  }
  txns.follow(features);
  Broker broker{config, handlers, waiters,  clock,           storage.logs(), fetch_sessions,
                groups, txns,     features, meta.cluster_id, meta.node_id};
  broker.topic_work = &storage.topic_work();
  Server server(io, broker);
  // Signals are caught from before the listener opens: a SIGTERM that arrives as soon as the
  // port accepts connections still shuts down cleanly (asio keeps it until io.run()).
  bool stopping = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec || stopping) return;
    stopping = true;
    log_info("signal ", sig, " received; shutting down");
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          groups.stop();  // answers waiting joins and syncs
          txns.stop();
          co_await server.shutdown(kShutdownGrace);
          storage.close();
          io.stop();
        },
        asio::detached);
  });
  ::signal(SIGPIPE, SIG_IGN);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runnel: cannot listen: %s\n", e.what());
    storage.close();
    return 1;
  }
  storage.start_timers();
  groups.start();
  txns.start();
  log_info("node ", meta.node_id, " of cluster ", meta.cluster_id, " serving from ",
           config.log_dir());

  io.run();
  if (!storage.close()) return 1;
  log_info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runnel: fatal: %s\n", e.what());
    return 1;
  }
}
