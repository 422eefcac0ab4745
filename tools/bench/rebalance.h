// runnel-bench: the rebalance scenario. The Java client (kafka-clients 4.4)
// runs the group members, one KafkaConsumer thread each, in one JVM
// (tools/bench/java/RebalanceTimer.java, compiled by the bench on first use);
// this side builds its command, runs it bounded in time and reads its results.
#pragma once

#include <string>
#include <vector>

namespace runnel::bench {

// The protocols the scenario knows: classic with the range assignor (eager),
// classic with the cooperative-sticky assignor, and the consumer protocol
// (KIP-848) with the server-side uniform assignor.
const std::vector<std::string>& rebalance_protocols();

struct RebalanceParams {
  std::string java;       // the java binary
  std::string classpath;  // kafka-clients and its dependencies
  std::string classes;    // the compiled RebalanceTimer
  std::string bootstrap;
  std::string topic;  // created by the JVM
  int partitions = 100;
  int members = 10;  // the group's size with the joining member
  int runs = 3;      // joins and leaves per protocol
  std::vector<std::string> protocols;
  int heartbeat_ms =
      1000;              // classic: heartbeat.interval.ms (the consumer protocol's is the broker's)
  int settle_ms = 1000;  // quiet time after the group is balanced
  int event_timeout_s = 30;
  double timeout_s = 150;  // the whole JVM
  std::string results_path;
  std::string log_path;
};

// One protocol's join or leave times, in milliseconds, in run order.
struct RebalanceTiming {
  std::string protocol;
  std::string event;  // "join" or "leave"
  std::vector<double> ms;
  int double_owned = 0;   // summed over the runs
  double formed_ms = -1;  // the first members' formation (not timed as an event)
};

struct RebalanceResult {
  bool ok = false;
  std::string error;
  std::vector<RebalanceTiming> timings;  // in the order of the results file
};

// The results file of RebalanceTimer ("formed P MS", "result P join|leave RUN
// MS DOUBLE_OWNED", then "done"). False (with `err`) on a malformed line or a
// missing "done".
bool parse_rebalance_results(const std::string& text, std::vector<RebalanceTiming>* out,
                             std::string* err);

// java <options> -cp <classes>:<classpath> dev.runnel.bench.RebalanceTimer key=value...
std::vector<std::string> rebalance_command(const RebalanceParams& p);

// Compiles `source` into `cache_dir` unless the class there was compiled from
// the same source and class path (a stamp file says so). False with `err`.
bool compile_rebalance_timer(const std::string& javac, const std::string& classpath,
                             const std::string& source, const std::string& cache_dir,
                             std::string* err);

// Runs the JVM to its end (at most p.timeout_s) and reads its results.
RebalanceResult run_rebalance(const RebalanceParams& p);

// <build tree>/java-compat/kafka-4.4/classpath.txt (kafka-clients 4.4.0, made
// by tools/deps/java.sh) for a runnel-bench at <build tree>/tools/bench/.
std::string default_client_classpath_file(const std::string& exe_path);

// $JAVA_HOME/bin/javac, else "javac".
std::string javac_binary();

}  // namespace runnel::bench
