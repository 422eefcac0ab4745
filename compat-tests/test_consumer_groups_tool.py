#!/usr/bin/python3
"""runnel-consumer-groups (Kafka's kafka-consumer-groups.sh) against Runnel.

confluent-kafka writes 30 records to each partition of a 3-partition topic and
a subscribed consumer commits 10/20/5. While that consumer is a member the tool
lists the group, describes its offsets and lag, its members (with the decoded
assignment) and its state, and refuses to reset offsets. After the consumer
leaves, every reset scenario is executed and checked with --describe, and a
fresh consumer of the group starts exactly at the reset offsets. Then
--delete-offsets, --delete, a consumer group of KIP-848 (joined with a raw
ConsumerGroupHeartbeat) described with ConsumerGroupDescribe, and the error paths (unknown
group, unreachable broker).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, check, expect_eq, run_tests  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

TOPIC = "cg-orders"
GROUP = "cg-app"
PARTITIONS = 3
PER_PARTITION = 30
BASE_TS = 1700000000000  # 2023-11-14T22:13:20.000Z; record j of a partition has BASE_TS + j s
COMMITTED = {0: 10, 1: 20, 2: 5}
CLIENT_ID = "cg-tool-consumer"
TOOL_TIMEOUT = 30

_broker = None
_active = None  # the consumer that is a member while the group is Stable


def tool_path():
    path = os.environ.get("RUNNEL_CONSUMER_GROUPS")
    if not path or not os.access(path, os.X_OK):
        print("FAIL: RUNNEL_CONSUMER_GROUPS must name the runnel-consumer-groups executable",
              file=sys.stderr)
        sys.exit(2)
    return path


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"num.partitions": "1", "auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0",
                                    "offsets.topic.num.partitions": "5"}).start()
    return _broker


def tool(*args, expect_rc=0):
    """Runs the tool; returns (stdout, stderr). A different exit status fails the step."""
    cmd = [tool_path(), "--bootstrap-server", broker().bootstrap, "--timeout", "10000"] + list(args)
    if expect_rc == 0:
        p = harness.run_command(cmd, TOOL_TIMEOUT, "runnel-consumer-groups " + " ".join(args))
    else:
        import subprocess
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise harness.TestFailure("runnel-consumer-groups %s: no result within %d s"
                                      % (" ".join(args), TOOL_TIMEOUT))
        check(p.returncode == expect_rc,
              "runnel-consumer-groups %s: exit status %d, expected %d\n  stdout: %s\n  stderr: %s"
              % (" ".join(args), p.returncode, expect_rc, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode(), p.stderr.decode()


def table(out, first_header="GROUP"):
    """The rows (lists of cells) of the table that follows the header line."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        cells = line.split()
        if cells and cells[0] == first_header:
            header = cells
            rows = [ln.split() for ln in lines[i + 1:] if ln.strip()]
            for r in rows:
                check(len(r) == len(header), "table row %r does not match header %r\n%s" % (r, header, out))
            return header, rows
    raise harness.TestFailure("no table with header %s in output:\n%s" % (first_header, out))


def describe_offsets():
    """{partition: (current, log_end, lag, consumer_id, host, client_id)} from --describe."""
    out, _ = tool("--describe", "--group", GROUP)
    header, rows = table(out)
    expect_eq(header, ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                       "CONSUMER-ID", "HOST", "CLIENT-ID"], "--describe header")
    seen = {}
    for r in rows:
        expect_eq(r[0], GROUP, "--describe GROUP column")
        expect_eq(r[1], TOPIC, "--describe TOPIC column")
        seen[int(r[2])] = tuple(r[3:])
    return out, seen


def committed_offsets():
    _, seen = describe_offsets()
    return {p: int(v[0]) if v[0] != "-" else None for p, v in seen.items()}


def new_consumer(reset="error"):
    return Consumer({"bootstrap.servers": broker().bootstrap, "group.id": GROUP,
                     "client.id": CLIENT_ID, "enable.auto.commit": False,
                     "auto.offset.reset": reset, "session.timeout.ms": 6000,
                     "heartbeat.interval.ms": 500})


def wait_assigned(c, what):
    """Subscribes and polls until the assignment arrives; returns the records polled meanwhile."""
    assigned, records = [], []
    c.subscribe([TOPIC], on_assign=lambda cons, parts: assigned.extend(parts))
    deadline = time.monotonic() + 30
    while not assigned:
        check(time.monotonic() < deadline, "%s: no partitions assigned within 30 s" % what)
        m = c.poll(0.2)
        if m is not None and m.error():
            raise harness.TestFailure("%s: consumer error %s" % (what, m.error()))
        if m is not None:
            records.append(m)
    expect_eq(sorted(tp.partition for tp in assigned), list(range(PARTITIONS)), what + ": assignment")
    return records


# ---- steps ----

def test_setup():
    admin = AdminClient({"bootstrap.servers": broker().bootstrap})
    fs = admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)],
                             request_timeout=15, operation_timeout=15)
    fs[TOPIC].result(timeout=20)
    errors = []
    p = Producer({"bootstrap.servers": broker().bootstrap, "linger.ms": 5,
                  "message.timeout.ms": 30000})
    for part in range(PARTITIONS):
        for j in range(PER_PARTITION):
            p.produce(TOPIC, value=b"p%d-o%d" % (part, j), partition=part, timestamp=BASE_TS + j * 1000,
                      on_delivery=lambda err, msg: err and errors.append(str(err)))
    expect_eq(p.flush(30), 0, "records unacknowledged after flush")
    check(not errors, "delivery errors: %s" % errors[:3])


def test_commit_while_member():
    global _active
    _active = new_consumer(reset="earliest")  # nothing is committed yet
    wait_assigned(_active, "first consumer")
    _active.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in COMMITTED.items()],
                   asynchronous=False)


def test_list():
    out, _ = tool("--list")
    check(GROUP in out.split(), "--list does not name %s:\n%s" % (GROUP, out))
    out, _ = tool("--list", "--state", "Stable")
    _, rows = table(out)
    check([GROUP, "Stable"] in rows, "--list --state Stable misses %s: %s" % (GROUP, rows))
    out, _ = tool("--list", "--state", "empty,dead")
    _, rows = table(out)
    check(all(r[0] != GROUP for r in rows), "--list --state Empty,Dead names the Stable group: %s" % rows)


def test_describe_active():
    out, seen = describe_offsets()
    expect_eq(sorted(seen), list(range(PARTITIONS)), "--describe partitions")
    members_out, _ = tool("--describe", "--group", GROUP, "--members", "--verbose")
    header, rows = table(members_out)
    expect_eq(header, ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"],
              "--members --verbose header")
    expect_eq(len(rows), 1, "members of %s" % GROUP)
    _, member_id, host, client_id, count, assignment = rows[0]
    check(member_id.startswith(CLIENT_ID + "-"), "member id %r does not start with the client id" % member_id)
    expect_eq(client_id, CLIENT_ID, "--members CLIENT-ID")
    check(host.endswith("127.0.0.1"), "--members HOST %r" % host)
    expect_eq(count, "3", "--members #PARTITIONS")
    expect_eq(assignment, "%s(0,1,2)" % TOPIC, "--members ASSIGNMENT")
    for part, committed in COMMITTED.items():
        expect_eq(seen[part], (str(committed), str(PER_PARTITION), str(PER_PARTITION - committed),
                               member_id, host, CLIENT_ID), "--describe row of partition %d" % part)
    out, _ = tool("--describe", "--group", GROUP, "--state")
    header, rows = table(out)
    expect_eq(len(rows), 1, "--state rows")
    row = dict(zip(["GROUP", "COORDINATOR", "ID", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"], rows[0]))
    expect_eq(row["STATE"], "Stable", "--describe --state STATE")
    expect_eq(row["#MEMBERS"], "1", "--describe --state #MEMBERS")
    expect_eq(row["ASSIGNMENT-STRATEGY"], "range", "--describe --state ASSIGNMENT-STRATEGY")


def test_reset_refused_while_active():
    out, err = tool("--reset-offsets", "--group", GROUP, "--all-topics", "--to-earliest", "--execute",
                    expect_rc=1)
    check("Assignments can only be reset if the group '%s' is inactive, but the current state is Stable."
          % GROUP in err, "refusal message missing:\n%s" % err)
    expect_eq(committed_offsets(), COMMITTED, "committed offsets after the refused reset")


def test_describe_inactive():
    global _active
    _active.close()
    _active = None
    out, seen = describe_offsets()
    check("Consumer group '%s' has no active members." % GROUP in out, "no 'no active members' notice:\n" + out)
    for part, committed in COMMITTED.items():
        expect_eq(seen[part], (str(committed), str(PER_PARTITION), str(PER_PARTITION - committed), "-", "-", "-"),
                  "--describe row of partition %d after the consumer left" % part)


def reset(*args):
    out, err = tool("--reset-offsets", "--group", GROUP, *args)
    header, rows = table(out)
    expect_eq(header, ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], "--reset-offsets header")
    return {int(r[2]): int(r[3]) for r in rows}, err


def test_reset_scenarios():
    planned, err = reset("--all-topics", "--to-earliest", "--dry-run")
    expect_eq(planned, {0: 0, 1: 0, 2: 0}, "--to-earliest --dry-run plan")
    expect_eq(committed_offsets(), COMMITTED, "committed offsets after --dry-run")

    steps = [
        (["--all-topics", "--to-earliest"], {0: 0, 1: 0, 2: 0}, {0: 0, 1: 0, 2: 0}),
        (["--topic", TOPIC, "--to-latest"], {0: 30, 1: 30, 2: 30}, {0: 30, 1: 30, 2: 30}),
        (["--topic", TOPIC + ":0,2", "--to-offset", "7"], {0: 7, 2: 7}, {0: 7, 1: 30, 2: 7}),
        (["--all-topics", "--shift-by", "-3"], {0: 4, 1: 27, 2: 4}, {0: 4, 1: 27, 2: 4}),
        (["--topic", TOPIC + ":1", "--shift-by", "100"], {1: 30}, {0: 4, 1: 30, 2: 4}),
        (["--topic", TOPIC + ":0", "--to-offset", "999"], {0: 30}, {0: 30, 1: 30, 2: 4}),
        # 22:13:30 UTC is record 10's timestamp; 23:13:35+01:00 is record 15's.
        (["--all-topics", "--to-datetime", "2023-11-14T22:13:30.000Z"], {0: 10, 1: 10, 2: 10},
         {0: 10, 1: 10, 2: 10}),
        (["--topic", TOPIC + ":1", "--to-datetime", "2023-11-14T23:13:35.000+01:00"], {1: 15},
         {0: 10, 1: 15, 2: 10}),
        (["--topic", TOPIC + ":2", "--to-datetime", "2030-01-01T00:00:00.000Z"], {2: 30},
         {0: 10, 1: 15, 2: 30}),
        (["--topic", TOPIC + ":2", "--to-offset", "12"], {2: 12}, {0: 10, 1: 15, 2: 12}),
    ]
    for args, planned_want, after in steps:
        planned, err = reset(*(args + ["--execute"]))
        expect_eq(planned, planned_want, "NEW-OFFSET of --reset-offsets %s" % " ".join(args))
        expect_eq(committed_offsets(), after, "committed offsets after --reset-offsets %s" % " ".join(args))
        if "100" in args or "999" in args:
            check("is higher than latest offset" in err, "no clamp warning for %s: %r" % (args, err))
    _, seen = describe_offsets()
    for part, cur in after.items():
        expect_eq(seen[part][2], str(PER_PARTITION - cur), "LAG of partition %d after the resets" % part)


def test_fresh_consumer_starts_at_reset_offsets():
    want_start = {0: 10, 1: 15, 2: 12}
    c = new_consumer()
    try:
        early = wait_assigned(c, "fresh consumer")
        seen = {p: [] for p in range(PARTITIONS)}
        for m in early:
            seen[m.partition()].append((m.offset(), m.value()))
        total = sum(PER_PARTITION - o for o in want_start.values())
        deadline = time.monotonic() + 30
        while sum(len(v) for v in seen.values()) < total:
            check(time.monotonic() < deadline, "fresh consumer: read %s within 30 s" %
                  {p: len(v) for p, v in seen.items()})
            for m in c.consume(num_messages=100, timeout=0.5):
                if m.error():
                    raise harness.TestFailure("fresh consumer error: %s" % m.error())
                seen[m.partition()].append((m.offset(), m.value()))
        for p, start in want_start.items():
            expect_eq([o for o, _ in seen[p]], list(range(start, PER_PARTITION)), "offsets read from partition %d" % p)
            expect_eq(seen[p][0][1], b"p%d-o%d" % (p, start), "first value read from partition %d" % p)
    finally:
        c.close()


def test_delete_offsets():
    out, _ = tool("--delete-offsets", "--group", GROUP, "--topic", TOPIC + ":2")
    header, rows = table(out, "TOPIC")
    expect_eq(rows, [[TOPIC, "2", "Successful"]], "--delete-offsets rows")
    expect_eq(committed_offsets(), {0: 10, 1: 15}, "committed offsets after --delete-offsets")


def test_delete_group():
    out, _ = tool("--delete", "--group", GROUP)
    check("Deletion of requested consumer groups ('%s') was successful." % GROUP in out, "--delete output:\n" + out)
    out, err = tool("--describe", "--group", GROUP, expect_rc=1)
    check("Consumer group '%s' does not exist" % GROUP in err, "--describe after --delete:\n" + err)
    out, _ = tool("--list")
    check(GROUP not in out.split(), "--list still names the deleted group:\n" + out)
    out, err = tool("--delete", "--group", GROUP, expect_rc=1)
    check("GROUP_ID_NOT_FOUND" in err, "--delete of a deleted group: %r" % err)


def test_describe_consumer_protocol_group():
    """A consumer group of KIP-848 (joined with a raw ConsumerGroupHeartbeat v0): DescribeGroups
    answers it Dead, as Kafka 4.4 does; the tool describes it with ConsumerGroupDescribe."""
    import kafka_wire as kw
    group = "cg-848"
    body = (kw.cstring(group) + kw.cstring("") + kw.i32(0) + kw.cstring(None) + kw.cstring(None)
            + kw.i32(30000) + kw.carray([kw.cstring(TOPIC)]) + kw.cstring(None) + kw.carray([])
            + kw.uvarint(0))
    r = kw.call(broker().port, 68, 0, body, "ConsumerGroupHeartbeat", flexible=True)
    r.i32()
    expect_eq(r.i16(), 0, "ConsumerGroupHeartbeat error")
    r.cstring()
    member_id = r.cstring()
    out, _ = tool("--list")
    check(group in out.split(), "--list does not list %s:\n%s" % (group, out))
    out, _ = tool("--describe", "--group", group, "--members", "--verbose")
    header, rows = table(out)
    expect_eq(len(rows), 1, "members of %s" % group)
    expect_eq(rows[0][1], member_id, "--members CONSUMER-ID")
    expect_eq(rows[0][3], "runnel-compat", "--members CLIENT-ID")
    expect_eq(rows[0][4:], ["3", "%s(0,1,2)" % TOPIC], "--members #PARTITIONS and ASSIGNMENT")
    out, _ = tool("--describe", "--group", group, "--state")
    header, rows = table(out)
    row = dict(zip(["GROUP", "COORDINATOR", "ID", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"], rows[0]))
    expect_eq((row["ASSIGNMENT-STRATEGY"], row["STATE"], row["#MEMBERS"]), ("uniform", "Stable", "1"),
              "--describe --state of a consumer protocol group")


def test_unreachable_broker():
    import subprocess
    p = subprocess.run([tool_path(), "--bootstrap-server", "127.0.0.1:%d" % harness.free_port(),
                        "--timeout", "3000", "--list"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30)
    expect_eq(p.returncode, 1, "exit status against a closed port")
    check(b"cannot connect to broker 127.0.0.1:" in p.stderr, "message: %r" % p.stderr)


if __name__ == "__main__":
    tool_path()
    run_tests([("setup", test_setup, 60),
               ("commit_while_member", test_commit_while_member, 60),
               ("list", test_list, 60),
               ("describe_active", test_describe_active, 60),
               ("reset_refused_while_active", test_reset_refused_while_active, 60),
               ("describe_inactive", test_describe_inactive, 60),
               ("reset_scenarios", test_reset_scenarios, 120),
               ("fresh_consumer_starts_at_reset_offsets", test_fresh_consumer_starts_at_reset_offsets, 60),
               ("delete_offsets", test_delete_offsets, 60),
               ("delete_group", test_delete_group, 60),
               ("describe_consumer_protocol_group", test_describe_consumer_protocol_group, 60),
               ("unreachable_broker", test_unreachable_broker, 30)],
              "consumer_groups_tool", stop_on_failure=True,
              matrix=[("", "runnel-consumer-groups", "-")])
