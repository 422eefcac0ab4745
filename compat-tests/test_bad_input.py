#!/usr/bin/python3
"""Malformed requests on raw sockets against Runnel.

First a real client (confluent-kafka) writes records; then each case sends
bad bytes. After every case: the broker process is alive, a fresh connection
gets an ApiVersions answer, and the records written at the start read back
exactly (nothing lost, nothing added).
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import kafka_wire  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

MAX_REQUEST = 1048576
SEED_TOPIC = "bad-seed"
CONTROL_TOPIC = "bad-control"
SEED_PARTITIONS = 3
SEED_RECORDS = 600
REPLY_WAIT = 5.0

CORRUPT_MESSAGE = 2
UNSUPPORTED_VERSION = 35

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"socket.request.max.bytes": str(MAX_REQUEST),
                                    "auto.create.topics.enable": "false"}).start()
        seed(_broker)
    return _broker


# ---- the seed data, written and read by a real client ----

def seed_record(i):
    return (b"seed-key-%d" % i, b"seed-value-%d-" % i + bytes(range(i % 256)))


def create_topic(b, name, partitions):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    f = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                            request_timeout=15, operation_timeout=15)[name]
    try:
        f.result(timeout=20)
    except Exception as e:
        raise TestFailure("AdminClient.create_topics(%s): %s" % (name, e))


def seed(b):
    create_topic(b, SEED_TOPIC, SEED_PARTITIONS)
    create_topic(b, CONTROL_TOPIC, 1)
    errors = []
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": False, "acks": "all",
                  "linger.ms": 5, "message.timeout.ms": 20000})
    for i in range(SEED_RECORDS):
        k, v = seed_record(i)
        p.produce(SEED_TOPIC, value=v, key=k, partition=i % SEED_PARTITIONS,
                  on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
    expect_eq(p.flush(30), 0, "seed records unacknowledged after flush")
    check(not errors, "seed delivery errors: %s" % errors[:3])


def read_all(b, topic, partitions, want_counts):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "runnel-compat-nocommit",
                  "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(partitions)])
        seen = {p: [] for p in range(partitions)}
        ended = set()
        deadline = time.monotonic() + 30
        while len(ended) < partitions:
            check(time.monotonic() < deadline, "reading %s timed out; read %s, expected %s"
                  % (topic, {p: len(v) for p, v in seen.items()}, want_counts))
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        ended.add(m.partition())
                        continue
                    raise TestFailure("consumer error reading %s: %s" % (topic, m.error()))
                seen[m.partition()].append((m.offset(), m.key(), m.value()))
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            expect_eq((lo, hi), (0, want_counts[p]), "watermarks of %s[%d]" % (topic, p))
        return seen
    finally:
        c.close()


def check_seed_intact(b):
    want = {p: [] for p in range(SEED_PARTITIONS)}
    for i in range(SEED_RECORDS):
        want[i % SEED_PARTITIONS].append(seed_record(i))
    seen = read_all(b, SEED_TOPIC, SEED_PARTITIONS, {p: len(v) for p, v in want.items()})
    for p in range(SEED_PARTITIONS):
        expect_eq(len(seen[p]), len(want[p]), "seed records in partition %d" % p)
        for n, ((off, k, v), (wk, wv)) in enumerate(zip(seen[p], want[p])):
            expect_eq((off, k, v), (n, wk, wv), "seed record %d of partition %d" % (n, p))


def still_serving(after):
    b = broker_now()
    b.check_alive(after)
    try:
        harness.api_versions_probe(b.port)
    except (OSError, TestFailure) as e:
        raise TestFailure("after %s: a fresh connection got no ApiVersions answer: %s" % (after, e))
    check_seed_intact(b)


def broker_now():
    check(_broker is not None, "no broker")
    return _broker


# ---- raw socket helpers ----

def connect():
    return socket.create_connection(("127.0.0.1", broker().port), timeout=REPLY_WAIT)


def request(api_key, version, corr, body, flexible_header=False, client_id=b"runnel-bad"):
    hdr = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    if flexible_header:
        hdr += b"\x00"  # no tagged fields
    payload = hdr + body
    return struct.pack(">i", len(payload)) + payload


def await_reply_or_close(sock, what):
    """Returns None if the broker closed the connection, else the response payload.
    Silence (neither) within REPLY_WAIT seconds is a failure."""
    deadline = time.monotonic() + REPLY_WAIT
    try:
        head = b""
        while len(head) < 4:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(4 - len(head))
            if not chunk:
                return None
            head += chunk
        (size,) = struct.unpack(">i", head)
        check(0 <= size <= 16 << 20, "%s: response frame size %d" % (what, size))
        return harness.recv_exact(sock, size, deadline)
    except ConnectionResetError:
        return None
    except socket.timeout:
        raise TestFailure("%s: the broker neither answered nor closed the connection within %.0f s"
                          % (what, REPLY_WAIT))


def expect_closed(sock, what):
    reply = await_reply_or_close(sock, what)
    if reply is not None:
        raise TestFailure("%s: expected the connection to be closed, got a %d-byte response %r"
                          % (what, len(reply), reply[:64]))


# ---- record batch v2, for Produce ----

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for byte in data:
        c = _CRC_TABLE[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = b""
    while True:
        if z < 0x80:
            return out + bytes([z])
        out += bytes([(z & 0x7F) | 0x80])
        z >>= 7


def record_batch(records, base_ts, bad_crc=False):
    body = b""
    for i, (k, v) in enumerate(records):
        rec = b"\x00" + varint(0) + varint(i) + varint(len(k)) + k + varint(len(v)) + v + varint(0)
        body += varint(len(rec)) + rec
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_ts, base_ts, -1, -1, -1, len(records)) + body
    crc = crc32c(after_crc)
    if bad_crc:
        crc ^= 0x00010000
    after_length = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def produce_v3(topic, partition, batch, corr):
    t = topic.encode()
    body = (struct.pack(">hhi", -1, -1, 10000) + struct.pack(">i", 1) + struct.pack(">h", len(t)) + t
            + struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(batch)) + batch)
    return request(0, 3, corr, body)


def parse_produce_v3(payload, corr):
    """Returns [(topic, partition, error, base_offset)]."""
    pos = 0

    def take(fmt):
        nonlocal pos
        n = struct.calcsize(fmt)
        check(pos + n <= len(payload), "Produce v3 response truncated at byte %d" % pos)
        v = struct.unpack(fmt, payload[pos:pos + n])
        pos += n
        return v

    (c,) = take(">i")
    expect_eq(c, corr, "Produce response correlation id")
    out = []
    (nt,) = take(">i")
    check(0 <= nt <= 10, "Produce response topic count %d" % nt)
    for _ in range(nt):
        (ln,) = take(">h")
        check(0 <= ln <= 255, "topic name length %d" % ln)
        name = payload[pos:pos + ln].decode()
        pos += ln
        (np_,) = take(">i")
        check(0 <= np_ <= 10, "Produce response partition count %d" % np_)
        for _ in range(np_):
            idx, err, base, _append_time = take(">ihqq")
            out.append((name, idx, err, base))
    take(">i")  # throttle_time_ms
    expect_eq(len(payload), pos, "Produce v3 response length")
    return out


# ---- the cases ----

def test_seed():
    b = broker()
    check_seed_intact(b)


def test_negative_frame_size():
    with connect() as s:
        s.sendall(struct.pack(">i", -5) + b"\x00" * 16)
        expect_closed(s, "negative frame size")
    still_serving("a negative frame size")


def test_frame_above_limit():
    with connect() as s:
        s.sendall(struct.pack(">i", 2 * MAX_REQUEST) + request(18, 0, 7, b"")[4:])
        expect_closed(s, "a 2 MB frame size with socket.request.max.bytes=%d" % MAX_REQUEST)
    still_serving("a frame above socket.request.max.bytes")


def test_truncated_then_closed():
    with connect() as s:
        s.sendall(struct.pack(">i", 100) + b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00")
    still_serving("a truncated request and close")


def test_truncated_and_waiting():
    s = connect()
    try:
        s.sendall(struct.pack(">i", 100) + b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00")
        still_serving("a truncated request on a connection that stays open")
    finally:
        s.close()
    still_serving("closing the connection with a truncated request")


def test_short_header():
    with connect() as s:
        s.sendall(struct.pack(">i", 3) + b"\x00\x12\x00")
        expect_closed(s, "a 3-byte request header")
    still_serving("a 3-byte request header")


def test_metadata_huge_topic_count():
    with connect() as s:
        s.sendall(request(3, 1, 11, struct.pack(">i", 0x7FFFFFFF) + b"\x00\x03abc"))
        reply = await_reply_or_close(s, "Metadata v1 with 2^31-1 topics")
        if reply is not None:
            expect_eq(struct.unpack(">i", reply[:4])[0], 11, "correlation id of the Metadata reply")
    still_serving("a Metadata v1 request claiming 2^31-1 topics")


def test_metadata_trailing_bytes():
    """librdkafka 2.x writes a 4-byte placeholder for the topic count of a Metadata v9+ "all
    topics" request and never shrinks it: the v12 body is 00 00 00 00 01 00 00 where 00 01 00 00
    is meant. Kafka ignores what follows a body that decoded, so Runnel answers it too."""
    body = bytes([0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])
    with connect() as s:
        r = kafka_wire.call(broker().port, 3, 12, body, "Metadata v12 with trailing bytes",
                            flexible=True, client_id="rdkafka", sock=s)
        r.i32()  # throttle_time_ms

        def broker_entry():
            node, host, port, rack = r.i32(), r.cstring(), r.i32(), r.cstring()
            r.tags()
            return node, host, port, rack

        brokers = r.carray(broker_entry)
        expect_eq(len(brokers), 1, "Metadata v12 brokers")
        expect_eq(brokers[0][2], broker().port, "Metadata v12 broker port")
        r.cstring()  # cluster_id
        r.i32()  # controller_id

        def partition_entry():
            err, index = r.i16(), r.i32()
            r.i32(), r.i32()  # leader, leader epoch
            for _ in range(3):  # replicas, isr, offline replicas
                r.carray(r.i32)
            r.tags()
            return err, index

        def topic_entry():
            err, name = r.i16(), r.cstring()
            r.take(16 + 1)  # topic id, is_internal
            parts = r.carray(partition_entry)
            r.i32()  # topic authorized operations
            r.tags()
            return name, err, len(parts)

        topics = {t[0]: t[1:] for t in r.carray(topic_entry)}
        r.tags()
        r.end()
        expect_eq(topics.get(SEED_TOPIC), (0, SEED_PARTITIONS), "Metadata v12 all-topics entry for %s" % SEED_TOPIC)
        # The connection keeps serving.
        s.sendall(harness.api_versions_request(correlation_id=77, version=0))
        corr, err, _ = harness.parse_api_versions_v0(harness.recv_frame(s))
        expect_eq((corr, err), (77, 0), "ApiVersions after the Metadata answer (correlation, error)")
    still_serving("a Metadata v12 request with bytes after its body")


def test_metadata_truncated_body():
    with connect() as s:
        s.sendall(request(3, 12, 15, b"\x02\x05ab", flexible_header=True))  # one topic, name cut
        expect_closed(s, "a Metadata v12 body cut inside a topic name")
    still_serving("a truncated Metadata v12 body")


def test_unknown_api_key():
    with connect() as s:
        s.sendall(request(999, 0, 12, b"\x00\x00\x00\x00"))
        reply = await_reply_or_close(s, "api key 999")
        if reply is not None:
            expect_eq(struct.unpack(">i", reply[:4])[0], 12, "correlation id of the api-key-999 reply")
    still_serving("a request with api key 999")


def test_api_versions_v99():
    body = b"\x0erunnel-compat" + b"\x041.0" + b"\x00"  # v3 body: compact strings, no tags
    with connect() as s:
        s.sendall(request(18, 99, 13, body, flexible_header=True))
        reply = await_reply_or_close(s, "ApiVersions v99")
        check(reply is not None, "ApiVersions v99: connection closed; expected an UNSUPPORTED_VERSION answer")
        try:
            corr, err, apis = harness.parse_api_versions_v0(reply)
        except TestFailure as e:
            raise TestFailure("ApiVersions v99: answer not in the v0 layout (%s); first bytes %r" % (e, reply[:32]))
        expect_eq(corr, 13, "ApiVersions v99 correlation id")
        expect_eq(err, UNSUPPORTED_VERSION, "ApiVersions v99 error code")
        expect_eq(len(reply), 10 + 6 * len(apis), "ApiVersions v99 answer length (v0 layout)")
        # As Kafka (KIP-511): only ApiVersions' own range.
        expect_eq(sorted(apis), [18], "api keys in the ApiVersions v99 answer")
        check(apis[18][0] == 0 and apis[18][1] >= 3, "ApiVersions range %r, expected 0..>=3" % (apis[18],))
        # The connection stays usable: ask again at v0.
        s.sendall(harness.api_versions_request(correlation_id=14, version=0))
        corr, err, _ = harness.parse_api_versions_v0(harness.recv_frame(s))
        expect_eq((corr, err), (14, 0), "ApiVersions v0 after the v99 answer (correlation, error)")
    still_serving("ApiVersions v99")


def test_produce_bad_crc():
    ts = 1700000000000
    # Control: the same encoder with a correct CRC is accepted, so the error below is about the CRC.
    with connect() as s:
        s.sendall(produce_v3(CONTROL_TOPIC, 0, record_batch([(b"ck", b"control")], ts), 21))
        got = parse_produce_v3(harness.recv_frame(s), 21)
        expect_eq(got, [(CONTROL_TOPIC, 0, 0, 0)], "Produce v3 of a valid batch (topic, partition, error, offset)")
    seen = read_all(broker(), CONTROL_TOPIC, 1, {0: 1})
    expect_eq(seen[0], [(0, b"ck", b"control")], "the record of the valid raw batch")

    with connect() as s:
        batch = record_batch([(b"bad-key", b"must not be stored"), (b"bad-key-2", b"nor this")], ts, bad_crc=True)
        s.sendall(produce_v3(SEED_TOPIC, 0, batch, 22))
        got = parse_produce_v3(harness.recv_frame(s), 22)
        expect_eq([(t, p, e) for t, p, e, _ in got], [(SEED_TOPIC, 0, CORRUPT_MESSAGE)],
                  "Produce v3 with a bad CRC (topic, partition, error)")
        # The connection stays usable after a per-partition error.
        s.sendall(harness.api_versions_request(correlation_id=23, version=0))
        corr, err, _ = harness.parse_api_versions_v0(harness.recv_frame(s))
        expect_eq((corr, err), (23, 0), "ApiVersions after the bad-CRC Produce")
    still_serving("a Produce with a bad CRC")  # also checks that nothing was appended


def test_clean_shutdown():
    broker_now().stop()


if __name__ == "__main__":
    run_tests([("seed", test_seed, 60),
               ("negative_frame_size", test_negative_frame_size, 60),
               ("frame_above_limit", test_frame_above_limit, 60),
               ("truncated_then_closed", test_truncated_then_closed, 60),
               ("truncated_and_waiting", test_truncated_and_waiting, 60),
               ("short_header", test_short_header, 60),
               ("metadata_huge_topic_count", test_metadata_huge_topic_count, 60),
               ("metadata_trailing_bytes", test_metadata_trailing_bytes, 60),
               ("metadata_truncated_body", test_metadata_truncated_body, 60),
               ("unknown_api_key", test_unknown_api_key, 60),
               ("api_versions_v99", test_api_versions_v99, 60),
               ("produce_bad_crc", test_produce_bad_crc, 60),
               ("clean_shutdown", test_clean_shutdown, 30)], "bad_input",
              matrix=[("", "raw requests (malformed)", "-")])
