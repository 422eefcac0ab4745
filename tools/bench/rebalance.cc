#include "tools/bench/rebalance.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/bench/process.h"

namespace runnel::bench {

const std::vector<std::string>& rebalance_protocols() {
  static const std::vector<std::string> kProtocols = {"classic-range", "classic-coop", "consumer"};
  return kProtocols;
}

namespace {

RebalanceTiming* timing_of(std::vector<RebalanceTiming>* out, const std::string& protocol,
                           const std::string& event) {
  for (RebalanceTiming& t : *out) {
    if (t.protocol == protocol && t.event == event) return &t;
  }
  out->push_back(RebalanceTiming{protocol, event, {}, 0, -1});
  return &out->back();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The line the JVM ends with on an error ("RebalanceTimer: ..."), else the
// log's last bytes.
std::string failure_text(const std::string& log_path) {
  const std::string log = read_file(log_path);
  const std::string mark = "RebalanceTimer: ";
  const size_t at = log.rfind(mark);
  if (at != std::string::npos) return log.substr(at, log.find('\n', at) - at);
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

}  // namespace

bool parse_rebalance_results(const std::string& text, std::vector<RebalanceTiming>* out,
                             std::string* err) {
  std::istringstream lines(text);
  std::string line;
  bool done = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::istringstream in(line);
    std::string kind, protocol, event;
    in >> kind;
    if (done) {
      *err = "results after \"done\": " + line;
      return false;
    }
    if (kind == "done") {
      done = true;
      continue;
    }
    double ms = -1;
    if (kind == "formed" && (in >> protocol >> ms) && ms >= 0) {
      timing_of(out, protocol, "join")->formed_ms = ms;
      continue;
    }
    int run = -1, double_owned = -1;
    if (kind == "result" && (in >> protocol >> event >> run >> ms >> double_owned) &&
        (event == "join" || event == "leave") && run >= 0 && ms >= 0 && double_owned >= 0) {
      RebalanceTiming* t = timing_of(out, protocol, event);
      t->ms.push_back(ms);
      t->double_owned += double_owned;
      continue;
    }
    *err = "malformed result line: " + line;
    return false;
  }
  if (!done) {
    *err = "the results end before \"done\"";
    return false;
  }
  return true;
}

std::vector<std::string> rebalance_command(const RebalanceParams& p) {
  std::string protocols;
  for (const std::string& s : p.protocols) protocols += (protocols.empty() ? "" : ",") + s;
  // One JVM for every member: the C1 compiler only and a small heap start it
  // fast and leave the other core to the broker (as compat-tests/java does).
  return {p.java,
          "-Xmx384m",
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
          "-cp",
          p.classes + ":" + p.classpath,
          "dev.runnel.bench.RebalanceTimer",
          "bootstrap=" + p.bootstrap,
          "topic=" + p.topic,
          "partitions=" + std::to_string(p.partitions),
          "members=" + std::to_string(p.members),
          "runs=" + std::to_string(p.runs),
          "protocols=" + protocols,
          "heartbeat_ms=" + std::to_string(p.heartbeat_ms),
          "settle_ms=" + std::to_string(p.settle_ms),
          "event_timeout_s=" + std::to_string(p.event_timeout_s),
          "results=" + p.results_path};
}

bool compile_rebalance_timer(const std::string& javac, const std::string& classpath,
                             const std::string& source, const std::string& cache_dir,
                             std::string* err) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) {
    *err = "cannot find " + source;
    return false;
  }
  const std::string stamp = source + "\n" + std::to_string(st.st_size) + " " +
                            std::to_string(st.st_mtim.tv_sec) + "." +
                            std::to_string(st.st_mtim.tv_nsec) + "\n" + classpath + "\n";
  const std::string cls = cache_dir + "/dev/runnel/bench/RebalanceTimer.class";
  if (read_file(cache_dir + "/stamp") == stamp && std::filesystem::exists(cls)) return true;
  // Compiled beside the cache, then renamed into place.
  const std::string tmp = cache_dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  std::filesystem::create_directories(tmp, ec);
  if (ec) {
    *err = "cannot create " + tmp + ": " + ec.message();
    return false;
  }
  const std::string log = tmp + ".log";
  std::filesystem::remove(log, ec);
  if (!run_to_end({javac, "-nowarn", "-d", tmp, "-cp", classpath, source}, log, 120, err)) {
    *err += ": " + read_file(log);
    std::filesystem::remove_all(tmp, ec);
    return false;
  }
  std::filesystem::remove(log, ec);
  std::ofstream(tmp + "/stamp") << stamp;
  std::filesystem::remove_all(cache_dir, ec);
  std::filesystem::rename(tmp, cache_dir, ec);
  if (ec) {
    *err = "cannot rename " + tmp + " to " + cache_dir + ": " + ec.message();
    std::filesystem::remove_all(tmp, ec);
    return false;
  }
  return true;
}

RebalanceResult run_rebalance(const RebalanceParams& p) {
  RebalanceResult r;
  std::error_code ec;
  std::filesystem::remove(p.results_path, ec);
  if (!run_to_end(rebalance_command(p), p.log_path, p.timeout_s, &r.error)) {
    r.error += ": " + failure_text(p.log_path);
    return r;
  }
  if (!parse_rebalance_results(read_file(p.results_path), &r.timings, &r.error)) return r;
  r.ok = true;
  return r;
}

std::string default_client_classpath_file(const std::string& exe_path) {
  const std::filesystem::path exe = std::filesystem::path(exe_path).lexically_normal();
  return (exe.parent_path().parent_path().parent_path() / "java-compat" / "kafka-4.4" /
          "classpath.txt")
      .lexically_normal()
      .string();
}

std::string javac_binary() {
  const char* home = std::getenv("JAVA_HOME");
  if (home && *home) return std::string(home) + "/bin/javac";
  return "javac";
}

}  // namespace runnel::bench
