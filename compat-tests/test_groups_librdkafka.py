#!/usr/bin/python3
"""Consumer groups through librdkafka's high-level consumer (rd_kafka_subscribe)
against Runnel, driven through the rdkafka_group helper.

1. For each assignor (range, roundrobin, cooperative-sticky): three members share
   a 6-partition topic until every partition has exactly one owner; while a
   producer writes keyed records, one member closes cleanly (its partitions
   move within the rebalance, well before the session timeout, and the new
   owners resume where it stopped) and one is killed (its partitions move only
   once its session has expired); the survivor has then seen every record, and
   per partition the offsets seen by all members together have no gap.
2. Commit and resume: three quarters of the records consumed and committed synchronously; a
   new member starts exactly at the committed offsets (also read back with
   OffsetFetch), and again after a broker restart on the same data directory.
3. auto.offset.reset for a group without committed offsets: earliest reads
   from the start, latest only what is produced after the position was set,
   and error (librdkafka's name for Kafka's `none`) reports _AUTO_OFFSET_RESET
   "no previously committed offset available".
4. Static membership (KIP-345): two members with group.instance.id share a
   4-partition topic; one is killed and started again with the same instance id
   well within its session timeout: it gets back exactly its partitions and the
   other member sees no rebalance (DescribeGroups: still the two instance ids,
   Stable). Killed again and not restarted, its partitions move only once its
   session timed out. A clean close of a static member: librdkafka sends no
   LeaveGroup (as Kafka's Java client), so the member stays in the group.

Needs RUNNEL_BIN and RDKAFKA_GROUP.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, JsonLinesProcess, check, expect_eq, run_tests, wait_until  # noqa: E402

tool = os.environ.get("RDKAFKA_GROUP")
if not tool or not os.access(tool, os.X_OK):
    harness.skip("RDKAFKA_GROUP is not set to the built rdkafka_group helper")

SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms default
HEARTBEAT_MS = 500
# A clean leave moves partitions within one rebalance: the others learn of it at
# their next heartbeat and rejoin. Allowed: well under the session timeout.
CLEAN_MOVE_MAX_S = 4.0
# A killed member's last heartbeat was at most one interval before the kill.
KILLED_MOVE_MIN_S = (SESSION_TIMEOUT_MS - HEARTBEAT_MS) / 1000.0 - 0.3
KILLED_MOVE_MAX_S = SESSION_TIMEOUT_MS / 1000.0 + 5.0

BROKER_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}


# ---- helpers ----

def new_broker():
    return Broker(overrides=BROKER_OVERRIDES).start()


def create_topic(broker, topic, partitions):
    p = JsonLinesProcess([tool, "create", broker.bootstrap, topic, str(partitions)], "create-" + topic)
    expect_eq(p.wait_exit(30, "create the topic"), 0, "rdkafka_group create %s exit status\n%s"
              % (topic, p.describe()))


def start_producer(broker, topic, first, count, interval_ms=0, partitions=0):
    args = [tool, "produce", broker.bootstrap, topic, str(first), str(count)]
    if interval_ms:
        args += ["--interval-ms", str(interval_ms)]
    if partitions:
        args += ["--partitions", str(partitions)]
    return JsonLinesProcess(args, "producer-%s-%d" % (topic, first))


def finish_producer(p, count, timeout=60):
    """Waits for the producer; returns {(topic, partition, offset): key} of what was acknowledged."""
    expect_eq(p.wait_exit(timeout, "finish producing"), 0, "%s exit status\n%s" % (p.name, p.describe()))
    delivered = {}
    for e in p.snapshot():
        if e["event"] == "delivered":
            tpo = (e["topic"], e["partition"], e["offset"])
            check(tpo not in delivered, "%s: two records acknowledged at %r" % (p.name, tpo))
            delivered[tpo] = e["key"]
    expect_eq(len(delivered), count, "%s: acknowledged records" % p.name)
    return delivered


def produce(broker, topic, first, count, partitions=0):
    return finish_producer(start_producer(broker, topic, first, count, partitions=partitions), count)


def start_consumer(broker, name, group, assignor, topic, reset="earliest", auto_commit=True, extra=()):
    args = [tool, "consume", broker.bootstrap, group, assignor, topic,
            "--session-timeout-ms", str(SESSION_TIMEOUT_MS),
            "--heartbeat-interval-ms", str(HEARTBEAT_MS),
            "--auto-offset-reset", reset,
            "--enable-auto-commit", "true" if auto_commit else "false"] + list(extra)
    return JsonLinesProcess(args, name)


def close_consumer(c, timeout=20):
    """Sends close and checks the consumer closed without error and exited 0."""
    c.send("close")
    _, ev = c.wait_for(lambda e: e["event"] == "closed", timeout, "closed event after close")
    expect_eq(ev["error"], None, "%s: rd_kafka_consumer_close result\n%s" % (c.name, c.describe()))
    expect_eq(c.wait_exit(timeout), 0, "%s exit status\n%s" % (c.name, c.describe()))


def finish_close(c, timeout=10):
    """After "close" was sent and the broker-side effect of the close was checked: the consumer
    reports "closed" without error and exits 0."""
    _, ev = c.wait_for(lambda e: e["event"] == "closed", timeout, "closed event after close")
    expect_eq(ev["error"], None, "%s: rd_kafka_consumer_close result\n%s" % (c.name, c.describe()))
    expect_eq(c.wait_exit(timeout), 0, "%s exit status\n%s" % (c.name, c.describe()))


def assignment(c):
    """The consumer's whole assignment after its last rebalance callback."""
    own = set()
    for e in c.snapshot():
        if e["event"] in ("assigned", "revoked"):
            check(isinstance(e["assignment"], list),
                  "%s: rd_kafka_assignment failed: %r" % (c.name, e["assignment"]))
            own = set(tuple(tp) for tp in e["assignment"])
    return own


def records(c, after_t=None):
    return [e for e in c.snapshot() if e["event"] == "record" and (after_t is None or e["_t"] >= after_t)]


def check_no_errors(c, allowed=()):
    for e in c.snapshot():
        if e["event"] == "error" and e["code"] not in allowed:
            raise harness.TestFailure("%s reported an error: %r\n%s" % (c.name, e, c.describe()))


def describe_all(procs):
    return "\n".join(p.describe() for p in procs)


def kill_all(procs):
    for p in procs:
        try:
            p.kill()
        except Exception:
            pass


# ---- 1. three members, one leaves cleanly, one crashes ----

def group_lifecycle(assignor):
    partitions = 6
    topic = "grp-" + assignor
    group = "g-" + assignor
    protocol = "COOPERATIVE" if assignor == "cooperative-sticky" else "EAGER"
    all_tps = {(topic, p) for p in range(partitions)}
    broker = new_broker()
    create_topic(broker, topic, partitions)
    members = [start_consumer(broker, "%s-%d" % (assignor, i), group, assignor, topic,
                              extra=["-X", "auto.commit.interval.ms=500"]) for i in range(3)]
    procs = list(members)
    try:
        def owners(live):
            by_tp = {}
            for c in live:
                for tp in assignment(c):
                    by_tp.setdefault(tp, []).append(c.name)
            return by_tp

        def balanced(live, per_member=None):
            by_tp = owners(live)
            if set(by_tp) != all_tps or any(len(o) != 1 for o in by_tp.values()):
                return False
            if per_member is not None and any(len(assignment(c)) != per_member for c in live):
                return False
            return by_tp

        t0 = time.monotonic()
        by_tp = wait_until(lambda: balanced(members, per_member=2), 30,
                           "3 members of %s each owning 2 of the 6 partitions, each partition once" % group,
                           describe=lambda: describe_all(members))
        print("  %s: 3 members balanced after %.1f s: %s" % (assignor, time.monotonic() - t0,
                                                           sorted((tp[1], o[0]) for tp, o in by_tp.items())))
        for c in members:
            for e in c.snapshot():
                if e["event"] in ("assigned", "revoked"):
                    expect_eq(e["protocol"], protocol, "%s: rebalance protocol" % c.name)

        count = 600
        producer = start_producer(broker, topic, 0, count, interval_ms=8)
        procs.append(producer)
        wait_until(lambda: all(records(c) for c in members), 30,
                   "every member consuming records", describe=lambda: describe_all(procs))

        # A clean close: LeaveGroup, the others take its partitions in the next rebalance.
        leaving, crashing, survivor = members
        left_tps = assignment(leaving)
        kept_before = {c.name: assignment(c) for c in (crashing, survivor)}
        survivor_marks = {c.name: len(c.snapshot()) for c in (crashing, survivor)}
        t_close = time.monotonic()
        leaving.send("close")
        wait_until(lambda: balanced([crashing, survivor]), CLEAN_MOVE_MAX_S + 10,
                   "partitions %s of the closed member owned by the other two" % sorted(left_tps),
                   describe=lambda: describe_all(procs))
        dt_close = time.monotonic() - t_close
        finish_close(leaving)
        last_by_leaving = {}
        for e in records(leaving):
            tp = (e["topic"], e["partition"])
            if tp in left_tps:
                last_by_leaving[tp] = max(last_by_leaving.get(tp, -1), e["offset"])
        print("  %s: partitions of the closed member moved after %.2f s" % (assignor, dt_close))
        check(dt_close < CLEAN_MOVE_MAX_S,
              "after a clean close the partitions moved only after %.2f s (expected within %.1f s, "
              "well before the %d ms session timeout)\n%s"
              % (dt_close, CLEAN_MOVE_MAX_S, SESSION_TIMEOUT_MS, describe_all(procs)))
        if protocol == "COOPERATIVE":
            # Incremental: the others keep what they had and revoke nothing.
            for c in (crashing, survivor):
                check(kept_before[c.name] <= assignment(c),
                      "%s lost partitions in a cooperative rebalance: before %r, after %r"
                      % (c.name, sorted(kept_before[c.name]), sorted(assignment(c))))
                for e in c.snapshot()[survivor_marks[c.name]:]:
                    if e["event"] == "revoked" and e["partitions"]:
                        raise harness.TestFailure("%s revoked %r in a cooperative rebalance where it keeps "
                                                  "its partitions\n%s" % (c.name, e["partitions"], c.describe()))
        # The closed member committed what it consumed (auto commit on revoke):
        # the new owner of each of its partitions goes on right after it.
        wait_until(lambda: all(any((e["topic"], e["partition"]) == tp
                                   for c in (crashing, survivor) for e in records(c, t_close))
                               for tp in last_by_leaving),
                   20, "records on every partition taken over from the closed member",
                   describe=lambda: describe_all(procs))
        for tp, last in sorted(last_by_leaving.items()):
            first = min(e["offset"] for c in (crashing, survivor) for e in records(c, t_close)
                        if (e["topic"], e["partition"]) == tp)
            expect_eq(first, last + 1, "first offset read on %s[%d] by its new owner (the closed member "
                      "consumed up to %d and committed on close)" % (tp[0], tp[1], last))

        # A crash: nobody leaves; the partitions move when the session expires.
        crashed_tps = assignment(crashing)
        t_kill = time.monotonic()
        crashing.kill()
        wait_until(lambda: balanced([survivor]), KILLED_MOVE_MAX_S,
                   "partitions %s of the killed member owned by the survivor" % sorted(crashed_tps),
                   describe=lambda: describe_all(procs))
        dt_kill = time.monotonic() - t_kill
        print("  %s: partitions of the killed member moved after %.2f s" % (assignor, dt_kill))
        check(dt_kill >= KILLED_MOVE_MIN_S,
              "the killed member's partitions moved after %.2f s, before its session (%d ms) could "
              "have expired\n%s" % (dt_kill, SESSION_TIMEOUT_MS, describe_all(procs)))

        delivered = finish_producer(producer, count)
        wait_until(lambda: set(delivered) <= {(e["topic"], e["partition"], e["offset"])
                                              for c in members for e in records(c)},
                   20, "every produced record consumed", describe=lambda: describe_all(procs))
        close_consumer(survivor)

        # Every record seen, with its key; per partition no offset skipped from the
        # group's start (offset 0: a new group reading from the earliest offset).
        seen = {}
        for c in members:
            for e in records(c):
                tpo = (e["topic"], e["partition"], e["offset"])
                check(tpo in delivered, "%s read %r, which was never produced" % (c.name, tpo))
                expect_eq(e["key"], delivered[tpo], "key at %r read by %s" % (tpo, c.name))
                seen.setdefault(tpo[:2], set()).add(tpo[2])
        for p in range(partitions):
            offsets = seen.get((topic, p), set())
            end = 1 + max([o for (t, q, o) in delivered if q == p], default=-1)
            missing = sorted(set(range(end)) - offsets)
            check(not missing, "partition %d: offsets %s (of 0..%d) read by no member" % (p, missing[:20], end - 1))
        dups = sum(len(records(c)) for c in members) - len(delivered)
        print("  %s: %d records produced, all consumed (%d read twice after the crash)" % (assignor, count, dups))
        for c in members:
            check_no_errors(c)
        broker.check_alive("group lifecycle with %s" % assignor)
        broker.stop()
    finally:
        kill_all(procs)


def test_range():
    group_lifecycle("range")


def test_roundrobin():
    group_lifecycle("roundrobin")


def test_cooperative_sticky():
    group_lifecycle("cooperative-sticky")


# ---- 2. commit, resume, restart, resume ----

def first_offsets_and_end(c, topic, partitions, ends, timeout, what):
    """Waits until c reached the end of every partition; returns {p: first offset read, or
    the end offset where nothing was read}, checking that no offset was skipped or repeated."""
    def at_end():
        eofs = {(e["partition"], e["offset"]) for e in c.snapshot() if e["event"] == "eof"}
        return all((p, ends[p]) in eofs for p in range(partitions))
    wait_until(at_end, timeout, "%s: the end of every partition (%r)" % (what, ends), describe=c.describe)
    firsts = {}
    for p in range(partitions):
        offs = [e["offset"] for e in records(c) if e["partition"] == p]
        firsts[p] = offs[0] if offs else ends[p]
        expect_eq(offs, list(range(firsts[p], ends[p])), "%s: offsets read from partition %d" % (what, p))
    return firsts


def test_commit_resume_restart():
    topic, group, partitions, n = "resume", "g-resume", 2, 200
    broker = new_broker()
    create_topic(broker, topic, partitions)
    delivered = produce(broker, topic, 0, n, partitions=partitions)
    ends = {p: n // partitions for p in range(partitions)}
    procs = []
    try:
        # Three quarters: librdkafka hands out one partition's fetched batch after the
        # other, so the first member stops in the middle of the second partition and
        # commits offsets for both.
        limit = n * 3 // 4
        a = start_consumer(broker, "resume-a", group, "range", topic, auto_commit=False,
                           extra=["--max-records", str(limit)])
        procs.append(a)
        a.wait_for(lambda e: e["event"] == "limit", 30, "%d records" % limit)
        consumed = {}
        for e in records(a):
            expect_eq(e["key"], delivered[(topic, e["partition"], e["offset"])], "key read by resume-a")
            consumed.setdefault(e["partition"], []).append(e["offset"])
        for p, offs in consumed.items():
            expect_eq(offs, list(range(len(offs))), "resume-a: offsets read from partition %d" % p)
        a.send("commit")
        _, ev = a.wait_for(lambda e: e["event"] == "committed", 20, "committed event")
        expect_eq(ev["error"], None, "synchronous commit result")
        committed = {}
        for t, p, off, err in ev["offsets"]:
            expect_eq(err, None, "commit of %s[%d]" % (t, p))
            committed[p] = off
        # The position after the last record read; a partition with nothing read has
        # no position yet, or the reset one (0).
        check(consumed, "resume-a read no record")
        for p in range(partitions):
            expect_eq(committed.get(p, 0), len(consumed.get(p, [])),
                      "committed offset of partition %d (the position after the last record read)" % p)
        a.send("fetch")
        _, ev = a.wait_for(lambda e: e["event"] == "fetched", 20, "fetched event")
        expect_eq(ev["error"], None, "OffsetFetch through rd_kafka_committed")
        expect_eq({p: off for t, p, off, err in ev["offsets"] if off >= 0}, committed,
                  "offsets read back with OffsetFetch")
        close_consumer(a)
        print("  committed %r after reading %d records" % (committed, limit))
        # Partitions without a committed offset start at the earliest offset (0).
        expected_start = {p: committed.get(p, 0) for p in range(partitions)}

        b = start_consumer(broker, "resume-b", group, "range", topic, auto_commit=False, extra=["--eof"])
        procs.append(b)
        expect_eq(first_offsets_and_end(b, topic, partitions, ends, 30, "resume-b"), expected_start,
                  "where a new member of the group starts reading")
        close_consumer(b)
        check_no_errors(b)

        broker.restart()
        c = start_consumer(broker, "resume-c", group, "range", topic, auto_commit=False, extra=["--eof"])
        procs.append(c)
        expect_eq(first_offsets_and_end(c, topic, partitions, ends, 30, "resume-c after restart"),
                  expected_start, "where a new member starts reading after a broker restart")
        c.send("fetch")
        _, ev = c.wait_for(lambda e: e["event"] == "fetched", 20, "fetched event after restart")
        expect_eq(ev["error"], None, "OffsetFetch after restart")
        expect_eq({p: off for t, p, off, err in ev["offsets"] if off >= 0}, committed,
                  "offsets read back with OffsetFetch after restart")
        close_consumer(c)
        check_no_errors(c)
        broker.stop()
    finally:
        kill_all(procs)


# ---- 3. auto.offset.reset without committed offsets ----

def test_auto_offset_reset():
    topic, partitions, n = "reset", 2, 20
    broker = new_broker()
    create_topic(broker, topic, partitions)
    delivered = produce(broker, topic, 0, n, partitions=partitions)
    ends = {p: n // partitions for p in range(partitions)}
    procs = []
    try:
        # earliest: everything from offset 0.
        c = start_consumer(broker, "reset-earliest", "g-earliest", "range", topic, reset="earliest",
                           auto_commit=False, extra=["--eof"])
        procs.append(c)
        expect_eq(first_offsets_and_end(c, topic, partitions, ends, 30, "earliest"),
                  {p: 0 for p in range(partitions)}, "earliest: first offsets")
        for e in records(c):
            expect_eq(e["key"], delivered[(topic, e["partition"], e["offset"])], "earliest: key")
        close_consumer(c)
        check_no_errors(c)

        # latest: nothing of what is there, then exactly what is produced afterwards.
        c = start_consumer(broker, "reset-latest", "g-latest", "range", topic, reset="latest",
                           auto_commit=False, extra=["--eof"])
        procs.append(c)
        first_offsets_and_end(c, topic, partitions, ends, 30, "latest")
        expect_eq(records(c), [], "latest: records read before anything new was produced")
        later = produce(broker, topic, n, n, partitions=partitions)
        new_ends = {p: 2 * ends[p] for p in range(partitions)}
        wait_until(lambda: len(records(c)) >= len(later), 30, "latest: the %d new records" % len(later),
                   describe=c.describe)
        got = {(e["topic"], e["partition"], e["offset"]): e["key"] for e in records(c)}
        expect_eq(got, later, "latest: records read (exactly the ones produced after the reset)")
        check(all(off >= ends[p] for (t, p, off) in got), "latest read an old record")
        check(max(off for (t, p, off) in got) < max(new_ends.values()), "offsets past the end")
        close_consumer(c)
        check_no_errors(c)

        # error (Kafka's `none`): librdkafka reports that there is no committed offset.
        c = start_consumer(broker, "reset-error", "g-none", "range", topic, reset="error", auto_commit=False)
        procs.append(c)

        def reset_errors():
            return {e.get("partition") for e in c.snapshot()
                    if e["event"] == "error" and e["code"] == "_AUTO_OFFSET_RESET"}
        wait_until(lambda: reset_errors() >= set(range(partitions)), 30,
                   "_AUTO_OFFSET_RESET errors for every partition", describe=c.describe)
        for e in c.snapshot():
            if e["event"] == "error" and e["code"] == "_AUTO_OFFSET_RESET":
                check("no previously committed offset available" in e["reason"],
                      "auto.offset.reset=error: reason %r does not say that no committed offset "
                      "is available" % e["reason"])
        expect_eq(records(c), [], "records read with auto.offset.reset=error and no committed offset")
        close_consumer(c)
        check_no_errors(c, allowed=("_AUTO_OFFSET_RESET",))
        broker.stop()
    finally:
        kill_all(procs)


# ---- 4. static membership ----

STATIC_SESSION_MS = 10000


def describe_group_v4(broker, group):
    """Raw DescribeGroups v4 (the single broker is every group's coordinator):
    returns (error, state, protocol_type, protocol, [(member_id, group_instance_id, client_id)])."""
    def s16(b):
        return struct.pack(">h", len(b)) + b
    cid, g = b"runnel-compat", group.encode()
    body = struct.pack(">hhi", 15, 4, 77) + s16(cid) + struct.pack(">i", 1) + s16(g) + b"\x00"
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        payload = harness.recv_frame(sock, 10)
    pos = [0]

    def take(fmt):
        v = struct.unpack_from(fmt, payload, pos[0])
        pos[0] += struct.calcsize(fmt)
        return v[0]

    def string(nullable=False):
        n = take(">h")
        if n < 0:
            check(nullable, "DescribeGroups v4: null in a non-nullable string")
            return None
        v = payload[pos[0]:pos[0] + n].decode()
        pos[0] += n
        return v

    def blob():
        n = take(">i")
        pos[0] += max(n, 0)

    expect_eq(take(">i"), 77, "DescribeGroups correlation id")
    take(">i")  # throttle_time_ms
    expect_eq(take(">i"), 1, "DescribeGroups: number of groups answered")
    err = take(">h")
    expect_eq(string(), group, "DescribeGroups: group id")
    state, ptype, proto = string(), string(), string()
    members = []
    for _ in range(take(">i")):
        mid, iid, client = string(), string(nullable=True), string()
        string()  # client_host
        blob()  # member_metadata
        blob()  # member_assignment
        members.append((mid, iid, client))
    take(">i")  # authorized_operations
    expect_eq(pos[0], len(payload), "DescribeGroups v4: bytes parsed of the answer")
    return err, state, ptype, proto, members


def rebalance_events(c, start=0):
    return [e for e in c.snapshot()[start:] if e["event"] in ("assigned", "revoked")]


def test_static_membership():
    topic, group, partitions = "static", "g-static", 4
    all_tps = {(topic, p) for p in range(partitions)}
    broker = new_broker()
    create_topic(broker, topic, partitions)
    procs = []
    differences = []  # checks that fail, reported at the end so the later steps still run

    def static_consumer(name, instance, debug=None):
        args = [tool, "consume", broker.bootstrap, group, "range", topic,
                "--session-timeout-ms", str(STATIC_SESSION_MS), "--heartbeat-interval-ms", str(HEARTBEAT_MS),
                "--auto-offset-reset", "earliest", "-X", "group.instance.id=" + instance]
        c = JsonLinesProcess(args, name, env=dict(os.environ, RDKAFKA_DEBUG=debug) if debug else None)
        procs.append(c)
        return c

    def split(x, y):
        ax, ay = assignment(x), assignment(y)
        return len(ax) == 2 and len(ay) == 2 and ax | ay == all_tps

    def described():
        err, state, ptype, proto, members = describe_group_v4(broker, group)
        expect_eq((err, ptype, proto), (0, "consumer", "range"),
                  "DescribeGroups %s: error, protocol type, protocol" % group)
        return state, sorted((iid, mid) for mid, iid, _ in members)

    def close_static(c):
        """Sends close: a static member closes without LeaveGroup and stays in the group."""
        c.send("close")
        finish_close(c)

    def member_id(c):
        return rebalance_events(c)[-1]["member"]

    def restart_static(old, instance, other, role):
        """Kills `old` and starts `instance` again; returns the new consumer. Kafka hands the
        rejoining static member its partitions and the other member sees no rebalance."""
        old_tps, other_tps, old_member = assignment(old), assignment(other), member_id(old)
        mark = len(other.snapshot())
        old.kill()
        t = time.monotonic()
        new = static_consumer(old.name + "'", instance)
        _, ev = new.wait_for(lambda e: e["event"] == "assigned", 15, "assignment of the restarted " + instance)
        dt = time.monotonic() - t
        expect_eq(set(tuple(tp) for tp in ev["assignment"]), old_tps,
                  "partitions of %s (the %s) after it came back with the same group.instance.id"
                  % (instance, role))
        time.sleep(4 * HEARTBEAT_MS / 1000.0)  # a rebalance reaches the other member at a heartbeat
        seen = rebalance_events(other, mark)
        print("  static: %s (the %s) back with its partitions after %.2f s; %s saw %d rebalance events"
              % (instance, role, dt, other.name, len(seen)))
        if seen:
            # Kafka answers a known static member's JoinGroup (member id "", same protocols,
            # group Stable) at once with the current generation, also when it led the group
            # (before JoinGroup v9 the answer names the old leader id, so it only follows).
            differences.append(
                "%s (the %s) came back with the same group.instance.id and unchanged subscription "
                "while the group was Stable: %s saw a rebalance (Kafka: none, the member gets its "
                "assignment back): %r" % (instance, role, other.name,
                                          [(e["event"], e["partitions"]) for e in seen]))
            wait_until(lambda: split(new, other), 15, "the two members owning 2 partitions each again",
                       describe=lambda: describe_all(procs))
        else:
            expect_eq(assignment(other), other_tps, "%s's partitions after %s came back" % (other.name, instance))
            expect_eq(len(rebalance_events(new)), 1, "rebalance events of the restarted %s\n%s"
                      % (instance, new.describe()))
        state, members = described()
        expect_eq(sorted(iid for iid, _ in members), ["static-a", "static-b"],
                  "DescribeGroups instance ids after %s came back" % instance)
        expect_eq(dict(members)[instance], member_id(new), "member id of %s in DescribeGroups" % instance)
        check(member_id(new) != old_member, "%s kept its old member id %r" % (instance, old_member))
        expect_eq(state, "Stable", "group state after %s came back" % instance)
        return new

    try:
        # a joins first and so leads the group.
        a = static_consumer("static-a", "static-a")
        wait_until(lambda: len(assignment(a)) == 4, 20, "static-a owning every partition", describe=a.describe)
        b = static_consumer("static-b", "static-b")
        t0 = time.monotonic()
        wait_until(lambda: split(a, b), 30, "static-a and static-b owning 2 partitions each",
                   describe=lambda: describe_all(procs))
        state, members = wait_until(lambda: (lambda d: d[0] == "Stable" and d)(described()), 10,
                                    "group %s Stable" % group)
        expect_eq(members, [("static-a", member_id(a)), ("static-b", member_id(b))],
                  "DescribeGroups members (instance id, member id) after the first rebalance")
        print("  static: a=%s b=%s after %.1f s" % (sorted(p for _, p in assignment(a)),
                                                   sorted(p for _, p in assignment(b)), time.monotonic() - t0))

        # Crash and come back within the session timeout: same partitions, no rebalance.
        b = restart_static(b, "static-b", a, "follower")
        a = restart_static(a, "static-a", b, "leader")

        # Crash and stay away: the partitions move when the session expires, not before.
        a.kill()
        t_kill = time.monotonic()
        wait_until(lambda: assignment(b) == all_tps, STATIC_SESSION_MS / 1000.0 + 6,
                   "static-b owning every partition after static-a's session expired",
                   describe=lambda: describe_all(procs))
        dt_kill = time.monotonic() - t_kill
        check(dt_kill >= (STATIC_SESSION_MS - HEARTBEAT_MS) / 1000.0 - 0.3,
              "the killed static member's partitions moved after %.2f s, before its %d ms session "
              "could have expired" % (dt_kill, STATIC_SESSION_MS))
        state, members = described()
        expect_eq((state, members), ("Stable", [("static-b", member_id(b))]),
                  "DescribeGroups after static-a's session expired")
        print("  static: the killed static member's partitions moved after %.2f s" % dt_kill)

        # A clean close: librdkafka sends no LeaveGroup for a static member (KIP-345, as
        # Kafka's own client), so the member stays until its session expires and static-b
        # keeps its partitions meanwhile.
        a = static_consumer("static-a3", "static-a", debug="protocol")
        wait_until(lambda: split(a, b), 20, "static-a3 and static-b owning 2 partitions each",
                   describe=lambda: describe_all(procs))
        a_member, b_tps = member_id(a), assignment(b)
        mark = len(b.snapshot())
        close_static(a)
        with open(a.stderr_path, errors="replace") as f:
            leaves = [ln.strip() for ln in f if "LeaveGroupRequest" in ln]
        expect_eq(leaves, [], "LeaveGroup requests librdkafka sent on the clean close of a static member")
        time.sleep(4 * HEARTBEAT_MS / 1000.0)
        expect_eq(rebalance_events(b, mark), [], "static-b's rebalance events after static-a3 closed")
        expect_eq(assignment(b), b_tps, "static-b's partitions after static-a3 closed")
        expect_eq(described(), ("Stable", [("static-a", a_member), ("static-b", member_id(b))]),
                  "DescribeGroups after static-a3 closed (no LeaveGroup: still a member)")
        print("  static: clean close of a static member: no LeaveGroup, the group keeps it")
        close_static(b)
        for c in procs:
            check_no_errors(c)
        broker.check_alive("static membership")
        broker.stop()
        check(not differences, "\n".join(differences))
    finally:
        kill_all(procs)


if __name__ == "__main__":
    run_tests([("range", test_range, 60),
               ("roundrobin", test_roundrobin, 60),
               ("cooperative_sticky", test_cooperative_sticky, 60),
               ("commit_resume_restart", test_commit_resume_restart, 45),
               ("auto_offset_reset", test_auto_offset_reset, 45),
               ("static_membership", test_static_membership, 60)],
              "groups_librdkafka",
              matrix=[("", "librdkafka consumer (Debian)", harness.client_version("librdkafka"))])
