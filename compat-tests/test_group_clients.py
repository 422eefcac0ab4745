#!/usr/bin/python3
"""Consumer groups with kafka-python, confluent-kafka-python and kcat against Runnel.

- kafka-python: a group consumer (subscribe) reads every record exactly once and
  commits; the group's committed offsets are the end offsets; a second consumer
  in the group reads only what was written after the commit.
- confluent-kafka-python: a group consumer reads part of each partition, commits
  explicit offsets synchronously and closes; the next consumer in the group
  resumes exactly at those offsets.
- two kafka-python consumers in one group split the partitions; each record is
  read once, by the member that owns its partition.
- `kcat -G group topic` consumes as a group until the end, commits on exit, and a
  second run resumes from its commits.
- once a group has committed, `__consumer_offsets` is in Metadata as an internal
  topic with 50 partitions (kafka-python's describe_topics, confluent-kafka's
  list_topics), and kafka-python's consumer leaves it out of topics().
- group metadata survives a broker restart: an Empty group (protocol type
  "consumer") and a standalone group (assign + commit, no protocol type) are
  listed by ListGroups with their committed offsets; DeleteGroups of the Empty one
  after the restart removes it and its offsets, also across another restart.
"""
import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402

try:
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)
try:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP
except ImportError as e:
    harness.skip("kafka-python is not installed (%s)" % e)

KCAT = shutil.which("kcat")
PARTITIONS = 3
N = 300
SESSION_MS = 6000

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0"}).start()
    return _broker


def create_topic(name):
    admin = AdminClient({"bootstrap.servers": broker().bootstrap})
    f = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)],
                            request_timeout=15, operation_timeout=15)[name]
    try:
        f.result(timeout=20)
    except Exception as e:
        raise TestFailure("AdminClient.create_topics(%s): %s" % (name, e))


def value(topic, i):
    return b"%s-value-%d" % (topic.encode(), i)


def produce(topic, first, count):
    """kafka-python producer, record i to partition i % PARTITIONS; returns {(p, offset): i}."""
    p = KafkaProducer(bootstrap_servers=broker().bootstrap, acks="all", linger_ms=5, retries=0,
                      max_block_ms=20000, request_timeout_ms=20000)
    try:
        futures = [(i, p.send(topic, key=b"k%d" % i, value=value(topic, i), partition=i % PARTITIONS))
                   for i in range(first, first + count)]
        p.flush(timeout=30)
        placed = {}
        for i, f in futures:
            md = f.get(timeout=30)
            placed[(md.partition, md.offset)] = i
        return placed
    finally:
        p.close(timeout=10)


def end_offsets(topic):
    c = KafkaConsumer(bootstrap_servers=broker().bootstrap)
    try:
        got = c.end_offsets([KTP(topic, p) for p in range(PARTITIONS)])
        return {tp.partition: o for tp, o in got.items()}
    finally:
        c.close()


def check_exact(seen, topic, want, what):
    """seen: list of (p, offset, value); want: {(p, offset): i}."""
    where = [(p, o) for p, o, _ in seen]
    dups = sorted(set(w for w in where if where.count(w) > 1))
    check(not dups, "%s: records read more than once: %s" % (what, dups[:5]))
    missing = sorted(set(want) - set(where))
    extra = sorted(set(where) - set(want))
    check(not missing and not extra, "%s: %d missing (first %s), %d unexpected (first %s) of %d"
          % (what, len(missing), missing[:5], len(extra), extra[:5], len(want)))
    for p, o, v in seen:
        expect_eq(v, value(topic, want[(p, o)]), "%s: value at partition %d offset %d" % (what, p, o))


def kp_consumer(group, **extra):
    conf = dict(bootstrap_servers=broker().bootstrap, group_id=group, enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=SESSION_MS, heartbeat_interval_ms=1000,
                max_poll_interval_ms=20000, request_timeout_ms=30000, consumer_timeout_ms=-1)
    conf.update(extra)
    return KafkaConsumer(**conf)


def kp_read(consumer, count, what, timeout=60, linger=1.0):
    """Polls until `count` records arrived and then `linger` seconds pass with nothing more."""
    seen = []
    deadline = time.monotonic() + timeout
    quiet_since = None
    while True:
        batch = consumer.poll(timeout_ms=200)
        for tp, msgs in batch.items():
            seen += [(m.partition, m.offset, m.value) for m in msgs]
        if len(seen) >= count:
            if batch:
                quiet_since = time.monotonic()
            elif quiet_since is None:
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since >= linger:
                return seen
        check(time.monotonic() < deadline, "%s: read %d of %d records within %d s" % (what, len(seen), count, timeout))


# ---- kafka-python ----

KP_TOPIC = "grp-kafkapython"
KP_GROUP = "grp-kp"


def test_kafka_python_group_commit():
    create_topic(KP_TOPIC)
    want = produce(KP_TOPIC, 0, N)
    c = kp_consumer(KP_GROUP)
    try:
        c.subscribe([KP_TOPIC])
        seen = kp_read(c, N, "kafka-python group consumer #1")
        expect_eq(sorted(tp.partition for tp in c.assignment()), list(range(PARTITIONS)),
                  "kafka-python consumer #1 assignment")
        c.commit()
        for p in range(PARTITIONS):
            expect_eq(c.committed(KTP(KP_TOPIC, p)), N // PARTITIONS, "committed offset of partition %d" % p)
    finally:
        c.close()
    check_exact(seen, KP_TOPIC, want, "kafka-python group consumer #1")

    more = produce(KP_TOPIC, N, N)
    c = kp_consumer(KP_GROUP)
    try:
        c.subscribe([KP_TOPIC])
        seen = kp_read(c, N, "kafka-python group consumer #2")
        c.commit()
    finally:
        c.close()
    check_exact(seen, KP_TOPIC, more, "kafka-python group consumer #2 (after the commit)")
    # A consumer that only asks for the committed offsets sees the second commit.
    c = kp_consumer(KP_GROUP)
    try:
        for p in range(PARTITIONS):
            expect_eq(c.committed(KTP(KP_TOPIC, p)), 2 * N // PARTITIONS, "committed offset of partition %d" % p)
    finally:
        c.close()


# ---- confluent-kafka-python ----

CK_TOPIC = "grp-confluent"
CK_GROUP = "grp-ck"


def ck_consumer(group):
    return Consumer({"bootstrap.servers": broker().bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 1000,
                     "enable.partition.eof": True})


def ck_read_until_eof(c, what, stop_at=None, timeout=60):
    """Consumes until every partition reported EOF (or reached stop_at[p]); returns [(p, o, v)]."""
    seen, done = [], set()
    deadline = time.monotonic() + timeout
    while len(done) < PARTITIONS:
        check(time.monotonic() < deadline, "%s: %d partitions finished, %d records, within %d s"
              % (what, len(done), len(seen), timeout))
        for m in c.consume(num_messages=100, timeout=0.3):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    done.add(m.partition())
                    continue
                raise TestFailure("%s: consumer error %s" % (what, m.error()))
            if stop_at is not None and m.offset() >= stop_at[m.partition()]:
                done.add(m.partition())
                continue
            if m.partition() in done:
                continue
            seen.append((m.partition(), m.offset(), m.value()))
    return seen


def test_confluent_commit_and_resume():
    create_topic(CK_TOPIC)
    want = produce(CK_TOPIC, 0, N)
    per_part = N // PARTITIONS
    stop_at = {p: per_part // 2 + p * 7 for p in range(PARTITIONS)}
    c = ck_consumer(CK_GROUP)
    try:
        c.subscribe([CK_TOPIC])
        seen = ck_read_until_eof(c, "confluent consumer #1", stop_at=stop_at)
        got = c.commit(offsets=[TopicPartition(CK_TOPIC, p, stop_at[p]) for p in range(PARTITIONS)],
                       asynchronous=False)
        for tp in got:
            check(tp.error is None, "commit of partition %d: %s" % (tp.partition, tp.error))
        committed = c.committed([TopicPartition(CK_TOPIC, p) for p in range(PARTITIONS)], timeout=10)
        expect_eq({tp.partition: tp.offset for tp in committed}, stop_at, "committed offsets (confluent)")
    finally:
        c.close()
    first = {k: i for k, i in want.items() if k[1] < stop_at[k[0]]}
    check_exact(seen, CK_TOPIC, first, "confluent consumer #1 (up to the commit point)")

    c = ck_consumer(CK_GROUP)
    try:
        c.subscribe([CK_TOPIC])
        seen = ck_read_until_eof(c, "confluent consumer #2")
    finally:
        c.close()
    rest = {k: i for k, i in want.items() if k[1] >= stop_at[k[0]]}
    check_exact(seen, CK_TOPIC, rest, "confluent consumer #2 (resumed from the commits)")


# ---- __consumer_offsets in Metadata ----

OFFSETS_TOPIC = "__consumer_offsets"


def kp_admin():
    return KafkaAdminClient(bootstrap_servers=broker().bootstrap, request_timeout_ms=20000,
                            client_id="runnel-compat-admin")


def test_consumer_offsets_internal_topic():
    # Runs after test_confluent_commit_and_resume: a group has committed.
    admin = kp_admin()
    try:
        described = admin.describe_topics([OFFSETS_TOPIC])
        all_topics = admin.list_topics()
    finally:
        admin.close()
    expect_eq(len(described), 1, "describe_topics([%s]) entries" % OFFSETS_TOPIC)
    t = described[0]
    expect_eq((t["topic"], t["error_code"], t["is_internal"]), (OFFSETS_TOPIC, 0, True),
              "Metadata for %s: name, error code, is_internal" % OFFSETS_TOPIC)
    expect_eq(sorted(p["partition"] for p in t["partitions"]), list(range(50)),
              "partitions of %s (offsets.topic.num.partitions defaults to 50)" % OFFSETS_TOPIC)
    for p in t["partitions"]:
        expect_eq(p["error_code"], 0, "%s[%d] error code" % (OFFSETS_TOPIC, p["partition"]))
    check(OFFSETS_TOPIC in all_topics and CK_TOPIC in all_topics,
          "Metadata for all topics (KafkaAdminClient.list_topics) lists %s and %s: %r"
          % (OFFSETS_TOPIC, CK_TOPIC, sorted(all_topics)))
    # The internal flag of the all-topics answer: kafka-python's consumer leaves such topics out.
    c = KafkaConsumer(bootstrap_servers=broker().bootstrap)
    try:
        plain = c.topics()
    finally:
        c.close()
    check(CK_TOPIC in plain and OFFSETS_TOPIC not in plain,
          "KafkaConsumer.topics() (exclude_internal_topics=True) should list %s and not %s: %r"
          % (CK_TOPIC, OFFSETS_TOPIC, sorted(plain)))
    # librdkafka lists every topic the broker returns, internal ones included.
    md = AdminClient({"bootstrap.servers": broker().bootstrap}).list_topics(timeout=15)
    check(OFFSETS_TOPIC in md.topics, "confluent-kafka list_topics() misses %s" % OFFSETS_TOPIC)
    expect_eq(len(md.topics[OFFSETS_TOPIC].partitions), 50,
              "partitions of %s in confluent-kafka's list_topics" % OFFSETS_TOPIC)


# ---- group metadata across restarts ----

RS_TOPIC = "grp-restart"
RS_EMPTY = "grp-restart-empty"
RS_STANDALONE = "grp-restart-standalone"


def groups_listed():
    admin = kp_admin()
    try:
        return {g: ptype for g, ptype in admin.list_consumer_groups()}
    finally:
        admin.close()


def group_offsets(group):
    admin = kp_admin()
    try:
        got = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {(tp.topic, tp.partition): om.offset for tp, om in got.items()}


def test_group_metadata_survives_restart():
    create_topic(RS_TOPIC)
    produce(RS_TOPIC, 0, 30)
    # A subscribed consumer commits and closes: the group is Empty, protocol type "consumer".
    empty_offsets = {(RS_TOPIC, p): 3 + p for p in range(PARTITIONS)}
    c = ck_consumer(RS_EMPTY)
    try:
        c.subscribe([RS_TOPIC])
        ck_read_until_eof(c, "consumer of %s" % RS_EMPTY)
        got = c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in empty_offsets.items()],
                       asynchronous=False)
        for tp in got:
            check(tp.error is None, "%s: commit of partition %d: %s" % (RS_EMPTY, tp.partition, tp.error))
    finally:
        c.close()
    # assign() + commit(): a standalone group, never joined, no protocol type.
    standalone_offsets = {(RS_TOPIC, p): 7 + p for p in range(PARTITIONS)}
    c = ck_consumer(RS_STANDALONE)
    try:
        c.assign([TopicPartition(RS_TOPIC, p, 0) for p in range(PARTITIONS)])
        got = c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in standalone_offsets.items()],
                       asynchronous=False)
        for tp in got:
            check(tp.error is None, "%s: commit of partition %d: %s" % (RS_STANDALONE, tp.partition, tp.error))
    finally:
        c.close()

    def check_both(when):
        listed = groups_listed()
        expect_eq((listed.get(RS_EMPTY), listed.get(RS_STANDALONE)), ("consumer", ""),
                  "%s: ListGroups protocol types of %s and %s (all: %r)" % (when, RS_EMPTY, RS_STANDALONE, listed))
        expect_eq(group_offsets(RS_EMPTY), empty_offsets, "%s: committed offsets of %s" % (when, RS_EMPTY))
        expect_eq(group_offsets(RS_STANDALONE), standalone_offsets,
                  "%s: committed offsets of %s" % (when, RS_STANDALONE))

    check_both("before the restart")
    broker().restart()
    check_both("after the restart")

    admin = kp_admin()
    try:
        res = admin.delete_consumer_groups([RS_EMPTY])
    finally:
        admin.close()
    expect_eq([(g, e.errno) for g, e in res], [(RS_EMPTY, 0)], "DeleteGroups [%s] after the restart" % RS_EMPTY)

    def check_deleted(when):
        listed = groups_listed()
        check(RS_EMPTY not in listed, "%s: ListGroups still lists the deleted %s: %r" % (when, RS_EMPTY, listed))
        expect_eq(listed.get(RS_STANDALONE), "", "%s: ListGroups protocol type of %s" % (when, RS_STANDALONE))
        expect_eq(group_offsets(RS_EMPTY), {}, "%s: committed offsets of the deleted %s" % (when, RS_EMPTY))
        expect_eq(group_offsets(RS_STANDALONE), standalone_offsets,
                  "%s: committed offsets of %s" % (when, RS_STANDALONE))

    check_deleted("after DeleteGroups")
    broker().restart()
    check_deleted("after DeleteGroups and another restart")


# ---- two kafka-python consumers in one group ----

SPLIT_TOPIC = "grp-split"
SPLIT_GROUP = "grp-split"


class PollingMember(threading.Thread):
    """One kafka-python group member polling in its own thread until told to stop."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.consumer = kp_consumer(SPLIT_GROUP, client_id=name)
        self.consumer.subscribe([SPLIT_TOPIC])
        self.lock = threading.Lock()
        self.seen = []
        self.assignment = set()
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll(timeout_ms=100)
                with self.lock:
                    self.assignment = set(tp.partition for tp in self.consumer.assignment())
                    for tp, msgs in batch.items():
                        self.seen += [(m.partition, m.offset, m.value) for m in msgs]
            self.consumer.commit()
        except Exception as e:  # reported by the test thread
            self.error = e
        finally:
            self.consumer.close()

    def snapshot(self):
        with self.lock:
            return set(self.assignment), list(self.seen)


def test_two_kafka_python_consumers_split():
    create_topic(SPLIT_TOPIC)
    a, b = PollingMember("member-a"), PollingMember("member-b")
    a.start()
    b.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            (sa, _), (sb, _) = a.snapshot(), b.snapshot()
            if sa and sb and not (sa & sb) and sa | sb == set(range(PARTITIONS)):
                break
            for m in (a, b):
                check(m.error is None and m.is_alive(), "%s stopped: %r" % (m.name_, m.error))
            check(time.monotonic() < deadline, "no split of the partitions within 60 s: A=%s B=%s" % (sa, sb))
            time.sleep(0.1)
        want = produce(SPLIT_TOPIC, 0, N)
        deadline = time.monotonic() + 60
        while len(a.snapshot()[1]) + len(b.snapshot()[1]) < N:
            check(time.monotonic() < deadline, "A and B read %d of %d records within 60 s"
                  % (len(a.snapshot()[1]) + len(b.snapshot()[1]), N))
            time.sleep(0.1)
        time.sleep(1.0)  # a record delivered twice would show up now
    finally:
        a.stop.set()
        b.stop.set()
        a.join(30)
        b.join(30)
    for m in (a, b):
        check(not m.is_alive(), "%s did not stop within 30 s" % m.name_)
        check(m.error is None, "%s failed: %r" % (m.name_, m.error))
    (sa, seen_a), (sb, seen_b) = a.snapshot(), b.snapshot()
    check_exact(seen_a + seen_b, SPLIT_TOPIC, want, "kafka-python consumers A+B")
    expect_eq(set(p for p, _, _ in seen_a), sa, "partitions member A read from")
    expect_eq(set(p for p, _, _ in seen_b), sb, "partitions member B read from")
    c = kp_consumer(SPLIT_GROUP)
    try:
        for p in range(PARTITIONS):
            expect_eq(c.committed(KTP(SPLIT_TOPIC, p)), N // PARTITIONS, "committed offset of partition %d" % p)
    finally:
        c.close()


# ---- kcat -G ----

KCAT_TOPIC = "grp-kcat"
KCAT_GROUP = "grp-kcat"


def kcat_group_read(what):
    p = harness.run_command([KCAT, "-b", broker().bootstrap, "-G", KCAT_GROUP, "-e", "-q",
                             "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=%d" % SESSION_MS,
                             "-f", "%p %o %s\\n", KCAT_TOPIC], 90, what)
    seen = []
    for line in p.stdout.decode().splitlines():
        part, off, val = line.split(" ", 2)
        seen.append((int(part), int(off), val.encode()))
    return seen


def test_kcat_group():
    if KCAT is None:
        raise TestFailure("kcat is not installed (tools/install-deps.sh --test installs it)")
    create_topic(KCAT_TOPIC)
    want = produce(KCAT_TOPIC, 0, N)
    check_exact(kcat_group_read("kcat -G (first run)"), KCAT_TOPIC, want, "kcat -G first run")
    more = produce(KCAT_TOPIC, N, N // 2)
    check_exact(kcat_group_read("kcat -G (second run)"), KCAT_TOPIC, more, "kcat -G second run (resumed)")
    expect_eq(end_offsets(KCAT_TOPIC), {p: (N + N // 2) // PARTITIONS for p in range(PARTITIONS)},
              "end offsets of the kcat topic")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("kafka_python_group_commit", test_kafka_python_group_commit, 120),
               ("confluent_commit_and_resume", test_confluent_commit_and_resume, 120),
               ("consumer_offsets_internal_topic", test_consumer_offsets_internal_topic, 60),
               ("group_metadata_survives_restart", test_group_metadata_survives_restart, 90),
               ("two_kafka_python_consumers_split", test_two_kafka_python_consumers_split, 150),
               ("kcat_group", test_kcat_group, 150),
               ("clean_shutdown", test_clean_shutdown, 30)], "group_clients",
              matrix=[("kafka_python", "kafka-python (Debian)", harness.client_version("kafka-python")), ("two_kafka_python", "kafka-python (Debian)", harness.client_version("kafka-python")), ("kcat", "kcat (Debian)", harness.client_version("kcat")), ("", "confluent-kafka-python (Debian)", harness.client_version("confluent-kafka-python"))])
