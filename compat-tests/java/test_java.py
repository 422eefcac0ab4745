#!/usr/bin/python3
"""The Java client, org.apache.kafka:kafka-clients 4.4.x and 3.9.x, against Runnel.

tools/deps/java.sh builds compat-tests/java once per client version into
$RUNNEL_BUILD_DIR/java-compat/<profile>/ (classpath.txt). This suite starts one broker and one
JVM per client version (dev.runnel.compat.Main), which runs every scenario in turn and prints
one JSON line per scenario; each scenario is a step here and a row of the compatibility matrix
(suite "java", client "kafka-clients"):

  produce_codecs            default (idempotent) producer, none/gzip/snappy/lz4/zstd, keys,
                            headers, timestamps: read back exactly, per partition in order
  acks                      acks=0, 1, all
  group_range, group_cooperative_sticky
                            classic group: two members split 4 partitions, commit, a new
                            member resumes from the committed offsets, offsetsForTimes, seek
  transactions              consume-transform-produce with sendOffsetsToTransaction; aborted
                            transactions invisible to read_committed
  admin_*                   every Admin call Runnel implements, answers checked
  consumer_protocol         group.protocol=consumer (KIP-848): records read, offsets committed
  consumer_protocol_members group.protocol=consumer: 3 members (one in its own JVM, killed with
                            SIGKILL), one added; every record consumed exactly once with
                            commits, no partition owned by two members at any moment (from the
                            members' rebalance callbacks, timed), commit and resume
  group_migration           a non-empty group migrated online, as a rolling upgrade: 3 classic
                            members replaced one at a time by group.protocol=consumer ones (the
                            group becomes CONSUMER), then back (CLASSIC again), while records
                            are produced: each consumed exactly once (commits every 250 ms and
                            in the revocation callbacks), no partition owned twice, resume
  transactions_v1           the transactions scenario with transaction.version lowered to 1
                            (Admin.updateFeatures): the 4.4 producer runs transactions v1
  api_*                     calls of APIs (and versions) Runnel lacks: see EXPECTED_TO_FAIL; the
                            ones Runnel has gained since pass (api_listTransactions_idPattern)

  RUNNEL_BIN=build/server/runnel RUNNEL_BUILD_DIR=build /usr/bin/python3 compat-tests/java/test_java.py

With --kafka the same scenarios run against Apache Kafka 4.4 (compat-tests/kafka_peer.py) and
their lines are printed, to compare what the client does against Kafka itself.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import Broker, JsonLinesProcess, TestFailure, check, expect_eq, run_tests  # noqa: E402

SUITE = "java"
CLIENT = "kafka-clients"
# (Maven profile of compat-tests/java/pom.xml, name prefix of its topics and of its steps)
PROFILES = [("kafka-4.4", "k44"), ("kafka-3.9", "k39")]

COMMON = ["produce_codecs", "acks", "group_range", "group_cooperative_sticky", "transactions",
          "admin_cluster", "admin_topics", "admin_list_offsets", "admin_groups", "admin_transactions",
          "admin_errors",
          "api_incrementalAlterConfigs", "api_deleteRecords", "api_describeLogDirs",
          "api_describeReplicaLogDirs", "api_createAcls", "api_describeAcls", "api_deleteAcls",
          "api_describeUserScramCredentials", "api_alterUserScramCredentials", "api_electLeaders",
          "api_listPartitionReassignments", "api_alterPartitionReassignments",
          "api_describeClientQuotas", "api_alterClientQuotas", "api_createDelegationToken",
          "api_describeDelegationToken", "api_describeMetadataQuorum", "api_updateFeatures",
          "api_unregisterBroker", "api_abortTransaction", "api_addRaftVoter"]
ONLY = {
    "kafka-4.4": ["admin_force_terminate", "consumer_protocol", "consumer_protocol_members", "group_migration",
                  "transactions_v1",
                  "api_listConfigResources", "api_describeShareGroups",
                  "api_listShareGroupOffsets", "api_describeStreamsGroups", "api_removeRaftVoter",
                  "api_listTransactions_idPattern", "api_listOffsets_earliestPendingUpload"],
    "kafka-3.9": ["api_alterConfigs", "api_listClientMetricsResources"],
}

UNSUPPORTED = "org.apache.kafka.common.errors.UnsupportedVersionException"
# The one list of scenarios expected to fail until Runnel changes: scenario -> (what Runnel
# lacks, the exception the client ends with today). Each is checked to fail exactly so, within
# PROMPT_MS (a missing API must be reported at once, not after a timeout); one that passes
# fails the suite until it is taken off this list. What Kafka 4.4 answers instead is in the
# comment (run this file with --kafka to see it).
EXPECTED_TO_FAIL = {
    # Kafka: the new value is set and described
    "api_incrementalAlterConfigs": ("IncrementalAlterConfigs (key 44) is not implemented", UNSUPPORTED),
    "api_alterConfigs": ("AlterConfigs (key 33) is not implemented", UNSUPPORTED),
    # Kafka without an authorizer: SecurityDisabledException
    "api_createAcls": ("CreateAcls (key 30) is not implemented", UNSUPPORTED),
    "api_describeAcls": ("DescribeAcls (key 29) is not implemented", UNSUPPORTED),
    "api_deleteAcls": ("DeleteAcls (key 31) is not implemented", UNSUPPORTED),
    # Kafka: the users; the credential is stored
    "api_describeUserScramCredentials": ("DescribeUserScramCredentials (key 50) is not implemented",
                                         UNSUPPORTED),
    "api_alterUserScramCredentials": ("AlterUserScramCredentials (key 51) is not implemented", UNSUPPORTED),
    # Kafka: the quota entities; the quota is set
    "api_describeClientQuotas": ("DescribeClientQuotas (key 48) is not implemented", UNSUPPORTED),
    "api_alterClientQuotas": ("AlterClientQuotas (key 49) is not implemented", UNSUPPORTED),
    # Kafka on a PLAINTEXT listener: UnsupportedByAuthenticationException
    "api_createDelegationToken": ("CreateDelegationToken (key 38) is not implemented", UNSUPPORTED),
    "api_describeDelegationToken": ("DescribeDelegationToken (key 41) is not implemented", UNSUPPORTED),
    # Kafka: the quorum's leader
    "api_describeMetadataQuorum": ("DescribeQuorum (key 55) is not implemented", UNSUPPORTED),
    # Kafka: BrokerIdNotRegisteredException for an unknown broker id
    "api_unregisterBroker": ("UnregisterBroker (key 64) is not implemented", UNSUPPORTED),
    # Kafka: the open transaction aborted
    "api_abortTransaction": ("WriteTxnMarkers (key 27) is not implemented", UNSUPPORTED),
    # Kafka with a static quorum: UnsupportedVersionException too (kraft.version 0)
    "api_addRaftVoter": ("AddRaftVoter (key 80) is not implemented", UNSUPPORTED),
    "api_removeRaftVoter": ("RemoveRaftVoter (key 81) is not implemented", UNSUPPORTED),
    # Kafka: every topic, group and broker listed
    "api_listConfigResources": ("ListConfigResources (key 74) is not implemented", UNSUPPORTED),
    "api_listClientMetricsResources": ("ListClientMetricsResources (key 74) is not implemented",
                                       UNSUPPORTED),
    # Kafka: GroupIdNotFoundException for a group that does not exist
    "api_describeShareGroups": ("ShareGroupDescribe (key 77) is not implemented", UNSUPPORTED),
    "api_describeStreamsGroups": ("StreamsGroupDescribe (key 89) is not implemented", UNSUPPORTED),
    # Kafka: no offsets
    "api_listShareGroupOffsets": ("DescribeShareGroupOffsets (key 90) is not implemented", UNSUPPORTED),
}
PROMPT_MS = 5000
SCENARIO_WAIT = 75  # Main gives up on a scenario after 60 s and reports it

# The broker's settings: no initial rebalance delay (Kafka's default is 3 s), as in
# kafka_peer.py; for the consumer protocol (KIP-848) a 6 s session timeout, so that a killed
# member is fenced within a scenario's minute (Kafka's default and minimum are 45 s), and
# heartbeats every 500 ms (default 5 s), so that reconciliations take a moment, not 5 s each.
BROKER_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.consumer.min.session.timeout.ms": "6000",
    "group.consumer.session.timeout.ms": "6000",
    "group.consumer.min.heartbeat.interval.ms": "500",
    "group.consumer.heartbeat.interval.ms": "500",
}

_broker = None
_jvms = {}
_versions = {}


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides=BROKER_OVERRIDES).start()
    return _broker


def classpath(profile):
    build = os.environ.get("RUNNEL_BUILD_DIR",
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
    path = os.path.join(build, "java-compat", profile, "classpath.txt")
    if not os.path.exists(path):
        harness.skip("kafka-clients (%s) is not built: %s missing; run tools/install-deps.sh --test"
                     % (profile, path))
    with open(path) as f:
        return f.read().strip()


def java():
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else "java"


def scenarios(profile):
    return COMMON + ONLY[profile]


def selected(profile, prefix):
    """The scenarios to run: all, or those whose steps COMPAT_ONLY names."""
    only = [n for n in os.environ.get("COMPAT_ONLY", "").split(",") if n]
    return [n for n in scenarios(profile) if not only or "%s_%s" % (prefix, n) in only]


def jvm_command(profile, prefix, bootstrap, names):
    # One short-lived JVM: the C1 compiler only and a small heap start fast and leave the
    # second core to the broker.
    return [java(), "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath(profile),
            "dev.runnel.compat.Main", bootstrap, prefix] + names


def start_jvm(profile, prefix):
    def step():
        proc = JsonLinesProcess(jvm_command(profile, prefix, broker().bootstrap, selected(profile, prefix)),
                                "java-" + profile)
        _jvms[profile] = proc
        _, ev = proc.wait_for(lambda e: e.get("event") == "start", 30, "start line")
        _versions[profile] = ev["version"]
        check(ev["version"] == profile.split("-")[1] or ev["version"].startswith(profile.split("-")[1] + "."),
              "%s runs kafka-clients %s" % (profile, ev["version"]))
        print("  kafka-clients %s" % ev["version"], flush=True)
    return step


def scenario_step(profile, name):
    def step():
        proc = _jvms.get(profile)
        check(proc is not None, "the %s JVM did not start" % profile)
        _, ev = proc.wait_for(lambda e: e.get("event") == "result" and e.get("scenario") == name,
                              SCENARIO_WAIT, "result of %s" % name)
        version = _versions[profile]
        ok, ms = ev.get("ok"), ev.get("ms")
        what = ev.get("detail") if ok else "%s: %s" % (ev.get("error_class"), ev.get("error"))
        print("  %s (%d ms): %s" % ("ok" if ok else "failed", ms, what), flush=True)
        if name in EXPECTED_TO_FAIL:
            reason, error_class = EXPECTED_TO_FAIL[name]
            harness.record_result(SUITE, CLIENT, version, name, False, "expected to fail until: " + reason)
            check(not ok, "%s passes now (%s): remove it from EXPECTED_TO_FAIL (%s)" % (name, what, reason))
            # The client's report of a missing API: UnsupportedVersionException or a subclass
            # (UnsupportedProtocolFieldException for a field of a version the broker lacks).
            check(error_class in ev.get("error_kinds", "").split(","),
                  "%s: expected %s, seen %s" % (name, error_class, what))
            check(ms <= PROMPT_MS, "%s: the missing API was reported after %d ms (at most %d)"
                  % (name, ms, PROMPT_MS))
            return
        harness.record_result(SUITE, CLIENT, version, name, bool(ok), "" if ok else what[:300])
        if not ok:
            raise TestFailure("%s with kafka-clients %s: %s\n%s" % (name, version, what, proc.describe(3)))
    return step


def finish_jvm(profile):
    def step():
        proc = _jvms[profile]
        proc.wait_for(lambda e: e.get("event") == "done", 30, "done line")
        expect_eq(proc.wait_exit(30), 0, "exit status of the %s JVM" % profile)
    return step


def against_kafka():
    """--kafka: the same scenarios against Apache Kafka 4.4, lines printed."""
    import kafka_peer
    kafka = kafka_peer.KafkaPeer(overrides=BROKER_OVERRIDES).start()
    try:
        for profile, prefix in PROFILES:
            names = selected(profile, prefix)
            if not names:  # Main runs every scenario when none is named
                continue
            proc = JsonLinesProcess(jvm_command(profile, prefix, kafka.bootstrap, names), "java-" + profile)
            proc.wait_for(lambda e: e.get("event") == "done", 1800, "done line")
            proc.wait_exit(30)
            for ev in proc.snapshot():
                ev.pop("_t", None)
                print(profile, ev, flush=True)
    finally:
        kafka.stop()


def main():
    if shutil.which(java()) is None:
        harness.skip("no java (%s); tools/install-deps.sh --test installs openjdk-17-jdk-headless" % java())
    if "--kafka" in sys.argv[1:]:
        against_kafka()
        return
    for profile, _ in PROFILES:
        classpath(profile)
    harness.clear_results(SUITE)
    tests = []
    for profile, prefix in PROFILES:
        tests.append(("%s_start" % prefix, start_jvm(profile, prefix), 60))
        for name in scenarios(profile):
            tests.append(("%s_%s" % (prefix, name), scenario_step(profile, name), SCENARIO_WAIT + 5))
        tests.append(("%s_done" % prefix, finish_jvm(profile), 60))
    run_tests(tests, SUITE)


if __name__ == "__main__":
    main()
