// runnel-bench: throughput and latency of a Runnel broker measured with
// librdkafka, next to what this machine can do for the same bytes without a
// broker (docs/benchmarks.md).
//
//   runnel-bench produce|consume|e2e|rebalance|limit|all [options]
//
// With --broker-bin it starts the broker itself (fresh data directory, free
// port on 127.0.0.1) and also reports the broker's CPU per GB and peak RSS;
// with --bootstrap it uses a running broker.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/clients.h"
#include "tools/bench/fetch_reader.h"
#include "tools/bench/histogram.h"
#include "tools/bench/kafka_peer.h"
#include "tools/bench/limit.h"
#include "tools/bench/process.h"
#include "tools/bench/produce_writer.h"
#include "tools/bench/rebalance.h"

namespace runnel::bench {
namespace {

constexpr double kMB = 1024.0 * 1024.0;
constexpr double kGB = 1024.0 * 1024.0 * 1024.0;

struct Options {
  std::string mode;
  std::string broker_bin;
  std::string bootstrap;
  std::string dir;
  std::vector<std::string> overrides;
  std::vector<int> record_sizes = {100, 1024};
  std::vector<int> acks = {1, -1};
  std::vector<std::string> codecs = {"none", "lz4", "zstd"};
  int partitions = 1;
  int linger_ms = -1;
  int batch_size = -1;
  uint64_t records = 0;
  double seconds = 10;
  uint64_t consume_bytes = 1ULL << 30;
  int consume_record_size = 1024;
  int fetch_readers = 1;
  int fetch_max_bytes = 52428800;           // the Java consumer's fetch.max.bytes
  int fetch_partition_max_bytes = 1048576;  // and max.partition.fetch.bytes
  double rate_mb = 50;
  int e2e_record_size = 1024;
  double e2e_seconds = 10;
  uint64_t limit_bytes = 1ULL << 30;
  int startup_runs = 10;
  bool json = false;
  bool smoke = false;
  bool keep = false;
  std::string peer;             // "kafka": the same rows against Apache Kafka 4.4
  std::string kafka_classpath;  // default: <build tree>/kafka-peer/classpath.txt
  // The rebalance scenario (rebalance.h): the group's size with the joining
  // member, the topic's partitions, joins and leaves per protocol.
  int rebalance_members = 10;
  int rebalance_partitions = 100;
  int rebalance_runs = 5;
  std::vector<std::string> rebalance_protocols = runnel::bench::rebalance_protocols();
  int heartbeat_ms = 1000;
  int settle_ms = 500;
  std::string client_classpath;  // default: <build tree>/java-compat/kafka-4.4/classpath.txt
  std::string java_cache;        // the compiled RebalanceTimer: <bench dir>/rebalance-java
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: runnel-bench produce|consume|e2e|rebalance|limit|all [options]\n"
               "  --broker-bin PATH      start this runnel binary (fresh data dir, free port)\n"
               "  --bootstrap HOST:PORT  use a running broker instead\n"
               "  --dir PATH             parent of the temporary directory (broker data and the\n"
               "                         limit's file; default $TMPDIR or /tmp)\n"
               "  --override KEY=VALUE   broker setting (with --broker-bin; repeatable)\n"
               "  --record-size LIST     produce record sizes in bytes (default 100,1024)\n"
               "  --acks LIST            produce acks (default 1,-1)\n"
               "  --codec LIST           none, gzip, snappy, lz4, zstd (default none,lz4,zstd)\n"
               "  --partitions N         partitions of every topic (default 1)\n"
               "  --linger-ms N          producer linger.ms (default: librdkafka's; e2e: 0)\n"
               "  --batch-size N         producer batch.size (default: librdkafka's, 1000000)\n"
               "  --records N            records per produce scenario (instead of --seconds)\n"
               "  --seconds S            seconds per produce scenario (default 10)\n"
               "  --consume-bytes N      bytes written and read back by consume (default 1G)\n"
               "  --fetch-readers N      bare Fetch readers of consume-fetch, one connection\n"
               "                         each, each reading the whole topic (default 1)\n"
               "  --fetch-max-bytes N    their Fetch max_bytes (default 50M, fetch.max.bytes)\n"
               "  --fetch-partition-max-bytes N\n"
               "                         their partition_max_bytes (default 1M,\n"
               "                         max.partition.fetch.bytes)\n"
               "  --rate-mb R            end-to-end produce rate in MB/s (default 50)\n"
               "  --e2e-seconds S        measured end-to-end seconds (default 10)\n"
               "  --e2e-record-size N    end-to-end record size (default 1024)\n"
               "  --limit-bytes N        bytes of the limit mode (default 1G)\n"
               "  --startup-runs N       broker starts timed by 'all' (default 10)\n"
               "  --rebalance-members N  group size with the joining member (default 10)\n"
               "  --rebalance-partitions N\n"
               "                         partitions of the group's topic (default 100)\n"
               "  --rebalance-runs N     joins and leaves timed per protocol (default 5)\n"
               "  --rebalance-protocols LIST\n"
               "                         classic-range, classic-coop, consumer (default all)\n"
               "  --heartbeat-ms N       the members' heartbeat interval: classic clients'\n"
               "                         heartbeat.interval.ms and the brokers'\n"
               "                         group.consumer.heartbeat.interval.ms (default 1000)\n"
               "  --client-classpath FILE\n"
               "                         the Java client's class path (default: the build\n"
               "                         tree's java-compat/kafka-4.4/classpath.txt, made by\n"
               "                         tools/deps/java.sh)\n"
               "  --json                 one JSON object per scenario instead of the table\n"
               "  --smoke                every scenario for about a second with tiny sizes\n"
               "  --keep                 keep the temporary directory\n"
               "  --peer kafka           also run every scenario against Apache Kafka 4.4\n"
               "                         (one KRaft node started by the bench) and print\n"
               "                         Runnel / Kafka ratios; needs --broker-bin\n"
               "  --kafka-classpath FILE Kafka's class path (default: the build tree's\n"
               "                         kafka-peer/classpath.txt, made by tools/deps/kafka.sh)\n"
               "Sizes take K, M, G suffixes (powers of 1024). MB = 2^20 bytes, GB = 2^30.\n");
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t mult = 1;
  const char last = s.back();
  if (last == 'K' || last == 'k') mult = 1ULL << 10;
  if (last == 'M' || last == 'm') mult = 1ULL << 20;
  if (last == 'G' || last == 'g') mult = 1ULL << 30;
  if (mult != 1) s.remove_suffix(1);
  if (s.empty() || s.size() > 15) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v * mult;
  return true;
}

bool parse_int(std::string_view s, int* out) {
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  uint64_t v = 0;
  if (!parse_u64(s, &v) || v > 0x7fffffff) return false;
  *out = neg ? -static_cast<int>(v) : static_cast<int>(v);
  return true;
}

bool parse_double(const std::string& s, double* out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || *end != '\0' || !(v >= 0) || v > 1e9) return false;
  *out = v;
  return true;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Parses argv; returns 0 to go on, otherwise the exit status.
int parse_args(int argc, char** argv, Options* o) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  o->mode = argv[1];
  if (o->mode == "--help" || o->mode == "-h") {
    usage(stdout);
    return -1;
  }
  if (o->mode != "produce" && o->mode != "consume" && o->mode != "e2e" && o->mode != "rebalance" &&
      o->mode != "limit" && o->mode != "all") {
    std::fprintf(stderr, "runnel-bench: unknown mode %s\n", argv[1]);
    usage(stderr);
    return 2;
  }
  const char* tmp = std::getenv("TMPDIR");
  o->dir = tmp && *tmp ? tmp : "/tmp";
  bool seconds_set = false, consume_set = false, rate_set = false, e2e_seconds_set = false,
       limit_set = false, runs_set = false, rb_members_set = false, rb_partitions_set = false,
       rb_runs_set = false, rb_protocols_set = false, heartbeat_set = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    bool ok = true;
    if (a == "--json") {
      o->json = true;
    } else if (a == "--smoke") {
      o->smoke = true;
    } else if (a == "--keep") {
      o->keep = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return -1;
    } else if (!value(&v)) {
      ok = false;
    } else if (a == "--broker-bin") {
      o->broker_bin = v;
    } else if (a == "--bootstrap") {
      o->bootstrap = v;
    } else if (a == "--dir") {
      o->dir = v;
    } else if (a == "--peer") {
      ok = v == "kafka";
      o->peer = v;
    } else if (a == "--kafka-classpath") {
      o->kafka_classpath = v;
    } else if (a == "--client-classpath") {
      o->client_classpath = v;
    } else if (a == "--rebalance-members") {
      ok = parse_int(v, &o->rebalance_members) && o->rebalance_members >= 2 &&
           o->rebalance_members <= 100;
      rb_members_set = true;
    } else if (a == "--rebalance-partitions") {
      ok = parse_int(v, &o->rebalance_partitions) && o->rebalance_partitions >= 1 &&
           o->rebalance_partitions <= 10000;
      rb_partitions_set = true;
    } else if (a == "--rebalance-runs") {
      ok = parse_int(v, &o->rebalance_runs) && o->rebalance_runs >= 1 && o->rebalance_runs <= 20;
      rb_runs_set = true;
    } else if (a == "--rebalance-protocols") {
      o->rebalance_protocols = split(v);
      const auto& known = rebalance_protocols();
      for (const auto& p : o->rebalance_protocols) {
        ok = ok && std::find(known.begin(), known.end(), p) != known.end();
      }
      ok = ok && !o->rebalance_protocols.empty();
      rb_protocols_set = true;
    } else if (a == "--heartbeat-ms") {
      ok = parse_int(v, &o->heartbeat_ms) && o->heartbeat_ms >= 100 && o->heartbeat_ms <= 15000;
      heartbeat_set = true;
    } else if (a == "--override") {
      ok = v.find('=') != std::string::npos;
      o->overrides.push_back(v);
    } else if (a == "--record-size") {
      o->record_sizes.clear();
      for (const auto& s : split(v)) {
        int n = 0;
        ok = ok && parse_int(s, &n) && n > 0;
        o->record_sizes.push_back(n);
      }
      ok = ok && !o->record_sizes.empty();
    } else if (a == "--acks") {
      o->acks.clear();
      for (const auto& s : split(v)) {
        int n = 0;
        ok = ok && parse_int(s, &n) && n >= -1 && n <= 1;
        o->acks.push_back(n);
      }
      ok = ok && !o->acks.empty();
    } else if (a == "--codec") {
      o->codecs = split(v);
      for (const auto& c : o->codecs) {
        ok = ok && (c == "none" || c == "gzip" || c == "snappy" || c == "lz4" || c == "zstd");
      }
      ok = ok && !o->codecs.empty();
    } else if (a == "--partitions") {
      ok = parse_int(v, &o->partitions) && o->partitions >= 1 && o->partitions <= 10000;
    } else if (a == "--linger-ms") {
      ok = parse_int(v, &o->linger_ms) && o->linger_ms >= 0;
    } else if (a == "--batch-size") {
      ok = parse_int(v, &o->batch_size) && o->batch_size >= 1;
    } else if (a == "--records") {
      ok = parse_u64(v, &o->records) && o->records >= 1;
    } else if (a == "--seconds") {
      ok = parse_double(v, &o->seconds) && o->seconds > 0;
      seconds_set = true;
    } else if (a == "--consume-bytes") {
      ok = parse_u64(v, &o->consume_bytes) && o->consume_bytes >= 1;
      consume_set = true;
    } else if (a == "--fetch-readers") {
      ok = parse_int(v, &o->fetch_readers) && o->fetch_readers >= 1 && o->fetch_readers <= 64;
    } else if (a == "--fetch-max-bytes") {
      ok = parse_int(v, &o->fetch_max_bytes) && o->fetch_max_bytes >= 1;
    } else if (a == "--fetch-partition-max-bytes") {
      ok = parse_int(v, &o->fetch_partition_max_bytes) && o->fetch_partition_max_bytes >= 1;
    } else if (a == "--rate-mb") {
      ok = parse_double(v, &o->rate_mb) && o->rate_mb > 0;
      rate_set = true;
    } else if (a == "--e2e-seconds") {
      ok = parse_double(v, &o->e2e_seconds) && o->e2e_seconds > 0;
      e2e_seconds_set = true;
    } else if (a == "--e2e-record-size") {
      ok = parse_int(v, &o->e2e_record_size) && o->e2e_record_size >= 16;
    } else if (a == "--limit-bytes") {
      ok = parse_u64(v, &o->limit_bytes) && o->limit_bytes >= 1;
      limit_set = true;
    } else if (a == "--startup-runs") {
      ok = parse_int(v, &o->startup_runs) && o->startup_runs >= 1 && o->startup_runs <= 1000;
      runs_set = true;
    } else {
      std::fprintf(stderr, "runnel-bench: unknown option %s\n", a.c_str());
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "runnel-bench: bad or missing value for %s\n", a.c_str());
      return 2;
    }
  }
  if (o->mode != "limit" && o->broker_bin.empty() == o->bootstrap.empty()) {
    std::fprintf(stderr, "runnel-bench: give exactly one of --broker-bin and --bootstrap\n");
    return 2;
  }
  if (!o->peer.empty() && o->broker_bin.empty()) {
    std::fprintf(stderr, "runnel-bench: --peer needs --broker-bin\n");
    return 2;
  }
  char exe[4096];
  const ssize_t exe_len = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  const std::string exe_path =
      exe_len > 0 ? std::string(exe, static_cast<size_t>(exe_len)) : std::string(argv[0]);
  if (!o->peer.empty() && o->kafka_classpath.empty()) {
    o->kafka_classpath = default_classpath_file(exe_path);
  }
  if (o->client_classpath.empty()) o->client_classpath = default_client_classpath_file(exe_path);
  o->java_cache = (std::filesystem::path(exe_path).parent_path() / "rebalance-java").string();
  if (o->smoke) {
    if (!seconds_set) o->seconds = 0.5;
    if (!consume_set) o->consume_bytes = 4ULL << 20;
    if (!rate_set) o->rate_mb = 10;
    if (!e2e_seconds_set) o->e2e_seconds = 1;
    if (!limit_set) o->limit_bytes = 64ULL << 20;
    if (!runs_set) o->startup_runs = 3;
    // One protocol, a small group, one join and one leave.
    if (!rb_members_set) o->rebalance_members = 3;
    if (!rb_partitions_set) o->rebalance_partitions = 12;
    if (!rb_runs_set) o->rebalance_runs = 1;
    if (!rb_protocols_set) o->rebalance_protocols = {"consumer"};
    if (!heartbeat_set) o->heartbeat_ms = 500;
    o->settle_ms = 200;
  }
  return 0;
}

// One line of the report.
struct Row {
  std::string broker = "runnel";
  std::string scenario;
  std::string params;
  bool ok = true;
  std::string error;
  uint64_t records = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  bool has_latency = false;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double limit_mb_s = 0;  // 0: no limit for this scenario
  double limit_cpu_s_per_gb = 0;
  double broker_cpu_s_per_gb = -1;  // -1: not measured
  long broker_peak_rss_kb = -1;
  std::vector<std::pair<std::string, double>> extra;
  std::string skipped;  // not measured, and why (not a failure)

  double records_per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / kMB / seconds : 0; }
  void set_latency(const Histogram& h) {
    has_latency = h.count() > 0;
    p50_ms = static_cast<double>(h.percentile(50)) / 1e6;
    p99_ms = static_cast<double>(h.percentile(99)) / 1e6;
    p999_ms = static_cast<double>(h.percentile(99.9)) / 1e6;
    max_ms = static_cast<double>(h.max()) / 1e6;
  }
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

void print_json(const Row& r) {
  std::string s = "{\"broker\":" + json_string(r.broker) +
                  ",\"scenario\":" + json_string(r.scenario) +
                  ",\"params\":" + json_string(r.params) + ",\"ok\":" + (r.ok ? "true" : "false");
  if (!r.ok) s += ",\"error\":" + json_string(r.error);
  if (!r.skipped.empty()) s += ",\"skipped\":" + json_string(r.skipped);
  if (r.seconds > 0) {
    s += ",\"records\":" + std::to_string(r.records) + ",\"bytes\":" + std::to_string(r.bytes) +
         ",\"seconds\":" + num(r.seconds) + ",\"records_per_s\":" + num(r.records_per_s()) +
         ",\"mb_per_s\":" + num(r.mb_per_s());
  }
  if (r.has_latency) {
    s += ",\"latency_ms\":{\"p50\":" + num(r.p50_ms) + ",\"p99\":" + num(r.p99_ms) +
         ",\"p99_9\":" + num(r.p999_ms) + ",\"max\":" + num(r.max_ms) + "}";
  }
  if (r.limit_mb_s > 0) {
    s += ",\"limit_mb_per_s\":" + num(r.limit_mb_s) +
         ",\"ratio_to_limit\":" + num(r.mb_per_s() / r.limit_mb_s) +
         ",\"limit_cpu_s_per_gb\":" + num(r.limit_cpu_s_per_gb);
  }
  if (r.broker_cpu_s_per_gb >= 0) s += ",\"broker_cpu_s_per_gb\":" + num(r.broker_cpu_s_per_gb);
  if (r.broker_peak_rss_kb >= 0) {
    s += ",\"broker_peak_rss_kb\":" + std::to_string(r.broker_peak_rss_kb);
  }
  for (const auto& [k, v] : r.extra) s += "," + json_string(k) + ":" + num(v);
  s += "}";
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

void print_table(const std::vector<Row>& rows) {
  std::printf("%-6s %-13s %-34s %11s %8s %8s %8s %8s %8s %9s %6s %8s %8s %7s\n", "broker",
              "scenario", "params", "records/s", "MB/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
              "limit", "ratio", "cpu s/GB", "lim s/GB", "RSS MB");
  for (const Row& r : rows) {
    if (!r.ok) {
      std::printf("%-6s %-13s %-34s FAILED: %s\n", r.broker.c_str(), r.scenario.c_str(),
                  r.params.c_str(), r.error.c_str());
      continue;
    }
    if (!r.skipped.empty()) {
      std::printf("%-6s %-13s %-34s SKIPPED: %s\n", r.broker.c_str(), r.scenario.c_str(),
                  r.params.c_str(), r.skipped.c_str());
      continue;
    }
    if (r.scenario == "startup" || r.scenario == "rebalance") {
      std::string line;
      for (const auto& [k, v] : r.extra) line += " " + k + "=" + num(v);
      std::printf("%-6s %-13s %-34s%s\n", r.broker.c_str(), r.scenario.c_str(), r.params.c_str(),
                  line.c_str());
      continue;
    }
    auto opt = [](bool have, double v, const char* fmt) {
      char buf[32];
      if (!have) return std::string("-");
      std::snprintf(buf, sizeof(buf), fmt, v);
      return std::string(buf);
    };
    std::printf(
        "%-6s %-13s %-34s %11.0f %8.1f %8s %8s %8s %8s %9s %6s %8s %8s %7s\n", r.broker.c_str(),
        r.scenario.c_str(), r.params.c_str(), r.records_per_s(), r.mb_per_s(),
        opt(r.has_latency, r.p50_ms, "%.2f").c_str(), opt(r.has_latency, r.p99_ms, "%.2f").c_str(),
        opt(r.has_latency, r.p999_ms, "%.2f").c_str(), opt(r.has_latency, r.max_ms, "%.2f").c_str(),
        opt(r.limit_mb_s > 0, r.limit_mb_s, "%.0f").c_str(),
        opt(r.limit_mb_s > 0, r.limit_mb_s > 0 ? r.mb_per_s() / r.limit_mb_s : 0, "%.3f").c_str(),
        opt(r.broker_cpu_s_per_gb >= 0, r.broker_cpu_s_per_gb, "%.2f").c_str(),
        opt(r.limit_mb_s > 0, r.limit_cpu_s_per_gb, "%.2f").c_str(),
        opt(r.broker_peak_rss_kb >= 0, static_cast<double>(r.broker_peak_rss_kb) / 1024, "%.1f")
            .c_str());
  }
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Figures figures_of(const Row& r) {
  Figures f;
  f.scenario = r.scenario;
  f.params = r.params;
  f.mb_per_s = r.mb_per_s();
  f.limit_mb_s = r.limit_mb_s;
  f.has_latency = r.has_latency;
  f.p99_ms = r.p99_ms;
  f.cpu_s_per_gb = r.broker_cpu_s_per_gb;
  f.peak_rss_kb = r.broker_peak_rss_kb;
  return f;
}

double extra_of(const Row& r, const std::string& key) {
  for (const auto& [k, v] : r.extra) {
    if (k == key) return v;
  }
  return -1;
}

// Runnel's rows next to Kafka's: MB/s of each, Runnel / Kafka, each one's
// ratio to the same run's limit, p99, CPU per GB, peak RSS; then start-up.
void print_comparison(const std::vector<Row>& rows, bool json) {
  std::vector<Figures> runnel, kafka;
  const Row* startup[2] = {nullptr, nullptr};
  long peak[2] = {-1, -1};
  std::vector<const Row*> rebalance[2];
  for (const Row& r : rows) {
    if (!r.ok || !r.skipped.empty()) continue;
    const int k = r.broker == "kafka" ? 1 : 0;
    if (r.scenario == "startup") {
      startup[k] = &r;
      continue;
    }
    if (r.scenario == "rebalance") {
      rebalance[k].push_back(&r);
      continue;
    }
    peak[k] = std::max(peak[k], r.broker_peak_rss_kb);
    (k ? kafka : runnel).push_back(figures_of(r));
  }
  const std::vector<Comparison> cmp = compare(runnel, kafka);
  // Each Runnel rebalance row with Kafka's of the same params.
  std::vector<std::pair<const Row*, const Row*>> rb;
  for (const Row* r : rebalance[0]) {
    for (const Row* k : rebalance[1]) {
      if (k->params == r->params) rb.emplace_back(r, k);
    }
  }
  if (cmp.empty() && !startup[1] && rb.empty()) return;
  auto fmt = [](bool have, double v, const char* f) {
    if (!have) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof(buf), f, v);
    return std::string(buf);
  };
  if (json) {
    for (const Comparison& c : cmp) {
      std::string s = "{\"compare\":" + json_string(c.runnel.scenario) +
                      ",\"params\":" + json_string(c.runnel.params) +
                      ",\"runnel_mb_per_s\":" + num(c.runnel.mb_per_s) +
                      ",\"kafka_mb_per_s\":" + num(c.kafka.mb_per_s) +
                      ",\"runnel_to_kafka\":" + num(c.ratio);
      if (c.runnel.limit_mb_s > 0 && c.kafka.limit_mb_s > 0) {
        s += ",\"runnel_to_limit\":" + num(c.runnel.mb_per_s / c.runnel.limit_mb_s) +
             ",\"kafka_to_limit\":" + num(c.kafka.mb_per_s / c.kafka.limit_mb_s);
      }
      std::printf("%s}\n", s.c_str());
    }
    for (const auto& [r, k] : rb) {
      const double rm = extra_of(*r, "median_ms"), km = extra_of(*k, "median_ms");
      std::printf(
          "{\"compare\":\"rebalance\",\"params\":%s,\"runnel_median_ms\":%s,"
          "\"kafka_median_ms\":%s,\"runnel_max_ms\":%s,\"kafka_max_ms\":%s,"
          "\"runnel_to_kafka\":%s}\n",
          json_string(r->params).c_str(), num(rm).c_str(), num(km).c_str(),
          num(extra_of(*r, "max_ms")).c_str(), num(extra_of(*k, "max_ms")).c_str(),
          num(km > 0 ? rm / km : 0).c_str());
    }
    return;
  }
  // The throughput rows and start-up (a rebalance-only run has neither).
  if (!cmp.empty() || startup[1]) {
    std::printf("\nRunnel / Apache Kafka 4.4, same run:\n");
    std::printf("%-13s %-34s %9s %9s %7s %8s %8s %8s %8s %8s %8s %7s %7s\n", "scenario", "params",
                "R MB/s", "K MB/s", "R/K", "R/limit", "K/limit", "R p99", "K p99", "R s/GB",
                "K s/GB", "R RSS", "K RSS");
    for (const Comparison& c : cmp) {
      const Figures& r = c.runnel;
      const Figures& k = c.kafka;
      std::printf(
          "%-13s %-34s %9.1f %9.1f %7s %8s %8s %8s %8s %8s %8s %7s %7s\n", r.scenario.c_str(),
          r.params.c_str(), r.mb_per_s, k.mb_per_s, ratio_text(r.mb_per_s, k.mb_per_s).c_str(),
          ratio_text(r.mb_per_s, r.limit_mb_s).c_str(),
          ratio_text(k.mb_per_s, k.limit_mb_s).c_str(),
          fmt(r.has_latency, r.p99_ms, "%.2f").c_str(),
          fmt(k.has_latency, k.p99_ms, "%.2f").c_str(),
          fmt(r.cpu_s_per_gb >= 0, r.cpu_s_per_gb, "%.2f").c_str(),
          fmt(k.cpu_s_per_gb >= 0, k.cpu_s_per_gb, "%.2f").c_str(),
          fmt(r.peak_rss_kb >= 0, static_cast<double>(r.peak_rss_kb) / 1024, "%.1f").c_str(),
          fmt(k.peak_rss_kb >= 0, static_cast<double>(k.peak_rss_kb) / 1024, "%.1f").c_str());
    }
    for (int k = 0; k < 2; ++k) {
      const Row* s = startup[k];
      std::printf(
          "%-6s start-up to the first accepted connection: median %s ms (min %s, max %s), to the "
          "first ApiVersions answer: %s ms; RSS 1 s after: %s MB; peak RSS: %s MB\n",
          k ? "kafka" : "runnel", fmt(s, s ? extra_of(*s, "startup_ms_median") : 0, "%.1f").c_str(),
          fmt(s, s ? extra_of(*s, "startup_ms_min") : 0, "%.1f").c_str(),
          fmt(s, s ? extra_of(*s, "startup_ms_max") : 0, "%.1f").c_str(),
          fmt(s, s ? extra_of(*s, "serving_ms_median") : 0, "%.1f").c_str(),
          fmt(s, s ? extra_of(*s, "idle_rss_kb") / 1024 : 0, "%.1f").c_str(),
          fmt(peak[k] >= 0, static_cast<double>(peak[k]) / 1024, "%.1f").c_str());
    }
  }
  if (!rb.empty()) {
    std::printf(
        "\nRebalance, time to every partition owned again (ms), Runnel / Apache Kafka 4.4:\n");
    std::printf("%-13s %-34s %9s %9s %9s %9s %7s\n", "scenario", "params", "R median", "K median",
                "R max", "K max", "R/K");
    for (const auto& [r, k] : rb) {
      const double rm = extra_of(*r, "median_ms"), km = extra_of(*k, "median_ms");
      std::printf("%-13s %-34s %9.0f %9.0f %9.0f %9.0f %7s\n", "rebalance", r->params.c_str(), rm,
                  km, extra_of(*r, "max_ms"), extra_of(*k, "max_ms"), ratio_text(rm, km).c_str());
    }
  }
  std::fflush(stdout);
}

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {
    // The same group settings on both brokers, before the user's --override:
    // no initial rebalance delay (the Kafka peer's setting), and the consumer
    // protocol's heartbeat interval the classic members use too.
    const std::string hb = std::to_string(o_.heartbeat_ms);
    overrides_ = {"group.initial.rebalance.delay.ms=0",
                  "group.consumer.min.heartbeat.interval.ms=" + hb,
                  "group.consumer.heartbeat.interval.ms=" + hb};
    overrides_.insert(overrides_.end(), o_.overrides.begin(), o_.overrides.end());
  }

  int run() {
    tmp_ = make_temp_dir(o_.dir, "runnel-bench");
    if (tmp_.empty()) {
      std::fprintf(stderr, "runnel-bench: cannot create a directory under %s: %s\n", o_.dir.c_str(),
                   std::strerror(errno));
      return 1;
    }
    std::error_code ec;
    std::filesystem::create_directories(tmp_ + "/limit", ec);
    const bool all = o_.mode == "all";
    if (o_.mode != "limit") {
      if (all && !o_.broker_bin.empty()) startup();
      if (!failed_ && connect_broker()) {
        if (all || o_.mode == "produce") produce_all();
        if (!failed_ && (all || o_.mode == "consume")) consume();
        if (!failed_ && (all || o_.mode == "e2e")) e2e();
        if (!failed_ && (all || o_.mode == "rebalance")) rebalance();
      }
      stop_broker();
      if (!failed_ && o_.peer == "kafka") kafka_peer(all);
    } else {
      limit_only();
    }
    stop_broker();
    if (!o_.json) print_table(rows_);
    print_comparison(rows_, o_.json);
    if (!o_.keep) {
      std::filesystem::remove_all(tmp_, ec);
    } else {
      std::fprintf(stderr, "runnel-bench: kept %s\n", tmp_.c_str());
    }
    return failed_ ? 1 : 0;
  }

 private:
  void add(Row r) {
    r.broker = kafka_ ? "kafka" : "runnel";
    if (!r.ok) failed_ = true;
    if (o_.json) print_json(r);
    const std::string outcome = !r.ok               ? r.error
                                : r.skipped.empty() ? std::string("done")
                                                    : "SKIPPED: " + r.skipped;
    std::fprintf(stderr, "runnel-bench: %s %s: %s\n", r.scenario.c_str(), r.params.c_str(),
                 outcome.c_str());
    rows_.push_back(std::move(r));
  }
  void fail_row(const std::string& scenario, const std::string& params, const std::string& err) {
    Row r;
    r.scenario = scenario;
    r.params = params;
    r.ok = false;
    r.error = err;
    add(std::move(r));
  }

  void stop_broker() {
    if (broker_.pid() > 0 && !broker_.stop(kafka_ ? 120 : 30)) {
      fail_row(
          "broker", "stop",
          "the broker did not stop cleanly: " + broker_.exit_text() + "\n" + broker_.log_tail());
    }
  }

  // Apache Kafka 4.4 in `dir` (fresh): writes its configuration, formats its
  // storage (not timed), spawns it and waits for the first accepted
  // connection, then for its first answer to ApiVersions (Kafka accepts TCP
  // connections before it serves them; `serving_s`). Returns the seconds from
  // the spawn to the connection, or < 0 (with a failed row).
  double start_kafka(const std::string& dir, BrokerProcess* b, double* serving_s = nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    KafkaPeerConfig c;
    c.port = free_port();
    c.controller_port = free_port();
    c.data_dir = dir + "/data";
    c.overrides = overrides_;
    const std::string props = dir + "/server.properties";
    const std::string log4j = dir + "/log4j2.yaml";
    std::ofstream(props) << kafka_server_properties(c);
    std::ofstream(log4j) << kafka_log4j_config(dir + "/server.log");
    std::string err;
    if (!run_to_end(
            kafka_format_command(java_binary(), classpath_, props, log4j, random_cluster_id()),
            dir + "/format.log", 300, &err)) {
      fail_row("startup", "kafka storage format", err);
      return -1;
    }
    b->accept_sigterm_status(true);
    if (!b->spawn(kafka_server_command(java_binary(), classpath_, props, log4j), c.port,
                  dir + "/stdout.log", &err)) {
      fail_row("startup", "kafka", err);
      return -1;
    }
    const double t = b->wait_ready(300);
    const double serving = t < 0 ? -1 : b->wait_serving(300);
    if (serving < 0) {
      fail_row("startup", "kafka",
               "Kafka did not answer ApiVersions within 300 s (" + b->exit_text() + ")\n" +
                   b->log_tail());
      return -1;
    }
    if (serving_s) *serving_s = serving;
    return t;
  }

  // The same scenarios against Apache Kafka 4.4 (after Runnel's broker has
  // stopped): start-up, then one node for produce, consume and e2e.
  void kafka_peer(bool all) {
    kafka_ = true;
    std::string err;
    classpath_ = read_classpath_file(o_.kafka_classpath, &err);
    if (classpath_.empty()) {
      fail_row("startup", "kafka", err);
      return;
    }
    if (all) {
      // Each start formats a fresh directory first (a JVM of its own, not timed).
      const int runs = o_.smoke ? 1 : std::min(o_.startup_runs, 3);
      std::vector<double> ms, serving_ms;
      long idle_rss_kb = -1;
      for (int i = 0; i < runs; ++i) {
        BrokerProcess b;
        double serving = 0;
        const double t = start_kafka(tmp_ + "/kafka-startup-" + std::to_string(i), &b, &serving);
        if (t < 0) return;
        ms.push_back(t * 1000);
        serving_ms.push_back(serving * 1000);
        if (i == 0) {
          sleep_us(1000000);
          const ProcStats s = read_proc(b.pid());
          idle_rss_kb = s.ok ? s.rss_kb : -1;
        }
        if (!b.stop(120)) {
          fail_row("startup", "kafka",
                   "Kafka did not stop cleanly: " + b.exit_text() + "\n" + b.log_tail());
          return;
        }
      }
      std::sort(ms.begin(), ms.end());
      const size_t n = ms.size();
      Row r;
      r.scenario = "startup";
      r.params = "runs=" + std::to_string(n);
      r.extra = {{"startup_ms_median", median(ms)},
                 {"startup_ms_min", ms.front()},
                 {"startup_ms_max", ms.back()},
                 {"serving_ms_median", median(serving_ms)},
                 {"idle_rss_kb", static_cast<double>(idle_rss_kb)}};
      add(std::move(r));
    }
    if (start_kafka(tmp_ + "/kafka", &broker_) < 0) return;
    bootstrap_ = broker_.bootstrap();
    if (all || o_.mode == "produce") produce_all();
    if (!failed_ && (all || o_.mode == "consume")) consume();
    if (!failed_ && (all || o_.mode == "e2e")) e2e();
    if (!failed_ && (all || o_.mode == "rebalance")) rebalance();
  }

  // Times `startup_runs` starts on fresh data directories: from the spawn to
  // the first accepted TCP connection. The first run also reads the RSS one
  // second after the start.
  void startup() {
    std::vector<double> ms, serving_ms;
    long idle_rss_kb = -1;
    for (int i = 0; i < o_.startup_runs; ++i) {
      const std::string dir = tmp_ + "/startup-" + std::to_string(i);
      BrokerProcess b;
      std::string err;
      if (!b.start(o_.broker_bin, dir, dir + ".log", overrides_, &err)) {
        fail_row("startup", "", err);
        return;
      }
      const double t = b.wait_ready(10);
      if (t < 0) {
        fail_row("startup", "",
                 "the broker did not accept connections within 10 s (" + b.exit_text() + ")\n" +
                     b.log_tail());
        return;
      }
      ms.push_back(t * 1000);
      const double serving = b.wait_serving(10);
      if (serving < 0) {
        fail_row("startup", "", "the broker did not answer ApiVersions within 10 s");
        return;
      }
      serving_ms.push_back(serving * 1000);
      if (i == 0) {
        sleep_us(1000000);
        const ProcStats s = read_proc(b.pid());
        idle_rss_kb = s.ok ? s.rss_kb : -1;
      }
      // The broker listens a moment before it installs its SIGTERM handler;
      // a SIGTERM right after the first connection can land in between.
      sleep_us(100000);
      if (!b.stop(10)) {
        fail_row("startup", "",
                 "the broker did not stop cleanly: " + b.exit_text() + "\n" + b.log_tail());
        return;
      }
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    Row r;
    r.scenario = "startup";
    r.params = "runs=" + std::to_string(n);
    r.extra = {{"startup_ms_median", median(ms)},
               {"startup_ms_min", ms.front()},
               {"startup_ms_max", ms.back()},
               {"serving_ms_median", median(serving_ms)},
               {"idle_rss_kb", static_cast<double>(idle_rss_kb)}};
    add(std::move(r));
  }

  bool connect_broker() {
    if (!o_.bootstrap.empty()) {
      bootstrap_ = o_.bootstrap;
      return true;
    }
    std::string err;
    const std::string data = tmp_ + "/data";
    if (!broker_.start(o_.broker_bin, data, tmp_ + "/broker.log", overrides_, &err)) {
      fail_row("broker", "start", err);
      return false;
    }
    if (broker_.wait_ready(10) < 0) {
      fail_row("broker", "start",
               "the broker did not accept connections within 10 s (" + broker_.exit_text() + ")\n" +
                   broker_.log_tail());
      return false;
    }
    bootstrap_ = broker_.bootstrap();
    return true;
  }

  // Runs `fn` and fills the broker's CPU per GB of `bytes_of(row)` and its
  // peak RSS, when the bench started the broker. False when the broker died.
  bool measured(Row* r, const std::function<void()>& fn) {
    const bool own = broker_.pid() > 0;
    const ProcStats before = own ? read_proc(broker_.pid()) : ProcStats{};
    fn();
    if (!own) return true;
    const ProcStats after = read_proc(broker_.pid());
    if (!broker_.alive()) {
      r->ok = false;
      r->error = "the broker died: " + broker_.exit_text() + "\n" + broker_.log_tail();
      return false;
    }
    if (before.ok && after.ok && r->bytes > 0) {
      r->broker_cpu_s_per_gb = (after.cpu_s - before.cpu_s) / (static_cast<double>(r->bytes) / kGB);
      r->broker_peak_rss_kb = after.hwm_kb;
    }
    return true;
  }

  // Writes back the dirty pages of the file system holding the temporary
  // directory (broker data and limit files), so that no write-back runs
  // during a measurement: before each produce phase and each limit, and
  // before the reads. Best effort.
  void sync_dir() const {
    const int fd = ::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::syncfs(fd);
    ::close(fd);
  }

  std::string topic(const std::string& what) {
    return "runnel-bench-" + what + "-" + std::to_string(getpid()) + "-" +
           std::to_string(++topic_seq_);
  }

  bool make_topic(const std::string& name, const std::string& scenario, const std::string& params) {
    std::string err;
    if (create_topic(bootstrap_, name, o_.partitions, &err)) return true;
    fail_row(scenario, params, err);
    return false;
  }

  size_t chunk_for(int record_size) const {
    // librdkafka's defaults: batch.size 1000000, batch.num.messages 10000.
    const uint64_t by_size = o_.batch_size > 0 ? static_cast<uint64_t>(o_.batch_size) : 1000000;
    const uint64_t by_count = 10000ULL * static_cast<uint64_t>(record_size);
    return static_cast<size_t>(std::min(by_size, by_count));
  }

  void produce_all() {
    for (int size : o_.record_sizes) {
      for (int acks : o_.acks) {
        for (const std::string& codec : o_.codecs) {
          std::string params = "size=" + std::to_string(size) + " acks=" + std::to_string(acks) +
                               " codec=" + codec + " p=" + std::to_string(o_.partitions);
          if (o_.linger_ms >= 0) params += " linger=" + std::to_string(o_.linger_ms);
          if (o_.batch_size > 0) params += " batch=" + std::to_string(o_.batch_size);
          const std::string name = topic("produce");
          if (!make_topic(name, "produce", params)) return;
          ProduceParams p;
          p.topic = name;
          p.record_size = size;
          p.acks = acks;
          p.codec = codec;
          p.linger_ms = o_.linger_ms;
          p.batch_size = o_.batch_size;
          p.records = o_.records;
          p.seconds = o_.seconds;
          if (o_.smoke) p.queue_kb = 4096;
          Row r;
          r.scenario = "produce";
          r.params = params;
          if (!measure_produce(&r, size, [&] { return run_produce(bootstrap_, p); })) return;
          const uint64_t produced = r.ok ? r.bytes : 0;
          add(std::move(r));
          if (failed_) return;
          if (produced > 0) produce_wire(size, acks, codec, params, produced);
          if (failed_) return;
        }
      }
    }
  }

  // The same bytes as the librdkafka row just measured, sent by the bare
  // Produce writer (produce_writer.h) as ready-made requests of one batch of
  // chunk_for(size) bytes each, 5 in flight: what the broker takes in when
  // the client costs next to nothing, as the pipe limit's sender does.
  // Latency here is per request (send to response), not per record.
  void produce_wire(int size, int acks, const std::string& codec, const std::string& params,
                    uint64_t bytes) {
    const std::string name = topic("produce-wire");
    if (!make_topic(name, "produce-wire", params)) return;
    ProduceWriterParams p;
    p.bootstrap = bootstrap_;
    p.topic = name;
    p.partitions = o_.partitions;
    p.record_size = size;
    p.batch_bytes = chunk_for(size);
    p.acks = acks;
    p.codec = codec;
    p.total_bytes = bytes;
    Row r;
    r.scenario = "produce-wire";
    r.params = params;
    if (measure_produce(&r, size, [&] { return run_produce_writer(p); })) add(std::move(r));
  }

  // One produce-like phase (`run` returns a ProduceResult or a
  // ProduceWriterResult), started with no dirty pages, then the pipe limit for
  // the same bytes, measured right after it. False when the broker died (the
  // row is added then); else the caller adds it.
  template <typename Run>
  bool measure_produce(Row* r, int size, Run&& run) {
    decltype(run()) res;
    sync_dir();
    const bool alive = measured(r, [&] {
      res = run();
      r->records = res.records;
      r->bytes = res.bytes;
      r->seconds = res.seconds;
    });
    if (!alive) {
      add(std::move(*r));
      return false;
    }
    r->set_latency(res.latency_ns);
    if (!res.ok) {
      r->ok = false;
      r->error = res.error;
    } else {
      const std::string file = tmp_ + "/limit/produce.bin";
      sync_dir();
      const LimitResult lim = pipe_limit(file, res.bytes, chunk_for(size));
      std::filesystem::remove(file);
      if (!lim.ok) {
        r->ok = false;
        r->error = "limit: " + lim.error;
      }
      r->limit_mb_s = lim.mb_per_s;
      r->limit_cpu_s_per_gb = lim.cpu_s_per_gb;
    }
    return true;
  }

  // Fills a topic with --consume-bytes of records, then reads it back twice: with
  // librdkafka's consumer (`consume`) and with bare Fetch readers
  // (`consume-fetch`, fetch_reader.h). Both are compared with sendfile(2) of
  // a file of the same size.
  void consume() {
    const int size = o_.consume_record_size;
    const std::string params = "size=" + std::to_string(size) +
                               " p=" + std::to_string(o_.partitions) +
                               " bytes=" + std::to_string(o_.consume_bytes);
    const std::string name = topic("consume");
    if (!make_topic(name, "consume", params)) return;
    ProduceParams fill;
    fill.topic = name;
    fill.record_size = size;
    fill.acks = 1;
    fill.records = std::max<uint64_t>(1, o_.consume_bytes / static_cast<uint64_t>(size));
    const ProduceResult filled = run_produce(bootstrap_, fill);
    if (!filled.ok) {
      fail_row("consume", params, "filling the topic: " + filled.error);
      return;
    }
    if (broker_.pid() > 0 && !broker_.alive()) {
      fail_row("consume", params, "the broker died: " + broker_.exit_text());
      return;
    }
    const double timeout = 60 + static_cast<double>(filled.bytes) / (10.0 * kMB);
    // The reads below come from the page cache; the write-back of the fill
    // would otherwise compete with them for the CPU.
    sync_dir();

    Row r;
    r.scenario = "consume";
    r.params = params;
    ConsumeResult res;
    const bool alive = measured(&r, [&] {
      res = run_consume(bootstrap_, name, o_.partitions, filled.records, timeout);
      r.records = res.records;
      r.bytes = res.bytes;
      r.seconds = res.seconds;
    });
    if (alive && !res.ok) {
      r.ok = false;
      r.error = res.error;
    }
    if (!alive) {
      add(std::move(r));
      return;
    }

    Row f;
    f.scenario = "consume-fetch";
    f.params = "size=" + std::to_string(size) + " p=" + std::to_string(o_.partitions) +
               " readers=" + std::to_string(o_.fetch_readers);
    if (o_.fetch_max_bytes != 52428800) f.params += " max=" + std::to_string(o_.fetch_max_bytes);
    if (o_.fetch_partition_max_bytes != 1048576) {
      f.params += " pmax=" + std::to_string(o_.fetch_partition_max_bytes);
    }
    FetchReaderParams fp;
    fp.bootstrap = bootstrap_;
    fp.topic = name;
    fp.partitions = o_.partitions;
    fp.max_bytes = o_.fetch_max_bytes;
    fp.partition_max_bytes = o_.fetch_partition_max_bytes;
    fp.timeout_s = timeout;
    FetchReadResult fres;
    const bool fetch_alive = measured(&f, [&] {
      fres = run_fetch_readers(fp, o_.fetch_readers);
      // Offsets read times the record size: the same record bytes as the
      // consume row counts (the batch bytes on the wire are in the JSON).
      f.records = fres.counts.records;
      f.bytes = fres.counts.records * static_cast<uint64_t>(size);
      f.seconds = fres.seconds;
    });
    if (fetch_alive) {
      if (!fres.ok) {
        f.ok = false;
        f.error = fres.error;
      } else if (fres.end_offset_sum != static_cast<int64_t>(filled.records) ||
                 fres.counts.records != filled.records * static_cast<uint64_t>(o_.fetch_readers)) {
        f.ok = false;
        f.error = "fetch reader: ended at offset sum " + std::to_string(fres.end_offset_sum) +
                  " after " + std::to_string(fres.counts.records) + " records; " +
                  std::to_string(filled.records) + " were produced";
      }
      f.extra = {{"fetches", static_cast<double>(fres.counts.fetches)},
                 {"batch_bytes", static_cast<double>(fres.counts.batch_bytes)}};
    }

    const std::string file = tmp_ + "/limit/consume.bin";
    const LimitResult written = pipe_limit(file, filled.bytes, chunk_for(size));
    if (written.ok) sync_dir();
    const LimitResult lim = written.ok ? sendfile_limit(file) : written;
    std::filesystem::remove(file);
    for (Row* row : {&r, &f}) {
      if (!row->ok) continue;
      if (!lim.ok) {
        row->ok = false;
        row->error = "limit: " + lim.error;
      }
      row->limit_mb_s = lim.mb_per_s;
      row->limit_cpu_s_per_gb = lim.cpu_s_per_gb;
    }
    add(std::move(r));
    add(std::move(f));
  }

  void e2e() {
    E2eParams p;
    p.topic = topic("e2e");
    p.partitions = o_.partitions;
    p.record_size = o_.e2e_record_size;
    p.rate_bytes_per_s = o_.rate_mb * kMB;
    p.seconds = o_.e2e_seconds;
    p.warmup_s = o_.smoke ? 0.2 : 1;
    p.acks = o_.acks.front();
    p.codec = o_.codecs.front();
    p.linger_ms = o_.linger_ms >= 0 ? o_.linger_ms : 0;
    const std::string params = "size=" + std::to_string(p.record_size) +
                               " rate=" + num(o_.rate_mb) + "MB/s acks=" + std::to_string(p.acks) +
                               " codec=" + p.codec + " linger=" + std::to_string(p.linger_ms);
    if (!make_topic(p.topic, "e2e", params)) return;
    Row r;
    r.scenario = "e2e";
    r.params = params;
    E2eResult res;
    const bool alive = measured(&r, [&] {
      res = run_e2e(bootstrap_, p);
      r.records = res.records;
      r.bytes = res.bytes;
      r.seconds = res.seconds;
    });
    if (alive) {
      r.set_latency(res.latency_ns);
      if (!res.ok) {
        r.ok = false;
        r.error = res.error;
      }
    }
    add(std::move(r));
  }

  void limit_only() {
    const int size = o_.record_sizes.back();
    const std::string file = tmp_ + "/limit/stream.bin";
    const LimitResult pipe = pipe_limit(file, o_.limit_bytes, chunk_for(size));
    Row r;
    r.scenario = "limit";
    r.params = "pipe+crc32c+append chunk=" + std::to_string(chunk_for(size));
    r.ok = pipe.ok;
    r.error = pipe.error;
    r.bytes = pipe.bytes;
    r.seconds = pipe.seconds;
    r.limit_mb_s = pipe.mb_per_s;
    r.limit_cpu_s_per_gb = pipe.cpu_s_per_gb;
    add(std::move(r));
    if (!pipe.ok) return;
    sync_dir();
    const LimitResult sf = sendfile_limit(file);
    std::filesystem::remove(file);
    Row s;
    s.scenario = "limit";
    s.params = "sendfile";
    s.ok = sf.ok;
    s.error = sf.error;
    s.bytes = sf.bytes;
    s.seconds = sf.seconds;
    s.limit_mb_s = sf.mb_per_s;
    s.limit_cpu_s_per_gb = sf.cpu_s_per_gb;
    add(std::move(s));
  }

  // The rebalance scenario (rebalance.h): one JVM of Java clients per broker,
  // then a row per protocol and event with the median, min and max of the
  // runs. Skipped, not failed, when the client is not installed, unless
  // RUNNEL_REQUIRE_CLIENTS=1.
  void rebalance() {
    const std::string size = "m=" + std::to_string(o_.rebalance_members) +
                             " p=" + std::to_string(o_.rebalance_partitions);
    std::string err;
    std::string classpath;
    if (!std::filesystem::exists(o_.client_classpath)) {
      err = "no " + o_.client_classpath + " (run tools/deps/java.sh, or give --client-classpath)";
    } else {
      classpath = read_classpath_file(o_.client_classpath, &err);
    }
    if (classpath.empty()) {
      const char* require = std::getenv("RUNNEL_REQUIRE_CLIENTS");
      if (require && std::string(require) == "1") {
        fail_row("rebalance", size, "the Java client is required: " + err);
        return;
      }
      Row r;
      r.scenario = "rebalance";
      r.params = size;
      r.skipped = "the Java client is not installed: " + err;
      add(std::move(r));
      return;
    }
    if (!java_compiled_ &&
        !compile_rebalance_timer(javac_binary(), classpath, RUNNEL_BENCH_REBALANCE_SOURCE,
                                 o_.java_cache, &err)) {
      fail_row("rebalance", size, "compiling the Java members: " + err);
      return;
    }
    java_compiled_ = true;
    RebalanceParams p;
    p.java = java_binary();
    p.classpath = classpath;
    p.classes = o_.java_cache;
    p.bootstrap = bootstrap_;
    p.topic = topic("rebalance");
    p.partitions = o_.rebalance_partitions;
    p.members = o_.rebalance_members;
    p.runs = o_.rebalance_runs;
    p.protocols = o_.rebalance_protocols;
    p.heartbeat_ms = o_.heartbeat_ms;
    p.settle_ms = o_.settle_ms;
    p.event_timeout_s = o_.smoke ? 20 : 30;
    // A bound, not an estimate (an event takes one or two heartbeats, its random wait and the
    // settle time): the JVM's start, then per protocol 20 s for the formation and the close,
    // and for each join and leave four heartbeat intervals and the settle time.
    const double per_event_s = (4.0 * p.heartbeat_ms + p.settle_ms) / 1000;
    p.timeout_s =
        o_.smoke ? 90
                 : 60 + static_cast<double>(p.protocols.size()) * (20 + 2.0 * p.runs * per_event_s);
    const std::string base = tmp_ + "/rebalance-" + (kafka_ ? "kafka" : "runnel");
    p.results_path = base + ".results";
    p.log_path = base + ".log";
    Row whole;
    RebalanceResult res;
    if (!measured(&whole, [&] { res = run_rebalance(p); })) {
      whole.scenario = "rebalance";
      whole.params = size;
      add(std::move(whole));
      return;
    }
    if (!res.ok) {
      fail_row("rebalance", size, res.error);
      return;
    }
    for (const std::string& protocol : p.protocols) {
      for (const char* event : {"join", "leave"}) {
        const std::string params = protocol + " " + event + " " + size;
        const RebalanceTiming* t = nullptr;
        for (const RebalanceTiming& x : res.timings) {
          if (x.protocol == protocol && x.event == event) t = &x;
        }
        if (!t || t->ms.size() != static_cast<size_t>(p.runs)) {
          fail_row("rebalance", params,
                   "expected " + std::to_string(p.runs) + " timings in " + p.results_path);
          continue;
        }
        Row r;
        r.scenario = "rebalance";
        r.params = params;
        r.extra = {{"runs", static_cast<double>(t->ms.size())},
                   {"median_ms", median(t->ms)},
                   {"min_ms", *std::min_element(t->ms.begin(), t->ms.end())},
                   {"max_ms", *std::max_element(t->ms.begin(), t->ms.end())},
                   {"double_owned", static_cast<double>(t->double_owned)}};
        if (t->formed_ms >= 0) r.extra.emplace_back("formed_ms", t->formed_ms);
        add(std::move(r));
      }
    }
  }

  const Options& o_;
  std::vector<std::string> overrides_;  // given to every broker the bench starts
  bool java_compiled_ = false;
  std::string tmp_;
  std::string bootstrap_;
  BrokerProcess broker_;
  std::vector<Row> rows_;
  bool failed_ = false;
  int topic_seq_ = 0;
  bool kafka_ = false;     // the rows now come from the Kafka peer
  std::string classpath_;  // Kafka's, read from --kafka-classpath
};

}  // namespace
}  // namespace runnel::bench

int main(int argc, char** argv) {
  runnel::bench::Options o;
  const int rc = runnel::bench::parse_args(argc, argv, &o);
  if (rc != 0) return rc < 0 ? 0 : rc;
  runnel::bench::Bench b(o);
  return b.run();
}
