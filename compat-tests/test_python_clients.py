#!/usr/bin/python3
"""confluent-kafka-python and kafka-python against Runnel.

confluent-kafka (librdkafka underneath): AdminClient creates topics, Producer
writes keyed records with headers, Consumer with assign() reads them back.
kafka-python (its own protocol code): api_version auto-detection, KafkaProducer,
KafkaConsumer with assign() + seek_to_beginning(). Then each client reads what
the other wrote. No consumer groups: nothing is subscribed or committed.
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
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)
try:
    import kafka
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition
except ImportError as e:
    harness.skip("kafka-python is not installed (%s)" % e)

PARTITIONS = 3
N = 3000
BASE_TS = 1700000000000
CK_TOPIC = "py-confluent"
KP_TOPIC = "py-kafkapython"

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"num.partitions": "1", "auto.create.topics.enable": "false"}).start()
    return _broker


def record(tag, i):
    """The deterministic record i of a topic written by client `tag`."""
    value = (b"%s-value-%d-" % (tag, i)) + bytes((i * 13 + j) & 0xff for j in range((i * 7) % 251))
    return {
        "partition": i % PARTITIONS,
        "key": b"%s-key-%d" % (tag, i),
        "value": value,
        "headers": [("idx", b"%d" % i), ("bin", bytes([i & 0xff, 0, 0xff]))],
        "timestamp": BASE_TS + i,
    }


def expected_by_partition(tag):
    out = {p: [] for p in range(PARTITIONS)}
    for i in range(N):
        r = record(tag, i)
        out[r["partition"]].append(r)
    return out


def compare(seen, tag, client):
    """seen: {partition: [(offset, key, value, headers, timestamp)]} in read order."""
    want = expected_by_partition(tag)
    for p in range(PARTITIONS):
        got = seen.get(p, [])
        expect_eq(len(got), len(want[p]), "%s: number of records read from partition %d" % (client, p))
        for n, (g, w) in enumerate(zip(got, want[p])):
            offset, key, value, headers, ts = g
            where = "%s: partition %d record %d" % (client, p, n)
            expect_eq(offset, n, where + " offset")
            expect_eq(key, w["key"], where + " key")
            expect_eq(value, w["value"], where + " value")
            expect_eq(list(headers or []), w["headers"], where + " headers")
            expect_eq(ts, w["timestamp"], where + " timestamp")


# ---- confluent-kafka ----

def ck_create_topic(name):
    admin = AdminClient({"bootstrap.servers": broker().bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)],
                                  request_timeout=15, operation_timeout=15)
    try:
        futures[name].result(timeout=20)
    except Exception as e:
        raise harness.TestFailure("AdminClient.create_topics(%s): %s" % (name, e))
    md = admin.list_topics(topic=name, timeout=10)
    check(name in md.topics, "created topic %s missing from list_topics" % name)
    check(md.topics[name].error is None, "topic %s: metadata error %s" % (name, md.topics[name].error))
    expect_eq(sorted(md.topics[name].partitions), list(range(PARTITIONS)), "partitions of " + name)


def ck_produce(topic, tag, compression):
    errors, offsets = [], {p: [] for p in range(PARTITIONS)}

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            offsets[msg.partition()].append(msg.offset())

    p = Producer({"bootstrap.servers": broker().bootstrap, "enable.idempotence": False, "acks": "all",
                  "linger.ms": 5, "compression.type": compression, "message.timeout.ms": 30000})
    for i in range(N):
        r = record(tag, i)
        while True:
            try:
                p.produce(topic, value=r["value"], key=r["key"], partition=r["partition"],
                          timestamp=r["timestamp"], headers=r["headers"], on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    expect_eq(left, 0, "confluent Producer: records still unacknowledged after flush")
    check(not errors, "confluent Producer delivery errors (%d), first: %s" % (len(errors), errors[:3]))
    for part in range(PARTITIONS):
        expect_eq(sorted(offsets[part]), list(range(len(offsets[part]))),
                  "offsets acknowledged on partition %d" % part)


def ck_read(topic):
    c = Consumer({"bootstrap.servers": broker().bootstrap, "group.id": "runnel-compat-nocommit",
                  "enable.auto.commit": False, "enable.auto.offset.store": False,
                  "enable.partition.eof": True, "auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        want = {p: len(v) for p, v in expected_by_partition(b"x").items()}
        seen = {p: [] for p in range(PARTITIONS)}
        at_end = set()
        deadline = time.monotonic() + 60
        while len(at_end) < PARTITIONS:
            check(time.monotonic() < deadline, "confluent Consumer: timed out; read %s of %s"
                  % ({p: len(v) for p, v in seen.items()}, want))
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        expect_eq(len(seen[m.partition()]), want[m.partition()],
                                  "confluent Consumer: records read when partition %d ended" % m.partition())
                        at_end.add(m.partition())
                        continue
                    raise harness.TestFailure("confluent Consumer error: %s" % m.error())
                ts_type, ts = m.timestamp()
                expect_eq(ts_type, confluent_kafka.TIMESTAMP_CREATE_TIME, "timestamp type")
                seen[m.partition()].append((m.offset(), m.key(), m.value(), m.headers(), ts))
        return seen
    finally:
        c.close()


# ---- kafka-python ----

KP_PROBES = [  # (version kafka-python infers, api key, api version) as kafka-python 2.0 checks them
    ((2, 5, 0), 29, 2), ((2, 4, 0), 0, 8), ((2, 3, 0), 1, 11), ((2, 2, 0), 2, 5), ((2, 1, 0), 1, 10),
    ((2, 0, 0), 1, 8), ((1, 1, 0), 1, 7), ((1, 0, 0), 3, 5), ((0, 11, 0), 3, 4), ((0, 10, 2), 9, 2),
    ((0, 10, 1), 3, 2)]


def implied_kafka_python_version(apis):
    for version, key, v in KP_PROBES:
        if key in apis and apis[key][0] <= v <= apis[key][1]:
            return version
    return (0, 10, 0)


def kp_produce(topic, tag, compression):
    try:
        p = KafkaProducer(bootstrap_servers=broker().bootstrap, acks="all", linger_ms=5,
                          compression_type=compression, max_block_ms=20000, request_timeout_ms=20000,
                          retries=0)
    except Exception as e:
        raise harness.TestFailure("KafkaProducer could not start (it probes the broker with ApiVersions v0 "
                                  "and Metadata to pick api_version): %r" % (e,))
    try:
        detected = p.config["api_version"]
        print("kafka-python detected api_version %s" % (detected,))
        implied = implied_kafka_python_version(harness.api_versions_probe(broker().port))
        expect_eq(tuple(detected), implied, "kafka-python api_version from the advertised ApiVersions")
        check(tuple(detected) >= (0, 11, 0), "kafka-python detected %s; headers need >= 0.11" % (detected,))
        futures = []
        for i in range(N):
            r = record(tag, i)
            futures.append((r["partition"], p.send(topic, value=r["value"], key=r["key"], headers=r["headers"],
                                                   partition=r["partition"], timestamp_ms=r["timestamp"])))
        p.flush(timeout=60)
        next_offset = {q: 0 for q in range(PARTITIONS)}
        for part, f in futures:
            try:
                md = f.get(timeout=30)
            except Exception as e:
                raise harness.TestFailure("KafkaProducer send failed: %r" % (e,))
            expect_eq((md.partition, md.offset), (part, next_offset[part]), "KafkaProducer record metadata")
            next_offset[part] += 1
    finally:
        p.close(timeout=10)


def kp_read(topic):
    c = KafkaConsumer(bootstrap_servers=broker().bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="none", request_timeout_ms=30000, fetch_max_wait_ms=200)
    try:
        parts = c.partitions_for_topic(topic)
        expect_eq(parts, set(range(PARTITIONS)), "kafka-python partitions_for_topic(%s)" % topic)
        tps = [KTopicPartition(topic, p) for p in range(PARTITIONS)]
        c.assign(tps)
        c.seek_to_beginning()
        end = c.end_offsets(tps)
        want = {p: len(v) for p, v in expected_by_partition(b"x").items()}
        expect_eq({tp.partition: o for tp, o in end.items()}, want, "kafka-python end_offsets")
        seen = {p: [] for p in range(PARTITIONS)}
        deadline = time.monotonic() + 60
        while any(len(seen[p]) < want[p] for p in range(PARTITIONS)):
            check(time.monotonic() < deadline, "KafkaConsumer: timed out; read %s of %s"
                  % ({p: len(v) for p, v in seen.items()}, want))
            for tp, msgs in c.poll(timeout_ms=500, max_records=2000).items():
                for m in msgs:
                    expect_eq(m.timestamp_type, 0, "kafka-python timestamp type (0 = CreateTime)")
                    seen[tp.partition].append((m.offset, m.key, m.value, m.headers, m.timestamp))
        for tp in tps:
            expect_eq(c.position(tp), want[tp.partition], "KafkaConsumer position after reading %s" % (tp,))
        return seen
    finally:
        c.close()


# ---- tests ----

def test_confluent_roundtrip():
    ck_create_topic(CK_TOPIC)
    ck_produce(CK_TOPIC, b"ck", "lz4")
    compare(ck_read(CK_TOPIC), b"ck", "confluent-kafka reading confluent-kafka")


def test_kafka_python_roundtrip():
    ck_create_topic(KP_TOPIC)
    kp_produce(KP_TOPIC, b"kp", "gzip")
    compare(kp_read(KP_TOPIC), b"kp", "kafka-python reading kafka-python")


def test_cross_read():
    compare(kp_read(CK_TOPIC), b"ck", "kafka-python reading confluent-kafka")
    compare(ck_read(KP_TOPIC), b"kp", "confluent-kafka reading kafka-python")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    print("confluent-kafka %s (librdkafka %s), kafka-python %s"
          % (confluent_kafka.version()[0], confluent_kafka.libversion()[0], kafka.__version__))
    run_tests([("confluent_roundtrip", test_confluent_roundtrip, 120),
               ("kafka_python_roundtrip", test_kafka_python_roundtrip, 120),
               ("cross_read", test_cross_read, 120),
               ("clean_shutdown", test_clean_shutdown, 30)], "python_clients", stop_on_failure=True,
              matrix=[("kafka_python", "kafka-python (Debian)", harness.client_version("kafka-python")), ("", "confluent-kafka-python (Debian)", harness.client_version("confluent-kafka-python"))])
