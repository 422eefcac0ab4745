#!/usr/bin/python3
"""The differential oracle: the same raw requests to Apache Kafka 4.4 (one KRaft node, from
tools/deps/kafka.sh) and to Runnel, both answers decoded with Kafka's own message definitions
(read from the kafka-clients jar at run time, kmsg.py) and compared field by field.

Every scenario first sets up the same state on both brokers (topics, records, groups,
producers), then sends each version of its API that both brokers implement, on the success
path and the error paths. A difference that neither expected_differences.py explains nor
known_runnel_bugs.py lists for that scenario fails the scenario with the field's path and both
values; a listed bug that no longer differs fails it too ("remove it"). See docs/oracle.md.

    RUNNEL_BIN=build/server/runnel RUNNEL_BUILD_DIR=build /usr/bin/python3 compat-tests/oracle/test_oracle.py
"""

import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import kafka_peer  # noqa: E402
import kmsg  # noqa: E402
import oracle  # noqa: E402
import records  # noqa: E402
import expected_differences  # noqa: E402
import known_runnel_bugs  # noqa: E402
from harness import Broker, TestFailure, check, expect_eq, run_tests  # noqa: E402
from oracle import CLOSED  # noqa: E402

SUITE = "oracle"
CLIENT = "Apache Kafka %s (differential)" % kafka_peer.KAFKA_VERSION
VERSION = kafka_peer.KAFKA_VERSION

# Runnel starts with the settings KafkaPeer gives Kafka where the defaults differ.
RUNNEL_OVERRIDES = {k: v for k, v in kafka_peer.KafkaPeer.properties(
    type("P", (), {"controller_port": 0, "port": 0, "data_dir": "", "overrides": {}})()).items()
    if k in ("num.partitions", "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
             "transaction.state.log.min.isr", "group.initial.rebalance.delay.ms")}

K = {}  # what the steps share: msgs, kafka, runnel, oracle, ranges, ts

# API keys
PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP = 8, 9, 10, 11
HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS = 12, 13, 14, 15, 16
API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS, INIT_PRODUCER_ID = 18, 19, 20, 21, 22
ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN, TXN_OFFSET_COMMIT = 24, 25, 26, 28
DESCRIBE_CONFIGS, CREATE_PARTITIONS, DELETE_GROUPS, OFFSET_DELETE = 32, 37, 42, 47
DESCRIBE_CLUSTER, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS = 60, 61, 65, 66
UPDATE_FEATURES = 57
DESCRIBE_LOG_DIRS, ELECT_LEADERS, ALTER_PARTITION_REASSIGNMENTS, LIST_PARTITION_REASSIGNMENTS = 35, 43, 45, 46
DESCRIBE_TOPIC_PARTITIONS = 75
OFFSET_FOR_LEADER_EPOCH = 23


def kafka_clients_jar():
    for p in kafka_peer.classpath().split(os.pathsep):
        if os.path.basename(p).startswith("kafka-clients-") and p.endswith(".jar"):
            return p
    harness.skip("no kafka-clients jar on the class path in %s" % kafka_peer.classpath_file())


def o():
    return K["oracle"]


def common(key):
    """The versions of an API that both brokers implement (Kafka: advertised and defined)."""
    kr, rr = K["kafka_ranges"].get(key), K["runnel_ranges"].get(key)
    if not kr or not rr:
        return []
    return list(range(max(kr[0], rr[0]), min(kr[1], rr[1]) + 1))


def ask(scenario, key, version, body, **kw):
    return o().ask(scenario, key, version, body, **kw)


def answers_of(scenario, key, version, body, **kw):
    """Both decoded answers, compared; fails when either side did not answer."""
    ka, ra = ask(scenario, key, version, body, **kw)
    oracle.must(ka, "kafka %s v%d" % (K["msgs"].api_name(key), version))
    oracle.must(ra, "runnel %s v%d" % (K["msgs"].api_name(key), version))
    return ka, ra


def per_side(fn):
    """A request body that depends on the broker (its topic ids, producer ids, member ids)."""
    return fn


def wait_both(what, key, version, body, ok, timeout=30.0):
    """Setup: repeats a request on each broker until ok(answer) (e.g. a coordinator that is
    still loading); returns {side name: answer}."""
    out = {}
    for side in o().sides:
        deadline = time.monotonic() + timeout
        while True:
            a = side.request(key, version, body(side) if callable(body) else body)
            if isinstance(a, dict) and ok(a):
                out[side.name] = a
                break
            if time.monotonic() > deadline:
                raise TestFailure("%s: %s did not get there within %.0f s: %r" % (what, side.name, timeout, a))
            time.sleep(0.1)
    return out


def create_topic(name, partitions=1, configs=None):
    """Setup on both brokers (compared too)."""
    v = max(common(CREATE_TOPICS))
    body = {"Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1,
                        "Configs": [{"Name": k, "Value": val} for k, val in (configs or {}).items()]}],
            "timeoutMs": 30000}
    ka, ra = o().both(CREATE_TOPICS, v, body)
    for side, a in (("kafka", ka), ("runnel", ra)):
        oracle.must(a, "%s: create topic %s" % (side, name))
        t = a["Topics"][0]
        expect_eq(t["ErrorCode"], 0, "%s: create topic %s" % (side, name))
    learn_topic_ids([name])


def learn_topic_ids(names):
    """Setup: waits until both brokers' Metadata shows the topics with a leader for every
    partition (Kafka answers CreateTopics before its metadata has the topic), and keeps each
    broker's topic ids."""
    v = max(common(METADATA))

    def ready(a):
        return all(t["ErrorCode"] == 0 and t["TopicId"] != uuid.UUID(int=0) and t["Partitions"]
                   and all(p["ErrorCode"] == 0 and p["LeaderId"] >= 0 for p in t["Partitions"])
                   for t in a["Topics"])
    got = wait_both("metadata of %s" % ",".join(names), METADATA, v,
                    {"Topics": [{"Name": n} for n in names], "AllowAutoTopicCreation": False}, ready)
    for side in o().sides:
        for t in got[side.name]["Topics"]:
            side.state.setdefault("topic_ids", {})[t["Name"]] = t["TopicId"]


def topic_id(side, name):
    return side.state["topic_ids"][name]


def produce_records(topic, partition, recs, version=None, **batch_kw):
    """Setup: the same batch to both; the base offsets must agree."""
    v = version or max(common(PRODUCE))
    b = records.batch(recs, K["ts"], **batch_kw)
    body = {"Acks": -1, "TimeoutMs": 10000,
            "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition, "Records": b}]}]}
    ka, ra = o().both(PRODUCE, v, body)
    offsets = []
    for side, a in (("kafka", ka), ("runnel", ra)):
        p = oracle.must(a, "%s: produce to %s" % (side, topic))["Responses"][0]["PartitionResponses"][0]
        expect_eq(p["ErrorCode"], 0, "%s: produce to %s-%d" % (side, topic, partition))
        offsets.append(p["BaseOffset"])
    expect_eq(offsets[1], offsets[0], "base offset of the batch on runnel (kafka's first)")
    return ka


# ---- steps ----

def start():
    K["msgs"] = kmsg.Messages(kafka_clients_jar())
    t0 = time.monotonic()
    K["kafka"] = kafka_peer.KafkaPeer().start()
    K["kafka_start_seconds"] = time.monotonic() - t0
    if os.environ.get("ORACLE_SELF_CHECK") == "1":
        # Kafka against Kafka: only expected differences may show (checks the oracle itself).
        K["runnel"] = kafka_peer.KafkaPeer(name="kafka-2").start()
    else:
        K["runnel"] = Broker(overrides=RUNNEL_OVERRIDES, name="runnel").start()
    K["oracle"] = oracle.Oracle(K["msgs"], K["kafka"].port, K["runnel"].port)
    # Record timestamps: now, so that Kafka's timestamp checks accept them; the same on both.
    K["ts"] = int(time.time() * 1000) // 1000 * 1000
    print("kafka ready in %.1f s (port %d), runnel on port %d"
          % (K["kafka_start_seconds"], K["kafka"].port, K["runnel"].port), flush=True)
    for side in o().sides:
        a = oracle.must(side.request(API_VERSIONS, 3, {"ClientSoftwareName": "oracle",
                                                       "ClientSoftwareVersion": "1"}), side.name)
        ranges = {x["ApiKey"]: (x["MinVersion"], x["MaxVersion"]) for x in a["ApiKeys"]}
        if side.name == "kafka":
            # Kafka advertises some versions it no longer accepts (Produce 0-2, KAFKA-18659):
            # its definitions' validVersions are the truth.
            for key, (lo, hi) in list(ranges.items()):
                m = K["msgs"].requests.get(key)
                if m:
                    ranges[key] = (max(lo, m.valid.lo), min(hi, m.valid.hi))
        K[side.name + "_ranges"] = ranges


def compare_api_keys(kafka_keys, runnel_keys, problems, full=True):
    """ApiVersions' ApiKeys: Runnel may go below Kafka's minimum and above its maximum
    (expected_differences.OLD_VERSIONS_KEPT); a Kafka version Runnel lacks must be listed in
    known_runnel_bugs.MISSING_VERSIONS / MISSING_APIS."""
    kk = {x["ApiKey"]: x for x in kafka_keys}
    rk = {x["ApiKey"]: x for x in runnel_keys}
    name = K["msgs"].api_name
    for key in sorted(set(kk) | set(rk)):
        if key not in rk:
            if key not in known_runnel_bugs.MISSING_APIS:
                problems.append("%s (%d): Kafka %d-%d, Runnel does not implement it and "
                                "MISSING_APIS does not list it" % (name(key), key, kk[key]["MinVersion"],
                                                                   kk[key]["MaxVersion"]))
            continue
        if key not in kk:
            problems.append("%s (%d): Runnel advertises %d-%d, Kafka 4.4 not at all"
                            % (name(key), key, rk[key]["MinVersion"], rk[key]["MaxVersion"]))
            continue
        if key in known_runnel_bugs.MISSING_APIS:
            problems.append("%s (%d): Runnel now implements it: remove it from MISSING_APIS" % (name(key), key))
        kmax, rmax = kk[key]["MaxVersion"], rk[key]["MaxVersion"]
        listed = known_runnel_bugs.MISSING_VERSIONS.get(key)
        if rmax < kmax:
            if listed != (rmax, kmax):
                problems.append("%s (%d): Kafka's maximum version is %d, Runnel's %d; MISSING_VERSIONS "
                                "lists %r" % (name(key), key, kmax, rmax, listed))
        elif listed is not None:
            problems.append("%s (%d): Runnel now reaches v%d: remove it from MISSING_VERSIONS"
                            % (name(key), key, rmax))
        kmin, rmin = kk[key]["MinVersion"], rk[key]["MinVersion"]
        if rmin > kmin:
            problems.append("%s (%d): Kafka's minimum version is %d, Runnel's %d" % (name(key), key, kmin, rmin))
    for key in known_runnel_bugs.MISSING_APIS if full else ():
        if key not in kk:
            problems.append("MISSING_APIS lists %d, which Kafka does not advertise" % key)


def scenario_api_versions(sc):
    body = {"ClientSoftwareName": "oracle", "ClientSoftwareVersion": "1.0"}
    for v in common(API_VERSIONS):
        ka, ra = o().both(API_VERSIONS, v, body)
        oracle.must(ka, "kafka ApiVersions v%d" % v)
        oracle.must(ra, "runnel ApiVersions v%d" % v)
        problems = []
        compare_api_keys(ka.pop("ApiKeys"), ra.pop("ApiKeys"), problems)
        if problems:
            raise TestFailure("ApiVersions v%d:\n  %s" % (v, "\n  ".join(problems)))
        o().check(sc, "ApiVersions", v, ka, ra)
    # Above both ranges: UNSUPPORTED_VERSION in the v0 layout with ApiVersions' own range
    # (compared like above); the other ApiKeys entries are compared as fields.
    ka, ra = o().both(API_VERSIONS, 99, body, header_version=0, decode_version=0)
    for a in (ka, ra):
        oracle.must(a, "ApiVersions v99")
    expect_eq(ka["ErrorCode"], 35, "kafka ApiVersions v99 error")
    own = [[x for x in a["ApiKeys"] if x["ApiKey"] == API_VERSIONS] for a in (ka, ra)]
    problems = []
    compare_api_keys(own[0], own[1], problems, full=False)
    if problems:
        raise TestFailure("ApiVersions v99:\n  %s" % "\n  ".join(problems))
    for a in (ka, ra):
        a["ApiKeys"] = [x for x in a["ApiKeys"] if x["ApiKey"] != API_VERSIONS]
    o().check(sc, "ApiVersions", 0, ka, ra)
    # Empty client software name at v3+: Kafka answers INVALID_REQUEST (42).
    for v in [x for x in common(API_VERSIONS) if x >= 3]:
        ka, ra = o().both(API_VERSIONS, v, {"ClientSoftwareName": "", "ClientSoftwareVersion": "1"})
        for a in (ka, ra):
            if isinstance(a, dict):
                a.pop("ApiKeys", None)
        o().check(sc, "ApiVersions", v, ka, ra)


def scenario_metadata(sc):
    create_topic("md-a", 3)
    for v in common(METADATA):
        ask(sc, METADATA, v, {"Topics": [{"Name": "md-a"}], "AllowAutoTopicCreation": False})
        # An unknown topic; below v4 a Metadata request always creates it (both brokers).
        ask(sc, METADATA, v, {"Topics": [{"Name": "md-none-%d" % v}], "AllowAutoTopicCreation": False})
        if v < 4:  # created (Kafka creates it in the background): wait for it on both
            learn_topic_ids(["md-none-%d" % v])
        ask(sc, METADATA, v, {"Topics": [{"Name": "bad name!"}], "AllowAutoTopicCreation": True})
        ask(sc, METADATA, v, {"Topics": [{"Name": "md-a"}, {"Name": "md-a"}], "AllowAutoTopicCreation": False})
        if v >= 8:
            ask(sc, METADATA, v, {"Topics": [{"Name": "md-a"}], "AllowAutoTopicCreation": False,
                                  "IncludeClusterAuthorizedOperations": True,
                                  "IncludeTopicAuthorizedOperations": True})
        if v >= 10:
            ask(sc, METADATA, v, per_side(lambda s: {"Topics": [{"TopicId": topic_id(s, "md-a"), "Name": None}],
                                                     "AllowAutoTopicCreation": False}))
            ask(sc, METADATA, v, {"Topics": [{"TopicId": uuid.uuid4(), "Name": None}],
                                  "AllowAutoTopicCreation": False})
        # No topics: v0 [] means all topics, v1+ [] means none.
        ask(sc, METADATA, v, {"Topics": [], "AllowAutoTopicCreation": False})
    # Auto-creation by Metadata (v4+ asks for it explicitly).
    for v in [x for x in common(METADATA) if x >= 4][:1] + [max(common(METADATA))]:
        name = "md-auto-%d" % v
        ask(sc, METADATA, v, {"Topics": [{"Name": name}], "AllowAutoTopicCreation": True})
        wait_both("auto-created " + name, METADATA, v, {"Topics": [{"Name": name}], "AllowAutoTopicCreation": False},
                  lambda a: a["Topics"][0]["ErrorCode"] == 0 and a["Topics"][0]["Partitions"]
                  and a["Topics"][0]["Partitions"][0]["ErrorCode"] == 0)
        ask(sc, METADATA, v, {"Topics": [{"Name": name}], "AllowAutoTopicCreation": False})


def scenario_create_topics(sc):
    for v in common(CREATE_TOPICS):
        p = "ct%d-" % v
        body = {"Topics": [
            {"Name": p + "ok", "NumPartitions": 2, "ReplicationFactor": 1,
             "Configs": [{"Name": "cleanup.policy", "Value": "compact"},
                         {"Name": "retention.ms", "Value": "3600000"}]},
            {"Name": p + "bad name", "NumPartitions": 1, "ReplicationFactor": 1},
            {"Name": p + "rf3", "NumPartitions": 1, "ReplicationFactor": 3},
            {"Name": p + "zero", "NumPartitions": 0, "ReplicationFactor": 1},
            {"Name": p + "badcfg", "NumPartitions": 1, "ReplicationFactor": 1,
             "Configs": [{"Name": "retention.ms", "Value": "soon"}]},
            {"Name": p + "unknowncfg", "NumPartitions": 1, "ReplicationFactor": 1,
             "Configs": [{"Name": "no.such.config", "Value": "1"}]},
            {"Name": p + "assigned", "NumPartitions": -1, "ReplicationFactor": -1,
             "Assignments": [{"PartitionIndex": 0, "BrokerIds": [1]}, {"PartitionIndex": 1, "BrokerIds": [1]}]},
            {"Name": p + "badassign", "NumPartitions": -1, "ReplicationFactor": -1,
             "Assignments": [{"PartitionIndex": 0, "BrokerIds": [7]}]},
            {"Name": "__" + p + "x" * 250, "NumPartitions": 1, "ReplicationFactor": 1},
        ], "timeoutMs": 30000}
        if v >= 4:
            body["Topics"].append({"Name": p + "defaults", "NumPartitions": -1, "ReplicationFactor": -1})
        ask(sc, CREATE_TOPICS, v, body)
        ask(sc, CREATE_TOPICS, v, {"Topics": [{"Name": p + "ok", "NumPartitions": 2, "ReplicationFactor": 1}],
                                   "timeoutMs": 30000})
        ask(sc, CREATE_TOPICS, v, {"Topics": [{"Name": p + "dup", "NumPartitions": 1, "ReplicationFactor": 1},
                                              {"Name": p + "dup", "NumPartitions": 1, "ReplicationFactor": 1}],
                                   "timeoutMs": 30000})
        ask(sc, CREATE_TOPICS, v, {"Topics": [{"Name": p + "validate", "NumPartitions": 4, "ReplicationFactor": 1}],
                                   "timeoutMs": 30000, "validateOnly": True})
        ask(sc, CREATE_TOPICS, v, {"Topics": [], "timeoutMs": 30000})


def scenario_delete_topics(sc):
    for v in common(DELETE_TOPICS):
        name = "dt%d" % v
        create_topic(name)
        if v >= 6:
            ask(sc, DELETE_TOPICS, v, per_side(lambda s: {"Topics": [{"Name": None, "TopicId": topic_id(s, name)}],
                                                          "TimeoutMs": 30000}))
            ask(sc, DELETE_TOPICS, v, {"Topics": [{"Name": None, "TopicId": uuid.uuid4()}], "TimeoutMs": 30000})
            ask(sc, DELETE_TOPICS, v, {"Topics": [{"Name": "dt-missing", "TopicId": uuid.UUID(int=0)}],
                                       "TimeoutMs": 30000})
        else:
            ask(sc, DELETE_TOPICS, v, {"TopicNames": [name, "dt-missing"], "TimeoutMs": 30000})
        ask(sc, DELETE_TOPICS, v, {"TopicNames": [], "Topics": [], "TimeoutMs": 30000})


def scenario_create_partitions(sc):
    for v in common(CREATE_PARTITIONS):
        name = "cp%d" % v
        create_topic(name, 1)
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [{"Name": name, "Count": 3, "Assignments": None}],
                                       "TimeoutMs": 30000, "ValidateOnly": True})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [{"Name": name, "Count": 3, "Assignments": None}],
                                       "TimeoutMs": 30000, "ValidateOnly": False})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [
            {"Name": name, "Count": 2, "Assignments": None},
            {"Name": "cp-missing", "Count": 2, "Assignments": None}], "TimeoutMs": 30000})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [{"Name": name, "Count": 3, "Assignments": None}],
                                       "TimeoutMs": 30000})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [{"Name": name, "Count": 5,
                                                   "Assignments": [{"BrokerIds": [1]}, {"BrokerIds": [9]}]}],
                                       "TimeoutMs": 30000})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [{"Name": name, "Count": 5, "Assignments": [{"BrokerIds": [1]}]}],
                                       "TimeoutMs": 30000})
        ask(sc, CREATE_PARTITIONS, v, {"Topics": [], "TimeoutMs": 30000})
        ask(sc, METADATA, max(common(METADATA)), {"Topics": [{"Name": name}], "AllowAutoTopicCreation": False})


def scenario_describe_configs(sc):
    create_topic("dc-a", 1, {"retention.ms": "7200000", "cleanup.policy": "compact"})
    for v in common(DESCRIBE_CONFIGS):
        for synonyms in (False, True):
            ask(sc, DESCRIBE_CONFIGS, v, {"Resources": [
                {"ResourceType": 2, "ResourceName": "dc-a",
                 "ConfigurationKeys": ["retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes",
                                       "min.insync.replicas", "compression.type", "no.such.key"]}],
                "IncludeSynonyms": synonyms, "IncludeDocumentation": False})
        resources = [
            {"ResourceType": 2, "ResourceName": "dc-missing", "ConfigurationKeys": None},
            {"ResourceType": 2, "ResourceName": "", "ConfigurationKeys": None},
            {"ResourceType": 4, "ResourceName": "1", "ConfigurationKeys": ["num.partitions", "log.retention.hours",
                                                                           "auto.create.topics.enable"]},
            {"ResourceType": 4, "ResourceName": "7", "ConfigurationKeys": None},
            {"ResourceType": 4, "ResourceName": "x", "ConfigurationKeys": None},
            {"ResourceType": 99, "ResourceName": "x", "ConfigurationKeys": None}]
        for r in resources:
            ask(sc, DESCRIBE_CONFIGS, v, {"Resources": [r]})
        ask(sc, DESCRIBE_CONFIGS, v, {"Resources": resources})
        ask(sc, DESCRIBE_CONFIGS, v, {"Resources": []})
        ask(sc, DESCRIBE_CONFIGS, v, {"Resources": [{"ResourceType": 2, "ResourceName": "dc-a",
                                                     "ConfigurationKeys": None}]})


def scenario_produce(sc):
    create_topic("pr", 2)
    recs = [(b"k%d" % i, b"value-%d" % i, [("h", b"x")]) for i in range(3)]
    for v in common(PRODUCE):
        b = records.batch(recs, K["ts"])
        ask(sc, PRODUCE, v, {"Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "pr", "PartitionData": [{"Index": 0, "Records": b}, {"Index": 1, "Records": b}]}]})
        ask(sc, PRODUCE, v, {"Acks": 1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "pr", "PartitionData": [{"Index": 7, "Records": b}]},
            {"Name": "pr-missing-%d" % v, "PartitionData": [{"Index": 0, "Records": b}]}]})
        ask(sc, PRODUCE, v, {"Acks": 2, "TimeoutMs": 10000, "TopicData": [
            {"Name": "pr", "PartitionData": [{"Index": 0, "Records": b}]}]})
        ask(sc, PRODUCE, v, {"Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "pr", "PartitionData": [{"Index": 0, "Records": records.batch(recs, K["ts"], bad_crc=True)}]}]})
        ask(sc, PRODUCE, v, {"Acks": -1, "TimeoutMs": 10000, "TopicData": []})
    # acks=0: no answer; the next request on the connection is answered normally.
    v = max(common(PRODUCE))
    for side in o().sides:
        side.corr += 1
        frame = K["msgs"].encode_request(PRODUCE, v, {"Acks": 0, "TimeoutMs": 1000, "TopicData": [
            {"Name": "pr", "PartitionData": [{"Index": 1, "Records": records.batch(recs, K["ts"])}]}]}, side.corr)
        side.exchange(frame, expect_answer=False)
    ask(sc, LIST_OFFSETS, max(common(LIST_OFFSETS)), {"ReplicaId": -1, "Topics": [
        {"Name": "pr", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1}, {"PartitionIndex": 1, "Timestamp": -1}]}]})


def scenario_produce_timestamps(sc):
    """Record timestamps against the topic's message.timestamp.{before,after}.max.ms defaults:
    an hour and a half in the future, a year in the past, and now."""
    create_topic("pts", 1)
    v = max(common(PRODUCE))
    for stamp in (K["ts"] + 90 * 60 * 1000, K["ts"] - 365 * 24 * 3600 * 1000, K["ts"]):
        ask(sc, PRODUCE, v, {"Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "pts", "PartitionData": [{"Index": 0, "Records": records.batch([(None, b"t", [])], stamp)}]}]})


def _produce_one(sc, v, topic, batch, partition=0):
    return ask(sc, PRODUCE, v, {"Acks": -1, "TimeoutMs": 10000, "TopicData": [
        {"Name": topic, "PartitionData": [{"Index": partition, "Records": batch}]}]})


def scenario_produce_log_append_time(sc):
    """message.timestamp.type=LogAppendTime: each broker stamps the batch with its own clock
    (the batch's timestamp type bit and max timestamp; the records keep their deltas) and
    answers LogAppendTimeMs; ListOffsets by timestamp and Fetch see the stamped batches. A
    batch the producer marked LogAppendTime is refused with a record error."""
    create_topic("plat", 1, {"message.timestamp.type": "LogAppendTime"})
    recs = [(b"k%d" % i, b"v%d" % i, []) for i in range(3)]
    for v in common(PRODUCE):
        _produce_one(sc, v, "plat", records.batch(recs, K["ts"] - 365 * 24 * 3600 * 1000))
    _produce_one(sc, max(common(PRODUCE)), "plat", records.batch(recs, K["ts"], gzip=True))
    v = max(common(PRODUCE))
    _produce_one(sc, v, "plat", records.batch(recs, K["ts"], attributes_extra=0x08))
    _produce_one(sc, v, "plat", records.batch(recs, K["ts"], attributes_extra=0x08, gzip=True))
    lv = max(common(LIST_OFFSETS))
    for stamp in (-3, -1, K["ts"] - 365 * 24 * 3600 * 1000, K["ts"] - 60000, K["ts"] + 3600 * 1000):
        ask(sc, LIST_OFFSETS, lv, {"ReplicaId": -1, "IsolationLevel": 0, "TimeoutMs": 1000, "Topics": [
            {"Name": "plat", "Partitions": [{"PartitionIndex": 0, "Timestamp": stamp}]}]})
    fv = max(common(FETCH))
    ask(sc, FETCH, fv, per_side(lambda side: _fetch_body(fv, side, "plat", [(0, 0)])))


def scenario_produce_record_errors(sc):
    """Records Kafka refuses one by one (KIP-467: RecordErrors with each one's batch index, and
    an ErrorMessage): records without a key on a compacted topic (INVALID_RECORD), CreateTime
    timestamps outside a topic's message.timestamp.{before,after}.max.ms (INVALID_TIMESTAMP),
    a producer's LogAppendTime batch on a CreateTime topic (checked at its max timestamp); and
    a batch over the topic's max.message.bytes (MESSAGE_TOO_LARGE)."""
    create_topic("pre-compact", 1, {"cleanup.policy": "compact"})
    create_topic("pre-ts", 1, {"message.timestamp.before.max.ms": "600000",
                               "message.timestamp.after.max.ms": "600000"})
    create_topic("pre-size", 1, {"max.message.bytes": "200"})
    hour = 3600 * 1000
    keyless = [(b"k0", b"v", []), (None, b"v", []), (b"k2", None, []), (None, None, [])]
    for v in common(PRODUCE):
        _produce_one(sc, v, "pre-compact", records.batch(keyless, K["ts"]))
        _produce_one(sc, v, "pre-ts", records.batch([(None, b"old", [])], K["ts"] - hour))
        _produce_one(sc, v, "pre-ts", records.batch([(None, b"new", [])], K["ts"] + hour))
    v = max(common(PRODUCE))
    _produce_one(sc, v, "pre-compact", records.batch(keyless, K["ts"], gzip=True))
    _produce_one(sc, v, "pre-compact", records.batch([(b"k", b"v", []), (b"k", None, [])], K["ts"]))
    _produce_one(sc, v, "pre-compact", records.batch([(None, b"v", [])], K["ts"] + 2 * hour))
    _produce_one(sc, v, "pre-ts", records.batch([(None, b"r%d" % i, []) for i in range(4)], K["ts"]))
    _produce_one(sc, v, "pre-ts", records.batch([(None, b"lat", [])], K["ts"] - hour, attributes_extra=0x08))
    _produce_one(sc, v, "pre-ts", records.batch([(None, b"lat", [])], K["ts"], attributes_extra=0x08))
    for vv in common(PRODUCE):
        _produce_one(sc, vv, "pre-size", records.batch([(None, b"x" * 300, [])], K["ts"]))
    _produce_one(sc, v, "pre-size", records.batch([(None, b"x" * 50, [])], K["ts"]))
    lv = max(common(LIST_OFFSETS))
    for topic in ("pre-compact", "pre-ts", "pre-size"):
        ask(sc, LIST_OFFSETS, lv, {"ReplicaId": -1, "IsolationLevel": 0, "TimeoutMs": 1000, "Topics": [
            {"Name": topic, "Partitions": [{"PartitionIndex": 0, "Timestamp": -1}]}]})


def _fetch_body(v, side, topic, partitions, session=(0, -1), isolation=0, max_wait=0):
    parts = [{"Partition": p, "FetchOffset": off, "PartitionMaxBytes": 1 << 20} for p, off in partitions]
    t = {"Topic": topic, "Partitions": parts}
    if v >= 13:
        ids = side.state.get("topic_ids", {})
        t["TopicId"] = ids.get(topic, uuid.UUID(int=0)) if not isinstance(topic, uuid.UUID) else topic
    return {"ReplicaId": -1, "MaxWaitMs": max_wait, "MinBytes": 0, "MaxBytes": 1 << 20, "IsolationLevel": isolation,
            "SessionId": session[0], "SessionEpoch": session[1], "Topics": [t], "ForgottenTopicsData": [],
            "RackId": ""}


def scenario_fetch(sc):
    create_topic("fe", 2)
    recs = [(b"key", b"v%d" % i, []) for i in range(4)]
    produce_records("fe", 0, recs)
    produce_records("fe", 0, recs[:2])
    produce_records("fe", 1, recs, gzip=True)
    for v in common(FETCH):
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 0), (1, 0)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 4)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 6)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 1000)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, -5)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(9, 0)])))
        if v >= 13:
            ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, uuid.uuid4(), [(0, 0)])))
        else:
            ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe-missing", [(0, 0)])))
        ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 0)], isolation=1)))
        body_none = per_side(lambda s: dict(_fetch_body(v, s, "fe", []), Topics=[]))
        ask(sc, FETCH, v, body_none)
        if v >= 7:
            # A new session (epoch 0), then an incremental fetch with an unknown session id.
            ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 0)], session=(0, 0))))
            ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 0)], session=(123456, 1))))
            ask(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 0)], session=(0, 5))))
            fetch_session(sc, v)


def fetch_session(sc, v):
    """A session (KIP-227): full fetch, incremental fetches, a forgotten partition, a wrong
    epoch, the session closed."""
    ka, ra = answers_of(sc, FETCH, v, per_side(lambda s: _fetch_body(v, s, "fe", [(0, 4), (1, 0)], session=(0, 0))))
    sessions = {"kafka": ka["SessionId"], "runnel": ra["SessionId"]}
    check(sessions["kafka"] != 0, "kafka opened no fetch session: %r" % ka)

    def incr(epoch, parts, forget=(), sid=None):
        def body(s):
            b = _fetch_body(v, s, "fe", parts, session=(sessions[s.name] if sid is None else sid, epoch))
            if not parts:
                b["Topics"] = []
            if forget:
                f = {"Topic": "fe", "Partitions": list(forget)}
                if v >= 13:
                    f["TopicId"] = topic_id(s, "fe")
                b["ForgottenTopicsData"] = [f]
            return b
        return body
    ask(sc, FETCH, v, incr(1, []))                # nothing changed since: an empty answer
    ask(sc, FETCH, v, incr(2, [(0, 6)]))          # fe-0 moved to its end
    ask(sc, FETCH, v, incr(3, [], forget=[1]))   # fe-1 forgotten
    ask(sc, FETCH, v, incr(3, []))                # the same epoch again: INVALID_FETCH_SESSION_EPOCH
    ask(sc, FETCH, v, incr(-1, [(0, 0)]))         # closes the session: a full answer, no session
    ask(sc, FETCH, v, incr(5, []))                # the closed session: FETCH_SESSION_ID_NOT_FOUND


def scenario_list_offsets(sc):
    create_topic("lo", 2)
    produce_records("lo", 0, [(None, b"a", []), (None, b"b", []), (None, b"c", [])])
    ts = K["ts"]
    for v in common(LIST_OFFSETS):
        stamps = [-1, -2, ts, ts + 1, ts + 2, ts + 10000, 0]
        if v >= 7:
            stamps.append(-3)
        if v >= 8:
            stamps.append(-4)
        if v >= 9:
            stamps.append(-5)
        for stamp in stamps:
            ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "IsolationLevel": 0, "TimeoutMs": 1000, "Topics": [
                {"Name": "lo", "Partitions": [{"PartitionIndex": 0, "Timestamp": stamp},
                                              {"PartitionIndex": 1, "Timestamp": stamp}]}]})
        ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "TimeoutMs": 1000, "Topics": [
            {"Name": "lo", "Partitions": [{"PartitionIndex": 5, "Timestamp": -1}]},
            {"Name": "lo-missing", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1}]}]})
        ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "TimeoutMs": 1000, "Topics": []})
        if v >= 2:
            ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "IsolationLevel": 1, "TimeoutMs": 1000, "Topics": [
                {"Name": "lo", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1}]}]})
        if v >= 4:
            for epoch in (0, 5, -1):
                ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "TimeoutMs": 1000, "Topics": [
                    {"Name": "lo", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1,
                                                   "CurrentLeaderEpoch": epoch}]}]})


def scenario_delete_records(sc):
    """DeleteRecords on a fresh topic per version (8 records in two batches): an offset inside
    a batch, a smaller one (the log start stays), one beyond the high watermark, -2, -1 (the
    high watermark), a partition named twice, a missing partition and topic, an internal topic,
    a compacted topic, no topics; then what ListOffsets and Fetch see of the new log start."""
    create_topic("dr-compact", 1, {"cleanup.policy": "compact"})
    _ready_coordinator("dr-group", 0)  # __consumer_offsets exists on both

    def body(*topics):
        return {"Topics": [{"Name": t, "Partitions": [{"PartitionIndex": p, "Offset": off} for p, off in parts]}
                           for t, parts in topics], "TimeoutMs": 10000}
    for v in common(DELETE_RECORDS):
        topic = "dr-v%d" % v
        create_topic(topic, 2)
        produce_records(topic, 0, [(None, b"r%d" % i, []) for i in range(5)])
        produce_records(topic, 0, [(None, b"s%d" % i, []) for i in range(3)])
        ask(sc, DELETE_RECORDS, v, body((topic, [(0, 3), (1, 0)])))
        ask(sc, DELETE_RECORDS, v, body((topic, [(0, 2)])))
        ask(sc, DELETE_RECORDS, v, body((topic, [(0, 9), (1, -2)])))
        lo = max(common(LIST_OFFSETS))
        ask(sc, LIST_OFFSETS, lo, {"ReplicaId": -1, "TimeoutMs": 1000, "Topics": [
            {"Name": topic, "Partitions": [{"PartitionIndex": 0, "Timestamp": -2}]}]})
        fv = max(common(FETCH))
        for offset in (2, 3, 5):
            ask(sc, FETCH, fv, per_side(lambda s, offset=offset: _fetch_body(fv, s, topic, [(0, offset)])))
        ask(sc, DELETE_RECORDS, v, body((topic, [(0, 6), (1, 0), (0, 4)])))
        ask(sc, DELETE_RECORDS, v, body((topic, [(0, -1), (7, 0)]), (topic + "-missing", [(0, 0)])))
        ask(sc, LIST_OFFSETS, lo, {"ReplicaId": -1, "TimeoutMs": 1000, "Topics": [
            {"Name": topic, "Partitions": [{"PartitionIndex": 0, "Timestamp": -2}]}]})
        ask(sc, FETCH, fv, per_side(lambda s: _fetch_body(fv, s, topic, [(0, 8)])))
        ask(sc, DELETE_RECORDS, v, body(("__consumer_offsets", [(0, 0)]), ("dr-compact", [(0, 0)])))
        ask(sc, DELETE_RECORDS, v, body())


def scenario_offset_for_leader_epoch(sc):
    """OffsetForLeaderEpoch per version: a partition with two batches and an empty one, asked
    for the current epoch, a larger one, UNDEFINED_EPOCH and one below every epoch; current
    leader epochs equal, older-unknown and newer (v2+); replica ids of a consumer and of a
    follower (v3+); an unknown partition and topic, a partition named twice, no topics; then a
    partition whose log start DeleteRecords moved."""
    create_topic("ofle", 2)
    produce_records("ofle", 0, [(None, b"a", []), (None, b"b", [])])
    produce_records("ofle", 0, [(None, b"c", [])])
    create_topic("ofle-dr", 1)
    produce_records("ofle-dr", 0, [(None, b"r%d" % i, []) for i in range(4)])
    produce_records("ofle-dr", 0, [(None, b"s%d" % i, []) for i in range(2)])
    dv = max(common(DELETE_RECORDS))
    o().both(DELETE_RECORDS, dv, {"Topics": [{"Name": "ofle-dr", "Partitions": [
        {"PartitionIndex": 0, "Offset": 5}]}], "TimeoutMs": 10000})

    def body(v, topics, replica_id=-1):
        b = {"Topics": [{"Topic": t, "Partitions": [
            dict({"Partition": p, "LeaderEpoch": e}, **({"CurrentLeaderEpoch": c} if v >= 2 else {}))
            for p, e, c in parts]} for t, parts in topics]}
        if v >= 3:
            b["ReplicaId"] = replica_id
        return b
    for v in common(OFFSET_FOR_LEADER_EPOCH):
        for epoch in (0, 1, 7, -1, -5):
            ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle", [(0, epoch, -1), (1, epoch, -1)])]))
        ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle", [(9, 0, -1)]), ("ofle-missing", [(0, 0, -1)])]))
        ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle", [(0, 0, -1), (0, 0, -1)])]))
        ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, []))
        for epoch in (0, -5, 3):
            ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle-dr", [(0, epoch, -1)])]))
        if v >= 2:
            for current in (0, 4, -1, -3):
                ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle", [(0, 0, current), (1, 2, current)])]))
        if v >= 3:
            for replica in (1, 0, 3000, -2):
                ask(sc, OFFSET_FOR_LEADER_EPOCH, v, body(v, [("ofle", [(0, 0, 0)])], replica))


def _ready_coordinator(key, key_type):
    v = max(common(FIND_COORDINATOR))
    wait_both("coordinator for %s" % key, FIND_COORDINATOR, v,
              {"KeyType": key_type, "CoordinatorKeys": [key]},
              lambda a: a["Coordinators"][0]["ErrorCode"] == 0, timeout=60)


def scenario_find_coordinator(sc):
    _ready_coordinator("fc-group", 0)
    _ready_coordinator("fc-txn", 1)
    for v in common(FIND_COORDINATOR):
        for key_type, key in ((0, "fc-group"), (1, "fc-txn"), (0, ""), (1, ""), (2, "x"), (9, "fc-group")):
            if v == 0 and key_type != 0:
                continue
            ask(sc, FIND_COORDINATOR, v, {"Key": key, "KeyType": key_type, "CoordinatorKeys": [key]})
        if v >= 4:
            ask(sc, FIND_COORDINATOR, v, {"KeyType": 0, "CoordinatorKeys": ["fc-group", "fc-other", ""]})
            ask(sc, FIND_COORDINATOR, v, {"KeyType": 0, "CoordinatorKeys": []})


PROTOCOL_META = b"\x00\x01\x00\x00\x00\x01\x00\x02gr\xff\xff\xff\xff"  # subscription to "gr"


def _join(sc, v, group, member_ids, **over):
    body = per_side(lambda s: dict({"GroupId": group, "SessionTimeoutMs": 30000, "RebalanceTimeoutMs": 30000,
                                    "MemberId": member_ids.get(s.name, ""), "ProtocolType": "consumer",
                                    "Protocols": [{"Name": "range", "Metadata": PROTOCOL_META}]}, **over))
    return ask(sc, JOIN_GROUP, v, body, parallel=True)


def ready_group(*groups):
    """Setup: each group's coordinator is loaded on both brokers (Kafka loads a
    __consumer_offsets partition some time after FindCoordinator names it)."""
    for g in groups:
        _ready_coordinator(g, 0)
        wait_both("group %s loaded" % g, OFFSET_FETCH, max(common(OFFSET_FETCH)),
                  {"GroupId": g, "Topics": None, "Groups": [{"GroupId": g, "Topics": None}]},
                  lambda a: a.get("ErrorCode", 0) == 0 and all(x["ErrorCode"] == 0 for x in a.get("Groups", [])))


def join_member(sc, v, group):
    """JoinGroup to a Stable one-member group; returns {side: (member id, generation)}."""
    ready_group(group)
    ka, ra = _join(sc, v, group, {})
    oracle.must(ka, "kafka JoinGroup")
    oracle.must(ra, "runnel JoinGroup")
    ids = {"kafka": ka["MemberId"], "runnel": ra["MemberId"]}
    if ka["ErrorCode"] == 79:  # MEMBER_ID_REQUIRED (v4+): join again with the id given
        ka, ra = _join(sc, v, group, ids)
    gens = {"kafka": ka["GenerationId"], "runnel": ra["GenerationId"]}
    expect_eq(ka["ErrorCode"], 0, "kafka JoinGroup v%d error" % v)
    return {n: (ids[n], gens[n]) for n in ids}


def _member_body(group, members, extra=None, member_field="MemberId", gen_field="GenerationId"):
    def body(side):
        mid, gen = members[side.name]
        b = {"GroupId": group, member_field: mid, gen_field: gen}
        b.update(extra(side, mid) if callable(extra) else (extra or {}))
        return b
    return body


def _sync(sc, v, group, members, **kw):
    return ask(sc, SYNC_GROUP, v, _member_body(group, members, lambda s, mid: {
        "ProtocolType": "consumer", "ProtocolName": "range",
        "Assignments": [{"MemberId": mid, "Assignment": b"\x00\x01assignment"}]}), **kw)


def scenario_join_group(sc):
    create_topic("gr", 2)
    _ready_coordinator("jg-0", 0)
    for v in common(JOIN_GROUP):
        g = "jg-%d" % v
        ready_group(g + "-t", g + "-p")
        members = join_member(sc, v, g)
        sv = min(v, max(common(SYNC_GROUP)))
        _sync(sc, sv, g, members)
        # The same member joins again with the same metadata: same generation, no rebalance.
        _join(sc, v, g, {n: m[0] for n, m in members.items()})
        # Errors: an unknown member id, a session timeout out of bounds, no protocols, another
        # protocol type, an empty group id.
        _join(sc, v, g, {"kafka": "nobody", "runnel": "nobody"})
        _join(sc, v, g + "-t", {}, SessionTimeoutMs=10)
        _join(sc, v, g + "-p", {}, Protocols=[])
        _join(sc, v, g, {}, ProtocolType="connect")
        _join(sc, v, "", {})


def scenario_sync_group(sc):
    _ready_coordinator("sg", 0)
    jv = max(common(JOIN_GROUP))
    for v in common(SYNC_GROUP):
        g = "sg-%d" % v
        members = join_member(sc, jv, g)
        _sync(sc, v, g, members)
        _sync(sc, v, g, {n: (m[0], m[1] + 5) for n, m in members.items()})
        _sync(sc, v, g, {n: ("nobody", m[1]) for n, m in members.items()})
        ready_group("sg-missing-%d" % v)
        _sync(sc, v, "sg-missing-%d" % v, members)
        if v >= 5:
            ask(sc, SYNC_GROUP, v, _member_body(g, members, lambda s, mid: {
                "ProtocolType": "connect", "ProtocolName": "range", "Assignments": []}))


def scenario_heartbeat(sc):
    _ready_coordinator("hb", 0)
    jv = max(common(JOIN_GROUP))
    g = "hb"
    ready_group("hb-missing")
    members = join_member(sc, jv, g)
    for v in common(HEARTBEAT):
        ask(sc, HEARTBEAT, v, _member_body(g, members))  # before SyncGroup: REBALANCE_IN_PROGRESS
    _sync(sc, max(common(SYNC_GROUP)), g, members)
    for v in common(HEARTBEAT):
        ask(sc, HEARTBEAT, v, _member_body(g, members))
        ask(sc, HEARTBEAT, v, _member_body(g, {n: (m[0], m[1] + 1) for n, m in members.items()}))
        ask(sc, HEARTBEAT, v, _member_body(g, {n: ("nobody", m[1]) for n, m in members.items()}))
        ask(sc, HEARTBEAT, v, _member_body("hb-missing", members))
        ask(sc, HEARTBEAT, v, _member_body("", members))


def scenario_leave_group(sc):
    _ready_coordinator("lg", 0)
    jv = max(common(JOIN_GROUP))
    ready_group("lg-missing")
    for v in common(LEAVE_GROUP):
        g = "lg-%d" % v
        members = join_member(sc, jv, g)
        _sync(sc, max(common(SYNC_GROUP)), g, members)

        def leave(mids, group=g):
            return per_side(lambda s: {"GroupId": group, "MemberId": mids[s.name],
                                       "Members": [{"MemberId": mids[s.name], "Reason": "oracle"}]})
        ask(sc, LEAVE_GROUP, v, leave({"kafka": "nobody", "runnel": "nobody"}))
        ask(sc, LEAVE_GROUP, v, leave({n: m[0] for n, m in members.items()}, "lg-missing"))
        ask(sc, LEAVE_GROUP, v, leave({n: m[0] for n, m in members.items()}))
        ask(sc, DESCRIBE_GROUPS, max(common(DESCRIBE_GROUPS)), {"Groups": [g], "IncludeAuthorizedOperations": False})
        if v >= 3:
            ask(sc, LEAVE_GROUP, v, {"GroupId": g, "Members": []})


def scenario_offset_commit_fetch(sc):
    create_topic("oc", 2)
    _ready_coordinator("oc", 0)
    jv = max(common(JOIN_GROUP))
    members = join_member(sc, jv, "oc-live")
    _sync(sc, max(common(SYNC_GROUP)), "oc-live", members)
    for v in common(OFFSET_COMMIT):
        g = "oc-%d" % v
        ready_group(g)
        topics = [{"Name": "oc", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 10 + v,
                                                  "CommittedMetadata": "m%d" % v},
                                                 {"PartitionIndex": 1, "CommittedOffset": 20,
                                                  "CommittedMetadata": None}]}]
        # A group with no members (generation -1): a simple commit.
        ask(sc, OFFSET_COMMIT, v, {"GroupId": g, "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": topics})
        ask(sc, OFFSET_COMMIT, v, {"GroupId": g, "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": [
            {"Name": "oc", "Partitions": [{"PartitionIndex": 8, "CommittedOffset": 1}]},
            {"Name": "oc-missing", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1}]}]})
        ask(sc, OFFSET_COMMIT, v, {"GroupId": g, "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": [
            {"Name": "oc", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1,
                                           "CommittedMetadata": "m" * 5000}]}]})
        ask(sc, OFFSET_COMMIT, v, {"GroupId": "", "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": topics})
        ask(sc, OFFSET_COMMIT, v, {"GroupId": g, "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": []})
        # The live group: its member and generation, a stale generation, an unknown member,
        # and no member at all.
        ask(sc, OFFSET_COMMIT, v, _member_body("oc-live", members, {"Topics": topics},
                                               gen_field="GenerationIdOrMemberEpoch"))
        ask(sc, OFFSET_COMMIT, v, _member_body("oc-live", {n: (m[0], m[1] + 3) for n, m in members.items()},
                                               {"Topics": topics}, gen_field="GenerationIdOrMemberEpoch"))
        ask(sc, OFFSET_COMMIT, v, _member_body("oc-live", {n: ("nobody", m[1]) for n, m in members.items()},
                                               {"Topics": topics}, gen_field="GenerationIdOrMemberEpoch"))
        ask(sc, OFFSET_COMMIT, v, {"GroupId": "oc-live", "GenerationIdOrMemberEpoch": -1, "MemberId": "",
                                   "Topics": topics})
    ready_group("of-missing")
    for v in common(OFFSET_FETCH):
        for g in ["oc-%d" % x for x in common(OFFSET_COMMIT)][-2:] + ["oc-live", "of-missing"]:
            parts = [0, 1, 6]
            if v >= 8:
                ask(sc, OFFSET_FETCH, v, {"Groups": [{"GroupId": g, "Topics": [
                    {"Name": "oc", "PartitionIndexes": parts},
                    {"Name": "oc-missing", "PartitionIndexes": [0]}]}], "RequireStable": True})
                ask(sc, OFFSET_FETCH, v, {"Groups": [{"GroupId": g, "Topics": None}]})
            else:
                ask(sc, OFFSET_FETCH, v, {"GroupId": g, "Topics": [
                    {"Name": "oc", "PartitionIndexes": parts},
                    {"Name": "oc-missing", "PartitionIndexes": [0]}], "RequireStable": True})
                if v >= 2:
                    ask(sc, OFFSET_FETCH, v, {"GroupId": g, "Topics": None})
        if v >= 8:
            ask(sc, OFFSET_FETCH, v, {"Groups": [{"GroupId": "oc-live", "Topics": None},
                                                 {"GroupId": "", "Topics": None}]})
            ask(sc, OFFSET_FETCH, v, {"Groups": []})
        ask(sc, OFFSET_FETCH, v, {"GroupId": "", "Groups": [], "Topics": []})


def scenario_groups_admin(sc):
    """DescribeGroups, ListGroups, DeleteGroups and OffsetDelete over the groups made above."""
    _ready_coordinator("ga", 0)
    jv = max(common(JOIN_GROUP))
    create_topic("ga", 1)
    live = join_member(sc, jv, "ga-live")
    _sync(sc, max(common(SYNC_GROUP)), "ga-live", live)
    ready_group("ga-empty-a", "ga-empty-b", "ga-empty-c", "ga-empty-d", "ga-missing")
    for g in ("ga-empty-a", "ga-empty-b", "ga-empty-c", "ga-empty-d"):
        ask(sc, OFFSET_COMMIT, max(common(OFFSET_COMMIT)), {
            "GroupId": g, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
            "Topics": [{"Name": "ga", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 3}]}]})
    for v in common(DESCRIBE_GROUPS):
        ask(sc, DESCRIBE_GROUPS, v, {"Groups": ["ga-live", "ga-empty-a", "ga-missing", ""],
                                     "IncludeAuthorizedOperations": False})
        ask(sc, DESCRIBE_GROUPS, v, {"Groups": []})
        if v >= 3:
            ask(sc, DESCRIBE_GROUPS, v, {"Groups": ["ga-live"], "IncludeAuthorizedOperations": True})
    for v in common(LIST_GROUPS):
        # Only the groups of this scenario: other scenarios' groups are listed too, and they
        # are the same on both sides, so the whole list is compared.
        ask(sc, LIST_GROUPS, v, {"StatesFilter": [], "TypesFilter": []})
        if v >= 4:
            ask(sc, LIST_GROUPS, v, {"StatesFilter": ["Stable"], "TypesFilter": []})
            ask(sc, LIST_GROUPS, v, {"StatesFilter": ["Empty", "NoSuchState"], "TypesFilter": []})
        if v >= 5:
            ask(sc, LIST_GROUPS, v, {"StatesFilter": [], "TypesFilter": ["classic"]})
            ask(sc, LIST_GROUPS, v, {"StatesFilter": [], "TypesFilter": ["consumer"]})
    for v in common(OFFSET_DELETE):
        ask(sc, OFFSET_DELETE, v, {"GroupId": "ga-empty-d", "Topics": [
            {"Name": "ga", "Partitions": [{"PartitionIndex": 0}, {"PartitionIndex": 4}]},
            {"Name": "ga-missing", "Partitions": [{"PartitionIndex": 0}]}]})
        ask(sc, OFFSET_DELETE, v, {"GroupId": "ga-live", "Topics": [
            {"Name": "ga", "Partitions": [{"PartitionIndex": 0}]}]})
        ask(sc, OFFSET_DELETE, v, {"GroupId": "ga-missing", "Topics": [
            {"Name": "ga", "Partitions": [{"PartitionIndex": 0}]}]})
    groups = ["ga-empty-a", "ga-empty-b", "ga-empty-c"]
    for i, v in enumerate(common(DELETE_GROUPS)):
        ask(sc, DELETE_GROUPS, v, {"GroupsNames": [groups[i % len(groups)], "ga-live", "ga-missing", ""]})
        ask(sc, DELETE_GROUPS, v, {"GroupsNames": []})


def scenario_describe_cluster(sc):
    for v in common(DESCRIBE_CLUSTER):
        for ops in (False, True):
            ask(sc, DESCRIBE_CLUSTER, v, {"IncludeClusterAuthorizedOperations": ops, "EndpointType": 1})
        if v >= 1:
            ask(sc, DESCRIBE_CLUSTER, v, {"IncludeClusterAuthorizedOperations": False, "EndpointType": 2})
            ask(sc, DESCRIBE_CLUSTER, v, {"IncludeClusterAuthorizedOperations": False, "EndpointType": 7})


def scenario_describe_topic_partitions(sc):
    """Every topic, named topics (unknown, invalid, internal, twice), the partition limit and
    the cursor paging through and across topics, and the requests Kafka refuses as a whole."""
    create_topic("dtp-a", 3)
    create_topic("dtp-b", 2)
    create_topic("dtp-c", 1)

    def body(topics, limit=2000, cursor=None):
        return {"Topics": [{"Name": n} for n in topics], "ResponsePartitionLimit": limit,
                "Cursor": None if cursor is None else {"TopicName": cursor[0], "PartitionIndex": cursor[1]}}
    for v in common(DESCRIBE_TOPIC_PARTITIONS):
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body([]))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-c", "dtp-a", "dtp-missing", "bad name!", "dtp-a",
                                                    "__consumer_offsets", "__transaction_state"]))
        # Paging: a topic cut short, resumed, across topics; the limit used up at a topic's end.
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-b", "dtp-c"], 2))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-b", "dtp-c"], 2, ("dtp-a", 2)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-b", "dtp-c"], 2, ("dtp-b", 1)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-missing"], 3))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body([], 4, ("dtp-a", 1)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body([], 1, ("dtp-c", 0)))
        # A cursor on a topic that does not exist (every topic), past a topic's end, near 2^31.
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body([], 3, ("dtp-aa", 5)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-b"], 10, ("dtp-a", 9)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a"], 10, ("dtp-a", 2 ** 31 - 3)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a"], 2 ** 31 - 1, ("dtp-a", 2 ** 31 - 3)))
        # Limits out of range: 0, negative, above 2000.
        for limit in (0, -1, 2 ** 31 - 1):
            ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a"], limit))
        # Refused as a whole: a cursor on a topic not named, a negative cursor partition, the
        # topic named "" without a cursor (Kafka reads the missing cursor).
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", "dtp-c", "dtp-a"], 10, ("dtp-b", 0)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a"], 10, ("dtp-a", -1)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body([], 10, ("dtp-a", -1)))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", ""]))
        ask(sc, DESCRIBE_TOPIC_PARTITIONS, v, body(["dtp-a", ""], 10, ("", 0)))


def scenario_describe_log_dirs(sc):
    """The log directory with named partitions (sizes of the same records compared exactly),
    unknown topics and partitions (left out), names repeated, and nothing named."""
    create_topic("dld-a", 3)
    create_topic("dld-b", 1)
    produce_records("dld-a", 1, [(b"k1", b"v1", []), (None, b"v2", [("h", b"1")])])
    produce_records("dld-a", 1, [(b"k3", b"v3" * 100, [])])
    produce_records("dld-b", 0, [(None, b"x", [])])

    def body(topics):
        return {"Topics": None if topics is None else [{"Topic": n, "Partitions": p} for n, p in topics]}
    for v in common(DESCRIBE_LOG_DIRS):
        ask(sc, DESCRIBE_LOG_DIRS, v, body([("dld-a", [0, 1, 2]), ("dld-b", [0])]))
        ask(sc, DESCRIBE_LOG_DIRS, v, body([("dld-b", [0, 0, 4, -1]), ("dld-missing", [0]), ("dld-a", [1]),
                                            ("dld-a", [1, 2]), ("", [0]), ("dld-a", [])]))
        ask(sc, DESCRIBE_LOG_DIRS, v, body([("dld-missing", [0])]))
        ask(sc, DESCRIBE_LOG_DIRS, v, body([]))


def scenario_describe_log_dirs_all(sc):
    """Every partition of the log directory: the topics of every scenario so far."""
    for v in common(DESCRIBE_LOG_DIRS):
        ask(sc, DESCRIBE_LOG_DIRS, v, {"Topics": None})


def scenario_elect_leaders(sc):
    """Preferred and unclean elections on one broker (never needed), unknown topics and
    partitions, every partition (null), and the requests refused as a whole."""
    create_topic("el-a", 2)

    def body(topics, etype=0, timeout=30000):
        return {"TopicPartitions": None if topics is None else
                [{"Topic": n, "Partitions": p} for n, p in topics],
                "ElectionType": etype, "TimeoutMs": timeout}
    named = [("el-a", [0, 1, 5, 0, -1]), ("el-missing", [0]), ("el-a", [1]), ("", [0]), ("el-a", [])]
    for v in common(ELECT_LEADERS):
        for etype in ((0, 1) if v >= 1 else (0,)):
            ask(sc, ELECT_LEADERS, v, body(named, etype))
        ask(sc, ELECT_LEADERS, v, body([]))
        ask(sc, ELECT_LEADERS, v, body(None))
        ask(sc, ELECT_LEADERS, v, body([("el-a", [0])], 0, 0))
        ask(sc, ELECT_LEADERS, v, body([("el-a", [0]), ("el-missing", [2])], 0, -1))
        ask(sc, ELECT_LEADERS, v, body(None, 0, 0))
        ask(sc, ELECT_LEADERS, v, body([], 0, 0))
        if v >= 1:
            ask(sc, ELECT_LEADERS, v, body(named, 7))
            ask(sc, ELECT_LEADERS, v, body(None, -1))
            ask(sc, ELECT_LEADERS, v, body([("el-a", [0])], 7, 0))


def scenario_partition_reassignments(sc):
    """AlterPartitionReassignments to this broker (accepted), to another one, to invalid replica
    lists, cancelled when none is in progress, for unknown topics and partitions, with the
    deadline passed; ListPartitionReassignments before and after (none in progress)."""
    create_topic("pr-a", 2)
    node = 1  # both brokers are node 1 (kafka_peer.py; Runnel's default node.id)

    def part(i, replicas):
        return {"PartitionIndex": i, "Replicas": replicas}

    def alter(topics, timeout=30000, allow_rf=True):
        return {"TimeoutMs": timeout, "AllowReplicationFactorChange": allow_rf,
                "Topics": [{"Name": n, "Partitions": ps} for n, ps in topics]}

    def listing(topics, timeout=30000):
        return {"TimeoutMs": timeout, "Topics": None if topics is None else
                [{"Name": n, "PartitionIndexes": p} for n, p in topics]}
    for v in common(LIST_PARTITION_REASSIGNMENTS):
        ask(sc, LIST_PARTITION_REASSIGNMENTS, v, listing(None))
        ask(sc, LIST_PARTITION_REASSIGNMENTS, v, listing([("pr-a", [0, 1, 9]), ("pr-missing", [0])]))
    mixed = [("pr-a", [part(0, [node]), part(1, None), part(0, [node + 1]), part(1, [node + 1, node, node]),
                       part(1, [node, -1]), part(0, []), part(1, [node, node + 1]), part(5, [node]),
                       part(-1, None)]),
             ("pr-missing", [part(0, [node]), part(1, None)]),
             ("pr-a", [part(1, [node])]), ("", [part(0, None)]), ("pr-b", [])]
    for v in common(ALTER_PARTITION_REASSIGNMENTS):
        for allow_rf in ((True, False) if v >= 1 else (True,)):
            ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter(mixed, allow_rf=allow_rf))
        ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter([("pr-a", [part(0, None), part(1, None)])]))
        ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter([]))
        ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter([], 0, False))
        ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter([("pr-a", [part(0, [node]), part(1, [node + 1])])], 0, False))
        ask(sc, ALTER_PARTITION_REASSIGNMENTS, v, alter([("pr-missing", [part(0, None)])], -1))
    for v in common(LIST_PARTITION_REASSIGNMENTS):
        ask(sc, LIST_PARTITION_REASSIGNMENTS, v, listing(None))
        ask(sc, LIST_PARTITION_REASSIGNMENTS, v, listing([("pr-a", [0, 1])], 0))
        ask(sc, LIST_PARTITION_REASSIGNMENTS, v, listing([]))


def txn_producer(tid):
    """Setup: the transaction coordinator of tid ready on both brokers and a producer id and
    epoch for tid from each (Kafka loads a __transaction_state partition after FindCoordinator
    already names it: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS meanwhile)."""
    _ready_coordinator(tid, 1)
    got = wait_both("InitProducerId for %s" % tid, INIT_PRODUCER_ID, max(common(INIT_PRODUCER_ID)),
                    {"TransactionalId": tid, "TransactionTimeoutMs": 60000}, lambda a: a["ErrorCode"] == 0)
    return {n: (a["ProducerId"], a["ProducerEpoch"]) for n, a in got.items()}


def txn_settled(tid):
    """Setup: Kafka writes the markers of an EndTxn after answering it (CONCURRENT_TRANSACTIONS
    meanwhile); waits until both brokers show the transaction complete."""
    wait_both("transaction %s complete" % tid, DESCRIBE_TRANSACTIONS, 0, {"TransactionalIds": [tid]},
              lambda a: a["TransactionStates"][0]["TransactionState"] in ("CompleteCommit", "CompleteAbort", "Empty"))


def _init_pid(sc, v, txn_id, timeout_ms=60000, **kw):
    ka, ra = answers_of(sc, INIT_PRODUCER_ID, v, {"TransactionalId": txn_id, "TransactionTimeoutMs": timeout_ms,
                                                  "ProducerId": -1, "ProducerEpoch": -1}, **kw)
    return {"kafka": (ka["ProducerId"], ka["ProducerEpoch"]), "runnel": (ra["ProducerId"], ra["ProducerEpoch"])}


def _ready_producer_ids():
    """Kafka hands out producer ids from blocks its controller allocates: until the first block
    is there, InitProducerId answers COORDINATOR_LOAD_IN_PROGRESS."""
    wait_both("producer ids", INIT_PRODUCER_ID, max(common(INIT_PRODUCER_ID)),
              {"TransactionalId": None, "TransactionTimeoutMs": 60000}, lambda a: a["ErrorCode"] == 0)


def scenario_idempotent_produce(sc):
    create_topic("idem", 1)
    _ready_producer_ids()
    for v in common(INIT_PRODUCER_ID):
        _init_pid(sc, v, None)
        ask(sc, INIT_PRODUCER_ID, v, {"TransactionalId": None, "TransactionTimeoutMs": 60000,
                                      "ProducerId": 12345, "ProducerEpoch": 3})
    pids = _init_pid(sc, max(common(INIT_PRODUCER_ID)), None)
    pv = max(common(PRODUCE))

    def prod(seq, epoch_delta=0, n=2, pid_delta=0):
        def body(side):
            pid, epoch = pids[side.name]
            b = records.batch([(None, b"i%d" % (seq + i), []) for i in range(n)], K["ts"],
                              producer_id=pid + pid_delta, producer_epoch=epoch + epoch_delta, base_sequence=seq)
            return {"Acks": -1, "TimeoutMs": 10000, "TopicData": [
                {"Name": "idem", "PartitionData": [{"Index": 0, "Records": b}]}]}
        return body
    ask(sc, PRODUCE, pv, prod(0))
    ask(sc, PRODUCE, pv, prod(2))
    ask(sc, PRODUCE, pv, prod(2))      # resent: the original offsets, nothing written
    ask(sc, PRODUCE, pv, prod(0))      # an older one, still in the window
    ask(sc, PRODUCE, pv, prod(9))      # a gap: OUT_OF_ORDER_SEQUENCE_NUMBER
    ask(sc, PRODUCE, pv, prod(4, epoch_delta=1))  # a new epoch must start at sequence 0
    ask(sc, PRODUCE, pv, prod(0, epoch_delta=1))
    ask(sc, PRODUCE, pv, prod(4))      # the older epoch
    ask(sc, PRODUCE, pv, prod(0, pid_delta=777))  # a producer id never handed out
    ask(sc, LIST_OFFSETS, max(common(LIST_OFFSETS)), {"ReplicaId": -1, "Topics": [
        {"Name": "idem", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1}]}]})
    for v in common(DESCRIBE_PRODUCERS):
        ka, ra = o().both(DESCRIBE_PRODUCERS, v, {"Topics": [{"Name": "idem", "PartitionIndexes": [0, 3]},
                                                             {"Name": "idem-missing", "PartitionIndexes": [0]}]})
        for a in (ka, ra):  # producers in a stable order (their ids differ between brokers)
            for t in oracle.must(a, "DescribeProducers")["Topics"]:
                for p in t["Partitions"]:
                    p["ActiveProducers"].sort(key=lambda x: (x["ProducerEpoch"], x["LastSequence"]))
        o().check(sc, "DescribeProducers", v, ka, ra)


def scenario_transactions(sc):
    create_topic("tx", 2)
    _ready_producer_ids()
    ready_group("tx-g")
    iv = max(common(INIT_PRODUCER_ID))
    for v in common(INIT_PRODUCER_ID):
        txn_producer("tx-init-%d" % v)
        _init_pid(sc, v, "tx-init-%d" % v)  # bumps the epoch
        ask(sc, INIT_PRODUCER_ID, v, {"TransactionalId": "tx-init-%d" % v, "TransactionTimeoutMs": 0})
        ask(sc, INIT_PRODUCER_ID, v, {"TransactionalId": "tx-init-%d" % v, "TransactionTimeoutMs": 3600000 * 24})
        ask(sc, INIT_PRODUCER_ID, v, {"TransactionalId": "", "TransactionTimeoutMs": 60000})
    for v in common(ADD_PARTITIONS_TO_TXN):
        tid = "tx-apt-%d" % v
        p = txn_producer(tid)
        if v <= 3:
            def apt(topics, epoch_delta=0, pid_delta=0, t=tid, p=p):
                return per_side(lambda s: {"V3AndBelowTransactionalId": t,
                                           "V3AndBelowProducerId": p[s.name][0] + pid_delta,
                                           "V3AndBelowProducerEpoch": p[s.name][1] + epoch_delta,
                                           "V3AndBelowTopics": topics})
        else:
            def apt(topics, epoch_delta=0, pid_delta=0, t=tid, p=p):
                return per_side(lambda s: {"Transactions": [{
                    "TransactionalId": t, "ProducerId": p[s.name][0] + pid_delta,
                    "ProducerEpoch": p[s.name][1] + epoch_delta, "VerifyOnly": False, "Topics": topics}]})
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0, 1]}]))
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0]}]))
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0, 7]},
                                               {"Name": "tx-missing", "Partitions": [0]}]))
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0]}], epoch_delta=-1))
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0]}], epoch_delta=1))
        ask(sc, ADD_PARTITIONS_TO_TXN, v, apt([{"Name": "tx", "Partitions": [0]}], pid_delta=555))
        ask(sc, END_TXN, max(common(END_TXN)), per_side(lambda s: {
            "TransactionalId": tid, "ProducerId": p[s.name][0], "ProducerEpoch": p[s.name][1], "Committed": False}))
    for v in common(ADD_OFFSETS_TO_TXN):
        tid = "tx-aot-%d" % v
        p = txn_producer(tid)
        body = per_side(lambda s: {"TransactionalId": tid, "ProducerId": p[s.name][0],
                                   "ProducerEpoch": p[s.name][1], "GroupId": "tx-g"})
        ask(sc, ADD_OFFSETS_TO_TXN, v, body)
        ask(sc, ADD_OFFSETS_TO_TXN, v, body)
        ask(sc, ADD_OFFSETS_TO_TXN, v, per_side(lambda s: {"TransactionalId": tid, "ProducerId": p[s.name][0],
                                                           "ProducerEpoch": p[s.name][1] + 1, "GroupId": "tx-g"}))
        ask(sc, ADD_OFFSETS_TO_TXN, v, per_side(lambda s: {"TransactionalId": "tx-unknown", "ProducerId": 1,
                                                           "ProducerEpoch": 0, "GroupId": "tx-g"}))
        tv = [x for x in common(TXN_OFFSET_COMMIT) if x <= v + 2] or common(TXN_OFFSET_COMMIT)
        for tcv in tv[-1:]:
            ask(sc, TXN_OFFSET_COMMIT, tcv, per_side(lambda s: {
                "TransactionalId": tid, "GroupId": "tx-g", "ProducerId": p[s.name][0],
                "ProducerEpoch": p[s.name][1], "Topics": [{"Name": "tx", "Partitions": [
                    {"PartitionIndex": 0, "CommittedOffset": 5, "CommittedMetadata": ""}]}]}))
        ask(sc, END_TXN, max(common(END_TXN)), per_side(lambda s: {
            "TransactionalId": tid, "ProducerId": p[s.name][0], "ProducerEpoch": p[s.name][1], "Committed": True}))
    for v in common(TXN_OFFSET_COMMIT):
        tid = "tx-toc-%d" % v
        p = txn_producer(tid)
        body = per_side(lambda s: {
            "TransactionalId": tid, "GroupId": "tx-g", "ProducerId": p[s.name][0],
            "ProducerEpoch": p[s.name][1], "GenerationIdOrMemberEpoch": -1, "MemberId": "",
            "Topics": [{"Name": "tx", "Partitions": [{"PartitionIndex": 1, "CommittedOffset": 7,
                                                      "CommittedMetadata": "t"}]}]})
        ask(sc, TXN_OFFSET_COMMIT, v, body)  # before AddOffsetsToTxn
        ask(sc, ADD_OFFSETS_TO_TXN, max(common(ADD_OFFSETS_TO_TXN)), per_side(lambda s: {
            "TransactionalId": tid, "ProducerId": p[s.name][0], "ProducerEpoch": p[s.name][1], "GroupId": "tx-g"}))
        ask(sc, TXN_OFFSET_COMMIT, v, body)
        ask(sc, TXN_OFFSET_COMMIT, v, per_side(lambda s: dict(body(s), ProducerEpoch=p[s.name][1] - 1)))
        ask(sc, END_TXN, max(common(END_TXN)), per_side(lambda s: {
            "TransactionalId": tid, "ProducerId": p[s.name][0], "ProducerEpoch": p[s.name][1], "Committed": True}))
    ask(sc, OFFSET_FETCH, max(common(OFFSET_FETCH)), {"Groups": [{"GroupId": "tx-g", "Topics": None}]})
    for v in common(END_TXN):
        tid = "tx-end-%d" % v
        p = txn_producer(tid)

        def end(commit, epoch_delta=0, t=tid, p=p):
            return per_side(lambda s: {"TransactionalId": t, "ProducerId": p[s.name][0],
                                       "ProducerEpoch": p[s.name][1] + epoch_delta, "Committed": commit})
        ask(sc, END_TXN, v, end(True))  # nothing ongoing: INVALID_TXN_STATE
        ask(sc, ADD_PARTITIONS_TO_TXN, 3, per_side(lambda s: {
            "V3AndBelowTransactionalId": tid, "V3AndBelowProducerId": p[s.name][0],
            "V3AndBelowProducerEpoch": p[s.name][1], "V3AndBelowTopics": [{"Name": "tx", "Partitions": [v % 2]}]}))
        ask(sc, PRODUCE, max(common(PRODUCE)), per_side(lambda s: {
            "TransactionalId": tid, "Acks": -1, "TimeoutMs": 10000, "TopicData": [
                {"Name": "tx", "PartitionData": [{"Index": v % 2, "Records": records.batch(
                    [(None, b"t%d" % v, [])], K["ts"], producer_id=p[s.name][0], producer_epoch=p[s.name][1],
                    base_sequence=0, transactional=True)}]}]}))
        ask(sc, END_TXN, v, end(True, epoch_delta=-1))
        ask(sc, END_TXN, v, end(v % 2 == 0))
        txn_settled(tid)
        ask(sc, END_TXN, v, end(True))
        ask(sc, END_TXN, v, per_side(lambda s: {"TransactionalId": "tx-never", "ProducerId": 4242,
                                                "ProducerEpoch": 0, "Committed": True}))
    # A transactional batch for a partition not in the transaction (Produce v11: transactions
    # v1, where it is refused; from v12 it would join the transaction); then the fenced producer.
    tid = "tx-fence"
    old = txn_producer(tid)
    ask(sc, PRODUCE, min(max(common(PRODUCE)), 11), per_side(lambda s: {
        "TransactionalId": tid, "Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "tx", "PartitionData": [{"Index": 0, "Records": records.batch(
                [(None, b"stray", [])], K["ts"], producer_id=old[s.name][0], producer_epoch=old[s.name][1],
                base_sequence=0, transactional=True)}]}]}))
    _init_pid(sc, iv, tid)
    txn_settled(tid)
    for v in common(ADD_PARTITIONS_TO_TXN)[:4]:
        ask(sc, ADD_PARTITIONS_TO_TXN, v, per_side(lambda s: {
            "V3AndBelowTransactionalId": tid, "V3AndBelowProducerId": old[s.name][0],
            "V3AndBelowProducerEpoch": old[s.name][1], "V3AndBelowTopics": [{"Name": "tx", "Partitions": [0]}]}))
    for v in common(LIST_OFFSETS)[-1:]:
        for iso in (0, 1):
            ask(sc, LIST_OFFSETS, v, {"ReplicaId": -1, "IsolationLevel": iso, "Topics": [
                {"Name": "tx", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1},
                                              {"PartitionIndex": 1, "Timestamp": -1}]}]})
    for v in common(DESCRIBE_TRANSACTIONS):
        ask(sc, DESCRIBE_TRANSACTIONS, v, {"TransactionalIds": ["tx-end-%d" % common(END_TXN)[0], "tx-fence",
                                                                "tx-unknown", ""]})
        ask(sc, DESCRIBE_TRANSACTIONS, v, {"TransactionalIds": []})
    for v in common(LIST_TRANSACTIONS):
        ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": [], "ProducerIdFilters": []})
        ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": ["Ongoing", "Bogus"], "ProducerIdFilters": []})
        if v >= 1:
            ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": [], "ProducerIdFilters": [], "DurationFilter": 3600000})
        if v >= 2:
            # The whole id must match; null and "" filter nothing; RE2's \Q...\E quoting; a
            # pattern that does not compile (with an unknown state filter beside it).
            for pattern in ("tx-end-.*", "tx-end", "tx-(end|fence).*", "\\Qtx-fence\\E", "", None):
                ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": [], "ProducerIdFilters": [],
                                               "TransactionalIdPattern": pattern})
            ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": ["CompleteCommit"], "ProducerIdFilters": [],
                                           "TransactionalIdPattern": "tx-.*"})
            ask(sc, LIST_TRANSACTIONS, v, {"StateFilters": ["Bogus"], "ProducerIdFilters": [],
                                           "TransactionalIdPattern": "tx-(unclosed"})


def scenario_transactions_v2(sc):
    """Transactions v2 (KIP-890) as a 4.x producer runs them: Produce v12+ adds its partitions
    to the transaction and TxnOffsetCommit v5+ the group's offsets partition (no
    AddPartitionsToTxn, no AddOffsetsToTxn); EndTxn v5 bumps the epoch, and its retry is
    answered with the same producer; the old epoch is fenced; an abort with nothing open bumps
    the epoch too, a commit with nothing open is INVALID_TXN_STATE."""
    create_topic("tx2", 2)
    _ready_producer_ids()
    ready_group("tx2-g")
    # Kafka answers NOT_LEADER_OR_FOLLOWER until its replica of a new partition leads.
    wait_both("tx2 partitions led", LIST_OFFSETS, max(common(LIST_OFFSETS)), {
        "ReplicaId": -1, "IsolationLevel": 0, "Topics": [{"Name": "tx2", "Partitions": [
            {"PartitionIndex": 0, "Timestamp": -1}, {"PartitionIndex": 1, "Timestamp": -1}]}]},
        lambda a: all(p["ErrorCode"] == 0 for t in a["Topics"] for p in t["Partitions"]))
    tid = "tx2"
    p = txn_producer(tid)
    pv, ev, tv = max(common(PRODUCE)), max(common(END_TXN)), max(common(TXN_OFFSET_COMMIT))

    def produce(epoch_delta, seq, part, value):
        return per_side(lambda s: {"TransactionalId": tid, "Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": "tx2", "PartitionData": [{"Index": part, "Records": records.batch(
                [(None, value, [])], K["ts"], producer_id=p[s.name][0],
                producer_epoch=p[s.name][1] + epoch_delta, base_sequence=seq, transactional=True)}]}]})

    def end(commit, epoch_delta):
        return per_side(lambda s: {"TransactionalId": tid, "ProducerId": p[s.name][0],
                                   "ProducerEpoch": p[s.name][1] + epoch_delta, "Committed": commit})

    def offsets(epoch_delta):
        return per_side(lambda s: {
            "TransactionalId": tid, "GroupId": "tx2-g", "ProducerId": p[s.name][0],
            "ProducerEpoch": p[s.name][1] + epoch_delta, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
            "Topics": [{"Name": "tx2", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1,
                                                       "CommittedMetadata": "v2"}]}]})
    ask(sc, PRODUCE, pv, produce(0, 0, 0, b"a"))
    ask(sc, PRODUCE, pv, produce(0, 0, 1, b"b"))
    ask(sc, TXN_OFFSET_COMMIT, tv, offsets(0))
    ask(sc, DESCRIBE_TRANSACTIONS, 0, {"TransactionalIds": [tid]})
    ask(sc, END_TXN, ev, end(True, 0))
    txn_settled(tid)
    ask(sc, END_TXN, ev, end(True, 0))   # the retry: NONE and the same new epoch
    ask(sc, END_TXN, ev, end(False, 0))  # the other outcome: INVALID_TXN_STATE
    ask(sc, OFFSET_FETCH, max(common(OFFSET_FETCH)), {"Groups": [{"GroupId": "tx2-g", "Topics": None}]})
    ask(sc, PRODUCE, pv, produce(0, 1, 0, b"zombie"))  # the old epoch is fenced
    ask(sc, PRODUCE, pv, produce(1, 0, 0, b"c"))
    ask(sc, TXN_OFFSET_COMMIT, tv, offsets(1))
    ask(sc, END_TXN, ev, end(False, 1))
    txn_settled(tid)
    ask(sc, END_TXN, ev, end(False, 2))  # nothing open: the abort bumps the epoch
    txn_settled(tid)
    ask(sc, END_TXN, ev, end(True, 3))   # nothing open: INVALID_TXN_STATE
    ask(sc, END_TXN, ev, end(True, 1))   # an epoch two below: PRODUCER_FENCED
    ask(sc, DESCRIBE_TRANSACTIONS, 0, {"TransactionalIds": [tid]})
    ask(sc, OFFSET_FETCH, max(common(OFFSET_FETCH)), {"Groups": [{"GroupId": "tx2-g", "Topics": None}]})
    for iso in (0, 1):
        ask(sc, LIST_OFFSETS, max(common(LIST_OFFSETS)), {"ReplicaId": -1, "IsolationLevel": iso, "Topics": [
            {"Name": "tx2", "Partitions": [{"PartitionIndex": 0, "Timestamp": -1},
                                           {"PartitionIndex": 1, "Timestamp": -1}]}]})


def _finalized(a, name):
    return next((f["MaxVersionLevel"] for f in a.get("FinalizedFeatures") or [] if f["Name"] == name), 0)


def scenario_update_features(sc):
    """UpdateFeatures: refusals (unknown feature, out of range, a lowering without a downgrade
    type, a "downgrade" upwards, metadata.version lowered, all-or-nothing), dry runs, then a real
    lowering of transaction.version that ApiVersions shows, and back to 2."""
    def upd(updates, validate_only=False):
        ups = [dict({"Feature": n, "MaxVersionLevel": lvl, "AllowDowngrade": t != 1, "UpgradeType": t})
               for n, lvl, t in updates]
        return {"timeoutMs": 60000, "FeatureUpdates": ups, "ValidateOnly": validate_only}
    for v in common(UPDATE_FEATURES):
        # v0 has no ValidateOnly (and ignores AllowDowngrade): only requests that change nothing.
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 2, 1)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 1, 1)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 3, 1)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("no.such.feature", 1, 1)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 1, 9)], True))
        ask(sc, UPDATE_FEATURES, v, upd([], True))
        if v == 0:
            continue
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 1, 2)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 1, 3)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 0, 2)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("metadata.version", 20, 2)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("metadata.version", 20, 3)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("group.version", 0, 2), ("transaction.version", 7, 1)], True))
        ask(sc, UPDATE_FEATURES, v, upd([("group.version", 1, 2)], True))
    v = max(common(UPDATE_FEATURES))
    av = max(common(API_VERSIONS))
    body = {"ClientSoftwareName": "oracle", "ClientSoftwareVersion": "1.0"}
    try:
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 1, 2)]))
        wait_both("transaction.version 1", API_VERSIONS, av, body,
                  lambda a: _finalized(a, "transaction.version") == 1)
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 0, 2)], True))
    finally:
        ask(sc, UPDATE_FEATURES, v, upd([("transaction.version", 2, 1)]))
        wait_both("transaction.version 2", API_VERSIONS, av, body,
                  lambda a: _finalized(a, "transaction.version") == 2)


def scenario_versions_out_of_range(sc):
    """Versions above both ranges (and -1): both brokers close the connection, except
    ApiVersions (checked in its own scenario). Versions Kafka has and Runnel lacks: Kafka
    answers, Runnel closes, as Kafka does for a version it does not know."""
    for key in sorted(K["runnel_ranges"]):
        if key == API_VERSIONS or key not in K["msgs"].requests:
            continue
        top = max(K["runnel_ranges"][key][1], K["kafka_ranges"].get(key, (0, -1))[1])
        for v in (top + 1, -1):
            o().ask(sc, key, v, {}, timeout=10)
    for key, (rmax, kmax) in sorted(known_runnel_bugs.MISSING_VERSIONS.items()):
        if key == API_VERSIONS:  # UNSUPPORTED_VERSION in the v0 layout, as Kafka answers v99
            ra = o().runnel.request(key, kmax, {}, timeout=10, header_version=0, decode_version=0)
            check(isinstance(ra, dict) and ra["ErrorCode"] == 35,
                  "ApiVersions v%d: Runnel answered %r, expected UNSUPPORTED_VERSION (35)" % (kmax, ra))
            continue
        ra = o().runnel.request(key, kmax, {}, timeout=10)
        if ra != CLOSED:
            raise TestFailure("%s v%d (Kafka has it, Runnel does not advertise it): Runnel answered %r "
                              "instead of closing" % (K["msgs"].api_name(key), kmax, ra))


def scenario_old_versions(sc):
    """Versions Runnel keeps that Kafka 4.4 dropped (expected_differences.OLD_VERSIONS_KEPT):
    Kafka closes the connection, Runnel answers with a body that decodes."""
    seen = []
    if os.environ.get("ORACLE_SELF_CHECK") == "1":
        return
    for key in sorted(K["runnel_ranges"]):
        rlo = K["runnel_ranges"][key][0]
        klo = K["kafka_ranges"].get(key, (0, 0))[0]
        for v in range(rlo, klo):
            ka, ra = o().both(key, v, _OLD_BODIES.get(key, {}), timeout=10)
            if ka != CLOSED:
                raise TestFailure("Kafka %s v%d: expected the connection closed, got %r"
                                  % (K["msgs"].api_name(key), v, ka))
            oracle.must(ra, "runnel %s v%d" % (K["msgs"].api_name(key), v))
            seen.append("%s v%d" % (K["msgs"].api_name(key), v))
    expected = expected_differences.OLD_VERSIONS_KEPT
    got = {}
    for s in seen:
        name, v = s.rsplit(" v", 1)
        got.setdefault(name, []).append(int(v))
    got = {k: (min(v), max(v)) for k, v in got.items()}
    expect_eq(got, expected, "old versions Runnel answers and Kafka 4.4 refuses")


_OLD_BODIES = {
    PRODUCE: {"Acks": 1, "TimeoutMs": 1000, "TopicData": []},
    FETCH: {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "Topics": []},
    LIST_OFFSETS: {"ReplicaId": -1, "Topics": []},
    OFFSET_COMMIT: {"GroupId": "old", "Topics": []},
    OFFSET_FETCH: {"GroupId": "old", "Topics": []},
    CREATE_TOPICS: {"Topics": []},
    DELETE_TOPICS: {"TopicNames": []},
    DESCRIBE_CONFIGS: {"Resources": []},
    DESCRIBE_LOG_DIRS: {"Topics": []},
}


def scenario_missing_apis(sc):
    """APIs Kafka 4.4 has and Runnel does not (known_runnel_bugs.MISSING_APIS): Runnel does
    not advertise them (checked in api_versions) and closes the connection at once, as Kafka
    does for an API key it does not know; Kafka answers."""
    for key in sorted(known_runnel_bugs.MISSING_APIS):
        kr = K["kafka_ranges"].get(key)
        check(kr is not None, "MISSING_APIS lists %d, which Kafka does not advertise" % key)
        t0 = time.monotonic()
        ra = o().runnel.request(key, kr[1], {}, timeout=10)
        dt = time.monotonic() - t0
        if ra != CLOSED or dt > 2.0:
            raise TestFailure("%s v%d: Runnel answered %r after %.1f s; expected the connection closed at once"
                              % (K["msgs"].api_name(key), kr[1], ra, dt))
    for key in (999, 32767):
        o().ask(sc, key, 0, {}, raw_frame=lambda corr, key=key: _unknown_api_frame(key, corr), timeout=10)


def _unknown_api_frame(key, corr):
    import struct
    body = struct.pack(">hhih", key, 0, corr, 6) + b"oracle" + b"\x00" * 8
    return struct.pack(">i", len(body)) + body


def scenario_metadata_all(sc):
    """The whole cluster at the end: every topic the scenarios made, on both."""
    for v in common(METADATA):
        body = {"Topics": [] if v == 0 else None, "AllowAutoTopicCreation": False}
        ask(sc, METADATA, v, body)


SCENARIOS = [
    ("api_versions", scenario_api_versions, 60),
    ("metadata", scenario_metadata, 90),
    ("create_topics", scenario_create_topics, 90),
    ("delete_topics", scenario_delete_topics, 90),
    ("create_partitions", scenario_create_partitions, 90),
    ("describe_configs", scenario_describe_configs, 60),
    ("produce", scenario_produce, 60),
    ("produce_timestamps", scenario_produce_timestamps, 30),
    ("produce_log_append_time", scenario_produce_log_append_time, 60),
    ("produce_record_errors", scenario_produce_record_errors, 60),
    ("fetch", scenario_fetch, 60),
    ("list_offsets", scenario_list_offsets, 60),
    ("delete_records", scenario_delete_records, 90),
    ("offset_for_leader_epoch", scenario_offset_for_leader_epoch, 90),
    ("find_coordinator", scenario_find_coordinator, 90),
    ("join_group", scenario_join_group, 90),
    ("sync_group", scenario_sync_group, 90),
    ("heartbeat", scenario_heartbeat, 60),
    ("leave_group", scenario_leave_group, 90),
    ("offset_commit_fetch", scenario_offset_commit_fetch, 90),
    ("groups_admin", scenario_groups_admin, 60),
    ("describe_cluster", scenario_describe_cluster, 30),
    ("describe_topic_partitions", scenario_describe_topic_partitions, 60),
    ("describe_log_dirs", scenario_describe_log_dirs, 60),
    ("elect_leaders", scenario_elect_leaders, 60),
    ("partition_reassignments", scenario_partition_reassignments, 60),
    ("idempotent_produce", scenario_idempotent_produce, 60),
    ("transactions", scenario_transactions, 120),
    ("transactions_v2", scenario_transactions_v2, 90),
    ("update_features", scenario_update_features, 60),
    ("versions_out_of_range", scenario_versions_out_of_range, 120),
    ("old_versions", scenario_old_versions, 60),
    ("missing_apis", scenario_missing_apis, 60),
    ("describe_log_dirs_all", scenario_describe_log_dirs_all, 30),
    ("metadata_all", scenario_metadata_all, 30),
]


def _wrap(name, fn):
    def step():
        ok = False
        note = ""
        for side in o().sides:
            side.close()  # a fresh connection: nothing left over from an earlier failure
        try:
            o().failures = []
            fn(name)
            o().take_failures()
            o().check_bugs_seen(name)
            ok = True
        except TestFailure as e:
            note = str(e).splitlines()[0][:200]
            raise
        finally:
            listed = sum(1 for b in known_runnel_bugs.KNOWN_BUGS if b["scenario"] == name)
            if ok and listed:
                note = "%d known Runnel bug(s) listed" % listed
            harness.record_result(SUITE, CLIENT, VERSION, name, ok, note)
    return step


def stop():
    K["kafka"].stop()
    if isinstance(K["runnel"], kafka_peer.KafkaPeer):
        K["runnel"].stop()
    print("requests compared: %d" % o().compared, flush=True)


def main():
    if os.environ.get("ORACLE_SELF_CHECK") == "1":
        # Kafka against Kafka: Runnel's bugs and gaps do not apply.
        known_runnel_bugs.KNOWN_BUGS[:] = []
        known_runnel_bugs.MISSING_APIS.clear()
        known_runnel_bugs.MISSING_VERSIONS.clear()
    harness.clear_results(SUITE)
    only = [n for n in os.environ.get("ORACLE_ONLY", "").split(",") if n]
    steps = [("start", start, 180)]
    for name, fn, limit in SCENARIOS:
        if not only or name in only:
            steps.append((name, _wrap(name, fn), limit))
    steps.append(("stop", stop, 90))
    run_tests(steps, SUITE)


if __name__ == "__main__":
    main()
