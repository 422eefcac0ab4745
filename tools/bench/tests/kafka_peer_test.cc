#include "tools/bench/kafka_peer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <string>

namespace runnel::bench {
namespace {

std::string temp_file(const std::string& content) {
  char name[] = "/tmp/kafka-peer-test-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

TEST(BenchKafkaPeer, ReadsTheClassPathFileTrimmed) {
  const std::string path = temp_file("  /a/x.jar:/b/y.jar\n\n");
  std::string err;
  EXPECT_EQ(read_classpath_file(path, &err), "/a/x.jar:/b/y.jar");
  EXPECT_EQ(err, "");
  std::remove(path.c_str());
}

TEST(BenchKafkaPeer, RefusesAMissingEmptyOrMultiLineClassPathFile) {
  std::string err;
  EXPECT_EQ(read_classpath_file("/nonexistent/classpath.txt", &err), "");
  EXPECT_NE(err.find("tools/deps/kafka.sh"), std::string::npos) << err;
  const std::string empty = temp_file(" \n");
  err.clear();
  EXPECT_EQ(read_classpath_file(empty, &err), "");
  EXPECT_NE(err.find("is empty"), std::string::npos) << err;
  const std::string two = temp_file("/a.jar\n/b.jar\n");
  err.clear();
  EXPECT_EQ(read_classpath_file(two, &err), "");
  EXPECT_NE(err.find("more than one line"), std::string::npos) << err;
  std::remove(empty.c_str());
  std::remove(two.c_str());
}

TEST(BenchKafkaPeer, DefaultClassPathFileIsInTheBuildTree) {
  EXPECT_EQ(default_classpath_file("/src/build/tools/bench/runnel-bench"),
            "/src/build/kafka-peer/classpath.txt");
  EXPECT_EQ(default_classpath_file("/src/build/tools/bench/../bench/runnel-bench"),
            "/src/build/kafka-peer/classpath.txt");
}

TEST(BenchKafkaPeer, ServerPropertiesForOneCombinedNode) {
  KafkaPeerConfig c;
  c.port = 9092;
  c.controller_port = 9093;
  c.data_dir = "/d/data";
  c.overrides = {"num.partitions=3", "log.flush.interval.messages=1"};
  const std::string p = kafka_server_properties(c);
  for (const char* line :
       {"process.roles=broker,controller\n", "node.id=1\n",
        "controller.quorum.voters=1@127.0.0.1:9093\n",
        "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
        "advertised.listeners=PLAINTEXT://127.0.0.1:9092\n", "log.dirs=/d/data\n",
        "offsets.topic.replication.factor=1\n", "transaction.state.log.replication.factor=1\n",
        "group.initial.rebalance.delay.ms=0\n", "log.flush.interval.messages=1\n"}) {
    EXPECT_NE(p.find(line), std::string::npos) << line << " in\n" << p;
  }
  // An override replaces the default rather than adding a second line.
  EXPECT_NE(p.find("num.partitions=3\n"), std::string::npos) << p;
  EXPECT_EQ(p.find("num.partitions=1\n"), std::string::npos) << p;
  // No fsync setting of its own: Kafka's defaults.
  EXPECT_EQ(kafka_server_properties(KafkaPeerConfig{}).find("flush"), std::string::npos);
}

TEST(BenchKafkaPeer, ServerCommandUsesKafkasJvmOptions) {
  const auto args =
      kafka_server_command("java", "/a.jar:/b.jar", "/d/server.properties", "/d/log4j2.yaml");
  ASSERT_GE(args.size(), 6u);
  EXPECT_EQ(args.front(), "java");
  EXPECT_EQ(args[1], "-Xmx1G");
  EXPECT_EQ(args[2], "-Xms1G");
  EXPECT_NE(std::find(args.begin(), args.end(), "-XX:+UseG1GC"), args.end());
  EXPECT_EQ(args[args.size() - 4], "-cp");
  EXPECT_EQ(args[args.size() - 3], "/a.jar:/b.jar");
  EXPECT_EQ(args[args.size() - 2], "kafka.Kafka");
  EXPECT_EQ(args.back(), "/d/server.properties");
  const auto fmt = kafka_format_command("java", "/a.jar", "/d/p", "/d/l", "abc");
  const std::vector<std::string> tail(fmt.end() - 6, fmt.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"kafka.tools.StorageTool", "format", "-t", "abc", "-c",
                                            "/d/p"}));
}

TEST(BenchKafkaPeer, ClusterIdIsUrlSafeBase64Of16Bytes) {
  const std::string id = random_cluster_id();
  ASSERT_EQ(id.size(), 22u);
  for (char c : id)
    EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
  // 128 bits: the last character carries 2 bits, the 4 below them zero.
  EXPECT_NE(std::string("AQgw").find(id.back()), std::string::npos) << id;
  EXPECT_NE(random_cluster_id(), id);
}

TEST(BenchKafkaPeer, ComparesRowsOfTheSameScenarioAndParams) {
  std::vector<Figures> runnel = {{"produce", "size=100", 200, 400, true, 1, 0.5, 7000},
                                 {"produce", "size=1024", 500, 1000, true, 2, 0.4, 8000},
                                 {"e2e", "rate=50", 50, 0, true, 0.3, 1, 9000}};
  std::vector<Figures> kafka = {{"produce", "size=1024", 250, 900, true, 9, 2, 900000},
                                {"produce", "size=100", 100, 300, true, 5, 3, 800000},
                                {"consume", "size=1024", 100, 2000, false, 0, 1, 900000}};
  const auto c = compare(runnel, kafka);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].runnel.params, "size=100");
  EXPECT_EQ(c[0].kafka.params, "size=100");
  EXPECT_DOUBLE_EQ(c[0].ratio, 2.0);
  EXPECT_EQ(c[1].runnel.params, "size=1024");
  EXPECT_DOUBLE_EQ(c[1].ratio, 2.0);
  EXPECT_EQ(ratio_text(3, 2), "1.50");
  EXPECT_EQ(ratio_text(1, 0), "-");
  EXPECT_EQ(ratio_text(1, -1), "-");
}

}  // namespace
}  // namespace runnel::bench
