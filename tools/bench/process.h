// runnel-bench: the broker process it starts and watches, and small helpers
// for loopback sockets, clocks and /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace runnel::bench {

// CLOCK_MONOTONIC in nanoseconds / seconds.
uint64_t now_ns();
double now_s();
// CPU time of the calling thread, in seconds.
double thread_cpu_s();
// Sleeps for `us` microseconds.
void sleep_us(uint64_t us);

// A TCP port on 127.0.0.1 that was free a moment ago (0 on failure).
int free_port();
// True when a TCP connection to 127.0.0.1:`port` succeeds.
bool can_connect(int port);

// True when a broker on 127.0.0.1:`port` answers an ApiVersions v0 request
// (with the request's correlation id) within `timeout_s`: it serves requests,
// not only accepts connections.
bool answers_api_versions(int port, double timeout_s);

// What /proc says about one process.
struct ProcStats {
  bool ok = false;
  double cpu_s = 0;  // utime + stime
  long rss_kb = 0;   // VmRSS
  long hwm_kb = 0;   // VmHWM (peak RSS)
};
ProcStats read_proc(pid_t pid);

// One broker started by the bench: `bin --override listeners=... --override
// log.dirs=<data_dir> [--override k=v]...`, stdout and stderr to `log_path`.
class BrokerProcess {
 public:
  BrokerProcess() = default;
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;
  ~BrokerProcess();

  // Spawns the broker on a free port; false (and `err`) when it cannot.
  bool start(const std::string& bin, const std::string& data_dir, const std::string& log_path,
             const std::vector<std::string>& overrides, std::string* err);
  // Spawns `args` (args[0] looked up on PATH when it has no '/') for a broker
  // that will listen on `port`; stdout and stderr to `log_path`.
  bool spawn(const std::vector<std::string>& args, int port, const std::string& log_path,
             std::string* err);
  // A JVM ends with status 143 (128 + SIGTERM) after a clean shutdown; with
  // this set, stop() counts that as clean too.
  void accept_sigterm_status(bool on) { sigterm_status_ok_ = on; }
  // Waits until the port accepts a connection; returns the seconds from the
  // spawn to that connection, or a negative value when the process died or
  // `timeout_s` passed.
  double wait_ready(double timeout_s);
  // After wait_ready: waits until the broker answers ApiVersions; the seconds
  // from the spawn, or a negative value.
  double wait_serving(double timeout_s);
  bool alive();
  // SIGTERM, then SIGKILL after `timeout_s`; true when it exited with status 0.
  bool stop(double timeout_s);

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the broker's log.
  std::string log_tail(size_t max_bytes = 4000) const;
  // Exit status text once it is gone.
  const std::string& exit_text() const { return exit_text_; }

 private:
  void reaped(int status);

  pid_t pid_ = -1;
  int port_ = 0;
  uint64_t spawn_ns_ = 0;
  std::string log_path_;
  std::string exit_text_;
  int exit_status_ = -1;
  bool sigterm_status_ok_ = false;
};

// Runs `args` to its end (stdout and stderr appended to `log_path`); true when
// it exits with status 0 within `timeout_s` (killed otherwise).
bool run_to_end(const std::vector<std::string>& args, const std::string& log_path, double timeout_s,
                std::string* err);

// A fresh directory `parent/prefix-XXXXXX`; empty on failure.
std::string make_temp_dir(const std::string& parent, const std::string& prefix);

}  // namespace runnel::bench
