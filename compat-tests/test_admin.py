#!/usr/bin/python3
"""Topic administration through a real admin client (confluent-kafka's
AdminClient, librdkafka underneath) against Runnel: CreateTopics with configs,
validate_only and refused replication factors, DescribeConfigs for a topic and
for the broker with their sources, CreatePartitions, DeleteTopics, and topic
metadata that survives a restart."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, check, expect_eq, run_tests  # noqa: E402

try:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource, NewPartitions,
                                       NewTopic)
except ImportError as e:
    harness.skip("confluent-kafka-python is not installed (%s)" % e)

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"num.partitions": "2", "log.retention.hours": "72"}).start()
    return _broker


def admin():
    return AdminClient({"bootstrap.servers": broker().bootstrap})


def error_of(future):
    try:
        future.result(timeout=20)
        return None
    except KafkaException as e:
        return e.args[0].code()


def topic_partitions(name):
    md = admin().list_topics(timeout=10)
    if name not in md.topics or md.topics[name].error is not None:
        return None
    return len(md.topics[name].partitions)


def create_topics():
    a = admin()
    fs = a.create_topics([NewTopic("adm-a", num_partitions=3, replication_factor=1,
                                   config={"retention.ms": "3600000", "cleanup.policy": "delete"})],
                         request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), None, "create adm-a")
    expect_eq(topic_partitions("adm-a"), 3, "partitions of adm-a")
    fs = a.create_topics([NewTopic("adm-a", num_partitions=1, replication_factor=1)], request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), KafkaError.TOPIC_ALREADY_EXISTS, "creating adm-a twice")
    fs = a.create_topics([NewTopic("adm-rf3", num_partitions=1, replication_factor=3)], request_timeout=15)
    expect_eq(error_of(fs["adm-rf3"]), KafkaError.INVALID_REPLICATION_FACTOR, "replication factor 3")
    fs = a.create_topics([NewTopic("adm-badcfg", num_partitions=1, replication_factor=1,
                                   config={"retention.ms": "soon"})], request_timeout=15)
    expect_eq(error_of(fs["adm-badcfg"]), KafkaError.INVALID_CONFIG, "malformed retention.ms")
    fs = a.create_topics([NewTopic("adm-unknowncfg", num_partitions=1, replication_factor=1,
                                   config={"no.such.key": "1"})], request_timeout=15)
    expect_eq(error_of(fs["adm-unknowncfg"]), KafkaError.INVALID_CONFIG, "unknown topic config key")
    fs = a.create_topics([NewTopic("adm-bad/name", num_partitions=1, replication_factor=1)], request_timeout=15)
    expect_eq(error_of(fs["adm-bad/name"]), KafkaError.TOPIC_EXCEPTION, "invalid topic name")
    fs = a.create_topics([NewTopic("adm-dry", num_partitions=1, replication_factor=1)], validate_only=True,
                         request_timeout=15)
    expect_eq(error_of(fs["adm-dry"]), None, "validate_only create")
    expect_eq(topic_partitions("adm-dry"), None, "a validate_only topic must not exist")


def describe_configs():
    a = admin()
    res = ConfigResource(ConfigResource.Type.TOPIC, "adm-a")
    entries = a.describe_configs([res], request_timeout=15)[res].result(timeout=20)
    expect_eq(entries["retention.ms"].value, "3600000", "retention.ms of adm-a")
    expect_eq(entries["retention.ms"].source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value, "source of retention.ms")
    expect_eq(entries["segment.bytes"].value, "1073741824", "segment.bytes default")
    expect_eq(entries["segment.bytes"].source, ConfigSource.DEFAULT_CONFIG.value, "source of segment.bytes")
    expect_eq(entries["cleanup.policy"].value, "delete", "cleanup.policy")
    expect_eq(entries["max.message.bytes"].value, "1048588", "max.message.bytes default")
    b = ConfigResource(ConfigResource.Type.BROKER, "1")
    entries = a.describe_configs([b], request_timeout=15)[b].result(timeout=20)
    expect_eq(entries["num.partitions"].value, "2", "broker num.partitions")
    expect_eq(entries["num.partitions"].source, ConfigSource.STATIC_BROKER_CONFIG.value, "source of num.partitions")
    expect_eq(entries["log.retention.hours"].value, "72", "broker log.retention.hours")
    expect_eq(entries["auto.create.topics.enable"].source, ConfigSource.DEFAULT_CONFIG.value,
              "source of auto.create.topics.enable")
    missing = ConfigResource(ConfigResource.Type.TOPIC, "adm-missing")
    try:
        a.describe_configs([missing], request_timeout=15)[missing].result(timeout=20)
        raise harness.TestFailure("describe_configs of a missing topic succeeded")
    except KafkaException as e:
        expect_eq(e.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART, "describe_configs of a missing topic")


def create_partitions():
    a = admin()
    fs = a.create_partitions([NewPartitions("adm-a", 5)], request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), None, "grow adm-a to 5 partitions")
    expect_eq(topic_partitions("adm-a"), 5, "partitions of adm-a after growing")
    fs = a.create_partitions([NewPartitions("adm-a", 4), NewPartitions("adm-missing", 2)], request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), KafkaError.INVALID_PARTITIONS, "shrinking adm-a")
    expect_eq(error_of(fs["adm-missing"]), KafkaError.UNKNOWN_TOPIC_OR_PART, "growing a missing topic")


def restart_keeps_topics():
    broker().restart()
    expect_eq(topic_partitions("adm-a"), 5, "partitions of adm-a after a restart")
    res = ConfigResource(ConfigResource.Type.TOPIC, "adm-a")
    a = admin()  # the client must outlive the future
    entries = a.describe_configs([res], request_timeout=15)[res].result(timeout=20)
    expect_eq(entries["retention.ms"].value, "3600000", "retention.ms of adm-a after a restart")


def delete_topics():
    a = admin()
    fs = a.delete_topics(["adm-a", "adm-missing"], request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), None, "delete adm-a")
    expect_eq(error_of(fs["adm-missing"]), KafkaError.UNKNOWN_TOPIC_OR_PART, "delete a missing topic")
    expect_eq(topic_partitions("adm-a"), None, "adm-a after deletion")
    fs = a.create_topics([NewTopic("adm-a", num_partitions=1, replication_factor=1)], request_timeout=15)
    expect_eq(error_of(fs["adm-a"]), None, "re-create adm-a")
    expect_eq(topic_partitions("adm-a"), 1, "partitions of the re-created adm-a")
    check(broker().alive(), "broker died")


def main():
    run_tests([("create_topics", create_topics, 60),
               ("describe_configs", describe_configs, 60),
               ("create_partitions", create_partitions, 60),
               ("restart_keeps_topics", restart_keeps_topics, 60),
               ("delete_topics", delete_topics, 60)], "admin",
              matrix=[("", "confluent-kafka-python AdminClient (Debian)", harness.client_version("confluent-kafka-python"))])


if __name__ == "__main__":
    main()
