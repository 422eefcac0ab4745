#!/usr/bin/python3
"""Clients of every age against Runnel.

kafka-python pinned to old broker versions speaks the old protocol: with
api_version (0, 8, 2) it sends Produce v0 with magic-0 message sets and reads
with Fetch v0; with (0, 10, 0) it sends Produce v2 with magic-1 messages and
reads with Fetch v2. kcat with ApiVersions turned off and a 0.8.2 fallback does
the same through librdkafka. What an old client writes, a new client reads
(up-conversion to magic 2 on produce), and what a new client writes, an old
client reads (down-conversion on fetch).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, check, expect_eq, run_tests  # noqa: E402

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)
try:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition
except ImportError as e:
    harness.skip("kafka-python is not installed (%s)" % e)

N = 500
BASE_TS = 1710000000000
# (name, kafka-python api_version, message format magic the client writes)
OLD_VERSIONS = [("v0_8_2", (0, 8, 2), 0), ("v0_10_0", (0, 10, 0), 1)]

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"num.partitions": "1", "auto.create.topics.enable": "true"}).start()
    return _broker


def value_of(tag, i):
    return b"%s-value-%d-" % (tag, i) + bytes((i * 31 + j) & 0xff for j in range(i % 97))


def key_of(tag, i):
    return b"%s-key-%d" % (tag, i)


def kp_produce(topic, api_version, compression, tag):
    p = KafkaProducer(bootstrap_servers=broker().bootstrap, api_version=api_version, acks=1,
                      linger_ms=5, compression_type=compression, max_block_ms=20000,
                      request_timeout_ms=20000, retries=5)
    try:
        futures = []
        for i in range(N):
            kwargs = {"value": value_of(tag, i), "key": key_of(tag, i), "partition": 0}
            if api_version >= (0, 10, 0):
                kwargs["timestamp_ms"] = BASE_TS + i
            futures.append(p.send(topic, **kwargs))
        p.flush(timeout=60)
        for i, f in enumerate(futures):
            md = f.get(timeout=30)
            expect_eq(md.offset, i, "offset acknowledged for record %d (api_version %s)" % (i, api_version))
    finally:
        p.close(timeout=10)


def kp_read(topic, api_version, count):
    c = KafkaConsumer(bootstrap_servers=broker().bootstrap, api_version=api_version,
                      enable_auto_commit=False, consumer_timeout_ms=3000, request_timeout_ms=20000)
    try:
        tp = KTopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + 60
        while len(out) < count and time.monotonic() < deadline:
            for msgs in c.poll(timeout_ms=500, max_records=1000).values():
                out.extend(msgs)
        return out
    finally:
        c.close()


def ck_read(topic, count):
    c = Consumer({"bootstrap.servers": broker().bootstrap, "group.id": "runnel-compat-nocommit",
                  "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        out = []
        deadline = time.monotonic() + 60
        while True:
            check(time.monotonic() < deadline, "confluent Consumer timed out after %d records" % len(out))
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise harness.TestFailure("confluent Consumer error: %s" % m.error())
            out.append(m)
        expect_eq(len(out), count, "records read by a current client")
        return out
    finally:
        c.close()


def ck_produce(topic, tag):
    p = Producer({"bootstrap.servers": broker().bootstrap, "enable.idempotence": False, "acks": "all",
                  "linger.ms": 5, "compression.type": "lz4"})
    errors = []
    for i in range(N):
        p.produce(topic, value=value_of(tag, i), key=key_of(tag, i), partition=0,
                  timestamp=BASE_TS + i, headers=[("h", b"x")],
                  on_delivery=lambda err, msg: err and errors.append(str(err)))
        p.poll(0)
    expect_eq(p.flush(30), 0, "records left unacknowledged")
    check(not errors, "delivery errors: %s" % errors[:3])


def old_client_writes(name, api_version, magic, compression):
    def step():
        topic = "old-%s-%s" % (name, compression)
        tag = topic.encode()
        kp_produce(topic, api_version, compression, tag)
        # A current client sees magic-2 batches with every key, value and offset.
        got = ck_read(topic, N)
        for i, m in enumerate(got):
            where = "%s record %d read by a current client" % (topic, i)
            expect_eq(m.offset(), i, where + " offset")
            expect_eq(m.key(), key_of(tag, i), where + " key")
            expect_eq(m.value(), value_of(tag, i), where + " value")
            if magic >= 1:
                expect_eq(m.timestamp(), (confluent_kafka.TIMESTAMP_CREATE_TIME, BASE_TS + i), where + " timestamp")
        # The same old client reads its own records back (down-converted).
        back = kp_read(topic, api_version, N)
        expect_eq(len(back), N, "records read back by kafka-python %s" % (api_version,))
        for i, m in enumerate(back):
            expect_eq((m.offset, m.key, m.value), (i, key_of(tag, i), value_of(tag, i)),
                      "%s record %d read by the old client" % (topic, i))
    return step


def old_client_reads_new_records():
    topic = "new-for-old"
    tag = topic.encode()
    ck_produce(topic, tag)
    for name, api_version, magic in OLD_VERSIONS:
        got = kp_read(topic, api_version, N)
        expect_eq(len(got), N, "records read by kafka-python %s" % (api_version,))
        for i, m in enumerate(got):
            where = "record %d read by kafka-python %s" % (i, api_version)
            expect_eq((m.offset, m.key, m.value), (i, key_of(tag, i), value_of(tag, i)), where)
            if magic >= 1:
                expect_eq(m.timestamp, BASE_TS + i, where + " timestamp")


def kcat_old_protocol():
    topic = "kcat-old"
    lines = [b"old-line-%d" % i for i in range(200)]
    old = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.8.2.2"]
    harness.run_command(["kcat", "-P", "-b", broker().bootstrap, "-t", topic, "-p", "0"] + old,
                        timeout=60, what="kcat -P with the 0.8.2 protocol", input=b"\n".join(lines) + b"\n")
    p = harness.run_command(["kcat", "-C", "-b", broker().bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
                             "-e", "-q"] + old, timeout=60, what="kcat -C with the 0.8.2 protocol")
    expect_eq(p.stdout.split(b"\n")[:-1], lines, "lines read back by kcat speaking Fetch v0")


def main():
    tests = []
    for name, api_version, magic in OLD_VERSIONS:
        for compression in (None, "gzip"):
            tests.append(("%s_%s_writes" % (name, compression or "none"),
                          old_client_writes(name, api_version, magic, compression), 180))
    tests.append(("old_clients_read_new_records", old_client_reads_new_records, 180))
    tests.append(("kcat_old_protocol", kcat_old_protocol, 120))
    run_tests(tests, "old_clients",
              matrix=[("kcat", "kcat with broker.version.fallback=0.8.2 (Debian)", harness.client_version("kcat")), ("", "kafka-python with old api_version (Debian)", harness.client_version("kafka-python"))])


if __name__ == "__main__":
    main()
