// runnel-admin-bench: how long one ApiVersions ping waits while the broker
// creates and deletes a topic of many partitions, and how long a SIGTERM stop
// takes with many partitions (docs/benchmarks.md, "Admin operations and
// shutdown").
//
//   runnel-admin-bench --broker-bin PATH [--partitions N] [--shutdown-partitions M]
//                      [--dir PATH] [--keep]
//
// A pinger thread sends ApiVersions v0 on its own connection, one at a time
// with 1 ms between them, and records each round trip by phase (during the
// CreateTopics, during the DeleteTopics). Each partition holds a few
// descriptors: the descriptor limit is raised first (to what the hard limit,
// or as root a raised hard limit, allows).
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "protocol/messages/api_keys.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/headers.h"
#include "protocol/wire.h"
#include "tools/bench/histogram.h"
#include "tools/bench/process.h"
#include "tools/bench/socket_io.h"

namespace runnel::bench {
namespace {

// Raises RLIMIT_NOFILE to `want` (the hard limit too when allowed); returns the soft limit.
uint64_t raise_nofile(uint64_t want) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) {
    rlimit more{want, want};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) lim = more;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

template <typename Req>
std::vector<uint8_t> frame(int16_t version, int32_t correlation, const Req& body) {
  protocol::Writer w;
  w.reserve_i32();
  protocol::RequestHeader h;
  h.request_api_key = Req::kApiKey;
  h.request_api_version = version;
  h.correlation_id = correlation;
  h.client_id = "admin-bench";
  h.encode(w, protocol::request_header_version(Req::kApiKey, version));
  body.encode(w, version);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.buf();
}

bool read_frame(int fd, std::vector<uint8_t>* out) {
  uint8_t s[4];
  if (!read_all(fd, s, 4)) return false;
  uint32_t size = (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) | (uint32_t{s[2]} << 8) | s[3];
  out->resize(size);
  return read_all(fd, out->data(), size);
}

// Sends `req` and returns the first per-topic error code of the answer (-1: no answer).
template <typename Req, typename Resp, typename Code>
int call(int fd, int16_t version, const Req& req, Code first_code) {
  static int32_t correlation = 100;
  auto bytes = frame(version, ++correlation, req);
  if (!write_all(fd, bytes.data(), bytes.size())) return -1;
  std::vector<uint8_t> answer;
  if (!read_frame(fd, &answer)) return -1;
  protocol::Reader r(answer);
  protocol::ResponseHeader h;
  h.decode(r, protocol::response_header_version(Req::kApiKey, version));
  Resp resp;
  resp.decode(r, version);
  if (!r.done()) return -1;
  return first_code(resp);
}

int create(int fd, const std::string& name, int partitions) {
  protocol::CreateTopicsRequest req;
  protocol::CreateTopicsRequest::CreatableTopic t;
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  req.topics.push_back(t);
  req.timeout_ms = 600000;
  return call<protocol::CreateTopicsRequest, protocol::CreateTopicsResponse>(
      fd, 7, req, [](const protocol::CreateTopicsResponse& r) {
        return r.topics.empty() ? -1 : int{protocol::code(r.topics[0].error_code)};
      });
}

int remove(int fd, const std::string& name) {
  protocol::DeleteTopicsRequest req;
  req.topic_names = {name};
  req.timeout_ms = 600000;
  return call<protocol::DeleteTopicsRequest, protocol::DeleteTopicsResponse>(
      fd, 5, req, [](const protocol::DeleteTopicsResponse& r) {
        return r.responses.empty() ? -1 : int{protocol::code(r.responses[0].error_code)};
      });
}

// Pings with ApiVersions v0 until `stop`, recording round trips into phases_[phase].
class Pinger {
 public:
  bool start(const std::string& bootstrap, std::string* err) {
    fd_ = connect_to(bootstrap, err);
    if (fd_ < 0) return false;
    thread_ = std::thread([this] { loop(); });
    return true;
  }
  void set_phase(int p) { phase_ = p; }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const Histogram& phase(int p) const { return phases_[p]; }
  bool failed() const { return failed_; }

 private:
  void loop() {
    // size 15: api key 18, version 0, correlation id, client id "bench"
    uint8_t req[] = {0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5, 'b', 'e', 'n', 'c', 'h'};
    std::vector<uint8_t> answer;
    while (!stop_) {
      int phase = phase_;
      uint64_t t0 = now_ns();
      if (!write_all(fd_, req, sizeof req) || !read_frame(fd_, &answer)) {
        failed_ = true;
        return;
      }
      phases_[phase].record(now_ns() - t0);
      sleep_us(1000);
    }
  }
  int fd_ = -1;
  std::thread thread_;
  std::atomic<int> phase_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  Histogram phases_[3];
};

void print_pings(const char* what, int partitions, double seconds, const Histogram& h) {
  std::printf(
      "%-7s %6d partitions: %6.2f s; ping p50 %.2f ms, p99 %.2f ms, max %.2f ms (%llu pings)\n",
      what, partitions, seconds, static_cast<double>(h.percentile(50)) / 1e6,
      static_cast<double>(h.percentile(99)) / 1e6, static_cast<double>(h.max()) / 1e6,
      static_cast<unsigned long long>(h.count()));
}

int run(int argc, char** argv) {
  std::string bin, parent = "/tmp";
  int partitions = 5000, shutdown_partitions = 10000;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--broker-bin")
      bin = next();
    else if (a == "--partitions")
      partitions = std::atoi(next().c_str());
    else if (a == "--shutdown-partitions")
      shutdown_partitions = std::atoi(next().c_str());
    else if (a == "--dir")
      parent = next();
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: runnel-admin-bench --broker-bin PATH [--partitions N] "
                   "[--shutdown-partitions M] [--dir PATH] [--keep]\n");
      return 2;
    }
  }
  if (bin.empty() || partitions < 1 || shutdown_partitions < 1) {
    std::fprintf(stderr, "runnel-admin-bench: --broker-bin is needed\n");
    return 2;
  }
  uint64_t want = static_cast<uint64_t>(std::max(partitions, shutdown_partitions)) * 5 + 1000;
  uint64_t nofile = raise_nofile(want);
  std::printf("descriptor limit %llu (wanted %llu)\n", static_cast<unsigned long long>(nofile),
              static_cast<unsigned long long>(want));
  std::string tmp = make_temp_dir(parent, "runnel-admin-bench");
  if (tmp.empty()) return 1;
  const std::string data = tmp + "/data";
  const std::vector<std::string> overrides = {"auto.create.topics.enable=false"};
  int status = 0;
  std::string err;
  {
    BrokerProcess broker;
    if (!broker.start(bin, data, tmp + "/broker.log", overrides, &err) ||
        broker.wait_ready(60) < 0 || broker.wait_serving(60) < 0) {
      std::fprintf(stderr, "runnel-admin-bench: broker: %s\n%s\n", err.c_str(),
                   broker.log_tail().c_str());
      return 1;
    }
    int admin = connect_to(broker.bootstrap(), &err);
    Pinger pinger;
    if (admin < 0 || !pinger.start(broker.bootstrap(), &err)) {
      std::fprintf(stderr, "runnel-admin-bench: %s\n", err.c_str());
      return 1;
    }
    sleep_us(200000);
    pinger.set_phase(1);
    double t0 = now_s();
    int e = create(admin, "wide", partitions);
    double create_s = now_s() - t0;
    pinger.set_phase(0);
    sleep_us(200000);
    pinger.set_phase(2);
    t0 = now_s();
    int d = remove(admin, "wide");
    double delete_s = now_s() - t0;
    pinger.set_phase(0);
    sleep_us(200000);
    pinger.stop();
    if (e != 0 || d != 0 || pinger.failed()) {
      std::fprintf(stderr, "runnel-admin-bench: create %d, delete %d, pinger %s\n%s\n", e, d,
                   pinger.failed() ? "failed" : "ok", broker.log_tail().c_str());
      status = 1;
    }
    print_pings("create", partitions, create_s, pinger.phase(1));
    print_pings("delete", partitions, delete_s, pinger.phase(2));
    if (status == 0 && create(admin, "shutdown", shutdown_partitions) != 0) {
      std::fprintf(stderr, "runnel-admin-bench: cannot create %d partitions\n%s\n",
                   shutdown_partitions, broker.log_tail().c_str());
      status = 1;
    }
    ::close(admin);
    t0 = now_s();
    bool clean = broker.stop(300);
    double stop_s = now_s() - t0;
    std::printf("stop    %6d partitions: %6.2f s after creating them%s\n", shutdown_partitions,
                stop_s, clean ? "" : " (NOT clean)");
  }
  if (status == 0) {
    // Again after a restart: nothing changed since the last close.
    BrokerProcess broker;
    if (!broker.start(bin, data, tmp + "/broker2.log", overrides, &err) ||
        broker.wait_ready(600) < 0 || broker.wait_serving(600) < 0) {
      std::fprintf(stderr, "runnel-admin-bench: restart: %s\n", err.c_str());
      return 1;
    }
    double t0 = now_s();
    bool clean = broker.stop(300);
    std::printf("stop    %6d partitions: %6.2f s after a restart%s\n", shutdown_partitions,
                now_s() - t0, clean ? "" : " (NOT clean)");
  }
  std::error_code ec;
  if (!keep) std::filesystem::remove_all(tmp, ec);
  return status;
}

}  // namespace
}  // namespace runnel::bench

int main(int argc, char** argv) { return runnel::bench::run(argc, argv); }
