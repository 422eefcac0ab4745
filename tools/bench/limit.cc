#include "tools/bench/limit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "protocol/records/crc32c.h"
#include "tools/bench/process.h"
#include "tools/bench/socket_io.h"

namespace runnel::bench {
namespace {

constexpr double kMB = 1024.0 * 1024.0;
constexpr double kGB = 1024.0 * 1024.0 * 1024.0;

// A listening socket on 127.0.0.1 and a connected pair (client, accepted).
struct LoopbackPair {
  int client = -1;
  int server = -1;
  std::string error;
  ~LoopbackPair() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }
};

bool connect_pair(LoopbackPair* p) {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) {
    p->error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(lfd, 1) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    p->error = std::string("listen on 127.0.0.1: ") + std::strerror(errno);
    ::close(lfd);
    return false;
  }
  p->client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (p->client < 0 || ::connect(p->client, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    p->error = std::string("connect: ") + std::strerror(errno);
    ::close(lfd);
    return false;
  }
  p->server = ::accept(lfd, nullptr, nullptr);
  ::close(lfd);
  if (p->server < 0) {
    p->error = std::string("accept: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

void fill_letters(char* buf, size_t len, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i < len; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = static_cast<char>('A' + (x >> 32) % 26);
  }
}

LimitResult pipe_limit(const std::string& file_path, uint64_t total, size_t chunk) {
  LimitResult r;
  if (chunk == 0 || chunk > (64u << 20)) {
    r.error = "chunk size must be between 1 byte and 64 MiB";
    return r;
  }
  const int out = ::open(file_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (out < 0) {
    r.error = "open " + file_path + ": " + std::strerror(errno);
    return r;
  }
  LoopbackPair p;
  if (!connect_pair(&p)) {
    ::close(out);
    r.error = p.error;
    return r;
  }
  std::vector<char> payload(chunk);
  fill_letters(payload.data(), payload.size(), 7);

  const uint64_t start = now_ns();
  bool send_ok = true;
  std::thread sender([&] {
    uint64_t left = total;
    while (left > 0) {
      const size_t n = left < chunk ? static_cast<size_t>(left) : chunk;
      if (!write_all(p.client, payload.data(), n)) {
        send_ok = false;
        break;
      }
      left -= n;
    }
    ::shutdown(p.client, SHUT_WR);
  });

  // The receiver: whole chunks, like a broker reading whole requests.
  std::vector<char> buf(chunk);
  uint64_t received = 0;
  uint32_t crc = 0;
  const double cpu0 = thread_cpu_s();
  bool recv_ok = true;
  for (;;) {
    size_t have = 0;
    bool eof = false;
    while (have < chunk) {
      const ssize_t n = ::read(p.server, buf.data() + have, chunk - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        recv_ok = false;
        r.error = std::string("read: ") + std::strerror(errno);
      }
      if (n <= 0) {
        eof = true;
        break;
      }
      have += static_cast<size_t>(n);
    }
    if (have > 0) {
      crc = protocol::crc32c(buf.data(), have, crc);
      if (!write_all(out, buf.data(), have)) {
        recv_ok = false;
        r.error = "write " + file_path + ": " + std::strerror(errno);
        break;
      }
      received += have;
    }
    if (eof) break;
  }
  const double cpu = thread_cpu_s() - cpu0;
  const uint64_t end = now_ns();
  sender.join();
  ::close(out);
  r.bytes = received;
  r.seconds = static_cast<double>(end - start) / 1e9;
  r.crc = crc;
  if (!recv_ok) return r;
  if (!send_ok || received != total) {
    r.error = "pipe limit: received " + std::to_string(received) + " of " + std::to_string(total);
    return r;
  }
  r.ok = true;
  r.mb_per_s = r.seconds > 0 ? static_cast<double>(received) / kMB / r.seconds : 0;
  r.cpu_s_per_gb = received > 0 ? cpu / (static_cast<double>(received) / kGB) : 0;
  return r;
}

LimitResult sendfile_limit(const std::string& file_path) {
  LimitResult r;
  const int in = ::open(file_path.c_str(), O_RDONLY);
  if (in < 0) {
    r.error = "open " + file_path + ": " + std::strerror(errno);
    return r;
  }
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    r.error = "stat " + file_path + ": " + std::strerror(errno);
    ::close(in);
    return r;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  LoopbackPair p;
  if (!connect_pair(&p)) {
    ::close(in);
    r.error = p.error;
    return r;
  }
  uint64_t got = 0;
  std::thread reader([&] {
    std::vector<char> buf(1 << 20);
    for (;;) {
      const ssize_t n = ::read(p.client, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<uint64_t>(n);
    }
  });
  const uint64_t start = now_ns();
  const double cpu0 = thread_cpu_s();
  off_t off = 0;
  bool ok = true;
  while (static_cast<uint64_t>(off) < size) {
    const size_t want = size - static_cast<uint64_t>(off) > (1u << 30)
                            ? (1u << 30)
                            : static_cast<size_t>(size - static_cast<uint64_t>(off));
    const ssize_t n = ::sendfile(p.server, in, &off, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      r.error = std::string("sendfile: ") + (n < 0 ? std::strerror(errno) : "no progress");
      break;
    }
  }
  const double cpu = thread_cpu_s() - cpu0;
  ::shutdown(p.server, SHUT_WR);
  reader.join();
  const uint64_t end = now_ns();
  ::close(in);
  r.bytes = got;
  r.seconds = static_cast<double>(end - start) / 1e9;
  if (!ok) return r;
  if (got != size) {
    r.error = "sendfile limit: reader got " + std::to_string(got) + " of " + std::to_string(size);
    return r;
  }
  r.ok = true;
  r.mb_per_s = r.seconds > 0 ? static_cast<double>(got) / kMB / r.seconds : 0;
  r.cpu_s_per_gb = got > 0 ? cpu / (static_cast<double>(got) / kGB) : 0;
  return r;
}

}  // namespace runnel::bench
