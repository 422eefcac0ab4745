#include "tools/bench/rebalance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace runnel::bench {
namespace {

TEST(BenchRebalance, ParsesTheResultsPerProtocolAndEvent) {
  const std::string text =
      "formed classic-range 812.5\n"
      "result classic-range join 0 1204.1 0\n"
      "result classic-range leave 0 980.0 0\n"
      "result classic-range join 1 1300.9 2\n"
      "result classic-range leave 1 1001.2 0\n"
      "formed consumer 2000.0\n"
      "result consumer join 0 3001.0 0\n"
      "result consumer leave 0 2500.5 0\n"
      "done\n";
  std::vector<RebalanceTiming> t;
  std::string err;
  ASSERT_TRUE(parse_rebalance_results(text, &t, &err)) << err;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].protocol, "classic-range");
  EXPECT_EQ(t[0].event, "join");
  EXPECT_EQ(t[0].ms, (std::vector<double>{1204.1, 1300.9}));
  EXPECT_EQ(t[0].double_owned, 2);
  EXPECT_DOUBLE_EQ(t[0].formed_ms, 812.5);
  EXPECT_EQ(t[1].event, "leave");
  EXPECT_EQ(t[1].ms, (std::vector<double>{980.0, 1001.2}));
  EXPECT_EQ(t[1].formed_ms, -1);
  EXPECT_EQ(t[2].protocol, "consumer");
  EXPECT_DOUBLE_EQ(t[2].formed_ms, 2000.0);
  EXPECT_EQ(t[3].ms, (std::vector<double>{2500.5}));
}

TEST(BenchRebalance, RefusesTruncatedOrMalformedResults) {
  std::vector<RebalanceTiming> t;
  std::string err;
  EXPECT_FALSE(parse_rebalance_results("result consumer join 0 10.0 0\n", &t, &err));
  EXPECT_NE(err.find("done"), std::string::npos) << err;
  for (const char* bad :
       {"result consumer rejoin 0 10.0 0\ndone\n", "result consumer join 0 -1 0\ndone\n",
        "result consumer join 0\ndone\n", "formed consumer\ndone\n", "hello\ndone\n",
        "done\nresult consumer join 0 10.0 0\n"}) {
    t.clear();
    err.clear();
    EXPECT_FALSE(parse_rebalance_results(bad, &t, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(BenchRebalance, CommandNamesEveryParameter) {
  RebalanceParams p;
  p.java = "/usr/bin/java";
  p.classpath = "/a/kafka-clients.jar:/b/slf4j.jar";
  p.classes = "/build/tools/bench/rebalance-java";
  p.bootstrap = "127.0.0.1:9092";
  p.topic = "t";
  p.protocols = {"classic-range", "consumer"};
  p.results_path = "/tmp/r";
  const std::vector<std::string> c = rebalance_command(p);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.front(), "/usr/bin/java");
  auto has = [&](const std::string& s) { return std::find(c.begin(), c.end(), s) != c.end(); };
  EXPECT_TRUE(has("/build/tools/bench/rebalance-java:/a/kafka-clients.jar:/b/slf4j.jar"));
  EXPECT_TRUE(has("dev.runnel.bench.RebalanceTimer"));
  for (const char* kv : {"bootstrap=127.0.0.1:9092", "topic=t", "partitions=100", "members=10",
                         "runs=3", "protocols=classic-range,consumer", "heartbeat_ms=1000",
                         "settle_ms=1000", "event_timeout_s=30", "results=/tmp/r"}) {
    EXPECT_TRUE(has(kv)) << kv;
  }
}

TEST(BenchRebalance, DefaultClientClassPathIsInTheBuildTree) {
  EXPECT_EQ(default_client_classpath_file("/src/build/tools/bench/runnel-bench"),
            "/src/build/java-compat/kafka-4.4/classpath.txt");
}

}  // namespace
}  // namespace runnel::bench
