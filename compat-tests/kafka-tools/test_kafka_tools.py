#!/usr/bin/python3
"""Apache Kafka 4.4's own command-line tools against Runnel.

Each tool is run by the main class its bin/kafka-*.sh script names, from the Maven artifacts
that tools/deps/kafka.sh resolves (compat-tests/kafka_peer.py), one JVM per command, against
one Runnel broker:

- kafka-broker-api-versions and kafka-cluster cluster-id;
- kafka-topics: create (and again: already exists), alter partitions, describe, list, delete;
- kafka-console-producer with keys and headers, kafka-console-consumer from the beginning in a
  group with --max-messages, and the same group resuming after more records;
- kafka-consumer-groups: list with states, describe with lag, reset-offsets, delete-offsets,
  delete;
- kafka-configs: describe topic and broker configs, alter a topic config;
- kafka-producer-perf-test (plain and transactional) and kafka-consumer-perf-test, bounded
  by record counts;
- kafka-get-offsets (latest and earliest), kafka-transactions (list, describe,
  describe-producers, find-hanging), kafka-delete-records, kafka-log-dirs,
  kafka-metadata-quorum.

Every check is what the same command prints against Apache Kafka 4.4: with
KAFKA_TOOLS_TARGET=kafka the suite runs unchanged against a Kafka 4.4 node (KafkaPeer)
instead, which is how its expectations were checked. A scenario that cannot pass until Runnel
implements an API is listed once, in EXPECTED_TO_FAIL, and must fail the way Kafka's client
reports a missing API (UnsupportedVersionException), promptly.
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
import kafka_peer  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402

SUITE = "kafka-tools"
CLIENT = "Apache Kafka %s tools" % kafka_peer.KAFKA_VERSION
VERSION = kafka_peer.KAFKA_VERSION

# The main class each of Kafka's bin/kafka-*.sh scripts runs.
BROKER_API_VERSIONS = "org.apache.kafka.tools.BrokerApiVersionsCommand"
CLUSTER = "org.apache.kafka.tools.ClusterTool"
TOPICS = "org.apache.kafka.tools.TopicCommand"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONFIGS = "org.apache.kafka.tools.ConfigCommand"
GET_OFFSETS = "org.apache.kafka.tools.GetOffsetShell"
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"
DELETE_RECORDS = "org.apache.kafka.tools.DeleteRecordsCommand"
LOG_DIRS = "org.apache.kafka.tools.LogDirsCommand"
METADATA_QUORUM = "org.apache.kafka.tools.MetadataQuorumCommand"
PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance"

# Scenarios that cannot pass until Runnel implements the API named. Each still runs as
# written and must fail at its first command, which must print the text given (how Kafka's
# tool reports an API the broker does not offer) and exit with the status given, within
# PROMPT_SECONDS: no hang, no client timeout. A listed scenario that passes fails the suite:
# remove it from this list.
EXPECTED_TO_FAIL = {
    "kafka-configs --alter": (
        "IncrementalAlterConfigs (API key 44)", 1,
        # ConfigCommand's own words for an UnsupportedVersionException
        "The INCREMENTAL_ALTER_CONFIGS API is not supported by the cluster."),
    "kafka-metadata-quorum describe": (
        "DescribeQuorum (API key 55)", 1,
        "UnsupportedVersionException: The node does not support DESCRIBE_QUORUM"),
}
# A missing API must be reported well before the admin client's own timeout
# (default.api.timeout.ms, 60 s); the bound includes the JVM's start.
PROMPT_SECONDS = 45
TOOL_TIMEOUT = 120  # per command; a tool JVM takes 1-3 s on an idle 2-core machine

TOPIC = "tools-orders"
PARTITIONS = 3
GROUP = "tools-group"
PERF_TOPIC = "tools-perf"
PERF_RECORDS = 2000
PERF_RECORD_SIZE = 100
TXN_TOPIC = "tools-txn"
TXN_ID = "tools-txn-producer"
TXN_RECORDS = 300
RETENTION_MS = "86400000"

# The first console-producer run (3 partitions) and the second one (after growing to 4):
# (headers, key, value); headers are "k:v" pairs joined by ",".
FIRST_RECORDS = [("source:tools,seq:%d" % i, "order-%d" % i, "value-%d-%s" % (i, "x" * i))
                 for i in range(12)]
SECOND_RECORDS = [("source:tools,seq:%d,extra:yes" % i, "order-%d" % i, "second-%d" % i)
                  for i in range(12, 20)]


class Target:
    """The broker the tools talk to: Runnel (default) or, with KAFKA_TOOLS_TARGET=kafka,
    Apache Kafka 4.4 (to check that every expectation below is what Kafka does)."""

    def __init__(self):
        self.kind = os.environ.get("KAFKA_TOOLS_TARGET", "runnel")
        check(self.kind in ("runnel", "kafka"), "KAFKA_TOOLS_TARGET must be runnel or kafka")
        self.node_id = 1
        self.broker = None

    def start(self):
        if self.kind == "kafka":
            self.broker = kafka_peer.KafkaPeer().start()
        else:
            self.broker = Broker(overrides={"node.id": str(self.node_id), "num.partitions": "1",
                                            "auto.create.topics.enable": "true",
                                            "group.initial.rebalance.delay.ms": "0"}).start()
        return self

    @property
    def bootstrap(self):
        return self.broker.bootstrap

    def cluster_id(self):
        if self.kind == "kafka":
            return self.broker.cluster_id
        with open(os.path.join(self.broker.data_dir, "meta.properties")) as f:
            for line in f:
                if line.startswith("cluster.id="):
                    return line.strip().split("=", 1)[1]
        raise TestFailure("no cluster.id in %s/meta.properties" % self.broker.data_dir)

    def check_alive(self, after):
        if self.kind == "runnel":
            self.broker.check_alive(after)
        else:
            check(self.broker.alive(), "Kafka exited after %s" % after)


target = Target()
# What the steps learn and later steps check against.
state = {"leo": {}, "txn_producer_id": None}


class ToolFailed(TestFailure):
    """A tool exited with another status than expected; keeps what it printed."""

    def __init__(self, msg, rc, out, err, seconds):
        TestFailure.__init__(self, msg)
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds


# Faster start-up for short-lived tool JVMs (no C2 compiler, serial GC); the tools behave
# the same. The JVM announces the options on stderr, which the checks ignore.
_TOOL_ENV = dict(os.environ, JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def tool(name, main_class, args, expect_rc=0, input=None, timeout=TOOL_TIMEOUT):
    """Runs one tool (one JVM); returns (stdout, stderr). Another exit status is a ToolFailed."""
    t0 = time.monotonic()
    rc, out, err = kafka_peer.kafka_tool(main_class, args, timeout, what=name, input=input,
                                         env=_TOOL_ENV)
    dt = time.monotonic() - t0
    err = "\n".join(line for line in err.splitlines()
                    if not line.startswith("Picked up JAVA_TOOL_OPTIONS"))
    print("  %s %s: exit %d in %.1f s" % (name, " ".join(args), rc, dt), flush=True)
    tool_runs.append((rc, out, err, dt))
    if rc != expect_rc:
        raise ToolFailed("%s: exit status %d, expected %d\n  args: %s\n  stdout:\n%s\n  stderr:\n%s"
                         % (name, rc, expect_rc, " ".join(args), out[-4000:], err[-6000:]),
                         rc, out, err, dt)
    return out, err


def last_tool_log():
    """The log4j file of the last tool run (kafka_tool writes it into the newest temp dir)."""
    path = os.path.join(harness._temp_dirs[-1], "tool.log")
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


tool_runs = []  # (exit status, stdout, stderr, seconds) of every tool run, in order


def bs():
    return ["--bootstrap-server", target.bootstrap]


def murmur2_partition(key, partitions):
    """The Java producer's partition for a keyed record: murmur2(key) & 0x7fffffff % n."""
    data = key.encode()
    m = 0x5BD1E995
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = data[4 * n4:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def table(out, first_header):
    """Rows (lists of cells) of the whitespace-aligned table whose header starts with
    first_header."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split() and line.split()[0] == first_header:
            return [l.split() for l in lines[i + 1:] if l.strip()]
    raise TestFailure("no table with header %r in:\n%s" % (first_header, out))


def tab_table(out, first_header):
    """Rows of a tab-separated table (kafka-transactions), cells stripped."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split("\t")[0].strip() == first_header:
            return [[c.strip() for c in l.rstrip("\t").split("\t")] for l in lines[i + 1:] if l.strip()]
    raise TestFailure("no table with header %r in:\n%s" % (first_header, out))


# ---- kafka-broker-api-versions, kafka-cluster ----

def test_broker_api_versions():
    # The tool's own client waits 5 s for an answer by default: too little for a JVM that has
    # just started on a busy machine.
    config = os.path.join(harness.make_temp_dir("kafka-tools-"), "client.properties")
    with open(config, "w") as f:
        f.write("request.timeout.ms=30000\n")
    out, _ = tool("kafka-broker-api-versions", BROKER_API_VERSIONS, bs() + ["--command-config", config])
    apis = harness.api_versions_probe(target.broker.port)
    first = out.splitlines()[0] if out else ""
    check(first.startswith("%s (id: %d rack: null" % (target.bootstrap, target.node_id))
          and first.endswith("-> ("), "first line names the broker and its node id: %r" % first)
    listed = {}
    for m in re.finditer(r"^\t(\w+)\((\d+)\): (.*?),?$", out, re.M):
        listed[int(m.group(2))] = (m.group(1), m.group(3))
    check(listed, "no API lines in:\n%s" % out)
    for key, (lo, hi) in sorted(apis.items()):
        check(key in listed, "API key %d (%d-%d) advertised but not listed by the tool:\n%s"
              % (key, lo, hi, out))
        name, text = listed[key]
        check(text != "UNSUPPORTED", "%s(%d): the broker offers %d-%d, the tool finds no usable version"
              % (name, key, lo, hi))
        rng = "%d" % lo if lo == hi else "%d to %d" % (lo, hi)
        check(re.match(r"^%s \[usable: \d+\]$" % re.escape(rng), text),
              "%s(%d): the broker offers %s, the tool shows %r" % (name, key, rng, text))
        usable = int(re.search(r"usable: (\d+)", text).group(1))
        check(lo <= usable <= hi, "%s(%d): usable version %d outside %s" % (name, key, usable, rng))
    for key, (name, text) in listed.items():
        check(key in apis or text == "UNSUPPORTED",
              "the tool shows %s(%d) as %r, which the broker does not advertise" % (name, key, text))
    # Every API the other tools below need is usable.
    for name in ("Produce(0)", "Fetch(1)", "ListOffsets(2)", "Metadata(3)", "CreateTopics(19)",
                 "DeleteTopics(20)", "CreatePartitions(37)", "DescribeConfigs(32)",
                 "DeleteGroups(42)", "OffsetDelete(47)", "ListTransactions(66)"):
        check(re.search(r"^\t%s: [^U]" % re.escape(name), out, re.M), "%s is not usable:\n%s" % (name, out))


def test_cluster_id():
    out, _ = tool("kafka-cluster cluster-id", CLUSTER, ["cluster-id"] + bs())
    expect_eq(out.strip(), "Cluster ID: %s" % target.cluster_id(), "kafka-cluster cluster-id")


# ---- kafka-topics ----

def test_topics_create():
    out, _ = tool("kafka-topics --create", TOPICS,
                  bs() + ["--create", "--topic", TOPIC, "--partitions", str(PARTITIONS),
                          "--replication-factor", "1", "--config", "retention.ms=" + RETENTION_MS])
    expect_eq(out.strip(), "Created topic %s." % TOPIC, "kafka-topics --create")
    state["partitions"] = PARTITIONS
    out, _ = tool("kafka-topics --create (exists)", TOPICS,
                  bs() + ["--create", "--topic", TOPIC, "--partitions", "1"], expect_rc=1)
    # The text after the prefix is the broker's message (Kafka 4.4: "Topic '<name>' already
    # exists."); the error is TOPIC_ALREADY_EXISTS.
    check(out.startswith("Error while executing topic command : ")
          and "topic '%s' already exists" % TOPIC in out.lower(), "creating it again:\n%s" % out)
    check("org.apache.kafka.common.errors.TopicExistsException" in last_tool_log(),
          "creating it again: no TopicExistsException in the tool's log:\n%s" % last_tool_log())


def produce_lines(records):
    return "".join("%s\t%s\t%s\n" % r for r in records)


def console_produce(records):
    """kafka-console-producer with parse.key and parse.headers; returns (t0, t1) in ms."""
    t0 = int(time.time() * 1000)
    out, err = tool("kafka-console-producer", CONSOLE_PRODUCER,
                    bs() + ["--topic", TOPIC, "--reader-property", "parse.key=true",
                            "--reader-property", "parse.headers=true"],
                    input=produce_lines(records))
    t1 = int(time.time() * 1000)
    check(out.strip() == "", "console producer printed %r" % out)
    expected = []
    for headers, key, value in records:
        p = murmur2_partition(key, state["partitions"])
        offset = state["leo"].get(p, 0)
        state["leo"][p] = offset + 1
        expected.append((p, offset, headers, key, value))
    return t0, t1, expected


def test_console_producer():
    t0, t1, expected = console_produce(FIRST_RECORDS)
    state["first"] = (t0, t1, expected)
    check(len({p for p, *_ in expected}) == PARTITIONS,
          "the keys should reach every partition: %r" % expected)


def console_consume(count, extra):
    out, err = tool("kafka-console-consumer", CONSOLE_CONSUMER,
                    bs() + ["--topic", TOPIC, "--group", GROUP, "--max-messages", str(count),
                            "--timeout-ms", "60000",
                            "--formatter-property", "print.timestamp=true",
                            "--formatter-property", "print.partition=true",
                            "--formatter-property", "print.offset=true",
                            "--formatter-property", "print.headers=true",
                            "--formatter-property", "print.key=true"] + extra)
    check("Processed a total of %d messages" % count in err,
          "console consumer: no 'Processed a total of %d messages' in stderr:\n%s" % (count, err))
    return out


def check_consumed(out, t0, t1, expected):
    seen = []
    for line in out.splitlines():
        cells = line.split("\t")
        check(len(cells) == 6, "consumer line %r: expected 6 tab-separated fields" % line)
        ts, part, off, headers, key, value = cells
        check(ts.startswith("CreateTime:") and part.startswith("Partition:")
              and off.startswith("Offset:"), "consumer line %r" % line)
        ts = int(ts[len("CreateTime:"):])
        check(t0 - 1000 <= ts <= t1 + 1000, "CreateTime %d not within the producer's run [%d, %d]"
              % (ts, t0, t1))
        seen.append((int(part[len("Partition:"):]), int(off[len("Offset:"):]), headers, key, value))
    expect_eq(sorted(seen), sorted(expected), "records consumed (partition, offset, headers, key, value)")


def test_console_consumer_from_beginning():
    t0, t1, expected = state["first"]
    out = console_consume(len(expected), ["--from-beginning"])
    check_consumed(out, t0, t1, expected)
    state["committed"] = dict(state["leo"])


def test_topics_alter_partitions():
    out, _ = tool("kafka-topics --alter", TOPICS,
                  bs() + ["--alter", "--topic", TOPIC, "--partitions", str(PARTITIONS + 1)])
    expect_eq(out.strip(), "", "kafka-topics --alter output")
    state["partitions"] = PARTITIONS + 1
    out, _ = tool("kafka-topics --alter (fewer)", TOPICS,
                  bs() + ["--alter", "--topic", TOPIC, "--partitions", "2"], expect_rc=1)
    # The message is the broker's own text (Kafka 4.4: "The topic tools-orders currently has 4
    # partition(s); 2 would not be an increase."); the error is INVALID_PARTITIONS.
    check(out.startswith("Error while executing topic command : "), "shrinking:\n%s" % out)
    check("org.apache.kafka.common.errors.InvalidPartitionsException" in last_tool_log(),
          "shrinking: no InvalidPartitionsException in the tool's log:\n%s" % last_tool_log())


def test_topics_describe():
    out, _ = tool("kafka-topics --describe", TOPICS, bs() + ["--describe", "--topic", TOPIC])
    lines = out.splitlines()
    n = state["partitions"]
    check(len(lines) == 1 + n, "expected a topic line and %d partition lines:\n%s" % (n, out))
    m = re.match(r"^Topic: %s\tTopicId: ([A-Za-z0-9_-]{22})\tPartitionCount: %d\t"
                 r"ReplicationFactor: 1\tConfigs: (.*)$" % (re.escape(TOPIC), n), lines[0])
    check(m, "topic line: %r" % lines[0])
    configs = dict(c.split("=", 1) for c in m.group(2).split(",") if c)
    expect_eq(configs.get("retention.ms"), RETENTION_MS, "retention.ms in Configs (%s)" % m.group(2))
    me = target.node_id
    # The eligible leader replicas come from DescribeTopicPartitions (API key 75); against a
    # broker without it the tool falls back to Metadata and prints N/A, as against Kafka 3.7.
    elr = "" if 75 in harness.api_versions_probe(target.broker.port) else "N/A"
    for p in range(n):
        expect_eq(lines[1 + p], "\tTopic: %s\tPartition: %d\tLeader: %d\tReplicas: %d\tIsr: %d\t"
                  "Elr: %s\tLastKnownElr: %s" % (TOPIC, p, me, me, me, elr, elr), "partition line %d" % p)
    out, _ = tool("kafka-topics --describe (unknown)", TOPICS,
                  bs() + ["--describe", "--topic", "tools-no-such-topic"], expect_rc=1)
    check("Topic 'tools-no-such-topic' does not exist as expected" in out,
          "describing an unknown topic, seen:\n%s" % out)


def test_console_producer_after_growing():
    t0, t1, expected = console_produce(SECOND_RECORDS)
    state["second"] = (t0, t1, expected)
    check(any(p == PARTITIONS for p, *_ in expected), "a key should reach the new partition")


# ---- kafka-consumer-groups ----

def test_groups_list():
    out, _ = tool("kafka-consumer-groups --list", CONSUMER_GROUPS, bs() + ["--list", "--state"])
    rows = table(out, "GROUP")
    check([GROUP, "Empty"] in rows, "expected %s Empty among %r" % (GROUP, rows))


def test_groups_describe_lag():
    out, err = tool("kafka-consumer-groups --describe", CONSUMER_GROUPS, bs() + ["--describe", "--group", GROUP])
    check("Consumer group '%s' has no active members." % GROUP in err,
          "no 'no active members' line on stderr:\n%s" % err)
    rows = table(out, "GROUP")
    expected = [[GROUP, TOPIC, str(p), str(c), str(state["leo"][p]), str(state["leo"][p] - c), "-", "-", "-"]
                for p, c in sorted(state["committed"].items())]
    expect_eq(sorted(rows), expected, "describe rows (committed offsets, log end, lag)")
    check(any(state["leo"][p] > c for p, c in state["committed"].items()), "some lag expected")


def test_console_consumer_resume():
    t0, t1, expected = state["second"]
    # The group resumes at its committed offsets; the new partition has none, so
    # auto.offset.reset=earliest reads it from its start.
    out = console_consume(len(expected), ["--command-property", "auto.offset.reset=earliest"])
    check_consumed(out, t0, t1, expected)


def test_groups_reset_offsets():
    out, _ = tool("kafka-consumer-groups --reset-offsets", CONSUMER_GROUPS,
                  bs() + ["--reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest", "--execute"])
    rows = table(out, "GROUP")
    expect_eq(sorted(rows), [[GROUP, TOPIC, str(p), "0"] for p in range(state["partitions"])],
              "reset-offsets --to-earliest rows")
    busy = [p for p in range(state["partitions"]) if state["leo"].get(p, 0) >= 2]
    p = busy[0]
    out, _ = tool("kafka-consumer-groups --reset-offsets --to-offset", CONSUMER_GROUPS,
                  bs() + ["--reset-offsets", "--group", GROUP, "--topic", "%s:%d" % (TOPIC, p),
                          "--to-offset", "1", "--execute"])
    expect_eq(table(out, "GROUP"), [[GROUP, TOPIC, str(p), "1"]], "reset-offsets --to-offset 1 rows")
    state["reset"] = {q: (1 if q == p else 0) for q in range(state["partitions"])}


def test_groups_delete_offsets():
    p = min(q for q, c in state["reset"].items() if c == 0)
    out, _ = tool("kafka-consumer-groups --delete-offsets", CONSUMER_GROUPS,
                  bs() + ["--delete-offsets", "--group", GROUP, "--topic", "%s:%d" % (TOPIC, p)])
    check("Request succeeded for deleting offsets from group %s." % GROUP in out, "delete-offsets:\n%s" % out)
    expect_eq(table(out, "TOPIC"), [[TOPIC, str(p), "Successful"]], "delete-offsets rows")
    del state["reset"][p]
    out, _ = tool("kafka-consumer-groups --describe", CONSUMER_GROUPS, bs() + ["--describe", "--group", GROUP])
    expected = [[GROUP, TOPIC, str(q), str(c), str(state["leo"][q]), str(state["leo"][q] - c), "-", "-", "-"]
                for q, c in sorted(state["reset"].items())]
    expect_eq(sorted(table(out, "GROUP")), expected, "describe after the resets and delete-offsets")


def test_groups_delete():
    out, _ = tool("kafka-consumer-groups --delete", CONSUMER_GROUPS, bs() + ["--delete", "--group", GROUP])
    expect_eq(out.strip(), "Deletion of requested consumer groups ('%s') was successful." % GROUP,
              "kafka-consumer-groups --delete")
    out, _ = tool("kafka-consumer-groups --describe (deleted)", CONSUMER_GROUPS,
                  bs() + ["--describe", "--group", GROUP])
    # ConsumerGroupDescribe (API key 69) and DescribeGroups v6 answer GROUP_ID_NOT_FOUND for an
    # unknown group; DescribeGroups v0-v5, which the client falls back to without them, answer
    # the Dead state, which the tool prints as "does not exist".
    apis = harness.api_versions_probe(target.broker.port)
    if 69 in apis or apis.get(15, (0, 0))[1] >= 6:
        expected = "Error: Executing consumer group command failed due to " \
                   "org.apache.kafka.common.errors.GroupIdNotFoundException: Group %s not found." % GROUP
    else:
        expected = "Error: Consumer group '%s' does not exist." % GROUP
    check(expected in out, "describing the deleted group: expected %r, seen:\n%s" % (expected, out))


# ---- kafka-configs ----

def config_lines(out, header):
    lines = out.splitlines()
    check(lines and lines[0] == header, "expected first line %r:\n%s" % (header, out))
    configs = {}
    for line in lines[1:]:
        m = re.match(r"^  ([^=]+)=(.*) sensitive=(true|false) synonyms=\{(.*)\}$", line)
        check(m, "config line %r" % line)
        configs[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return configs


def test_configs_describe_topic():
    out, _ = tool("kafka-configs --describe (topic)", CONFIGS,
                  bs() + ["--describe", "--entity-type", "topics", "--entity-name", TOPIC])
    configs = config_lines(out, "Dynamic configs for topic %s are:" % TOPIC)
    expect_eq(configs.get("retention.ms"),
              (RETENTION_MS, "false", "DYNAMIC_TOPIC_CONFIG:retention.ms=%s" % RETENTION_MS),
              "retention.ms (value, sensitive, synonyms)")
    expect_eq(sorted(configs), ["retention.ms"], "the topic's dynamic configs")


def test_configs_describe_broker():
    me = str(target.node_id)
    out, _ = tool("kafka-configs --describe (broker)", CONFIGS,
                  bs() + ["--describe", "--entity-type", "brokers", "--entity-name", me, "--all"])
    configs = config_lines(out, "All configs for broker %s are:" % me)
    for key, value in (("num.partitions", "1"), ("log.retention.hours", "168"),
                       ("auto.create.topics.enable", "true"), ("offsets.topic.num.partitions", "50"),
                       ("log.segment.bytes", "1073741824"), ("message.max.bytes", "1048588")):
        check(key in configs, "%s missing from the broker's configs" % key)
        expect_eq(configs[key][0], value, "broker config %s" % key)
    expect_eq(configs["node.id"][0], me, "node.id")


def test_configs_alter_topic():
    out, _ = tool("kafka-configs --alter", CONFIGS,
                  bs() + ["--alter", "--entity-type", "topics", "--entity-name", TOPIC,
                          "--add-config", "retention.ms=3600000,max.message.bytes=200000",
                          "--delete-config", "cleanup.policy"])
    expect_eq(out.strip(), "Completed updating config for topic %s." % TOPIC, "kafka-configs --alter")
    out, _ = tool("kafka-configs --describe (topic)", CONFIGS,
                  bs() + ["--describe", "--entity-type", "topics", "--entity-name", TOPIC])
    configs = config_lines(out, "Dynamic configs for topic %s are:" % TOPIC)
    expect_eq({k: v[0] for k, v in configs.items()},
              {"retention.ms": "3600000", "max.message.bytes": "200000"}, "configs after --alter")


# ---- perf tools ----

def test_producer_perf():
    out, _ = tool("kafka-producer-perf-test", PRODUCER_PERF,
                  ["--bootstrap-server", target.bootstrap, "--topic", PERF_TOPIC,
                   "--num-records", str(PERF_RECORDS), "--record-size", str(PERF_RECORD_SIZE),
                   "--throughput", "-1", "--command-property", "acks=all", "linger.ms=5"])
    last = out.strip().splitlines()[-1]
    check(re.match(r"^%d records sent, [0-9.]+ records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg latency, "
                   r"[0-9.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\.$"
                   % PERF_RECORDS, last), "producer-perf-test summary: %r" % last)


def test_consumer_perf():
    out, _ = tool("kafka-consumer-perf-test", CONSUMER_PERF,
                  bs() + ["--topic", PERF_TOPIC, "--num-records", str(PERF_RECORDS), "--timeout", "60000"])
    lines = [l for l in out.splitlines() if l.strip()]
    check(len(lines) == 2 and lines[0].startswith("start.time, end.time, data.consumed.in.MB"),
          "consumer-perf-test output:\n%s" % out)
    header = [c.strip() for c in lines[0].split(",")]
    row = dict(zip(header, [c.strip() for c in lines[1].split(",")]))
    expect_eq(row.get("data.consumed.in.nMsg"), str(PERF_RECORDS), "records consumed")
    expect_eq(row.get("data.consumed.in.MB"), "%.4f" % (PERF_RECORDS * PERF_RECORD_SIZE / 1048576.0),
              "MB consumed")


def test_producer_perf_transactional():
    t0 = int(time.time() * 1000)
    out, _ = tool("kafka-producer-perf-test --transactional-id", PRODUCER_PERF,
                  ["--bootstrap-server", target.bootstrap, "--topic", TXN_TOPIC,
                   "--num-records", str(TXN_RECORDS), "--record-size", str(PERF_RECORD_SIZE),
                   "--throughput", "-1", "--transactional-id", TXN_ID,
                   "--transaction-duration-ms", "100"])
    state["txn_run"] = (t0, int(time.time() * 1000))
    last = out.strip().splitlines()[-1]
    check(last.startswith("%d records sent, " % TXN_RECORDS), "producer-perf-test summary: %r" % last)


# ---- kafka-get-offsets ----

def get_offsets(extra):
    out, _ = tool("kafka-get-offsets", GET_OFFSETS, bs() + ["--exclude-internal-topics"] + extra)
    offsets = {}
    for line in out.splitlines():
        m = re.match(r"^(.+):(\d+):(-?\d+)$", line)
        check(m, "kafka-get-offsets line %r" % line)
        offsets[(m.group(1), int(m.group(2)))] = int(m.group(3))
    return offsets


def test_get_offsets():
    latest = get_offsets([])
    expected = {(TOPIC, p): state["leo"].get(p, 0) for p in range(state["partitions"])}
    expected[(PERF_TOPIC, 0)] = PERF_RECORDS
    txn_end = latest.get((TXN_TOPIC, 0))
    check(txn_end is not None and txn_end > TXN_RECORDS,
          "%s-0 should hold %d records and at least one commit marker: %r" % (TXN_TOPIC, TXN_RECORDS, txn_end))
    expected[(TXN_TOPIC, 0)] = txn_end
    expect_eq(latest, expected, "latest offsets of every topic")
    earliest = get_offsets(["--time", "-2", "--topic", "tools-.*"])
    expect_eq(earliest, {tp: 0 for tp in expected}, "earliest offsets")


# ---- kafka-transactions ----

def test_transactions_list():
    out, _ = tool("kafka-transactions list", TRANSACTIONS, bs() + ["list"])
    rows = tab_table(out, "TransactionalId")
    mine = [r for r in rows if r[0] == TXN_ID]
    check(len(mine) == 1, "expected one row for %s: %r" % (TXN_ID, rows))
    expect_eq(mine[0][1], str(target.node_id), "coordinator")
    expect_eq(mine[0][3], "CompleteCommit", "transaction state")
    state["txn_producer_id"] = mine[0][2]


def test_transactions_describe():
    out, _ = tool("kafka-transactions describe", TRANSACTIONS, bs() + ["describe", "--transactional-id", TXN_ID])
    rows = tab_table(out, "CoordinatorId")
    header = [c.strip() for c in out.splitlines()[0].rstrip("\t").split("\t")]
    expect_eq(header, ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                       "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
                       "TopicPartitions"], "describe header")
    check(len(rows) == 1, "one row expected: %r" % rows)
    row = dict(zip(header, rows[0] + [""] * (len(header) - len(rows[0]))))
    expect_eq(row["CoordinatorId"], str(target.node_id), "CoordinatorId")
    expect_eq(row["TransactionalId"], TXN_ID, "TransactionalId")
    expect_eq(row["ProducerId"], state["txn_producer_id"], "ProducerId (as listed)")
    expect_eq(row["TransactionState"], "CompleteCommit", "TransactionState")
    expect_eq(row["TransactionTimeoutMs"], "60000", "TransactionTimeoutMs (the producer's default)")
    # The start of the last transaction (Kafka keeps it after the commit).
    t0, t1 = state["txn_run"]
    start = row["CurrentTransactionStartTimeMs"]
    check(start.isdigit() and t0 <= int(start) <= t1,
          "CurrentTransactionStartTimeMs %r: expected a time within the producer's run [%d, %d]" % (start, t0, t1))
    state["txn_epoch"] = int(row["ProducerEpoch"])
    _, err = tool("kafka-transactions describe (unknown)", TRANSACTIONS,
                  bs() + ["describe", "--transactional-id", "tools-no-such-txn"], expect_rc=1)
    check("DescribeTransactions request for transactionalId `tools-no-such-txn` failed because the ID "
          "could not be found" in err, "describing an unknown transactional id, stderr:\n%s" % err)


def test_transactions_describe_producers():
    out, _ = tool("kafka-transactions describe-producers", TRANSACTIONS,
                  bs() + ["describe-producers", "--topic", TXN_TOPIC, "--partition", "0"])
    rows = tab_table(out, "ProducerId")
    check(len(rows) == 1, "one producer expected on %s-0: %r" % (TXN_TOPIC, rows))
    pid, epoch, coord_epoch, last_seq, last_ts, txn_start = rows[0]
    expect_eq(pid, state["txn_producer_id"], "ProducerId")
    expect_eq(txn_start, "None", "CurrentTransactionStartOffset (no open transaction)")
    expect_eq(epoch, str(state["txn_epoch"]), "ProducerEpoch (as described)")
    # With transactions v2 (EndTxn v5+, KIP-890) every commit bumps the producer's epoch, so no
    # batch has the latest epoch yet; with v1 the epoch stays 0 and the last batch's sequence shows.
    expect_eq(last_seq, str(TXN_RECORDS - 1) if state["txn_epoch"] == 0 else "-1", "LastSequence")
    check(abs(int(last_ts) - time.time() * 1000) < 600000, "LastTimestamp %s" % last_ts)


def test_transactions_find_hanging():
    out, _ = tool("kafka-transactions find-hanging", TRANSACTIONS,
                  bs() + ["find-hanging", "--broker-id", str(target.node_id)])
    expect_eq(out.strip().split("\t"), ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                                        "StartOffset", "LastTimestamp", "Duration(min)"],
              "find-hanging: the header and no hanging transaction")


# ---- APIs Runnel may not have ----

def test_delete_records():
    p = max(state["leo"], key=lambda q: state["leo"][q])
    spec = os.path.join(harness.make_temp_dir("kafka-tools-"), "delete.json")
    with open(spec, "w") as f:
        f.write('{"partitions":[{"topic":"%s","partition":%d,"offset":1}],"version":1}' % (TOPIC, p))
    out, _ = tool("kafka-delete-records", DELETE_RECORDS, bs() + ["--offset-json-file", spec])
    check("partition: %s-%d\tlow_watermark: 1" % (TOPIC, p) in out, "delete-records:\n%s" % out)
    earliest = get_offsets(["--time", "-2", "--topic", TOPIC])
    expect_eq(earliest[(TOPIC, p)], 1, "earliest offset after delete-records")


def test_log_dirs():
    out, _ = tool("kafka-log-dirs --describe", LOG_DIRS, bs() + ["--describe", "--topic-list", TOPIC])
    import json
    doc = json.loads(out.strip().splitlines()[-1])
    parts = {p["partition"] for b in doc["brokers"] for d in b["logDirs"] for p in d["partitions"]}
    expect_eq(parts, {"%s-%d" % (TOPIC, p) for p in range(state["partitions"])}, "partitions in the log dirs")
    # One broker with one log dir, no error; no partition is a future log, and the topic's
    # records take some bytes.
    expect_eq([len(b["logDirs"]) for b in doc["brokers"]], [1], "log dirs per broker")
    d = doc["brokers"][0]["logDirs"][0]
    expect_eq(d["error"], None, "log dir error")
    for p in d["partitions"]:
        check(p["size"] >= 0 and p["offsetLag"] == 0 and p["isFuture"] is False, "partition %r" % p)
    check(sum(p["size"] for p in d["partitions"]) > 0, "sizes of the partitions: %r" % d["partitions"])


def test_metadata_quorum():
    out, _ = tool("kafka-metadata-quorum describe", METADATA_QUORUM, bs() + ["describe", "--status"])
    check("ClusterId:              %s" % target.cluster_id() in out, "describe --status:\n%s" % out)


# ---- kafka-topics list, delete ----

def test_topics_list():
    out, _ = tool("kafka-topics --list", TOPICS, bs() + ["--list", "--exclude-internal"])
    expect_eq(sorted(out.split()), sorted([TOPIC, PERF_TOPIC, TXN_TOPIC]), "kafka-topics --list --exclude-internal")


def test_topics_delete():
    out, _ = tool("kafka-topics --delete", TOPICS, bs() + ["--delete", "--topic", "tools-.*"])
    expect_eq(out.strip(), "", "kafka-topics --delete output")
    deadline = time.monotonic() + 30
    while True:
        out, _ = tool("kafka-topics --list", TOPICS, bs() + ["--list", "--exclude-internal"])
        if out.strip() == "" or time.monotonic() > deadline:
            break
    expect_eq(out.split(), [], "topics left after deleting tools-.*")


SCENARIOS = [
    ("kafka-broker-api-versions", test_broker_api_versions),
    ("kafka-cluster cluster-id", test_cluster_id),
    ("kafka-topics --create", test_topics_create),
    ("kafka-console-producer (keys, headers)", test_console_producer),
    ("kafka-console-consumer --from-beginning --group --max-messages", test_console_consumer_from_beginning),
    ("kafka-topics --alter --partitions", test_topics_alter_partitions),
    ("kafka-topics --describe", test_topics_describe),
    ("kafka-console-producer (after adding a partition)", test_console_producer_after_growing),
    ("kafka-consumer-groups --list --state", test_groups_list),
    ("kafka-consumer-groups --describe (lag)", test_groups_describe_lag),
    ("kafka-console-consumer --group (resume)", test_console_consumer_resume),
    ("kafka-consumer-groups --reset-offsets", test_groups_reset_offsets),
    ("kafka-consumer-groups --delete-offsets", test_groups_delete_offsets),
    ("kafka-consumer-groups --delete", test_groups_delete),
    ("kafka-configs --describe (topic)", test_configs_describe_topic),
    ("kafka-configs --describe (broker)", test_configs_describe_broker),
    ("kafka-configs --alter", test_configs_alter_topic),
    ("kafka-producer-perf-test", test_producer_perf),
    ("kafka-consumer-perf-test", test_consumer_perf),
    ("kafka-producer-perf-test --transactional-id", test_producer_perf_transactional),
    ("kafka-get-offsets", test_get_offsets),
    ("kafka-transactions list", test_transactions_list),
    ("kafka-transactions describe", test_transactions_describe),
    ("kafka-transactions describe-producers", test_transactions_describe_producers),
    ("kafka-transactions find-hanging", test_transactions_find_hanging),
    ("kafka-delete-records", test_delete_records),
    ("kafka-log-dirs --describe", test_log_dirs),
    ("kafka-metadata-quorum describe", test_metadata_quorum),
    ("kafka-topics --list", test_topics_list),
    ("kafka-topics --delete", test_topics_delete),
]


def record(name, passed, note):
    """A matrix row, for Runnel only (a run against Kafka checks the expectations)."""
    if target.kind == "runnel":
        harness.record_result(SUITE, CLIENT, VERSION, name, passed, note)


def scenario_step(name, fn):
    """Runs one scenario and records its matrix row; applies EXPECTED_TO_FAIL."""
    def step():
        expected = EXPECTED_TO_FAIL.get(name) if target.kind == "runnel" else None
        first_run = len(tool_runs)
        try:
            fn()
            target.check_alive(name)
        except TestFailure as e:
            if expected is None:
                record(name, False, str(e).splitlines()[0][:200])
                raise
            api, want_rc, text = expected
            check(len(tool_runs) > first_run, "%s: no tool ran" % name)
            rc, out, err, seconds = tool_runs[first_run]
            if rc != want_rc or text not in out + "\n" + err or seconds > PROMPT_SECONDS:
                record(name, False, "fails otherwise than EXPECTED_TO_FAIL says")
                raise TestFailure("%s is expected to fail (Runnel lacks %s): its first command exiting "
                                  "with status %d and printing %r within %d s; it failed otherwise "
                                  "(status %d, %.1f s): %s"
                                  % (name, api, want_rc, text, PROMPT_SECONDS, rc, seconds, e))
            target.check_alive(name)
            record(name, False, "Runnel lacks %s: the tool reports UnsupportedVersionException" % api)
            print("  expected failure: Runnel lacks %s; the tool printed %r (exit status %d) in %.1f s"
                  % (api, text, rc, seconds), flush=True)
            return
        except Exception:
            record(name, False, "")
            raise
        record(name, True, "")
        if expected is not None:
            raise TestFailure("%s now passes: remove it from EXPECTED_TO_FAIL (%s)" % (name, expected[0]))
    return step


def test_start():
    target.start()


if __name__ == "__main__":
    kafka_peer.classpath()  # skips (or fails under RUNNEL_REQUIRE_CLIENTS=1) when Kafka is not resolved
    if target.kind == "runnel":
        harness.runnel_bin()
    if target.kind == "runnel":
        harness.clear_results(SUITE)
    steps = [("start_%s" % target.kind, test_start, 180)]
    steps += [(name, scenario_step(name, fn), 300) for name, fn in SCENARIOS]
    run_tests(steps, SUITE)
