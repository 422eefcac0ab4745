#!/usr/bin/python3
"""The Go clients against Runnel: franz-go (kgo and its admin client kadm), sarama and kafka-go.

The clients are driven by go-compat, a Go program in this folder (go.mod and go.sum pin the
modules) that tools/deps/go.sh builds into $RUNNEL_BUILD_DIR/go-compat/go-compat. It takes the
bootstrap address, a client name and scenario names, and prints one JSON line per scenario
(client module, version, scenario, passed, note). Each scenario is one step here and one row of
the compatibility matrix.

Scenarios (each client, where it offers the feature):
  produce_<codec>      400 keyed records with headers, every codec the client has, read back
                       with assigned partitions: each once, byte for byte, at its acknowledged
                       partition and offset
  consume_assign       partitions assigned from given offsets (and from the end)
  group_commit_resume  a group member commits half and leaves; a new one resumes exactly there
  group_rebalance_*    a second member joins while the first consumes: the partitions split,
                       nothing lost or doubled, committed offsets at the end (franz-go: its
                       default balancer, cooperative-sticky, and range, roundrobin, sticky;
                       sarama: range, roundrobin, sticky; kafka-go: its defaults)
  group_server_side_balancer  franz-go with kgo.ServerSideBalancer (KIP-848, ConsumerGroupHeartbeat)
                       and the range balancer: one member consumes and commits every record;
                       ConsumerGroupDescribe shows a consumer group with the range assignor
  group_consumer_protocol  franz-go, KIP-848 with the sticky balancer (the broker's uniform
                       assignor): three members split 6 partitions, every record consumed once
                       with commits; one member leaves, the other two take its partitions at
                       its committed offsets; a new member resumes at the committed offsets
  group_static_member  franz-go with an instance id: kept in the group when it closes, back at
                       its offsets, removed by kadm's LeaveGroup with the instance id
  idempotent_producer  franz-go (with DescribeProducers), sarama
  txn_*                transactions committed and aborted, read_committed and read_uncommitted
                       readers; consume-transform-produce (franz-go's GroupTransactSession,
                       sarama's AddMessageToTxn) with a first transaction aborted
  admin_*              the admin calls of each client that Runnel implements, with their answers
                       (admin_list_transactions_unknown_state: a state filter of unknown names
                       only matches no transaction, as in Kafka)
  missing_api_*        the admin calls whose Kafka API Runnel does not implement yet (listed in
                       missing.go): each must fail promptly the way the client reports an API
                       the broker does not offer

Scenarios that fail because of a Runnel bug stay in the suite and are listed in
EXPECTED_TO_FAIL_UNTIL_FIXED below, each with the text its failure must contain; one that starts
passing fails the step until it is removed from the list.

Environment: RUNNEL_BIN, RUNNEL_BUILD_DIR (where go-compat is), GO_COMPAT (the program itself,
instead), GO_COMPAT_CLIENTS=franz-go,sarama (a subset of the clients), COMPAT_ONLY (step names
such as franz-go.produce_gzip).
"""
import glob
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
from harness import Broker, TestFailure, run_tests  # noqa: E402

SUITE = "go"

# The scenarios go-compat must offer for each client (it is asked with `go-compat list`).
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
MISSING = ["incrementalalterconfigs", "alterconfigs", "describeacls", "createacls",
           "describeclientquotas", "describeuserscramcredentials"]
SCENARIOS = {
    "franz-go": ["produce_" + c for c in CODECS] + [
        "consume_assign", "group_commit_resume", "group_rebalance_default", "group_rebalance_range",
        "group_rebalance_roundrobin", "group_rebalance_sticky", "group_server_side_balancer",
        "group_consumer_protocol", "group_static_member", "idempotent_producer", "txn_commit_abort", "txn_group_transact_session", "admin_topics", "admin_configs",
        "admin_groups", "admin_offsets", "admin_offset_for_leader_epoch", "admin_delete_records",
        "admin_transactions",
        "admin_list_transactions_unknown_state"] + ["missing_api_" + m for m in MISSING],
    "sarama": ["produce_" + c for c in CODECS] + [
        "consume_assign", "group_commit_resume", "group_rebalance_range", "group_rebalance_roundrobin",
        "group_rebalance_sticky", "idempotent_producer", "txn_commit_abort",
        "txn_consume_transform_produce", "admin_topics", "admin_configs", "admin_groups_offsets",
        "admin_delete_records"] +
        ["missing_api_" + m for m in MISSING],
    "kafka-go": ["produce_" + c for c in CODECS] + [
        "consume_assign", "group_commit_resume", "group_rebalance_default", "admin_topics",
        "admin_configs", "admin_groups_offsets"] +
        ["missing_api_" + m for m in MISSING],
}

# (client, scenario) -> (why it fails today, a text its failure note must contain). A scenario
# here must fail with that text; when Runnel is fixed it passes and the step fails until the
# entry is removed.
EXPECTED_TO_FAIL_UNTIL_FIXED = {}

CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

STEP_TIMEOUT = 150  # go-compat bounds each scenario itself (60-90 s), this bounds the process


def go_compat():
    path = os.environ.get("GO_COMPAT")
    if not path:
        build = os.environ.get("RUNNEL_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
        path = os.path.join(build, "go-compat", "go-compat")
    if not os.access(path, os.X_OK):
        harness.skip("the Go clients' test program %s is not built (tools/deps/go.sh, run by "
                     "tools/install-deps.sh --test, builds it)" % path)
    return path


PROGRAM = go_compat()
CLIENTS = [c for c in os.environ.get("GO_COMPAT_CLIENTS", ",".join(SCENARIOS)).split(",") if c]

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        # KIP-848 groups heartbeat every 500 ms instead of 5 s, so that a reconciliation takes
        # a moment.
        _broker = Broker(overrides={"auto.create.topics.enable": "false",
                                    "group.initial.rebalance.delay.ms": "0",
                                    "group.consumer.min.heartbeat.interval.ms": "500",
                                    "group.consumer.heartbeat.interval.ms": "500"}).start()
    return _broker


def listed(client):
    p = harness.run_command([PROGRAM, "list", client], 30, "go-compat list %s" % client)
    return p.stdout.decode().split()


def check_scenario_lists():
    for client in CLIENTS:
        got = listed(client)
        harness.expect_eq(sorted(got), sorted(SCENARIOS[client]), "go-compat's scenarios of %s" % client)
    for key in EXPECTED_TO_FAIL_UNTIL_FIXED:
        harness.check(key[0] in SCENARIOS and key[1] in SCENARIOS[key[0]],
                      "EXPECTED_TO_FAIL_UNTIL_FIXED names %s %s, which is no scenario" % key)


def batch_codecs(topic):
    """The codec (attributes & 7) of every data batch in the broker's log files of a topic."""
    out = []
    for path in sorted(glob.glob(os.path.join(broker().data_dir, "%s-*" % topic, "*.log"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 23 <= len(data):
            length, = struct.unpack_from(">i", data, pos + 8)
            attributes, = struct.unpack_from(">h", data, pos + 21)
            if not attributes & 0x20:  # control batches are never compressed
                out.append(attributes & 7)
            pos += 12 + length
    return out


def check_codec(topic, codec):
    """The client really compressed: every batch in the log carries the scenario's codec."""
    harness.check(topic, "go-compat did not name the topic of %s" % codec)
    codecs = batch_codecs(topic)
    harness.check(codecs, "no record batch found in the log files of %s" % topic)
    harness.check(set(codecs) == {CODEC_IDS[codec]}, "codecs of the %d batches of %s: %s, want all %d (%s)"
                  % (len(codecs), topic, sorted(set(codecs)), CODEC_IDS[codec], codec))


MODULES = {"franz-go": "github.com/twmb/franz-go", "sarama": "github.com/IBM/sarama",
           "kafka-go": "github.com/segmentio/kafka-go"}


def run_scenario(client, scenario):
    b = broker()
    try:
        p = harness.run_command([PROGRAM, b.bootstrap, client, scenario], STEP_TIMEOUT,
                                "go-compat %s %s" % (client, scenario))
        lines = [line for line in p.stdout.decode().splitlines() if line.strip()]
        harness.check(len(lines) == 1, "go-compat printed %d lines, want 1: %r\nstderr: %s"
                      % (len(lines), lines, p.stderr.decode()[-3000:]))
        r = json.loads(lines[0])
        module = MODULES[client]
        if client == "franz-go" and scenario.startswith(("admin_", "missing_api_")):
            module = "github.com/twmb/franz-go/pkg/kadm"
        harness.expect_eq((r["client"], r["scenario"]), (module, scenario),
                          "client and scenario of go-compat's line")
        harness.check(r["version"].startswith("v"), "go-compat names no version of %s: %r"
                      % (client, r["version"]))
        b.check_alive("go-compat %s %s" % (client, scenario))
        if r["passed"] and scenario.startswith("produce_"):
            check_codec(r.get("codec_topic"), scenario[len("produce_"):])
    except (TestFailure, ValueError) as e:
        harness.record_result(SUITE, MODULES[client], "unknown", scenario, False, str(e)[:2000])
        raise TestFailure(str(e))
    expected = EXPECTED_TO_FAIL_UNTIL_FIXED.get((client, scenario))
    note = r["note"]
    if expected:
        note = "expected to fail until fixed: %s; %s" % (expected[0], r["note"])
    harness.record_result(SUITE, r["client"], r["version"], scenario, r["passed"], note)
    print("  %s %s %s: %s in %.1f s%s" % (r["client"], r["version"], scenario,
                                         "passed" if r["passed"] else "failed", r["seconds"],
                                         "" if r["passed"] else "\n  " + r["note"]), flush=True)
    if expected:
        if r["passed"]:
            raise TestFailure("%s %s passes now: remove it from EXPECTED_TO_FAIL_UNTIL_FIXED (%s)"
                              % (client, scenario, expected[0]))
        if expected[1] not in r["note"]:
            raise TestFailure("%s %s is expected to fail with %r (%s), it failed otherwise: %s"
                              % (client, scenario, expected[1], expected[0], r["note"]))
        return
    if not r["passed"]:
        raise TestFailure("%s %s: %s" % (r["client"], scenario, r["note"]))


def step(client, scenario):
    return lambda: run_scenario(client, scenario)


def main():
    harness.clear_results(SUITE)
    tests = [("scenario_lists", check_scenario_lists, 60)]
    for client in CLIENTS:
        for scenario in SCENARIOS[client]:
            tests.append(("%s.%s" % (client, scenario), step(client, scenario), STEP_TIMEOUT + 10))
    run_tests(tests, SUITE)


if __name__ == "__main__":
    main()
