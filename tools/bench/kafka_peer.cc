#include "tools/bench/kafka_peer.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace runnel::bench {

std::string read_classpath_file(const std::string& path, std::string* err) {
  std::ifstream f(path);
  if (!f) {
    *err = "cannot read the Kafka class path file " + path +
           " (run tools/deps/kafka.sh, or give --kafka-classpath)";
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string cp = ss.str();
  const auto first = cp.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    *err = "the Kafka class path file " + path + " is empty";
    return "";
  }
  cp = cp.substr(first, cp.find_last_not_of(" \t\r\n") - first + 1);
  if (cp.find('\n') != std::string::npos) {
    *err = "the Kafka class path file " + path + " has more than one line";
    return "";
  }
  return cp;
}

std::string default_classpath_file(const std::string& exe_path) {
  const std::filesystem::path exe = std::filesystem::path(exe_path).lexically_normal();
  return (exe.parent_path().parent_path().parent_path() / "kafka-peer" / "classpath.txt")
      .lexically_normal()
      .string();
}

std::string kafka_server_properties(const KafkaPeerConfig& c) {
  const std::string port = std::to_string(c.port);
  const std::string cport = std::to_string(c.controller_port);
  std::vector<std::pair<std::string, std::string>> p = {
      {"process.roles", "broker,controller"},
      {"node.id", "1"},
      {"controller.quorum.voters", "1@127.0.0.1:" + cport},
      {"listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + cport},
      {"advertised.listeners", "PLAINTEXT://127.0.0.1:" + port},
      {"controller.listener.names", "CONTROLLER"},
      {"inter.broker.listener.name", "PLAINTEXT"},
      {"listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"},
      {"log.dirs", c.data_dir},
      {"num.partitions", "1"},
      {"offsets.topic.replication.factor", "1"},
      {"transaction.state.log.replication.factor", "1"},
      {"transaction.state.log.min.isr", "1"},
      {"share.coordinator.state.topic.replication.factor", "1"},
      {"share.coordinator.state.topic.min.isr", "1"},
      {"group.initial.rebalance.delay.ms", "0"},
  };
  for (const std::string& o : c.overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = o.substr(0, eq);
    bool replaced = false;
    for (auto& [k, v] : p) {
      if (k == key) {
        v = o.substr(eq + 1);
        replaced = true;
      }
    }
    if (!replaced) p.emplace_back(key, o.substr(eq + 1));
  }
  std::string out;
  for (const auto& [k, v] : p) out += k + "=" + v + "\n";
  return out;
}

std::vector<std::string> kafka_jvm_options() {
  return {"-Xmx1G",
          "-Xms1G",
          "-server",
          "-XX:+UseG1GC",
          "-XX:MaxGCPauseMillis=20",
          "-XX:InitiatingHeapOccupancyPercent=35",
          "-XX:+ExplicitGCInvokesConcurrent",
          "-Djava.awt.headless=true"};
}

std::vector<std::string> kafka_server_command(const std::string& java, const std::string& classpath,
                                              const std::string& properties_path,
                                              const std::string& log4j_path) {
  std::vector<std::string> args = {java};
  for (auto& o : kafka_jvm_options()) args.push_back(o);
  args.push_back("-Dlog4j2.configurationFile=" + log4j_path);
  args.push_back("-cp");
  args.push_back(classpath);
  args.push_back("kafka.Kafka");
  args.push_back(properties_path);
  return args;
}

std::vector<std::string> kafka_format_command(const std::string& java, const std::string& classpath,
                                              const std::string& properties_path,
                                              const std::string& log4j_path,
                                              const std::string& cluster_id) {
  return {java,     "-Xmx512M",     "-Dlog4j2.configurationFile=" + log4j_path,
          "-cp",    classpath,      "kafka.tools.StorageTool",
          "format", "-t",           cluster_id,
          "-c",     properties_path};
}

std::string kafka_log4j_config(const std::string& log_file) {
  return "Configuration:\n"
         "  name: runnel-bench-kafka\n"
         "  Appenders:\n"
         "    File:\n"
         "      name: file\n"
         "      fileName: \"" +
         log_file +
         "\"\n"
         "      PatternLayout:\n"
         "        pattern: \"[%d] %p %m (%c)%n\"\n"
         "  Loggers:\n"
         "    Root:\n"
         "      level: INFO\n"
         "      AppenderRef:\n"
         "        - ref: file\n";
}

std::string java_binary() {
  const char* home = std::getenv("JAVA_HOME");
  if (home && *home) return std::string(home) + "/bin/java";
  return "java";
}

std::string random_cluster_id() {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::string out;
  // As Kafka's Uuid.randomUuid(): an id starting with '-' would be read as an option of
  // kafka-storage, so it is drawn again.
  do {
    unsigned char b[18] = {};
    for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(rd());
    out.clear();
    for (int i = 0; i < 18; i += 3) {
      const unsigned v = (unsigned{b[i]} << 16) | (unsigned{b[i + 1]} << 8) | b[i + 2];
      out += kAlphabet[(v >> 18) & 63];
      out += kAlphabet[(v >> 12) & 63];
      out += kAlphabet[(v >> 6) & 63];
      out += kAlphabet[v & 63];
    }
  } while (out[0] == '-');
  return out.substr(0, 22);  // 128 bits: 21 full characters and 2 bits of the 22nd
}

std::vector<Comparison> compare(const std::vector<Figures>& runnel,
                                const std::vector<Figures>& kafka) {
  std::vector<Comparison> out;
  std::vector<bool> used(kafka.size(), false);
  for (const Figures& r : runnel) {
    for (size_t i = 0; i < kafka.size(); ++i) {
      if (used[i] || kafka[i].scenario != r.scenario || kafka[i].params != r.params) continue;
      used[i] = true;
      Comparison c;
      c.runnel = r;
      c.kafka = kafka[i];
      c.ratio = kafka[i].mb_per_s > 0 ? r.mb_per_s / kafka[i].mb_per_s : 0;
      out.push_back(c);
      break;
    }
  }
  return out;
}

std::string ratio_text(double numerator, double denominator) {
  if (!(denominator > 0) || numerator < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", numerator / denominator);
  return buf;
}

}  // namespace runnel::bench
