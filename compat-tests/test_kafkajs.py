#!/usr/bin/python3
"""kafkajs (the Node.js client, its own protocol code) against Runnel.

A kafkajs producer writes keyed records (uncompressed, gzip, snappy) to a
3-partition topic with its default partitioner; a kafkajs group consumer
(subscribe + eachMessage) reads every record exactly once, commits and leaves;
a second consumer in the same group starts after the committed offsets; two
consumers in one group split the partitions between them.

The Node scripts live in compat-tests/js (kafkajs pinned in package-lock.json,
installed by `tools/install-deps.sh --test` or `npm ci` there). Set
KAFKAJS_DEBUG=1 to get kafkajs's DEBUG log (every request and response) on
the failure output.
"""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, Spawned, TestFailure, check, expect_eq, run_tests  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JS_DIR = os.path.join(HERE, "js")
SCRIPT = os.path.join(JS_DIR, "kafkajs_client.js")

NODE = shutil.which("node")
if NODE is None:
    harness.skip("node is not installed (tools/install-deps.sh --test installs it)")
if not os.path.isfile(os.path.join(JS_DIR, "node_modules", "kafkajs", "package.json")):
    harness.skip("kafkajs is not installed in compat-tests/js/node_modules (run `npm ci` there, "
                 "or tools/install-deps.sh --test)")

PARTITIONS = 3
PER_CODEC = 400
CODECS = ["none", "gzip", "snappy"]
GROUP_TOPIC = "kjs-group"
SPLIT_TOPIC = "kjs-split"
GROUP = "kjs-g1"
SPLIT_GROUP = "kjs-g2"
TAG = "a"

_broker = None
_sent = {}  # topic -> {(partition, offset): i}


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0"}).start()
    return _broker


def node(cmd, opts, timeout, what):
    """Runs one kafkajs_client.js command to its end; returns its JSON lines."""
    opts = dict(opts, brokers=[broker().bootstrap])
    p = harness.run_command([NODE, SCRIPT, cmd, json.dumps(opts)], timeout, what)
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def spawn_consumer(group, topic, expect, what, wait_release=False, linger_ms=1000, timeout_ms=60000):
    opts = {"brokers": [broker().bootstrap], "group": group, "topic": topic, "expect": expect,
            "linger_ms": linger_ms, "wait_release": wait_release, "timeout_ms": timeout_ms,
            "client_id": what}
    return Spawned([NODE, SCRIPT, "consume", json.dumps(opts)], what, stdin_pipe=wait_release)


def events(lines, kind):
    out = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            raise TestFailure("kafkajs_client printed a line that is not JSON: %r" % line)
        if e.get("event") == kind:
            out.append(e)
    return out


def record(tag, i):
    """The bytes kafkajs_client.js writes for record i (see record() there)."""
    key = b"kjs-%s-key-%d" % (tag.encode(), i)
    value = b"kjs-%s-value-%d-" % (tag.encode(), i) + bytes((i * 13 + j) & 0xff for j in range((i * 7) % 97))
    headers = {"idx": str(i).encode().hex(), "tag": tag.encode().hex()}
    return key.hex(), value.hex(), headers


def create_topic(topic):
    got = node("create-topic", {"topic": topic, "partitions": PARTITIONS}, 60, "kafkajs admin.createTopics")
    expect_eq(got[-1]["partitions"], list(range(PARTITIONS)), "partitions of %s in kafkajs's metadata" % topic)


def produce(topic, first, count, compression):
    """Produces records first..first+count-1; returns {(p, offset): i} from the acks."""
    got = node("produce", {"topic": topic, "partitions": PARTITIONS, "tag": TAG, "first": first,
                           "count": count, "compression": compression, "chunk": 100},
               90, "kafkajs producer (%s)" % compression)
    sent = events([json.dumps(e) for e in got], "sent")
    expect_eq(sorted(e["i"] for e in sent), list(range(first, first + count)),
              "records acknowledged by the kafkajs producer (%s)" % compression)
    placed = {}
    for e in sent:
        placed[(e["p"], int(e["o"]))] = e["i"]
    expect_eq(len(placed), count, "distinct (partition, offset) pairs acknowledged (%s)" % compression)
    return placed


def offsets(topic, group=None):
    opts = {"topic": topic}
    if group:
        opts["group"] = group
    got = node("offsets", opts, 60, "kafkajs admin offsets of %s" % topic)
    return got[-1]


def high_watermarks(topic):
    return {int(p): int(o) for p, o in offsets(topic)["high"].items()}


def check_messages(msgs, topic, want, what):
    """msgs: 'msg' events; want: {(p, offset): i}. Every wanted record exactly once, nothing else."""
    seen = {}
    for m in msgs:
        expect_eq(m["t"], topic, what + ": topic of a record")
        where = (m["p"], int(m["o"]))
        check(where not in seen, "%s: partition %d offset %d delivered twice" % (what, where[0], where[1]))
        seen[where] = m
    missing = sorted(set(want) - set(seen))
    extra = sorted(set(seen) - set(want))
    check(not missing and not extra, "%s: %d records missing (first %s), %d unexpected (first %s); read %d"
          % (what, len(missing), missing[:5], len(extra), extra[:5], len(seen)))
    for where, i in want.items():
        k, v, h = record(TAG, i)
        m = seen[where]
        expect_eq((m["k"], m["v"], m["h"]), (k, v, h), "%s: record %d at partition %d offset %d"
                  % (what, i, where[0], where[1]))
    # Per partition, eachMessage sees offsets in increasing order.
    for p in range(PARTITIONS):
        offs = [int(m["o"]) for m in msgs if m["p"] == p]
        expect_eq(offs, sorted(offs), what + ": order of offsets in partition %d" % p)


def check_committed(topic, group, what):
    got = offsets(topic, group)
    high = {int(p): int(o) for p, o in got["high"].items()}
    committed = {int(p): int(o) for p, o in got["committed"].items()}
    expect_eq(committed, high, what + ": committed offsets of group %s (expected the high watermarks)" % group)
    expect_eq(got["group"]["state"], "Empty", what + ": state of group %s after its consumers left" % group)
    expect_eq(got["group"]["members"], 0, what + ": members of group %s after its consumers left" % group)


# ---- steps ----

def test_produce():
    broker()
    create_topic(GROUP_TOPIC)
    placed = {}
    for n, codec in enumerate(CODECS):
        placed.update(produce(GROUP_TOPIC, n * PER_CODEC, PER_CODEC, codec))
    per_part = {p: sorted(o for (q, o) in placed if q == p) for p in range(PARTITIONS)}
    for p in range(PARTITIONS):
        check(per_part[p], "the default partitioner put no record in partition %d" % p)
        expect_eq(per_part[p], list(range(len(per_part[p]))), "acknowledged offsets of partition %d" % p)
    expect_eq(high_watermarks(GROUP_TOPIC), {p: len(per_part[p]) for p in range(PARTITIONS)},
              "high watermarks from kafkajs admin.fetchTopicOffsets")
    _sent[GROUP_TOPIC] = placed


def test_group_consume():
    want = _sent[GROUP_TOPIC]
    c = spawn_consumer(GROUP, GROUP_TOPIC, len(want), "kafkajs group consumer #1")
    lines = c.finish(90)
    joins = events(lines, "join")
    check(joins, "kafkajs consumer #1 printed no group join")
    expect_eq(joins[-1]["assignment"], {GROUP_TOPIC: list(range(PARTITIONS))}, "assignment of the only member")
    check_messages(events(lines, "msg"), GROUP_TOPIC, want, "kafkajs group consumer #1")
    check_committed(GROUP_TOPIC, GROUP, "after consumer #1")


def test_resume_after_commit():
    first = len(CODECS) * PER_CODEC
    placed = produce(GROUP_TOPIC, first, PER_CODEC, "gzip")
    c = spawn_consumer(GROUP, GROUP_TOPIC, len(placed), "kafkajs group consumer #2")
    lines = c.finish(90)
    check_messages(events(lines, "msg"), GROUP_TOPIC, placed, "kafkajs group consumer #2 (after the commits)")
    check_committed(GROUP_TOPIC, GROUP, "after consumer #2")
    _sent[GROUP_TOPIC].update(placed)


def test_two_consumers_split():
    create_topic(SPLIT_TOPIC)
    a = spawn_consumer(SPLIT_GROUP, SPLIT_TOPIC, 0, "kafkajs split consumer A", wait_release=True, linger_ms=0)
    b = spawn_consumer(SPLIT_GROUP, SPLIT_TOPIC, 0, "kafkajs split consumer B", wait_release=True, linger_ms=0)
    try:
        deadline = time.monotonic() + 60

        def latest(c):
            j = events(c.lines(), "join")
            return set(j[-1]["assignment"].get(SPLIT_TOPIC, [])) if j else None

        while True:
            la, lb = latest(a), latest(b)
            if la is not None and lb is not None and la and lb and not (la & lb) \
                    and la | lb == set(range(PARTITIONS)):
                break
            for c in (a, b):
                check(c.proc.poll() is None, "%s exited early: %s" % (c.what, c.stderr_tail()))
            check(time.monotonic() < deadline, "the two consumers did not settle on a split of the %d "
                  "partitions within 60 s; latest assignments A=%s B=%s" % (PARTITIONS, la, lb))
            time.sleep(0.1)
        placed = produce(SPLIT_TOPIC, 0, 3 * PER_CODEC, "none")

        def total(_):
            return len(events(a.lines(), "msg")) + len(events(b.lines(), "msg")) >= len(placed)

        a.wait_for(total, 60, "all %d records read by A and B together" % len(placed))
        time.sleep(1.0)  # anything delivered twice would show up now
        for c in (a, b):
            c.close_stdin()
        la_lines, lb_lines = a.finish(60), b.finish(60)
    finally:
        a.kill()
        b.kill()
    msgs_a, msgs_b = events(la_lines, "msg"), events(lb_lines, "msg")
    check_messages(msgs_a + msgs_b, SPLIT_TOPIC, placed, "kafkajs consumers A+B")
    # Each record was read by the member that owned its partition; no rebalance happened.
    own_a = set(events(la_lines, "join")[-1]["assignment"][SPLIT_TOPIC])
    own_b = set(events(lb_lines, "join")[-1]["assignment"][SPLIT_TOPIC])
    check(msgs_a and msgs_b, "one consumer read nothing: A %d records, B %d" % (len(msgs_a), len(msgs_b)))
    expect_eq(set(m["p"] for m in msgs_a), own_a, "partitions A read from")
    expect_eq(set(m["p"] for m in msgs_b), own_b, "partitions B read from")
    check_committed(SPLIT_TOPIC, SPLIT_GROUP, "after A and B left")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("produce", test_produce, 120),
               ("group_consume", test_group_consume, 120),
               ("resume_after_commit", test_resume_after_commit, 120),
               ("two_consumers_split", test_two_consumers_split, 180),
               ("clean_shutdown", test_clean_shutdown, 30)], "kafkajs", stop_on_failure=True,
              matrix=[("", "kafkajs", harness.client_version("kafkajs"))])
