#include "tools/bench/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

extern char** environ;

namespace runnel::bench {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

double now_s() { return static_cast<double>(now_ns()) / 1e9; }

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_us(uint64_t us) {
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>((us % 1000000) * 1000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

bool answers_api_versions(int port, double timeout_s) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    // size 14: api key 18, version 0, correlation id 0x52554e4e, client id "bench"
    const unsigned char req[] = {0,    0,    0, 15, 0,   18,  0,   0,   0x52, 0x55,
                                 0x4e, 0x4e, 0, 5,  'b', 'e', 'n', 'c', 'h'};
    if (::send(fd, req, sizeof(req), MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(req))) {
      unsigned char head[8];
      size_t got = 0;
      while (got < sizeof(head)) {
        const ssize_t n = ::recv(fd, head + got, sizeof(head) - got, 0);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      ok = got == sizeof(head) && head[4] == 0x52 && head[5] == 0x55 && head[6] == 0x4e &&
           head[7] == 0x4e;
    }
  }
  ::close(fd);
  return ok;
}

ProcStats read_proc(pid_t pid) {
  ProcStats s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return s;
  // The command name (field 2) may hold spaces; fields after it follow ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ... utime is field 14, stime 15.
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (f == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const long tck = sysconf(_SC_CLK_TCK);
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(tck > 0 ? tck : 100);
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::strtol(line.c_str() + 6, nullptr, 10);
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::strtol(line.c_str() + 6, nullptr, 10);
  }
  s.ok = true;
  return s;
}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) stop(5);
}

bool BrokerProcess::start(const std::string& bin, const std::string& data_dir,
                          const std::string& log_path, const std::vector<std::string>& overrides,
                          std::string* err) {
  const int port = free_port();
  if (port == 0) {
    *err = "no free port on 127.0.0.1";
    return false;
  }
  std::vector<std::string> args = {bin, "--override",
                                   "listeners=PLAINTEXT://127.0.0.1:" + std::to_string(port),
                                   "--override", "log.dirs=" + data_dir};
  for (const auto& o : overrides) {
    args.push_back("--override");
    args.push_back(o);
  }
  return spawn(args, port, log_path, err);
}

namespace {

// posix_spawnp of `args` with stdin from /dev/null and stdout, stderr appended to `log_path`.
int spawn_logged(const std::vector<std::string>& args, const std::string& log_path, pid_t* pid) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  const int rc = posix_spawnp(pid, copy[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

}  // namespace

bool BrokerProcess::spawn(const std::vector<std::string>& args, int port,
                          const std::string& log_path, std::string* err) {
  port_ = port;
  log_path_ = log_path;
  spawn_ns_ = now_ns();
  pid_t pid = -1;
  const int rc = spawn_logged(args, log_path, &pid);
  if (rc != 0) {
    *err = "cannot start " + args[0] + ": " + std::strerror(rc);
    return false;
  }
  pid_ = pid;
  exit_text_.clear();
  exit_status_ = -1;
  return true;
}

bool run_to_end(const std::vector<std::string>& args, const std::string& log_path, double timeout_s,
                std::string* err) {
  pid_t pid = -1;
  const int rc = spawn_logged(args, log_path, &pid);
  if (rc != 0) {
    *err = "cannot start " + args[0] + ": " + std::strerror(rc);
    return false;
  }
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (now_ns() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      *err = args[0] + " did not finish within " + std::to_string(static_cast<int>(timeout_s)) +
             " s (log: " + log_path + ")";
      return false;
    }
    sleep_us(10000);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *err = args[0] + " failed (log: " + log_path + ")";
    return false;
  }
  return true;
}

void BrokerProcess::reaped(int status) {
  exit_status_ = status;
  if (WIFEXITED(status)) {
    exit_text_ = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    exit_text_ = std::string("killed by signal ") + strsignal(WTERMSIG(status));
  } else {
    exit_text_ = "ended";
  }
  pid_ = -1;
}

bool BrokerProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped(status);
    return false;
  }
  return true;
}

double BrokerProcess::wait_ready(double timeout_s) {
  const uint64_t deadline = spawn_ns_ + static_cast<uint64_t>(timeout_s * 1e9);
  while (now_ns() < deadline) {
    if (can_connect(port_)) return static_cast<double>(now_ns() - spawn_ns_) / 1e9;
    if (!alive()) return -1;
    sleep_us(100);
  }
  return -1;
}

double BrokerProcess::wait_serving(double timeout_s) {
  const uint64_t deadline = spawn_ns_ + static_cast<uint64_t>(timeout_s * 1e9);
  while (now_ns() < deadline) {
    if (answers_api_versions(port_, 5)) return static_cast<double>(now_ns() - spawn_ns_) / 1e9;
    if (!alive()) return -1;
    sleep_us(1000);
  }
  return -1;
}

bool BrokerProcess::stop(double timeout_s) {
  if (pid_ <= 0) return exit_status_ == 0;
  const pid_t pid = pid_;
  ::kill(pid, SIGTERM);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  while (now_ns() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped(status);
      return WIFEXITED(status) &&
             (WEXITSTATUS(status) == 0 || (sigterm_status_ok_ && WEXITSTATUS(status) == 143));
    }
    sleep_us(1000);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  reaped(status);
  exit_text_ += " (after SIGKILL: no exit within the stop timeout)";
  return false;
}

std::string BrokerProcess::log_tail(size_t max_bytes) const {
  std::ifstream f(log_path_, std::ios::binary);
  if (!f) return "";
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  const std::streamoff from = size > static_cast<std::streamoff>(max_bytes)
                                  ? size - static_cast<std::streamoff>(max_bytes)
                                  : 0;
  f.seekg(from);
  std::string out(static_cast<size_t>(size - from), '\0');
  f.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

std::string make_temp_dir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return std::string(buf.data());
}

}  // namespace runnel::bench
