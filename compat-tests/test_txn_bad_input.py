#!/usr/bin/python3
"""Bad and edge-case idempotence and transaction requests on raw sockets against Runnel.

Each case sends requests built by hand and checks Kafka 3.9's answer:
FindCoordinator for a transactional id (key type 1) names this broker;
InitProducerId without a transactional id hands out distinct producer ids with
epoch 0, and a transaction timeout above transaction.max.timeout.ms (or 0) is
INVALID_TRANSACTION_TIMEOUT; EndTxn with no ongoing transaction is
INVALID_TXN_STATE and for an unknown transactional id
INVALID_PRODUCER_ID_MAPPING; AddPartitionsToTxn with an older epoch is
PRODUCER_FENCED from v2 on and INVALID_PRODUCER_EPOCH at v0/v1 (KIP-588), with
another producer id INVALID_PRODUCER_ID_MAPPING, the batched v4 form answers per
transaction, and an unknown partition is UNKNOWN_TOPIC_OR_PARTITION with
OPERATION_NOT_ATTEMPTED for the rest of the request; a transactional batch for a
partition that was never added is INVALID_TXN_STATE (Produce below v11) and
nothing is written; idempotent Produce: a sequence gap is
OUT_OF_ORDER_SEQUENCE_NUMBER, a resent batch is NONE with its original base
offset and nothing appended, an older epoch is INVALID_PRODUCER_EPOCH; a
truncated InitProducerId or EndTxn closes the connection. After each case the
broker answers ApiVersions on a fresh connection; at the end a normal produce
works.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402
import kafka_wire  # noqa: E402
from kafka_wire import (array, carray, cstring, frame, i8, i16, i32, i64,  # noqa: E402
                        record_batch, string)

try:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

NODE_ID = 5
TOPIC = "txn-bad"
IDEM_TOPIC = "txn-bad-idem"
PARTITIONS = 3
REPLY_WAIT = 10.0

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTIONAL_ID_NOT_FOUND = 105

PRODUCE, LIST_OFFSETS, FIND_COORDINATOR = 0, 2, 10
INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, END_TXN = 22, 24, 26
DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS = 61, 65, 66

_broker = None
_state = {}


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"node.id": str(NODE_ID), "auto.create.topics.enable": "false"}).start()
    return _broker


def connect():
    return socket.create_connection(("127.0.0.1", broker().port), timeout=REPLY_WAIT)


def call(api_key, version, body, what, flexible=False):
    """Sends one request on a fresh connection; returns a Reader positioned after the response header."""
    return kafka_wire.call(broker().port, api_key, version, body, what, flexible, "runnel-txn-bad",
                           timeout=REPLY_WAIT)


def still_serving(after):
    kafka_wire.still_serving(broker(), after)


def produce_v3(topic, partition, batch, what, transactional_id=None):
    """Produce v3 (acks=-1); returns (error, base_offset) of the one partition."""
    body = (string(transactional_id) + i16(-1) + i32(10000)
            + array([string(topic) + array([i32(partition) + i32(len(batch)) + batch])]))
    r = call(PRODUCE, 3, body, what)
    got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
    r.i32()  # throttle
    r.end()
    check(len(got) == 1 and len(got[0][1]) == 1, "%s: expected one topic with one partition, got %r" % (what, got))
    expect_eq((got[0][0], got[0][1][0][0]), (topic, partition), what + ": topic and partition of the answer")
    return got[0][1][0][1], got[0][1][0][2]


def latest_offset(topic, partition):
    """ListOffsets v1, timestamp -1 (latest): the log end offset."""
    body = i32(-1) + array([string(topic) + array([i32(partition) + i64(-1)])])
    what = "ListOffsets v1 %s[%d]" % (topic, partition)
    r = call(LIST_OFFSETS, 1, body, what)
    got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
    r.end()
    (_, parts), = got
    (_, err, _, offset), = parts
    expect_eq(err, NONE, what + ": error")
    return offset


# ---- transaction requests ----

def init_producer_id(txn_id, timeout_ms, what, version=1):
    """InitProducerId v0/v1 (or v2+ flexible); returns (error, producer_id, epoch)."""
    if version >= 2:
        body = cstring(txn_id) + i32(timeout_ms)
        if version >= 3:
            body += i64(-1) + i16(-1)
        r = call(INIT_PRODUCER_ID, version, body + b"\x00", what, flexible=True)
    else:
        r = call(INIT_PRODUCER_ID, version, string(txn_id) + i32(timeout_ms), what)
    r.i32()  # throttle
    got = (r.i16(), r.i64(), r.i16())
    if version >= 2:
        r.tags()
    r.end()
    return got


def end_txn(txn_id, pid, epoch, commit, what, version=0):
    flexible = version >= 3
    if flexible:
        body = cstring(txn_id) + i64(pid) + i16(epoch) + i8(1 if commit else 0) + b"\x00"
    else:
        body = string(txn_id) + i64(pid) + i16(epoch) + i8(1 if commit else 0)
    r = call(END_TXN, version, body, what, flexible=flexible)
    r.i32()
    err = r.i16()
    if version >= 5:
        r.i64()
        r.i16()
    if flexible:
        r.tags()
    r.end()
    return err


def add_partitions(txn_id, pid, epoch, topics, what, version):
    """AddPartitionsToTxn v0-v3; topics: [(name, [partitions])]; returns {(topic, partition): error}."""
    flexible = version >= 3
    if flexible:
        body = (cstring(txn_id) + i64(pid) + i16(epoch)
                + carray([cstring(t) + carray([i32(p) for p in ps]) + b"\x00" for t, ps in topics]) + b"\x00")
    else:
        body = string(txn_id) + i64(pid) + i16(epoch) + array([string(t) + array([i32(p) for p in ps])
                                                               for t, ps in topics])
    r = call(ADD_PARTITIONS_TO_TXN, version, body, what, flexible=flexible)
    r.i32()
    out = {}
    if flexible:
        def part(t):
            p, e = r.i32(), r.i16()
            r.tags()
            out[(t, p)] = e

        def topic():
            t = r.cstring()
            r.carray(lambda: part(t))
            r.tags()
        r.carray(topic)
        r.tags()
    else:
        def topic():
            t = r.string()
            r.array(lambda: out.__setitem__((t, r.i32()), r.i16()))
        r.array(topic)
    r.end()
    return out


def add_partitions_v4(transactions, what):
    """The batched form: transactions = [(txn_id, pid, epoch, verify_only, [(topic, [partitions])])];
    returns (top-level error, {txn_id: {(topic, partition): error}})."""
    body = carray([cstring(t) + i64(pid) + i16(epoch) + i8(1 if verify else 0)
                   + carray([cstring(n) + carray([i32(p) for p in ps]) + b"\x00" for n, ps in topics]) + b"\x00"
                   for t, pid, epoch, verify, topics in transactions]) + b"\x00"
    r = call(ADD_PARTITIONS_TO_TXN, 4, body, what, flexible=True)
    r.i32()
    err = r.i16()
    results = {}

    def txn():
        t = r.cstring()
        res = results.setdefault(t, {})

        def part(name):
            p, e = r.i32(), r.i16()
            r.tags()
            res[(name, p)] = e

        def topic():
            name = r.cstring()
            r.carray(lambda: part(name))
            r.tags()
        r.carray(topic)
        r.tags()
    r.carray(txn)
    r.tags()
    r.end()
    return err, results


# ---- steps ----

def test_seed():
    b = broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1),
                                   NewTopic(IDEM_TOPIC, num_partitions=1, replication_factor=1)],
                                  request_timeout=15, operation_timeout=15)
    for name, f in futures.items():
        try:
            f.result(timeout=20)
        except Exception as e:
            raise TestFailure("AdminClient.create_topics(%s): %s" % (name, e))


def test_find_coordinator_txn():
    port = broker().port
    r = call(FIND_COORDINATOR, 1, string("txn-bad-a") + i8(1), "FindCoordinator v1 (transaction)")
    r.i32()
    got = (r.i16(), r.string(), r.i32(), r.string(), r.i32())
    r.end()
    expect_eq((got[0], got[2], got[3], got[4]), (NONE, NODE_ID, "127.0.0.1", port),
              "FindCoordinator v1 key type 1 (error, node, host, port)")
    r = call(FIND_COORDINATOR, 4, i8(1) + carray([cstring("txn-bad-a"), cstring("txn-bad-b")]) + b"\x00",
             "FindCoordinator v4 (transaction)", flexible=True)
    r.i32()

    def coord():
        c = (r.cstring(), r.i32(), r.cstring(), r.i32(), r.i16(), r.cstring())
        r.tags()
        return c
    coords = r.carray(coord)
    r.tags()
    r.end()
    expect_eq(sorted(c[:5] for c in coords),
              [("txn-bad-a", NODE_ID, "127.0.0.1", port, NONE), ("txn-bad-b", NODE_ID, "127.0.0.1", port, NONE)],
              "FindCoordinator v4 key type 1 coordinators (key, node, host, port, error)")
    still_serving("FindCoordinator for transactional ids")


def test_init_producer_id_idempotent():
    a = init_producer_id(None, 60000, "InitProducerId v0 (no transactional id)", version=0)
    b = init_producer_id(None, 60000, "InitProducerId v4 (no transactional id)", version=4)
    for got, what in ((a, "v0"), (b, "v4")):
        expect_eq((got[0], got[2]), (NONE, 0), "InitProducerId %s without a transactional id (error, epoch)" % what)
        check(got[1] >= 0, "InitProducerId %s: producer id %d" % (what, got[1]))
    check(a[1] != b[1], "two InitProducerId calls without a transactional id gave the same producer id %d" % a[1])
    still_serving("InitProducerId without a transactional id")


def test_init_producer_id_bad_timeout():
    for timeout in (900001, 0):
        got = init_producer_id("txn-bad-timeout", timeout, "InitProducerId v1 (timeout %d)" % timeout)
        expect_eq(got[0], INVALID_TRANSACTION_TIMEOUT,
                  "InitProducerId with transaction_timeout_ms=%d (transaction.max.timeout.ms 900000): error" % timeout)
    got = init_producer_id("txn-bad-timeout", 900000, "InitProducerId v1 (timeout 900000)")
    expect_eq((got[0], got[2]), (NONE, 0), "InitProducerId with the maximum timeout (error, epoch)")
    still_serving("InitProducerId with a bad timeout")


def test_end_txn_without_transaction():
    err, pid, epoch = init_producer_id("txn-bad-end", 60000, "InitProducerId v1 (txn-bad-end)")
    expect_eq(err, NONE, "InitProducerId for txn-bad-end: error")
    for commit in (True, False):
        for version in (0, 3):
            expect_eq(end_txn("txn-bad-end", pid, epoch, commit, "EndTxn v%d" % version, version=version),
                      INVALID_TXN_STATE, "EndTxn v%d (%s) with no ongoing transaction: error"
                      % (version, "commit" if commit else "abort"))
    expect_eq(end_txn("txn-bad-never-initialized", 4242, 0, True, "EndTxn v0 (unknown id)"),
              INVALID_PRODUCER_ID_MAPPING, "EndTxn for an unknown transactional id: error")
    still_serving("EndTxn without a transaction")


def test_add_partitions_fencing():
    err, pid, epoch0 = init_producer_id("txn-bad-add", 60000, "InitProducerId v1 (txn-bad-add, first)")
    expect_eq((err, epoch0), (NONE, 0), "first InitProducerId for txn-bad-add (error, epoch)")
    err, pid2, epoch1 = init_producer_id("txn-bad-add", 60000, "InitProducerId v1 (txn-bad-add, second)")
    expect_eq((err, pid2, epoch1), (NONE, pid, 1), "second InitProducerId for txn-bad-add (error, same id, epoch+1)")
    parts = [(TOPIC, [0, 1])]
    want = {(TOPIC, 0): None, (TOPIC, 1): None}
    for version, code in ((0, INVALID_PRODUCER_EPOCH), (1, INVALID_PRODUCER_EPOCH), (2, PRODUCER_FENCED),
                          (3, PRODUCER_FENCED)):
        got = add_partitions("txn-bad-add", pid, epoch0, parts, "AddPartitionsToTxn v%d (old epoch)" % version,
                             version)
        expect_eq(got, {k: code for k in want}, "AddPartitionsToTxn v%d with the old epoch 0 (current 1)" % version)
    got = add_partitions("txn-bad-add", pid + 1000, epoch1, parts, "AddPartitionsToTxn v2 (other producer id)", 2)
    expect_eq(got, {k: INVALID_PRODUCER_ID_MAPPING for k in want},
              "AddPartitionsToTxn with a producer id the transactional id does not have")
    got = add_partitions("txn-bad-add", pid, epoch1, [(TOPIC, [2]), ("txn-no-such-topic", [0]), (TOPIC, [99])],
                         "AddPartitionsToTxn v2 (unknown partitions)", 2)
    expect_eq(got, {(TOPIC, 2): OPERATION_NOT_ATTEMPTED, ("txn-no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION,
                    (TOPIC, 99): UNKNOWN_TOPIC_OR_PARTITION},
              "AddPartitionsToTxn with unknown partitions next to a good one")
    got = add_partitions("txn-bad-add", pid, epoch1, parts, "AddPartitionsToTxn v3 (current epoch)", 3)
    expect_eq(got, {k: NONE for k in want}, "AddPartitionsToTxn v3 with the current epoch")
    _state["add"] = (pid, epoch1)
    still_serving("AddPartitionsToTxn with a fenced epoch")


def test_add_partitions_batched():
    pid, epoch = _state["add"]
    err, results = add_partitions_v4(
        [("txn-bad-add", pid, epoch, True, [(TOPIC, [0, 1])]),
         ("txn-bad-unknown", 777, 0, False, [(TOPIC, [0])]),
         ("txn-bad-add-other", pid, epoch, True, [(TOPIC, [1])])],
        "AddPartitionsToTxn v4")
    expect_eq(err, NONE, "AddPartitionsToTxn v4 top-level error")
    expect_eq(results, {"txn-bad-add": {(TOPIC, 0): NONE, (TOPIC, 1): NONE},
                        "txn-bad-unknown": {(TOPIC, 0): INVALID_PRODUCER_ID_MAPPING},
                        "txn-bad-add-other": {(TOPIC, 1): INVALID_PRODUCER_ID_MAPPING}},
              "AddPartitionsToTxn v4 results by transaction (verify_only for the added partitions, an unknown id)")
    still_serving("AddPartitionsToTxn v4")


def test_produce_to_partition_not_added():
    pid, epoch = _state["add"]
    before = latest_offset(TOPIC, 2)
    batch = record_batch([b"never added"], pid, epoch, 0, transactional=True)
    err, _ = produce_v3(TOPIC, 2, batch, "Produce v3 (transactional, partition not added)", "txn-bad-add")
    expect_eq(err, INVALID_TXN_STATE, "transactional Produce v3 to a partition never added to the transaction")
    expect_eq(latest_offset(TOPIC, 2), before, "log end offset of %s[2] after the refused batch" % TOPIC)
    # The same producer writes to a partition it added, then aborts.
    batch = record_batch([b"added, then aborted"], pid, epoch, 0, transactional=True)
    err, base = produce_v3(TOPIC, 0, batch, "Produce v3 (transactional, added partition)", "txn-bad-add")
    expect_eq((err, base), (NONE, 0), "transactional Produce v3 to an added partition (error, base offset)")
    expect_eq(end_txn("txn-bad-add", pid, epoch, False, "EndTxn v0 (abort)"), NONE, "EndTxn abort: error")
    expect_eq(end_txn("txn-bad-add", pid, epoch, True, "EndTxn v0 (commit after abort)"), INVALID_TXN_STATE,
              "EndTxn commit after the abort: error")
    deadline = time.monotonic() + 5
    while latest_offset(TOPIC, 0) != 2:
        check(time.monotonic() < deadline, "%s[0]: log end offset %d 5 s after the abort; expected 2 (the record "
              "and the abort marker)" % (TOPIC, latest_offset(TOPIC, 0)))
        time.sleep(0.05)
    expect_eq(latest_offset(TOPIC, 2), before, "log end offset of %s[2] after the abort" % TOPIC)
    still_serving("a transactional Produce to a partition not in the transaction")


def test_idempotent_produce():
    err, pid, epoch = init_producer_id(None, 60000, "InitProducerId v1 (idempotent producer)")
    expect_eq((err, epoch), (NONE, 0), "InitProducerId for the idempotent producer (error, epoch)")
    first = record_batch([b"i0", b"i1", b"i2"], pid, 0, 0)
    expect_eq(produce_v3(IDEM_TOPIC, 0, first, "Produce v3 (seq 0)"), (NONE, 0),
              "idempotent Produce, sequence 0 (error, base offset)")
    expect_eq(produce_v3(IDEM_TOPIC, 0, first, "Produce v3 (seq 0 again)"), (NONE, 0),
              "the same batch resent (error, base offset of the original)")
    expect_eq(latest_offset(IDEM_TOPIC, 0), 3, "log end offset after the resent batch (nothing appended)")
    gap = record_batch([b"gap"], pid, 0, 5)
    err, _ = produce_v3(IDEM_TOPIC, 0, gap, "Produce v3 (seq 5, expected 3)")
    expect_eq(err, OUT_OF_ORDER_SEQUENCE_NUMBER, "idempotent Produce with a sequence gap (5 after 0-2)")
    expect_eq(latest_offset(IDEM_TOPIC, 0), 3, "log end offset after the sequence gap")
    expect_eq(produce_v3(IDEM_TOPIC, 0, record_batch([b"i3", b"i4"], pid, 0, 3), "Produce v3 (seq 3)"), (NONE, 3),
              "idempotent Produce, sequence 3 (error, base offset)")
    # The producer bumps its epoch (sequence restarts at 0); the old epoch is then stale.
    expect_eq(produce_v3(IDEM_TOPIC, 0, record_batch([b"e1"], pid, 1, 0), "Produce v3 (epoch 1, seq 0)"), (NONE, 5),
              "idempotent Produce with the next epoch and sequence 0 (error, base offset)")
    err, _ = produce_v3(IDEM_TOPIC, 0, record_batch([b"stale"], pid, 0, 5), "Produce v3 (epoch 0 after 1)")
    expect_eq(err, INVALID_PRODUCER_EPOCH, "idempotent Produce with an older epoch")
    expect_eq(latest_offset(IDEM_TOPIC, 0), 6, "log end offset after the refused batches")
    still_serving("idempotent Produce errors")


def describe_transactions(ids, what):
    """DescribeTransactions v0 (flexible); returns {id: (error, state, timeout, pid, epoch, {topic: [parts]})}."""
    r = call(DESCRIBE_TRANSACTIONS, 0, carray([cstring(i) for i in ids]) + b"\x00", what, flexible=True)
    r.i32()
    out = {}

    def topic():
        t = r.cstring()
        parts = r.carray(r.i32)
        r.tags()
        return t, sorted(parts)

    def state():
        err, tid, st, timeout = r.i16(), r.cstring(), r.cstring(), r.i32()
        r.i64()  # start time
        pid, epoch = r.i64(), r.i16()
        topics = dict(r.carray(topic))
        r.tags()
        out[tid] = (err, st, timeout, pid, epoch, topics)
    r.carray(state)
    r.tags()
    r.end()
    return out


def list_transactions(states, pids, what):
    """ListTransactions v1; returns (error, unknown state filters, {id: (pid, state)})."""
    body = carray([cstring(x) for x in states]) + carray([i64(x) for x in pids]) + i64(-1) + b"\x00"
    r = call(LIST_TRANSACTIONS, 1, body, what, flexible=True)
    r.i32()
    err = r.i16()
    unknown = r.carray(r.cstring)
    out = {}

    def state():
        tid, pid, st = r.cstring(), r.i64(), r.cstring()
        r.tags()
        out[tid] = (pid, st)
    r.carray(state)
    r.tags()
    r.end()
    return err, unknown, out


def describe_producers(topic, partition, what):
    """DescribeProducers v0; returns (error, {pid: (epoch, last sequence, current txn start offset)})."""
    body = carray([cstring(topic) + carray([i32(partition)]) + b"\x00"]) + b"\x00"
    r = call(DESCRIBE_PRODUCERS, 0, body, what, flexible=True)
    r.i32()
    result = {}

    def producer(into):
        pid, epoch, last_seq = r.i64(), r.i32(), r.i32()
        r.i64()  # last timestamp
        r.i32()  # coordinator epoch
        into[pid] = (epoch, last_seq, r.i64())
        r.tags()

    def part():
        r.i32()
        err = r.i16()
        r.cstring()  # error message
        producers = {}
        r.carray(lambda: producer(producers))
        r.tags()
        result["p"] = (err, producers)

    def topic():
        r.cstring()
        r.carray(part)
        r.tags()
    r.carray(topic)
    r.tags()
    r.end()
    return result["p"]


def test_admin_views():
    txn = "txn-bad-admin"
    err, pid, epoch = init_producer_id(txn, 60000, "InitProducerId v1 (%s)" % txn)
    expect_eq(err, NONE, "InitProducerId for %s" % txn)
    expect_eq(add_partitions(txn, pid, epoch, [(TOPIC, [1])], "AddPartitionsToTxn v1 (%s)" % txn, 1),
              {(TOPIC, 1): NONE}, "AddPartitionsToTxn errors")
    before = latest_offset(TOPIC, 1)
    batch = record_batch([b"a0", b"a1"], pid, epoch, 0, transactional=True)
    expect_eq(produce_v3(TOPIC, 1, batch, "Produce v3 (%s)" % txn, txn), (NONE, before),
              "transactional Produce (error, base offset)")

    d = describe_transactions([txn, "no-such-txn"], "DescribeTransactions v0 (ongoing)")
    expect_eq(d.get(txn), (NONE, "Ongoing", 60000, pid, epoch, {TOPIC: [1]}),
              "DescribeTransactions of an ongoing transaction (error, state, timeout, pid, epoch, topics)")
    expect_eq(d.get("no-such-txn", (None,))[0], TRANSACTIONAL_ID_NOT_FOUND,
              "DescribeTransactions of an unknown transactional id: error")

    err, unknown, listed = list_transactions(["Ongoing", "NoSuchState"], [], "ListTransactions v1 (Ongoing)")
    expect_eq((err, unknown), (NONE, ["NoSuchState"]), "ListTransactions (error, unknown state filters)")
    expect_eq(listed.get(txn), (pid, "Ongoing"), "ListTransactions: %s (pid, state)" % txn)
    err, _, listed = list_transactions([], [pid + 1000000], "ListTransactions v1 (other producer id)")
    check(txn not in listed, "ListTransactions filtered by another producer id lists %s: %r" % (txn, listed))

    err, producers = describe_producers(TOPIC, 1, "DescribeProducers v0 (ongoing)")
    expect_eq(err, NONE, "DescribeProducers error")
    expect_eq(producers.get(pid), (epoch, 1, before),
              "DescribeProducers: producer %d (epoch, last sequence, current transaction start offset)" % pid)

    expect_eq(end_txn(txn, pid, epoch, True, "EndTxn v0 (commit %s)" % txn), NONE, "EndTxn commit: error")
    d = describe_transactions([txn], "DescribeTransactions v0 (committed)")
    expect_eq(d.get(txn, (None, None))[:2], (NONE, "CompleteCommit"), "DescribeTransactions after the commit")
    err, producers = describe_producers(TOPIC, 1, "DescribeProducers v0 (committed)")
    expect_eq(producers.get(pid, (None, None, None))[2], -1,
              "DescribeProducers after the commit: current transaction start offset")
    err, producers = describe_producers("no-such-topic", 0, "DescribeProducers v0 (unknown topic)")
    expect_eq(err, UNKNOWN_TOPIC_OR_PARTITION, "DescribeProducers of an unknown topic: error")



def expect_closed(data, what):
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
            raise TestFailure("%s: neither an answer nor a closed connection within %.0f s" % (what, REPLY_WAIT))
    check(not reply, "%s: Kafka closes the connection on a request it cannot parse; Runnel answered %d bytes %r"
          % (what, len(reply), reply[:32]))


def test_truncated_requests():
    # InitProducerId v1: the transactional id claims 20 bytes, 4 follow.
    _, data = frame(INIT_PRODUCER_ID, 1, i16(20) + b"abcd", flexible=False)
    expect_closed(data, "InitProducerId v1 with a truncated transactional id")
    still_serving("a truncated InitProducerId")
    # InitProducerId v4: the timeout and producer fields are missing.
    _, data = frame(INIT_PRODUCER_ID, 4, cstring("txn-bad-trunc") + b"\x00\x00", flexible=True)
    expect_closed(data, "InitProducerId v4 without its timeout")
    still_serving("a truncated flexible InitProducerId")
    # EndTxn v0 without the committed flag and half the epoch.
    _, data = frame(END_TXN, 0, string("txn-bad-end") + i64(1) + b"\x00", flexible=False)
    expect_closed(data, "EndTxn v0 cut inside the producer epoch")
    still_serving("a truncated EndTxn")
    _, data = frame(END_TXN, 3, cstring("txn-bad-end") + i64(1), flexible=True)
    expect_closed(data, "EndTxn v3 without epoch, flag and tags")
    still_serving("a truncated flexible EndTxn")


def test_normal_produce_still_works():
    b = broker()
    before = latest_offset(TOPIC, 1)
    errors = []
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": False, "acks": "all", "linger.ms": 5})
    for i in range(20):
        p.produce(TOPIC, value=b"after-%d" % i, partition=1,
                  on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
    expect_eq(p.flush(30), 0, "records unacknowledged after flush")
    check(not errors, "delivery errors: %s" % errors[:3])
    expect_eq(latest_offset(TOPIC, 1), before + 20, "log end offset of %s[1] after 20 plain records" % TOPIC)
    err, base = produce_v3(TOPIC, 1, record_batch([b"plain raw"]), "Produce v3 (plain batch)")
    expect_eq((err, base), (NONE, before + 20), "a plain Produce v3 (error, base offset)")
    still_serving("the final produce")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("seed", test_seed, 60),
               ("find_coordinator_txn", test_find_coordinator_txn, 30),
               ("init_producer_id_idempotent", test_init_producer_id_idempotent, 30),
               ("init_producer_id_bad_timeout", test_init_producer_id_bad_timeout, 30),
               ("end_txn_without_transaction", test_end_txn_without_transaction, 30),
               ("add_partitions_fencing", test_add_partitions_fencing, 30),
               ("add_partitions_batched", test_add_partitions_batched, 30),
               ("produce_to_partition_not_added", test_produce_to_partition_not_added, 30),
               ("idempotent_produce", test_idempotent_produce, 30),
               ("admin_views", test_admin_views, 30),
               ("truncated_requests", test_truncated_requests, 30),
               ("normal_produce_still_works", test_normal_produce_still_works, 60),
               ("clean_shutdown", test_clean_shutdown, 30)], "txn_bad_input",
              matrix=[("", "raw requests (transactions)", "-")])
