#!/usr/bin/python3
"""librdkafka's idempotent producer against Runnel, through broker restarts.

1. checker: the checks of step 2 run on made-up data (a clean run, and runs with a
   duplicate, a lost acknowledged record, records out of order, a failed record
   present twice): each fault must be reported, the clean data must pass.
2. restarts: an idempotent producer (enable.idempotence=true, acks=all, a long
   message.timeout.ms) sends RECORDS (default 200,000) small records over 3
   partitions, record i to partition i % 3 with key "s-<i>". While it runs the broker
   is stopped with SIGTERM and started again on the same data directory, and later
   killed with SIGKILL and started again; librdkafka retries through both outages.
   Then the topic is read back (read_uncommitted, from the beginning) and:
   - every acknowledged record is there, at the offset its delivery report named;
   - no sequence number appears twice, anywhere;
   - per partition the sequence numbers increase with the offset (production order);
   - a record whose delivery failed may be absent or present, never twice;
   - nothing is present that the producer did not report on;
   - the producer raised no fatal error.

Needs RUNNEL_BIN and RDKAFKA_TXN.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, JsonLinesProcess, TestFailure, check, expect_eq, run_tests  # noqa: E402

tool = os.environ.get("RDKAFKA_TXN")
if not tool or not os.access(tool, os.X_OK):
    harness.skip("RDKAFKA_TXN is not set to the built rdkafka_txn helper")

PARTITIONS = 3
RECORDS = int(os.environ.get("RECORDS", "200000"))
# Paced so that the producer is still running at both restarts (about 12 s at full count).
RATE = max(1000, RECORDS // 12)
OUTAGE_S = 1.0
TOPIC = "idem"

BROKER_OVERRIDES = {
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}


def parse_seq(key):
    if not isinstance(key, str) or not key.startswith("s-") or not key[2:].isdigit():
        return None
    return int(key[2:])


def check_idempotent(count, partitions, delivered, failed, consumed, max_problems=20):
    """delivered: [(partition, offset, seq)], failed: [(partition, seq)],
    consumed: [(partition, offset, key)] in the order the consumer got them.
    Returns a list of problems (empty when everything holds)."""
    problems = []

    def problem(msg):
        problems.append(msg)

    reported = {}
    acked_at = {}
    for p, o, s in delivered:
        if s in reported:
            problem("seq %d has two delivery reports (%s and delivered at %d/%d)" % (s, reported[s], p, o))
        reported[s] = "delivered at %d/%d" % (p, o)
        if p != s % partitions:
            problem("seq %d acknowledged on partition %d, produced to %d" % (s, p, s % partitions))
        if (p, o) in acked_at:
            problem("two records acknowledged at %d/%d: seq %d and %d" % (p, o, acked_at[(p, o)], s))
        acked_at[(p, o)] = s
    for p, s in failed:
        if s in reported:
            problem("seq %d has two delivery reports (%s and failed)" % (s, reported[s]))
        reported[s] = "failed"
    missing_reports = [s for s in range(count) if s not in reported]
    if missing_reports:
        problem("%d records have no delivery report (first: seq %d)" % (len(missing_reports), missing_reports[0]))

    seen = {}
    at = {}
    last = {}
    for p, o, key in consumed:
        s = parse_seq(key)
        if s is None or not 0 <= s < count:
            problem("record at %d/%d has key %r, not one the producer wrote" % (p, o, key))
            continue
        if s in seen:
            problem("seq %d read twice: at %d/%d and at %d/%d" % (s, seen[s][0], seen[s][1], p, o))
        seen[s] = (p, o)
        if (p, o) in at:
            problem("offset %d/%d read twice" % (p, o))
        at[(p, o)] = s
        if p != s % partitions:
            problem("seq %d read from partition %d, produced to %d" % (s, p, s % partitions))
        if p in last:
            lo, ls = last[p]
            if o <= lo:
                problem("partition %d: offset %d read after offset %d" % (p, o, lo))
            if s <= ls:
                problem("partition %d: seq %d at offset %d after seq %d at offset %d (out of production order)"
                        % (p, s, o, ls, lo))
        last[p] = (o, s)
        if s not in reported:
            problem("seq %d read at %d/%d but the producer never reported on it" % (s, p, o))
    for p, o, s in delivered:
        if at.get((p, o)) != s:
            problem("acknowledged seq %d at %d/%d is missing (read there: %s)"
                    % (s, p, o, "seq %d" % at[(p, o)] if (p, o) in at else "nothing"))
    return problems[:max_problems] + (["... %d more" % (len(problems) - max_problems)]
                                      if len(problems) > max_problems else [])


def checker_self_test():
    count, parts = 30, 3
    # A clean run: offsets per partition 0.., seq i at offset i // 3 of partition i % 3.
    delivered = [(s % parts, s // parts, s) for s in range(count)]
    consumed = [(p, o, "s-%d" % s) for p in range(parts) for (pp, o, s) in delivered if pp == p]
    expect_eq(check_idempotent(count, parts, delivered, [], consumed), [], "problems in clean data")

    def expect_problem(what, delivered, failed, consumed, needle):
        got = check_idempotent(count, parts, delivered, failed, consumed)
        check(any(needle in g for g in got), "checker did not report %s; it said %r" % (what, got))

    dup = consumed + [(1, 10, "s-4")]
    expect_problem("a duplicate", delivered, [], dup, "read twice")
    lost = [c for c in consumed if c[2] != "s-7"]
    expect_problem("a lost acknowledged record", delivered, [], lost, "acknowledged seq 7")
    swapped = list(consumed)
    i, j = swapped.index((0, 1, "s-3")), swapped.index((0, 2, "s-6"))
    swapped[i], swapped[j] = (0, 1, "s-6"), (0, 2, "s-3")
    expect_problem("records out of order", [d for d in delivered if d[2] not in (3, 6)],
                   [(0, 3), (0, 6)], swapped, "out of production order")
    # seq 9 failed: absent is fine, present once is fine, present twice is not.
    d9 = [d for d in delivered if d[2] != 9]
    absent = [c for c in consumed if c[2] != "s-9"]
    expect_eq(check_idempotent(count, parts, d9, [(0, 9)], absent), [], "problems with a failed record absent")
    expect_eq(check_idempotent(count, parts, d9, [(0, 9)], consumed), [], "problems with a failed record present")
    expect_problem("a failed record present twice", d9, [(0, 9)], consumed + [(0, 10, "s-9")], "read twice")
    expect_problem("a record without report", delivered[:-1], [], consumed, "no delivery report")


# ---- the run ----

def create_topic(broker, topic, partitions):
    p = JsonLinesProcess([tool, "create", broker.bootstrap, topic, str(partitions)], "create-" + topic)
    expect_eq(p.wait_exit(30, "create the topic"), 0, "rdkafka_txn create %s exit status\n%s" % (topic, p.describe()))


def read_all(broker, topic, partitions, isolation, timeout_s=90):
    c = JsonLinesProcess([tool, "consume", broker.bootstrap, topic, str(partitions), isolation,
                          "--timeout-ms", str(int(timeout_s * 1000))], "consume-%s-%s" % (topic, isolation))
    rc = c.wait_exit(timeout_s + 20, "read the topic to its end")
    expect_eq(rc, 0, "rdkafka_txn consume %s exit status (3: not every partition reached its end)\n%s"
              % (topic, c.describe()))
    return c.snapshot()


def restarts():
    broker = Broker(overrides=BROKER_OVERRIDES, name="broker").start()
    create_topic(broker, TOPIC, PARTITIONS)
    t0 = time.monotonic()
    producer = JsonLinesProcess([tool, "idempotent", broker.bootstrap, TOPIC, str(PARTITIONS), str(RECORDS),
                                 "--rate", str(RATE)], "idempotent-producer")

    def after_reports(n, what):
        # Waits for the n-th delivery report; fails if the producer ends or fails first.
        reports = [0]

        def pred(e):
            if e["event"] in ("delivered", "failed"):
                reports[0] += 1
            return reports[0] >= n or e["event"] == "done" or (e["event"] == "error" and e.get("fatal"))

        _, ev = producer.wait_for(pred, 60, what)
        if ev["event"] == "error":
            raise TestFailure("the idempotent producer raised a fatal error before %s: %s: %s"
                              % (what, ev.get("code"), ev.get("reason")))
        check(ev["event"] != "done",
              "the producer finished before %s; it must still be running: %s\n%s"
              % (what, ev, producer.describe()))
        return sum(1 for e in producer.snapshot() if e["event"] == "delivered")

    acked = after_reports(RECORDS // 3, "a third of the records reported")
    print("  %d records acknowledged after %.1f s: SIGTERM" % (acked, time.monotonic() - t0), flush=True)
    broker.stop()
    time.sleep(OUTAGE_S)
    broker.start()
    acked = after_reports(2 * RECORDS // 3, "two thirds of the records reported")
    print("  %d records acknowledged after %.1f s: SIGKILL" % (acked, time.monotonic() - t0), flush=True)
    broker.kill()
    time.sleep(OUTAGE_S)
    broker.start()

    rc = producer.wait_exit(240, "finish producing")
    evs = producer.snapshot()
    fatal = [e for e in evs if e["event"] == "error" and e.get("fatal")]
    check(not fatal, "the idempotent producer raised a fatal error: %r\n%s" % (fatal[:3], producer.describe()))
    expect_eq(rc, 0, "idempotent producer exit status\n%s" % producer.describe())
    done = [e for e in evs if e["event"] == "done"]
    expect_eq(len(done), 1, "done events of the producer")
    delivered = [(e["partition"], e["offset"], e["seq"]) for e in evs if e["event"] == "delivered"]
    failed = [(e["partition"], e["seq"]) for e in evs if e["event"] == "failed"]
    expect_eq((done[0]["delivered"], done[0]["failed"]), (len(delivered), len(failed)),
              "producer's counts (delivered, failed) against its reports")
    print("  produced in %.1f s: %d acknowledged, %d failed%s"
          % (time.monotonic() - t0, len(delivered), len(failed),
             " (first failure: %r)" % [e for e in evs if e["event"] == "failed"][0] if failed else ""), flush=True)

    broker.check_alive("producing through two restarts")
    t1 = time.monotonic()
    consumed = [(e["partition"], e["offset"], e["key"]) for e in read_all(broker, TOPIC, PARTITIONS, "read_uncommitted")
                if e["event"] == "record"]
    print("  read back %d records in %.1f s" % (len(consumed), time.monotonic() - t1), flush=True)
    problems = check_idempotent(RECORDS, PARTITIONS, delivered, failed, consumed)
    if problems:
        raise TestFailure("%d acknowledged, %d failed, %d read back; problems:\n  %s"
                          % (len(delivered), len(failed), len(consumed), "\n  ".join(problems)))


if __name__ == "__main__":
    run_tests([
        ("checker", checker_self_test, 10),
        ("restarts", restarts, 280),
    ], "idempotence", stop_on_failure=True,
              matrix=[("", "librdkafka idempotent producer (Debian)", harness.client_version("librdkafka"))])
