// runnel-bench: Apache Kafka 4.4 as a peer broker, started the way
// compat-tests/kafka_peer.py starts it (one KRaft node, broker and controller,
// on free 127.0.0.1 ports) from the class path that tools/deps/kafka.sh
// resolves, and the comparison of its rows with Runnel's.
#pragma once

#include <string>
#include <vector>

namespace runnel::bench {

// The class path in `path` (one line, entries joined by ':'), trimmed; empty
// with `err` set when the file is missing or empty.
std::string read_classpath_file(const std::string& path, std::string* err);

// <build tree>/kafka-peer/classpath.txt for a runnel-bench at
// <build tree>/tools/bench/runnel-bench.
std::string default_classpath_file(const std::string& exe_path);

struct KafkaPeerConfig {
  int port = 0;
  int controller_port = 0;
  std::string data_dir;
  std::vector<std::string> overrides;  // KEY=VALUE, after the defaults
};

// server.properties for one combined node: one replica for every internal
// topic, no initial rebalance delay, otherwise Kafka's defaults (no fsync per
// write: log.flush.interval.messages and log.flush.interval.ms unset).
std::string kafka_server_properties(const KafkaPeerConfig& c);

// The JVM options of Kafka's kafka-server-start.sh and kafka-run-class.sh:
// a fixed 1 GiB heap and G1.
std::vector<std::string> kafka_jvm_options();

// java <jvm options> -Dlog4j2.configurationFile=<log4j> -cp <classpath>
//   kafka.Kafka <properties>
std::vector<std::string> kafka_server_command(const std::string& java, const std::string& classpath,
                                              const std::string& properties_path,
                                              const std::string& log4j_path);

// java -cp <classpath> kafka.tools.StorageTool format -t <cluster id> -c <properties>
std::vector<std::string> kafka_format_command(const std::string& java, const std::string& classpath,
                                              const std::string& properties_path,
                                              const std::string& log4j_path,
                                              const std::string& cluster_id);

// A log4j2 configuration that writes INFO and above to `log_file`.
std::string kafka_log4j_config(const std::string& log_file);

// $JAVA_HOME/bin/java, else "java" (looked up on PATH).
std::string java_binary();

// A random cluster id: 16 bytes in URL-safe base64 without padding (22 characters).
std::string random_cluster_id();

// One row's figures, for the side-by-side comparison.
struct Figures {
  std::string scenario;
  std::string params;
  double mb_per_s = 0;
  double limit_mb_s = 0;  // 0: none
  bool has_latency = false;
  double p99_ms = 0;
  double cpu_s_per_gb = -1;  // -1: not measured
  long peak_rss_kb = -1;
};

struct Comparison {
  Figures runnel;
  Figures kafka;
  double ratio = 0;  // Runnel MB/s ÷ Kafka MB/s (0 when Kafka's is 0)
};

// Pairs each Runnel row with the Kafka row of the same scenario and params, in
// Runnel's order; rows without a partner are left out.
std::vector<Comparison> compare(const std::vector<Figures>& runnel,
                                const std::vector<Figures>& kafka);

// "1.23" for a ratio, "-" when it cannot be computed.
std::string ratio_text(double numerator, double denominator);

}  // namespace runnel::bench
