#!/usr/bin/python3
"""Idempotent and transactional producers of real clients against Runnel.

- kafkajs: an idempotent producer's records are read back exactly once; a
  transactional producer commits, aborts and commits again over 2 partitions; a
  read-committed kafkajs consumer sees exactly the committed records (a
  read-uncommitted one sees the aborted ones too, so the check can tell them
  apart); a consume-transform-produce step (sendOffsets) commits its output and
  the group's offsets in one transaction.
- confluent-kafka-python: init_transactions, commit and abort; a consumer with
  isolation.level=read_committed sees exactly the committed records;
  send_offsets_to_transaction with a consumer's group metadata commits the
  group's offsets with the output. Whether this confluent-kafka version's
  AdminClient has list_transactions, describe_transactions and
  describe_producers is printed; they are not checked here.
- kafka-python: reads the topic the confluent-kafka producer wrote. With
  isolation_level='read_committed' (when this kafka-python has the option) it
  sees exactly the committed records; kafka-python 2.0.x only reads uncommitted
  and hands control records to the application, so there the check is that it
  gets every data record (committed and aborted) and the commit/abort markers at
  the offsets between the transactions, as it would from Kafka.

The Node script is compat-tests/js/kafkajs_txn.js (kafkajs pinned in
compat-tests/js/package-lock.json). KAFKAJS_DEBUG=1 adds kafkajs's DEBUG log.
"""
import json
import os
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402

try:
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

HERE = os.path.dirname(os.path.abspath(__file__))
JS_DIR = os.path.join(HERE, "js")
SCRIPT = os.path.join(JS_DIR, "kafkajs_txn.js")
NODE = shutil.which("node")
HAVE_KAFKAJS = NODE is not None and os.path.isfile(os.path.join(JS_DIR, "node_modules", "kafkajs", "package.json"))

PARTITIONS = 2
# Transactions written by each producer, in order: (tag, record count, committed?).
RUNS = [("c1", 20, True), ("a1", 10, False), ("c2", 6, True)]

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0"}).start()
    return _broker


def create_topic(name, partitions=PARTITIONS):
    admin = AdminClient({"bootstrap.servers": broker().bootstrap})
    f = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                            request_timeout=15, operation_timeout=15)[name]
    try:
        f.result(timeout=20)
    except Exception as e:
        raise TestFailure("AdminClient.create_topics(%s): %s" % (name, e))


def check_exact(seen, want, what):
    """seen: [(p, offset, value)]; want: {(p, offset): value}. Each wanted record once, nothing else."""
    where = [(p, o) for p, o, _ in seen]
    dups = sorted(set(w for w in where if where.count(w) > 1))
    check(not dups, "%s: records read more than once: %s" % (what, dups[:5]))
    missing = sorted(set(want) - set(where))
    extra = sorted(set(where) - set(want))
    check(not missing and not extra, "%s: %d missing (first %s), %d unexpected (first %s: %s) of %d"
          % (what, len(missing), missing[:5], len(extra), extra[:5],
             [v for p, o, v in seen if (p, o) in set(extra[:5])], len(want)))
    for p, o, v in seen:
        expect_eq(v, want[(p, o)], "%s: value at partition %d offset %d" % (what, p, o))
    for p in range(PARTITIONS):
        offs = [o for q, o, _ in seen if q == p]
        expect_eq(offs, sorted(offs), "%s: order of offsets in partition %d" % (what, p))


# ---- kafkajs ----

KJS_IDEM_TOPIC = "txn-kjs-idem"
KJS_TOPIC = "txn-kjs"
KJS_OUT_TOPIC = "txn-kjs-out"
KJS_GROUP = "txn-kjs-ctp"
_kjs = {}


def need_kafkajs():
    if NODE is None:
        raise TestFailure("node is not installed (tools/install-deps.sh --test installs it)")
    if not HAVE_KAFKAJS:
        raise TestFailure("kafkajs is not installed in compat-tests/js/node_modules (run `npm ci` there)")


def node(cmd, opts, timeout, what):
    opts = dict(opts, brokers=[broker().bootstrap])
    p = harness.run_command([NODE, SCRIPT, cmd, json.dumps(opts)], timeout, what)
    got = []
    for line in p.stdout.decode().splitlines():
        if not line.strip():
            continue
        try:
            got.append(json.loads(line))
        except ValueError:
            raise TestFailure("%s printed a line that is not JSON: %r" % (what, line))
    return got


def of(events, kind):
    return [e for e in events if e.get("event") == kind]


def kjs_value(tag, i):
    return "kjs-%s-value-%d" % (tag, i)


def kjs_sent(events):
    """{(p, offset): value} from the 'sent' events."""
    placed = {}
    for e in of(events, "sent"):
        where = (e["p"], int(e["o"]))
        check(where not in placed, "two records acknowledged at partition %d offset %d" % where)
        placed[where] = kjs_value(e["tag"], e["i"])
    return placed


def kjs_consume(topic, group, expect, read_uncommitted, what):
    got = node("consume", {"topic": topic, "group": group, "expect": expect, "linger_ms": 1500,
                           "timeout_ms": 60000, "read_uncommitted": read_uncommitted}, 90, what)
    for m in of(got, "msg"):
        expect_eq(m["t"], topic, what + ": topic of a record")
    return [(m["p"], int(m["o"]), m["v"]) for m in of(got, "msg")]


def test_kafkajs_idempotent():
    need_kafkajs()
    create_topic(KJS_IDEM_TOPIC)
    count = 300
    got = node("idempotent", {"topic": KJS_IDEM_TOPIC, "partitions": PARTITIONS, "tag": "idem",
                              "count": count, "chunk": 50}, 90, "kafkajs idempotent producer")
    placed = kjs_sent(got)
    expect_eq(len(placed), count, "records acknowledged by the kafkajs idempotent producer")
    for p in range(PARTITIONS):
        offs = sorted(o for q, o in placed if q == p)
        expect_eq(offs, list(range(count // PARTITIONS)), "acknowledged offsets of partition %d" % p)
    seen = kjs_consume(KJS_IDEM_TOPIC, "txn-kjs-idem-reader", count, False, "kafkajs consumer (idempotent topic)")
    check_exact(seen, placed, "kafkajs consumer of the idempotent producer's records")


def test_kafkajs_transactions():
    need_kafkajs()
    create_topic(KJS_TOPIC)
    create_topic(KJS_OUT_TOPIC)
    got = node("txn", {"topic": KJS_TOPIC, "partitions": PARTITIONS, "transactional_id": "txn-kjs-producer",
                       "runs": [{"tag": t, "count": n, "commit": c} for t, n, c in RUNS]},
               90, "kafkajs transactional producer")
    expect_eq([(e["event"], e["tag"]) for e in got if e["event"] in ("committed", "aborted")],
              [("committed" if c else "aborted", t) for t, _, c in RUNS], "kafkajs transaction outcomes")
    placed = kjs_sent(got)
    expect_eq(len(placed), sum(n for _, n, _ in RUNS), "records acknowledged in the kafkajs transactions")
    committed_tags = set(t for t, _, c in RUNS if c)
    committed = {w: v for w, v in placed.items() if v.split("-")[1] in committed_tags}
    _kjs["committed"] = committed
    seen = kjs_consume(KJS_TOPIC, "txn-kjs-rc", len(committed), False, "kafkajs read-committed consumer")
    check_exact(seen, committed, "kafkajs consumer with readUncommitted: false")
    # The aborted records are in the log: a read-uncommitted consumer gets them too.
    seen = kjs_consume(KJS_TOPIC, "txn-kjs-ru", len(placed), True, "kafkajs read-uncommitted consumer")
    check_exact(seen, placed, "kafkajs consumer with readUncommitted: true")


def test_kafkajs_send_offsets():
    need_kafkajs()
    committed = _kjs["committed"]
    got = node("ctp", {"in_topic": KJS_TOPIC, "out_topic": KJS_OUT_TOPIC, "group": KJS_GROUP,
                       "transactional_id": "txn-kjs-ctp", "expect": len(committed), "timeout_ms": 60000},
               120, "kafkajs consume-transform-produce")
    read = [(e["p"], int(e["o"]), e["v"]) for e in of(got, "in")]
    check_exact(read, committed, "records the consume-transform-produce step read")
    check(of(got, "committed"), "the consume-transform-produce transaction did not report its commit")
    sent_offsets = {int(p): int(o) for p, o in of(got, "offsets")[-1]["offsets"].items()}
    expect_eq(sent_offsets, {p: max(o for q, o in committed if q == p) + 1 for p in range(PARTITIONS)},
              "offsets passed to sendOffsets (after the last committed record of each partition)")
    res = node("offsets", {"topic": KJS_TOPIC, "group": KJS_GROUP}, 60, "kafkajs admin.fetchOffsets")[-1]
    expect_eq({int(p): int(o) for p, o in res["committed"].items()}, sent_offsets,
              "committed offsets of group %s after the transaction with sendOffsets committed" % KJS_GROUP)
    out = kjs_consume(KJS_OUT_TOPIC, "txn-kjs-out-reader", len(committed), False,
                      "kafkajs read-committed consumer of the output topic")
    expect_eq(sorted((p, v) for p, _, v in out), sorted((p, "out-" + v) for (p, _), v in committed.items()),
              "records of %s (partition, value) after the consume-transform-produce commit" % KJS_OUT_TOPIC)


# ---- confluent-kafka-python ----

CK_TOPIC = "txn-ck"
CK_OUT_TOPIC = "txn-ck-out"
CK_GROUP = "txn-ck-ctp"
_ck = {}


def ck_value(tag, i):
    return b"ck-%s-value-%d" % (tag.encode(), i)


def ck_transactional(txn_id):
    p = Producer({"bootstrap.servers": broker().bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": 30000, "linger.ms": 5})
    p.init_transactions(30)
    return p


def test_confluent_transactions():
    create_topic(CK_TOPIC)
    create_topic(CK_OUT_TOPIC)
    p = ck_transactional("txn-ck-producer")
    placed, runs_of = {}, {}
    for tag, n, commit in RUNS:
        errors = []

        def on_delivery(err, msg, tag=tag):
            if err:
                errors.append(str(err))
            else:
                placed[(msg.partition(), msg.offset())] = msg.value()
                runs_of[(msg.partition(), msg.offset())] = tag
        p.begin_transaction()
        for i in range(n):
            p.produce(CK_TOPIC, key=b"k%d" % i, value=ck_value(tag, i), partition=i % PARTITIONS,
                      on_delivery=on_delivery)
        if commit:
            p.commit_transaction(30)  # flushes and waits for the deliveries
        else:
            expect_eq(p.flush(30), 0, "records of the %s transaction unacknowledged before the abort" % tag)
            p.abort_transaction(30)
        check(not errors, "delivery errors in the %s transaction: %s" % (tag, errors[:3]))
    expect_eq(len(placed), sum(n for _, n, _ in RUNS), "records acknowledged in the transactions")
    committed_tags = set(t for t, _, c in RUNS if c)
    _ck["placed"] = placed
    _ck["runs_of"] = runs_of
    _ck["committed"] = {w: v for w, v in placed.items() if runs_of[w] in committed_tags}


def ck_read(topic, group, isolation, what, timeout=60):
    """Reads every partition to its end (EOF) with the given isolation level; [(p, offset, value)]."""
    c = Consumer({"bootstrap.servers": broker().bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": isolation,
                  "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        seen, done = [], set()
        deadline = time.monotonic() + timeout
        while len(done) < PARTITIONS:
            check(time.monotonic() < deadline, "%s: %d partitions at their end, %d records, within %d s"
                  % (what, len(done), len(seen), timeout))
            for m in c.consume(num_messages=100, timeout=0.3):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        done.add(m.partition())
                        continue
                    raise TestFailure("%s: consumer error %s" % (what, m.error()))
                seen.append((m.partition(), m.offset(), m.value()))
        return seen
    finally:
        c.close()


def test_confluent_read_committed():
    seen = ck_read(CK_TOPIC, "txn-ck-rc", "read_committed", "confluent read_committed consumer")
    check_exact(seen, _ck["committed"], "confluent consumer with isolation.level=read_committed")
    seen = ck_read(CK_TOPIC, "txn-ck-ru", "read_uncommitted", "confluent read_uncommitted consumer")
    check_exact(seen, _ck["placed"], "confluent consumer with isolation.level=read_uncommitted")


def test_confluent_send_offsets():
    committed = _ck["committed"]
    c = Consumer({"bootstrap.servers": broker().bootstrap, "group.id": CK_GROUP, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                  "session.timeout.ms": 6000})
    p = ck_transactional("txn-ck-ctp")
    try:
        c.subscribe([CK_TOPIC])
        read = []
        deadline = time.monotonic() + 60
        while len(read) < len(committed):
            check(time.monotonic() < deadline, "consume-transform-produce: read %d of %d records in 60 s"
                  % (len(read), len(committed)))
            for m in c.consume(num_messages=100, timeout=0.3):
                if m.error():
                    raise TestFailure("consume-transform-produce: consumer error %s" % m.error())
                read.append((m.partition(), m.offset(), m.value()))
        check_exact(read, committed, "records the consume-transform-produce step read")
        p.begin_transaction()
        for part, _, v in read:
            p.produce(CK_OUT_TOPIC, value=b"out-" + v, partition=part)
        positions = c.position(c.assignment())
        want = {tp.partition: tp.offset for tp in positions}
        expect_eq(sorted(want), list(range(PARTITIONS)), "partitions of the consumer's positions")
        for q in range(PARTITIONS):
            last = max(o for r, o in _ck["placed"] if r == q)
            # After the last committed record; librdkafka may also step over the commit marker.
            check(max(o for r, o in committed if r == q) + 1 <= want[q] <= last + 2,
                  "position of partition %d after reading the committed records: %d" % (q, want[q]))
        p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        got = c.committed([TopicPartition(CK_TOPIC, q) for q in range(PARTITIONS)], timeout=10)
        expect_eq({tp.partition: tp.offset for tp in got}, want,
                  "committed offsets of group %s after send_offsets_to_transaction and the commit" % CK_GROUP)
    finally:
        c.close()
    out = ck_read(CK_OUT_TOPIC, "txn-ck-out-reader", "read_committed", "reader of the output topic")
    expect_eq(sorted((q, v) for q, _, v in out), sorted((q, b"out-" + v) for (q, _), v in committed.items()),
              "records of %s (partition, value)" % CK_OUT_TOPIC)


def test_confluent_admin():
    import confluent_kafka
    admin = AdminClient({"bootstrap.servers": broker().bootstrap})
    names = ("list_transactions", "describe_transactions", "describe_producers")
    missing = [m for m in names if not hasattr(admin, m)]
    present = [m for m in names if m not in missing]
    if missing:
        print("NOTE: confluent-kafka %s has no AdminClient.%s: not checked with this client"
              % (confluent_kafka.version()[0], ", AdminClient.".join(missing)), flush=True)
    if present:
        print("NOTE: confluent-kafka %s has AdminClient.%s, which this test does not check yet"
              % (confluent_kafka.version()[0], ", AdminClient.".join(present)), flush=True)


# ---- kafka-python ----

def test_kafka_python_reads_transactions():
    try:
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        import kafka
    except ImportError as e:
        raise TestFailure("kafka-python is not installed (%s)" % e)
    placed, runs_of = _ck["placed"], _ck["runs_of"]
    has_isolation = "isolation_level" in KafkaConsumer.DEFAULT_CONFIG
    conf = dict(bootstrap_servers=broker().bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                consumer_timeout_ms=-1, request_timeout_ms=30000)
    if has_isolation:
        conf["isolation_level"] = "read_committed"
        want = _ck["committed"]
    else:
        print("NOTE: kafka-python %s has no isolation_level option (it reads uncommitted and returns "
              "control records); checking what it gets from Kafka: all records and the markers"
              % kafka.__version__, flush=True)
        # Kafka's control record: key = version (int16 0) + type (int16: 0 abort, 1 commit); value =
        # version (int16 0) + coordinator epoch (int32). A marker closes each transaction in each partition.
        want = dict(placed)
        committed_tags = set(t for t, _, c in RUNS if c)
        for p in range(PARTITIONS):
            offs = sorted(o for q, o in placed if q == p)
            end = offs[-1] + 2
            for o in range(end):
                if (p, o) not in placed:
                    check(o > 0 and (p, o - 1) in placed, "partition %d: offset %d is neither a record nor "
                          "right after one" % (p, o))
                    kind = 1 if runs_of[(p, o - 1)] in committed_tags else 0
                    want[(p, o)] = ("control", kind)
    c = KafkaConsumer(**conf)
    try:
        tps = [KTP(CK_TOPIC, p) for p in range(PARTITIONS)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        seen, quiet_since = [], None
        deadline = time.monotonic() + 60
        while True:
            batch = c.poll(timeout_ms=200)
            for _, msgs in batch.items():
                for m in msgs:
                    v = m.value
                    if (m.partition, m.offset) in want and isinstance(want[(m.partition, m.offset)], tuple):
                        check(m.key is not None and len(m.key) == 4 and v is not None and len(v) >= 6,
                              "control record at partition %d offset %d: key %r value %r"
                              % (m.partition, m.offset, m.key, v))
                        version, kind = struct.unpack(">hh", m.key)
                        expect_eq(version, 0, "control record key version")
                        v = ("control", kind)
                    seen.append((m.partition, m.offset, v))
            if len(seen) >= len(want):
                quiet_since = quiet_since if not batch and quiet_since is not None else time.monotonic()
                if time.monotonic() - quiet_since >= 1.0:
                    break
            check(time.monotonic() < deadline, "kafka-python read %d of %d records within 60 s"
                  % (len(seen), len(want)))
    finally:
        c.close()
    check_exact(seen, want, "kafka-python consumer of the transactional topic"
                + (" (read_committed)" if has_isolation else " (read_uncommitted, markers included)"))


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("kafkajs_idempotent", test_kafkajs_idempotent, 120),
               ("kafkajs_transactions", test_kafkajs_transactions, 180),
               ("kafkajs_send_offsets", test_kafkajs_send_offsets, 150),
               ("confluent_transactions", test_confluent_transactions, 90),
               ("confluent_read_committed", test_confluent_read_committed, 90),
               ("confluent_send_offsets", test_confluent_send_offsets, 120),
               ("confluent_admin", test_confluent_admin, 60),
               ("kafka_python_reads_transactions", test_kafka_python_reads_transactions, 90),
               ("clean_shutdown", test_clean_shutdown, 30)], "txn_clients",
              matrix=[("kafkajs", "kafkajs", harness.client_version("kafkajs")), ("kafka_python", "kafka-python (Debian)", harness.client_version("kafka-python")), ("", "confluent-kafka-python (Debian)", harness.client_version("confluent-kafka-python"))])
