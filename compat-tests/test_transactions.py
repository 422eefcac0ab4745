#!/usr/bin/python3
"""Transactions through librdkafka's transactional producer against Runnel, driven
through the rdkafka_txn helper. Each step starts its own broker.

1. interleaved: 20 transactions of one producer, each with 5 records on each of 3
   partitions, every third one aborted. A read_committed reader sees exactly the
   committed records, at the offsets their delivery reports named, in order; a
   read_uncommitted reader sees every data record (committed and aborted) and no
   control record: per partition the transactions' offsets are contiguous and one
   offset (the marker) lies between one transaction and the next and after the last.
2. consume_transform_produce: 3000 input records; a processor consumes them in a group
   (read_committed), writes each to an output topic and commits its input offsets
   with rd_kafka_send_offsets_to_transaction every 100 records. The first run ends
   with _exit(1) after 8 transactions, holding an open transaction with 100 produced
   records and their offsets sent; a second run with the same transactional.id and
   group finishes. read_committed output: every input exactly once, in input order
   per partition; read_uncommitted output: also the 100 records of the open one.
3. fencing: producer A (transactional.id X) begins and produces; producer B starts
   with X (init_transactions), produces and commits; A's next produce and commit
   fail with a fatal fenced error. A read_committed reader sees B's records, never A's.
4. timeout: a producer with transaction.timeout.ms=5000 (broker:
   transaction.abort.timed.out.transaction.cleanup.interval.ms=500) begins, produces
   and then does nothing; another producer commits records after them. Until the
   timeout a read_committed reader stops at the first open record (the last stable
   offset); after it the broker aborts the hung transaction: the reader goes past it,
   sees the later committed records and never the hung ones, and the hung producer's
   commit fails.
5. restart: a committed and an aborted transaction are seen and hidden the same way
   after a SIGTERM restart and after a SIGKILL restart; the same transactional.id then
   initializes again and commits.

Needs RUNNEL_BIN and RDKAFKA_TXN.
"""
import collections
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
BROKER_OVERRIDES = {
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
}
# librdkafka's names for a producer fenced by a newer epoch of its transactional.id.
FENCED = ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")


# ---- helpers ----

def new_broker():
    return Broker(overrides=BROKER_OVERRIDES).start()


def create_topic(broker, topic, partitions=PARTITIONS):
    p = JsonLinesProcess([tool, "create", broker.bootstrap, topic, str(partitions)], "create-" + topic)
    expect_eq(p.wait_exit(30, "create the topic"), 0, "rdkafka_txn create %s exit status\n%s" % (topic, p.describe()))


class TxnProducer:
    """The helper's command-driven transactional producer; each command waits for its reply."""

    def __init__(self, broker, txn_id, name, txn_timeout_ms=None):
        args = [tool, "producer", broker.bootstrap, txn_id]
        if txn_timeout_ms:
            args += ["--txn-timeout-ms", str(txn_timeout_ms)]
        self.name = name
        self.p = JsonLinesProcess(args, name)
        self.pos = 0

    def _reply(self, event, timeout, what):
        i, ev = self.p.wait_for(lambda e: e["event"] == event, timeout, what, start=self.pos)
        self.pos = i + 1
        return ev

    def _ok(self, ev, what):
        if ev["error"] is not None:
            raise TestFailure("%s: %s failed: %s (%s), fatal=%s\n%s"
                              % (self.name, what, ev["error"], ev.get("reason"), ev.get("fatal"), self.p.describe()))
        return ev

    def ready(self, timeout=45):
        return self._reply("ready", timeout, "ready event (init_transactions)")

    def ready_ok(self):
        return self._ok(self.ready(), "init_transactions")

    def call(self, cmd, event, timeout=45):
        self.p.send(cmd)
        return self._reply(event, timeout, "%s event (after %r)" % (event, cmd))

    def begin(self):
        return self._ok(self.call("begin", "begun"), "begin_transaction")

    def commit(self):
        return self._ok(self.call("commit", "committed"), "commit_transaction")

    def abort(self):
        return self._ok(self.call("abort", "aborted"), "abort_transaction")

    def produce(self, topic, partition, first, count):
        """Returns (produced event, [(partition, offset, key)] acknowledged by this command)."""
        start = self.pos
        ev = self.call("produce %s %d %d %d" % (topic, partition, first, count), "produced")
        acked = [(e["partition"], e["offset"], e["key"]) for e in self.p.snapshot()[start:self.pos]
                 if e["event"] == "delivered"]
        return ev, acked

    def produce_ok(self, topic, partition, first, count):
        ev, acked = self.produce(topic, partition, first, count)
        if ev["error"] is not None or ev["delivered"] != count:
            raise TestFailure("%s: produce %d records to %s/%d: %d acknowledged, %d failed, error %s\n%s"
                              % (self.name, count, topic, partition, ev["delivered"], ev["failed"], ev["error"],
                                 self.p.describe()))
        return acked

    def exit(self):
        self.p.send("exit")
        expect_eq(self.p.wait_exit(30), 0, "%s exit status\n%s" % (self.name, self.p.describe()))

    def kill(self):
        self.p.kill()


def read(broker, topic, isolation, partitions=PARTITIONS, timeout_s=30):
    """Reads the whole topic from the beginning; returns ([(partition, offset, key)], {partition: end offset},
    monotonic time the reader was done)."""
    c = JsonLinesProcess([tool, "consume", broker.bootstrap, topic, str(partitions), isolation,
                          "--timeout-ms", str(int(timeout_s * 1000))], "read-%s-%s" % (topic, isolation))
    rc = c.wait_exit(timeout_s + 20, "read %s to its end" % topic)
    expect_eq(rc, 0, "rdkafka_txn consume %s %s exit status (3: not every partition reached its end)\n%s"
              % (topic, isolation, c.describe()))
    evs = c.snapshot()
    records = [(e["partition"], e["offset"], e["key"]) for e in evs if e["event"] == "record"]
    ends = {}
    for e in evs:
        if e["event"] == "eof":
            ends[e["partition"]] = e["offset"]
    return records, ends, evs[-1]["_t"]


def by_partition(records):
    out = {}
    for p, o, k in records:
        out.setdefault(p, []).append((o, k))
    return out


def expect_records(seen, expected, what):
    """seen: records in the order read; expected: records in any order. Per partition, the records
    read must be exactly the expected ones, in offset order."""
    got = by_partition(seen)
    want = {p: sorted(v) for p, v in by_partition(expected).items()}
    for p in sorted(set(got) | set(want)):
        g, w = got.get(p, []), want.get(p, [])
        if g != w:
            first = next((i for i in range(min(len(g), len(w))) if g[i] != w[i]), min(len(g), len(w)))
            raise TestFailure("%s, partition %d: expected %d records (offset, key), read %d; first difference at "
                              "index %d: expected %r, read %r\n  expected: %s\n  read:     %s"
                              % (what, p, len(w), len(g), first, w[first] if first < len(w) else None,
                                 g[first] if first < len(g) else None, _short(w), _short(g)))


def _short(lst, n=12):
    return repr(lst) if len(lst) <= 2 * n else "%r ... %r" % (lst[:n], lst[-n:])


# ---- 1. committed and aborted transactions interleaved ----

def interleaved():
    broker = new_broker()
    topic = "txn-mix"
    create_topic(broker, topic)
    prod = TxnProducer(broker, "mix", "mix-producer")
    prod.ready_ok()
    txns = []  # (committed?, [(partition, offset, key)])
    per_partition = 5
    for t in range(20):
        committed = t % 3 != 2
        prod.begin()
        acked = []
        for p in range(PARTITIONS):
            acked += prod.produce_ok(topic, p, t * 100 + p * 10, per_partition)
        if committed:
            prod.commit()
        else:
            prod.abort()
        txns.append((committed, acked))
    prod.exit()

    committed_records = [r for c, recs in txns if c for r in recs]
    all_records = [r for _, recs in txns for r in recs]
    # Per partition, one transaction's records are contiguous and one marker follows each.
    for p in range(PARTITIONS):
        expected_first = 0
        for t, (_, recs) in enumerate(txns):
            offs = sorted(o for pp, o, _ in recs if pp == p)
            expect_eq(offs, list(range(expected_first, expected_first + per_partition)),
                      "partition %d: offsets of transaction %d (one control marker after each earlier one)" % (p, t))
            expected_first = offs[-1] + 2
    end = {p: max(o for pp, o, _ in all_records if pp == p) + 2 for p in range(PARTITIONS)}

    seen, ends, _ = read(broker, topic, "read_committed")
    expect_records(seen, committed_records, "read_committed reader")
    expect_eq(ends, end, "read_committed reader's end offsets (last stable offset = high watermark)")
    seen, ends, _ = read(broker, topic, "read_uncommitted")
    expect_records(seen, all_records, "read_uncommitted reader (every data record, no control record)")
    expect_eq(ends, end, "read_uncommitted reader's end offsets (high watermark)")
    print("  %d committed and %d aborted records; end offsets %r" % (len(committed_records),
          len(all_records) - len(committed_records), end), flush=True)


# ---- 2. consume-transform-produce with a crash ----

CTP_INPUT = 3000
CTP_BATCH = 100
CTP_CRASH_AFTER = 8


def consume_transform_produce():
    broker = new_broker()
    src, dst = "ctp-in", "ctp-out"
    create_topic(broker, src)
    create_topic(broker, dst)
    fill = JsonLinesProcess([tool, "idempotent", broker.bootstrap, src, str(PARTITIONS), str(CTP_INPUT)], "fill-input")
    expect_eq(fill.wait_exit(60, "write the input"), 0, "input producer exit status\n%s" % fill.describe())

    def processor(name, crash):
        args = [tool, "process", broker.bootstrap, "ctp-group", src, dst, "ctp-txn", str(CTP_BATCH)]
        if crash:
            args += ["--crash-after-txns", str(CTP_CRASH_AFTER)]
        return JsonLinesProcess(args, name)

    def txn_errors(p):
        # Connection-level reports are librdkafka's to retry; anything else is a finding.
        benign = ("_TRANSPORT", "_ALL_BROKERS_DOWN")
        return [e for e in p.snapshot() if e["event"] == "error" and (e["fatal"] or e["code"] not in benign)]

    first = processor("processor-1", crash=True)
    rc = first.wait_exit(60, "crash after %d transactions" % CTP_CRASH_AFTER)
    evs = first.snapshot()
    crashing = [e for e in evs if e["event"] == "crashing"]
    check(rc == 1 and len(crashing) == 1,
          "processor-1: expected exit status 1 after a crashing event, got status %s\n%s" % (rc, first.describe()))
    expect_eq((crashing[0]["txns"], crashing[0]["records"]), (CTP_CRASH_AFTER, CTP_BATCH),
              "processor-1: committed transactions and records of the open one at the crash")
    committed_first = max([e["total"] for e in evs if e["event"] == "txn"] or [0])
    expect_eq(committed_first, CTP_CRASH_AFTER * CTP_BATCH, "processor-1: records committed before the crash")

    # The open transaction holds back the output for read_committed readers.
    seen, _, _ = read(broker, dst, "read_committed")
    expect_eq(len(seen), committed_first,
              "read_committed output records while the crashed run's transaction is open")

    second = processor("processor-2", crash=False)
    remaining = CTP_INPUT - committed_first
    second.wait_for(lambda e: e["event"] == "txn" and e["total"] >= remaining, 60,
                    "transactions covering the %d remaining input records" % remaining)
    second.send("close")
    second.wait_for(lambda e: e["event"] == "closed", 30, "closed event")
    expect_eq(second.wait_exit(30), 0, "processor-2 exit status\n%s" % second.describe())
    errs = txn_errors(second)
    check(not errs, "processor-2 reported errors: %r\n%s" % (errs[:5], second.describe()))
    total_second = max(e["total"] for e in second.snapshot() if e["event"] == "txn")
    expect_eq(total_second, remaining, "records processed by processor-2 (input not committed by processor-1)")

    seen, _, _ = read(broker, dst, "read_committed")
    keys = [k for _, _, k in seen]
    dups = sorted(k for k, n in collections.Counter(keys).items() if n > 1)
    check(not dups, "read_committed output: %d inputs written more than once, e.g. %r" % (len(dups), dups[:10]))
    missing = sorted(set("s-%d" % i for i in range(CTP_INPUT)) - set(keys))
    check(not missing, "read_committed output: %d inputs missing, e.g. %r" % (len(missing), missing[:10]))
    expect_eq(len(keys), CTP_INPUT, "read_committed output records")
    for p, recs in by_partition(seen).items():
        seqs = [int(k[2:]) for _, k in recs]
        check(all(s % PARTITIONS == p for s in seqs), "output partition %d holds inputs of other partitions" % p)
        check(seqs == sorted(seqs), "output partition %d is not in input order: %s" % (p, _short(seqs)))
    seen_all, _, _ = read(broker, dst, "read_uncommitted")
    expect_eq(len(seen_all), CTP_INPUT + CTP_BATCH,
              "read_uncommitted output records (every input once plus the crashed run's open transaction)")


# ---- 3. zombie fencing ----

def fencing():
    broker = new_broker()
    topic = "fence"
    create_topic(broker, topic)
    a = TxnProducer(broker, "zombie", "producer-A")
    a.ready_ok()
    a.begin()
    a_acked = a.produce_ok(topic, 0, 0, 10)

    b = TxnProducer(broker, "zombie", "producer-B")
    b.ready_ok()
    b.begin()
    b_acked = b.produce_ok(topic, 0, 1000, 10)
    b_acked += b.produce_ok(topic, 1, 1100, 10)
    b.commit()

    ev, _ = a.produce(topic, 1, 100, 5)
    print("  zombie produce after the fence: %r" % {k: v for k, v in ev.items() if k != "_t"}, flush=True)
    ev = a.call("commit", "committed")
    check(ev["error"] in FENCED and ev["fatal"],
          "producer-A commit after producer-B's init_transactions: expected a fatal error in %r, got %s (%s), "
          "fatal=%s\n%s" % (FENCED, ev["error"], ev["reason"], ev["fatal"], a.p.describe()))
    a.kill()
    b.exit()

    seen, ends, _ = read(broker, topic, "read_committed")
    a_keys = {k for _, _, k in a_acked} | {"k-%d" % i for i in range(100, 105)}
    leaked = [r for r in seen if r[2] in a_keys]
    check(not leaked, "read_committed reader saw records of the fenced producer: %r" % leaked[:10])
    expect_records(seen, b_acked, "read_committed reader")


# ---- 4. a hung transaction is aborted after transaction.timeout.ms ----

TXN_TIMEOUT_MS = 5000


def timeout():
    broker = new_broker()
    topic = "hung"
    create_topic(broker, topic, 1)
    hung = TxnProducer(broker, "hung", "hung-producer", txn_timeout_ms=TXN_TIMEOUT_MS)
    hung.ready_ok()
    hung.begin()
    t_open = time.monotonic()  # the transaction starts on the broker after this
    hung_acked = hung.produce_ok(topic, 0, 0, 10)
    hung_keys = {k for _, _, k in hung_acked}
    first_hung = min(o for _, o, _ in hung_acked)

    later = TxnProducer(broker, "after-hung", "later-producer")
    later.ready_ok()
    later.begin()
    later_acked = later.produce_ok(topic, 0, 500, 10)
    later.commit()
    later.exit()

    seen, ends, t_done = read(broker, topic, "read_committed", partitions=1)
    check(not (hung_keys & {k for _, _, k in seen}), "read_committed reader saw the open transaction's records")
    if t_done < t_open + TXN_TIMEOUT_MS / 1000.0:
        expect_eq(seen, [], "read_committed records while the hung transaction is open")
        expect_eq(ends, {0: first_hung}, "read_committed end (last stable offset) while the hung transaction is open")
    else:
        print("  note: the first read ended %.1f s after the transaction began; the blocked-LSO check is skipped"
              % (t_done - t_open), flush=True)

    deadline = t_open + TXN_TIMEOUT_MS / 1000.0 + 20
    reads = 0
    while True:
        reads += 1
        seen, ends, t_done = read(broker, topic, "read_committed", partitions=1)
        leaked = [r for r in seen if r[2] in hung_keys]
        check(not leaked, "read_committed reader saw records of the timed-out transaction: %r" % leaked[:5])
        if seen:
            break
        check(time.monotonic() < deadline and reads < 40,
              "the hung transaction was not aborted within %.0f s of transaction.timeout.ms=%d: a read_committed "
              "reader still ends at %r" % (time.monotonic() - t_open, TXN_TIMEOUT_MS, ends))
        time.sleep(0.5)
    check(t_done >= t_open + TXN_TIMEOUT_MS / 1000.0,
          "the hung transaction was aborted %.2f s after it began, before transaction.timeout.ms=%d"
          % (t_done - t_open, TXN_TIMEOUT_MS))
    expect_records(seen, later_acked, "read_committed reader after the timeout")
    # The hung records, the later ones, the later commit marker and the abort marker.
    expect_eq(ends, {0: first_hung + len(hung_acked) + len(later_acked) + 2},
              "read_committed end (last stable offset = high watermark) after the timeout")
    print("  hung transaction aborted; visible %.1f s after it began" % (t_done - t_open), flush=True)

    ev = hung.call("commit", "committed")
    check(ev["error"] is not None,
          "commit of the transaction the broker aborted on timeout succeeded\n%s" % hung.p.describe())
    print("  the hung producer's late commit: %s (%s), fatal=%s" % (ev["error"], ev["reason"], ev["fatal"]),
          flush=True)
    hung.kill()


# ---- 5. committed and aborted transactions across restarts ----

def restart():
    broker = new_broker()
    topic = "durable"
    create_topic(broker, topic)
    prod = TxnProducer(broker, "durable", "durable-producer")
    prod.ready_ok()
    prod.begin()
    committed = []
    for p in range(PARTITIONS):
        committed += prod.produce_ok(topic, p, p * 10, 5)
    prod.commit()
    prod.begin()
    aborted = []
    for p in range(PARTITIONS):
        aborted += prod.produce_ok(topic, p, 100 + p * 10, 5)
    prod.abort()
    prod.exit()

    def check_state(when, extra=()):
        seen, _, _ = read(broker, topic, "read_committed")
        expect_records(seen, committed + list(extra), "read_committed reader %s" % when)
        seen, _, _ = read(broker, topic, "read_uncommitted")
        expect_records(seen, committed + aborted + list(extra), "read_uncommitted reader %s" % when)

    check_state("before the restart")
    broker.restart()
    check_state("after a SIGTERM restart")
    broker.kill()
    broker.start()
    check_state("after a SIGKILL restart")

    again = TxnProducer(broker, "durable", "durable-producer-2")
    again.ready_ok()
    again.begin()
    more = again.produce_ok(topic, 0, 1000, 5)
    again.commit()
    again.exit()
    check_state("after a new commit of the same transactional.id", extra=more)


def open_across_restart():
    """A transaction still open when the broker is killed is committed after the restart: the
    coordinator and the partitions' producer state come back from the log."""
    broker = new_broker()
    topic = "open-restart"
    create_topic(broker, topic)
    prod = TxnProducer(broker, "open-restart", "open-restart-producer")
    prod.ready_ok()
    prod.begin()
    records = []
    for p in range(PARTITIONS):
        records += prod.produce_ok(topic, p, p * 10, 5)
    seen, _, _ = read(broker, topic, "read_committed")
    expect_records(seen, [], "read_committed reader while the transaction is open")
    broker.kill()
    broker.start()
    seen, _, _ = read(broker, topic, "read_committed")
    expect_records(seen, [], "read_committed reader after the restart, before the commit")
    prod.commit()
    seen, _, _ = read(broker, topic, "read_committed")
    expect_records(seen, records, "read_committed reader after the commit that followed the restart")
    prod.exit()


if __name__ == "__main__":
    run_tests([
        ("interleaved", interleaved, 90),
        ("consume_transform_produce", consume_transform_produce, 150),
        ("fencing", fencing, 90),
        ("timeout", timeout, 90),
        ("restart", restart, 90),
        ("open_across_restart", open_across_restart, 90),
    ], "transactions",
              matrix=[("", "librdkafka transactional producer (Debian)", harness.client_version("librdkafka"))])
