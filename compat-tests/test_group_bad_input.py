#!/usr/bin/python3
"""Bad and edge-case group requests on raw sockets against Runnel.

Each case sends one request and checks Kafka's answer: FindCoordinator names
this broker; JoinGroup with no protocols is INCONSISTENT_GROUP_PROTOCOL;
SyncGroup from a member the group does not know is UNKNOWN_MEMBER_ID; a
Heartbeat with an old generation is ILLEGAL_GENERATION; OffsetCommit for a
topic (or partition) that does not exist is UNKNOWN_TOPIC_OR_PARTITION for
that partition only; an empty group id is INVALID_GROUP_ID; a 300 KB group id
(longer than the 32767 bytes Kafka's request parser accepts for any string) is
a request Kafka cannot parse, so it closes the connection without an answer.
After each case the broker is alive and answers ApiVersions; at the end a real
group consumer (confluent-kafka) still reads and commits.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402
import kafka_wire  # noqa: E402
from kafka_wire import (array, bytes32, carray, cstring, frame, i16, i32, i64,  # noqa: E402
                        string, uvarint)

try:
    from confluent_kafka import Consumer, KafkaError, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

NODE_ID = 7
SEED_TOPIC = "grp-bad-seed"
PARTITIONS = 3
SEED_RECORDS = 90
REPLY_WAIT = 10.0

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
MEMBER_ID_REQUIRED = 79

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, LIST_GROUPS = 10, 11, 12, 13, 14, 16
OFFSET_COMMIT, OFFSET_FETCH = 8, 9

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"node.id": str(NODE_ID), "auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0"}).start()
    return _broker


def connect():
    return socket.create_connection(("127.0.0.1", broker().port), timeout=REPLY_WAIT)


def call(api_key, version, body, what, flexible=False, sock=None):
    """Sends one request and returns a Reader positioned after the response header."""
    return kafka_wire.call(broker().port, api_key, version, body, what, flexible, "runnel-group-bad", sock,
                           REPLY_WAIT)


def still_serving(after):
    kafka_wire.still_serving(broker(), after)


# ---- group requests ----

def subscription(topics):
    """ConsumerProtocolSubscription v0: version, topics, user data (null)."""
    return i16(0) + array([string(t) for t in topics]) + struct.pack(">i", -1)


def join_v5(group, member_id, protocols, what, sock=None):
    body = (string(group) + i32(6000) + i32(10000) + string(member_id) + string(None) + string("consumer")
            + array([string(name) + bytes32(meta) for name, meta in protocols]))
    r = call(JOIN_GROUP, 5, body, what, sock=sock)
    res = {"throttle": r.i32(), "error": r.i16(), "generation": r.i32(), "protocol": r.string(),
           "leader": r.string(), "member_id": r.string()}
    res["members"] = r.array(lambda: (r.string(), r.string(), r.bytes32()))
    r.end()
    return res


def sync_v3(group, generation, member_id, assignments, what):
    body = (string(group) + i32(generation) + string(member_id) + string(None)
            + array([string(m) + bytes32(a) for m, a in assignments]))
    r = call(SYNC_GROUP, 3, body, what)
    res = {"throttle": r.i32(), "error": r.i16(), "assignment": r.bytes32()}
    r.end()
    return res


def heartbeat_v3(group, generation, member_id, what):
    r = call(HEARTBEAT, 3, string(group) + i32(generation) + string(member_id) + string(None), what)
    r.i32()
    err = r.i16()
    r.end()
    return err


def leave_v3(group, member_id, what):
    r = call(LEAVE_GROUP, 3, string(group) + array([string(member_id) + string(None)]), what)
    r.i32()
    err = r.i16()
    members = r.array(lambda: (r.string(), r.string(), r.i16()))
    r.end()
    return err, members


def list_groups_v2(what):
    r = call(LIST_GROUPS, 2, b"", what)
    r.i32()
    err = r.i16()
    groups = r.array(lambda: (r.string(), r.string()))
    r.end()
    expect_eq(err, NONE, what + ": ListGroups error")
    return [g for g, _ in groups]


PROTOCOLS = [("range", subscription([SEED_TOPIC]))]
GROUP = "grp-bad-members"
_member = {}


# ---- steps ----

def test_seed():
    b = broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    f = admin.create_topics([NewTopic(SEED_TOPIC, num_partitions=PARTITIONS, replication_factor=1)],
                            request_timeout=15, operation_timeout=15)[SEED_TOPIC]
    try:
        f.result(timeout=20)
    except Exception as e:
        raise TestFailure("AdminClient.create_topics(%s): %s" % (SEED_TOPIC, e))
    errors = []
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": False, "acks": "all", "linger.ms": 5})
    for i in range(SEED_RECORDS):
        p.produce(SEED_TOPIC, value=b"seed-%d" % i, key=b"k%d" % i, partition=i % PARTITIONS,
                  on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
    expect_eq(p.flush(30), 0, "seed records unacknowledged after flush")
    check(not errors, "seed delivery errors: %s" % errors[:3])


def test_find_coordinator():
    port = broker().port
    # v0: key only.
    r = call(FIND_COORDINATOR, 0, string("grp-a"), "FindCoordinator v0")
    got = (r.i16(), r.i32(), r.string(), r.i32())
    r.end()
    expect_eq(got, (NONE, NODE_ID, "127.0.0.1", port), "FindCoordinator v0 (error, node, host, port)")
    # v1: key + key type GROUP (0).
    r = call(FIND_COORDINATOR, 1, string("grp-a") + b"\x00", "FindCoordinator v1")
    r.i32()
    got = (r.i16(), r.string(), r.i32(), r.string(), r.i32())
    r.end()
    expect_eq(got[0], NONE, "FindCoordinator v1 error")
    expect_eq((got[2], got[3], got[4]), (NODE_ID, "127.0.0.1", port), "FindCoordinator v1 (node, host, port)")
    # v4: a batch of keys, flexible.
    r = call(FIND_COORDINATOR, 4, b"\x00" + carray([cstring("grp-a"), cstring("grp-b")]) + b"\x00",
             "FindCoordinator v4", flexible=True)
    r.i32()

    def coord():
        c = (r.cstring(), r.i32(), r.cstring(), r.i32(), r.i16(), r.cstring())
        r.tags()
        return c
    coords = r.carray(coord)
    r.tags()
    r.end()
    expect_eq(sorted(c[:5] for c in coords),
              [("grp-a", NODE_ID, "127.0.0.1", port, NONE), ("grp-b", NODE_ID, "127.0.0.1", port, NONE)],
              "FindCoordinator v4 coordinators (key, node, host, port, error)")
    still_serving("FindCoordinator")


def test_join_empty_protocols():
    got = join_v5("grp-bad-noproto", "", [], "JoinGroup v5 with no protocols")
    expect_eq(got["error"], INCONSISTENT_GROUP_PROTOCOL, "JoinGroup v5 with an empty protocol list: error")
    still_serving("JoinGroup with no protocols")


def test_join_and_sync():
    """A real member for the next cases: join (MEMBER_ID_REQUIRED, then joined), sync as leader."""
    first = join_v5(GROUP, "", PROTOCOLS, "JoinGroup v5 (first, no member id)")
    expect_eq(first["error"], MEMBER_ID_REQUIRED, "JoinGroup v5 without a member id: error")
    member = first["member_id"]
    check(member, "MEMBER_ID_REQUIRED answer carries no member id")
    got = join_v5(GROUP, member, PROTOCOLS, "JoinGroup v5 (with the member id)")
    expect_eq((got["error"], got["generation"], got["protocol"], got["leader"], got["member_id"]),
              (NONE, 1, "range", member, member), "JoinGroup v5 (error, generation, protocol, leader, member)")
    expect_eq([(m, meta) for m, _, meta in got["members"]], [(member, PROTOCOLS[0][1])],
              "JoinGroup v5 members seen by the leader")
    assignment = i16(0) + array([string(SEED_TOPIC) + array([i32(p) for p in range(PARTITIONS)])]) + i32(-1)
    got = sync_v3(GROUP, 1, member, [(member, assignment)], "SyncGroup v3 (leader)")
    expect_eq((got["error"], got["assignment"]), (NONE, assignment), "SyncGroup v3 leader (error, assignment)")
    expect_eq(heartbeat_v3(GROUP, 1, member, "Heartbeat v3 (current generation)"), NONE,
              "Heartbeat with the current generation")
    _member["id"] = member
    # Kafka names a new member "<client id>-<UUID>".
    check(member.startswith("runnel-group-bad-") and len(member) == len("runnel-group-bad-") + 36,
          "member id %r: expected the client id 'runnel-group-bad', '-' and a UUID" % member)


def test_sync_unknown_member():
    got = sync_v3(GROUP, 1, "not-a-member-of-this-group", [], "SyncGroup v3 from an unknown member")
    expect_eq(got["error"], UNKNOWN_MEMBER_ID, "SyncGroup from an unknown member: error")
    still_serving("SyncGroup from an unknown member")


def test_heartbeat_stale_generation():
    member = _member["id"]
    expect_eq(heartbeat_v3(GROUP, 0, member, "Heartbeat v3 (generation 0)"), ILLEGAL_GENERATION,
              "Heartbeat with a stale generation (0, current 1)")
    expect_eq(heartbeat_v3(GROUP, 1, member, "Heartbeat v3 (generation 1)"), NONE,
              "Heartbeat with the current generation after the stale one")
    err, members = leave_v3(GROUP, member, "LeaveGroup v3")
    expect_eq((err, [(m, e) for m, _, e in members]), (NONE, [(member, NONE)]), "LeaveGroup v3 (error, members)")
    still_serving("Heartbeat with a stale generation")


def test_offset_commit_unknown_topic():
    group = "grp-bad-commit"
    topics = [("no-such-topic", [0, 1]), (SEED_TOPIC, [0, 99])]
    body = (string(group) + i32(-1) + string("") + i64(-1)
            + array([string(t) + array([i32(p) + i64(5) + string("m") for p in ps]) for t, ps in topics]))
    r = call(OFFSET_COMMIT, 2, body, "OffsetCommit v2")
    got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16()))))
    r.end()
    expect_eq(sorted(got), sorted([("no-such-topic", [(0, UNKNOWN_TOPIC_OR_PARTITION), (1, UNKNOWN_TOPIC_OR_PARTITION)]),
                                   (SEED_TOPIC, [(0, NONE), (99, UNKNOWN_TOPIC_OR_PARTITION)])]),
              "OffsetCommit v2 per-partition errors (topic, [(partition, error)])")
    # Only the valid partition was stored.
    body = string(group) + array([string(SEED_TOPIC) + array([i32(0), i32(1)])])
    r = call(OFFSET_FETCH, 2, body, "OffsetFetch v2")
    got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i64(), r.string(), r.i16()))))
    err = r.i16()
    r.end()
    expect_eq(err, NONE, "OffsetFetch v2 error")
    expect_eq(got, [(SEED_TOPIC, [(0, 5, "m", NONE), (1, -1, "", NONE)])],
              "OffsetFetch v2 after the partly failed commit (partition, offset, metadata, error)")
    still_serving("OffsetCommit for a topic that does not exist")


def test_offset_fetch_several_groups():
    """OffsetFetch v8 asks for several groups at once: a group with a commit, one without, a
    null topic list (every offset of the group) and an empty group id (allowed, nothing)."""
    def group(gid, topics):
        t = uvarint(0) if topics is None else carray(
            [cstring(n) + carray([i32(p) for p in ps]) + b"\x00" for n, ps in topics])
        return cstring(gid) + t + b"\x00"
    body = carray([group("grp-bad-commit", [(SEED_TOPIC, [0, 1])]),
                   group("grp-never-committed", [(SEED_TOPIC, [0])]),
                   group("grp-bad-commit", None),
                   group("", [(SEED_TOPIC, [0])])]) + b"\x00" + b"\x00"  # require_stable, tags
    r = call(OFFSET_FETCH, 8, body, "OffsetFetch v8", flexible=True)
    r.i32()  # throttle

    def partition():
        out = (r.i32(), r.i64(), r.i32(), r.cstring(), r.i16())
        r.tags()
        return out

    def topic():
        out = (r.cstring(), r.carray(partition))
        r.tags()
        return out

    def one_group():
        out = (r.cstring(), r.carray(topic), r.i16())
        r.tags()
        return out
    groups = r.carray(one_group)
    r.tags()
    r.end()
    expect_eq(groups, [
        ("grp-bad-commit", [(SEED_TOPIC, [(0, 5, -1, "m", NONE), (1, -1, -1, "", NONE)])], NONE),
        ("grp-never-committed", [(SEED_TOPIC, [(0, -1, -1, "", NONE)])], NONE),
        ("grp-bad-commit", [(SEED_TOPIC, [(0, 5, -1, "m", NONE)])], NONE),
        ("", [(SEED_TOPIC, [(0, -1, -1, "", NONE)])], NONE)],
        "OffsetFetch v8 groups (group, [(topic, [(partition, offset, epoch, metadata, error)])], error)")
    still_serving("OffsetFetch v8 with several groups")


def test_huge_group_id():
    big = "g" * (300 * 1024)
    body = (cstring(big) + i32(6000) + i32(10000) + cstring("") + cstring(None) + cstring("consumer")
            + carray([cstring("range") + uvarint(len(PROTOCOLS[0][1]) + 1) + PROTOCOLS[0][1] + b"\x00"]) + b"\x00")
    corr, data = frame(JOIN_GROUP, 6, body, flexible=True)
    check(len(data) < 1 << 20, "the request must stay below socket.request.max.bytes")
    with connect() as s:
        s.sendall(data)
        deadline = time.monotonic() + REPLY_WAIT
        reply = b""
        try:
            while True:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            if not reply:
                raise TestFailure("JoinGroup v6 with a 300 KB group id: neither an answer nor a closed "
                                  "connection within %.0f s" % REPLY_WAIT)
    if reply:
        # size, correlation id, header tags, throttle time, then the error code
        error = struct.unpack(">h", reply[13:15])[0] if len(reply) >= 15 else None
        raise TestFailure("JoinGroup v6 with a 300 KB group id: Kafka cannot parse a string longer than "
                          "32767 bytes and closes the connection without an answer; Runnel answered %d bytes "
                          "(correlation id %d, error code %s)"
                          % (len(reply), struct.unpack(">i", reply[4:8])[0] if len(reply) >= 8 else -1, error))
    still_serving("a JoinGroup with a 300 KB group id")
    groups = list_groups_v2("ListGroups after the 300 KB group id")
    check(all(len(g) < 1000 for g in groups), "a group with a %d-byte id exists"
          % max(len(g) for g in groups))


def test_empty_group_id():
    got = join_v5("", "", PROTOCOLS, "JoinGroup v5 with an empty group id")
    expect_eq(got["error"], INVALID_GROUP_ID, "JoinGroup with an empty group id: error")
    expect_eq(sync_v3("", 1, "m", [], "SyncGroup v3 with an empty group id")["error"], INVALID_GROUP_ID,
              "SyncGroup with an empty group id: error")
    expect_eq(heartbeat_v3("", 1, "m", "Heartbeat v3 with an empty group id"), INVALID_GROUP_ID,
              "Heartbeat with an empty group id: error")
    still_serving("requests with an empty group id")


def test_group_consumer_still_works():
    c = Consumer({"bootstrap.servers": broker().bootstrap, "group.id": "grp-bad-after",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "enable.partition.eof": True})
    try:
        c.subscribe([SEED_TOPIC])
        seen, ended = set(), set()
        deadline = time.monotonic() + 60
        while len(ended) < PARTITIONS:
            check(time.monotonic() < deadline, "group consumer read %d records, %d partitions ended, in 60 s"
                  % (len(seen), len(ended)))
            for m in c.consume(num_messages=100, timeout=0.3):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        ended.add(m.partition())
                        continue
                    raise TestFailure("group consumer error: %s" % m.error())
                check((m.partition(), m.offset()) not in seen, "record read twice: %d/%d" % (m.partition(), m.offset()))
                seen.add((m.partition(), m.offset()))
                expect_eq(m.value(), b"seed-%d" % (m.offset() * PARTITIONS + m.partition()), "seed record value")
        expect_eq(len(seen), SEED_RECORDS, "records read by the group consumer")
        got = c.commit(asynchronous=False)
        expect_eq(sorted((tp.partition, tp.offset, tp.error) for tp in got),
                  [(p, SEED_RECORDS // PARTITIONS, None) for p in range(PARTITIONS)], "commit of the group consumer")
    finally:
        c.close()
    still_serving("the final group consumer")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("seed", test_seed, 60),
               ("find_coordinator", test_find_coordinator, 30),
               ("join_empty_protocols", test_join_empty_protocols, 30),
               ("join_and_sync", test_join_and_sync, 30),
               ("sync_unknown_member", test_sync_unknown_member, 30),
               ("heartbeat_stale_generation", test_heartbeat_stale_generation, 30),
               ("offset_commit_unknown_topic", test_offset_commit_unknown_topic, 30),
               ("offset_fetch_several_groups", test_offset_fetch_several_groups, 30),
               ("huge_group_id", test_huge_group_id, 30),
               ("empty_group_id", test_empty_group_id, 30),
               ("group_consumer_still_works", test_group_consumer_still_works, 90),
               ("clean_shutdown", test_clean_shutdown, 30)], "group_bad_input",
              matrix=[("", "raw requests (groups)", "-")])
