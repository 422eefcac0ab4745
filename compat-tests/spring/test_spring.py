"""A Spring Boot application (spring-kafka) against Runnel, on two Boot lines: Boot 4.1
(spring-kafka 4.1) and Boot 3.5 (spring-kafka 3.3), both built by tools/deps/spring.sh from
compat-tests/spring/src into <build>/spring-compat/{boot4,boot3}/spring-compat-app.jar.

The application (see src/main/java/dev/runnel/compat/spring) declares its topics as NewTopic
beans (Boot's KafkaAdmin creates them), sends keyed records with KafkaTemplate, and listens with
a record listener of concurrency 3 on the 6-partition topic `orders`, a batch listener on
`events`, a @RetryableTopic listener on `payments` (3 attempts one second apart through
payments-retry-0 and payments-retry-1, then payments-dlt), and a transactional listener
(KafkaTransactionManager, read_committed) that reads `tx-in` and writes `tx-out` in the same
transaction; two more listeners read `tx-out` read_committed and read_uncommitted. It prints
every record it is given (and every partition assignment with its starting position) as JSON
lines, and the test checks them.

SPRING_COMPAT_PEER=kafka runs the same against Apache Kafka 4.4 (compat-tests/kafka_peer.py).

Per Boot line: phase 1 sends and checks everything exactly once; phase 2 sends again while
Runnel is restarted (SIGTERM, same data directory) in the middle of the stream, the application
running on. What phase 2 allows beyond phase 1 (at-least-once listeners):
  - a record listener's partition may be replayed only from the position it is assigned at
    after a rebalance (the group's committed offset), at most max.poll.records (100) records
    back; otherwise every partition is delivered in offset order with no gap and no repeat;
  - in the retry chain, a failing record may also be delivered again at once (the error
    handler seeks back when publishing it to the next topic failed); every copy in a retry
    topic or the DLT must come from a failed delivery in the topic before it, so the DLT holds
    every poison record, nothing else, and no more copies than failed last attempts. (A copy
    without a delivery of its own could only come from a publication whose outcome the
    producer could not know: the broker away longer than delivery.timeout.ms, 120 s; a Runnel
    restart takes seconds.)
  - the transactional output (tx-out read_committed) allows no duplicates at all: every record
    of a committed input transaction exactly once, nothing of an aborted one.
"""

import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import TestFailure, check, expect_eq  # noqa: E402

SUITE = "spring"
CLIENT = "spring-kafka"
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("RUNNEL_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
LINES = [n for n in os.environ.get("SPRING_COMPAT_LINES", "boot4,boot3").split(",") if n]
COUNT = 600            # orders per phase (events COUNT/2, payments COUNT/10, tx-in COUNT/40 txns)
PAUSE_MS = 40          # pause every 10 orders: phase 2 lasts a few seconds
MAX_POLL_RECORDS = 100  # spring.kafka.consumer.max-poll-records in application.properties
RETRY_TOPICS = ["payments", "payments-retry-0", "payments-retry-1"]
PARTITIONS = {"orders": 6, "events": 3, "payments": 2, "payments-retry-0": 2, "payments-retry-1": 2,
              "payments-dlt": 2, "tx-in": 3, "tx-out": 3}
GROUPS = {"spring-orders": "orders", "spring-events": "events", "spring-payments": "payments",
          "spring-payments-retry-0": "payments-retry-0", "spring-payments-retry-1": "payments-retry-1",
          "spring-payments-dlt": "payments-dlt", "spring-tx": "tx-in", "spring-txout-rc": "tx-out",
          "spring-txout-ru": "tx-out"}


# Scenarios expected to fail against Runnel until it implements what they need, each checked to
# fail the way it fails today; one that passes is a failure that asks to remove it from here.
# (Apache Kafka 4.4, SPRING_COMPAT_PEER=kafka, passes them all.)
EXPECTED_TO_FAIL = {}
KIP848_PROMPT_S = 20.0  # "at once": the error within this time of the container's start


def jar(line):
    return os.path.join(BUILD, "spring-compat", line, "spring-compat-app.jar")


def java():
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else "java"


# ---- what a phase sends (the same formulas as Driver.produce) ----

def expected(phase, count):
    orders = [("k%d" % (i % 12), "%s-%d" % (phase, i)) for i in range(count)]
    events = [("e%d" % (i % 5), "%s-%d" % (phase, i)) for i in range(0, count, 2)]
    payments = [("p%d" % (j % 3), ("poison-" if j % 4 == 3 else "ok-") + "%s-%d" % (phase, j))
                for j in range((count + 9) // 10)]
    return orders, events, payments


# ---- reading the report ----

def recs(ev):
    """(partition, offset, key, value) of every record an event carries."""
    if ev.get("ev") == "batch":
        return [tuple(r) for r in ev["recs"]]
    if "rec" in ev:
        return [tuple(ev["rec"])]
    return []


def of(events, kind, **match):
    return [e for e in events if e.get("ev") == kind and all(e.get(k) == v for k, v in match.items())]


def assignment(events):
    """group -> {(topic, partition): thread} after the assignment events so far."""
    owner = collections.defaultdict(dict)
    for e in events:
        if e.get("ev") == "assigned":
            for t, p, _ in e["parts"]:
                owner[e["group"]][(t, p)] = e["thread"]
        elif e.get("ev") in ("revoked", "lost"):
            for t, p in e["parts"]:
                owner[e["group"]].pop((t, p), None)
    return owner


def replay_check(events, group, topic, start, deliveries, allow_retry=False):
    """The at-least-once model of a listener on one topic: every partition is delivered in
    offset order from `start` (partition -> next offset) with no gap; a partition may go back
    only when it is assigned anew, to the position it is assigned at, at most max.poll.records
    back; with allow_retry the same offset may also come again right after it (a failed record
    the error handler seeks back to). Returns (problems, replayed records, next positions)."""
    pos = dict(start)
    last = {}
    problems = []
    replayed = 0
    for e in events:
        if e.get("ev") == "assigned" and e.get("group") == group:
            for t, p, c in e["parts"]:
                if t != topic:
                    continue
                prev = pos.get(p, 0)
                if c > prev:
                    problems.append("%s[%d] assigned at offset %d although %d was the next one not "
                                    "delivered (records skipped)" % (topic, p, c, prev))
                elif prev - c > MAX_POLL_RECORDS:
                    problems.append("%s[%d] assigned at offset %d, %d records back (more than "
                                    "max.poll.records)" % (topic, p, c, prev - c))
                replayed += max(0, prev - c)
                pos[p] = c
            continue
        for p, o, _, _ in deliveries(e):
            want = pos.get(p, 0)
            if o != want and not (allow_retry and last.get(p) == o):
                problems.append("%s[%d]: offset %d delivered where %d was next" % (topic, p, o, want))
            if allow_retry and last.get(p) == o:
                replayed += 1
            pos[p] = o + 1
            last[p] = o
    return problems, replayed, pos


def log_order(deliveries):
    """partition -> {offset: (key, value)} of every delivered record."""
    log = collections.defaultdict(dict)
    for p, o, k, v in deliveries:
        if o in log[p] and log[p][o] != (k, v):
            raise TestFailure("partition %d offset %d delivered as %r and as %r" % (p, o, log[p][o], (k, v)))
        log[p][o] = (k, v)
    return log


def key_order_problems(log, expected_pairs):
    """Each key in one partition, its records in the log in the order they were sent."""
    problems = []
    seq = {v: n for n, (_, v) in enumerate(expected_pairs)}
    where = collections.defaultdict(set)
    per_key = collections.defaultdict(list)
    for p in sorted(log):
        for o in sorted(log[p]):
            k, v = log[p][o]
            if v in seq:
                where[k].add(p)
                per_key[k].append(seq[v])
    for k, parts in where.items():
        if len(parts) != 1:
            problems.append("key %s in partitions %s" % (k, sorted(parts)))
    for k, order in per_key.items():
        if order != sorted(order):
            problems.append("key %s: records in the log out of send order: %s" % (k, order[:20]))
    return problems


def counter_problems(seen, want, what, exact):
    """seen/want: Counters of values. exact: each once; else at least once."""
    problems = []
    missing = sorted(v for v in want if seen[v] == 0)
    unexpected = sorted(v for v in seen if v not in want)
    if missing:
        problems.append("%s: %d missing, e.g. %s" % (what, len(missing), missing[:5]))
    if unexpected:
        problems.append("%s: %d unexpected, e.g. %s" % (what, len(unexpected), unexpected[:5]))
    if exact:
        dup = sorted(v for v in want if seen[v] > 1)
        if dup:
            problems.append("%s: %d delivered more than once, e.g. %s" % (what, len(dup),
                                                                            [(v, seen[v]) for v in dup[:5]]))
    return problems


def header_map(ev):
    """name -> list of raw values (Spring appends some headers once per attempt)."""
    h = collections.defaultdict(list)
    for name, hexv in ev["headers"]:
        h[name].append(bytes.fromhex(hexv))
    return h


# ---- one Boot line ----

class Line:
    def __init__(self, name):
        self.name = name
        self.version = name
        self.broker = None
        self.app = None
        self.phase_start = {}
        self.sent = {}
        self.end_pos = {}   # (group, topic) -> partition -> next offset, after phase 1

    def events(self, phase=None):
        evs = self.app.snapshot()
        if phase is None:
            return evs
        return evs[self.phase_start[phase]:]

    def describe(self):
        return self.app.describe() if self.app else ""

    # -- steps --

    def start(self):
        path = jar(self.name)
        if not os.path.exists(path):
            harness.skip("%s is missing (run tools/install-deps.sh --test, which runs tools/deps/spring.sh)" % path)
        if os.environ.get("SPRING_COMPAT_PEER") == "kafka":
            self.broker = KafkaBroker().start()
        else:
            self.broker = harness.Broker(name="runnel-" + self.name).start()
        self.app = harness.JsonLinesProcess(
            [java(), "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", path,
             "--spring.kafka.bootstrap-servers=" + self.broker.bootstrap], "spring-" + self.name)
        t0 = time.monotonic()
        _, ev = self.app.wait_for(lambda e: e.get("ev") in ("started", "exit"), 150, "application start")
        check(ev["ev"] == "started", "application exited during start-up\n" + self.describe())
        self.version = "%s (Boot %s, kafka-clients %s)" % (ev["spring_kafka"], ev["boot"], ev["kafka_clients"])
        print("  %s: spring-kafka %s, started in %.1f s" % (self.name, self.version, ev["_t"] - t0), flush=True)

        def ready():
            owner = assignment(self.app.snapshot())
            for group, topic in GROUPS.items():
                if len([1 for (t, _) in owner.get(group, {}) if t == topic]) != PARTITIONS[topic]:
                    return False
            threads = collections.Counter(owner["spring-orders"].values())
            return len(threads) == 3 and all(n == 2 for n in threads.values())
        harness.wait_until(ready, 90, "every listener assigned its partitions (orders: 2 each to 3 consumers)",
                           interval=0.2, describe=self.describe)
        print("  every listener assigned after %.1f s" % (time.monotonic() - t0), flush=True)

    def produce(self, phase, restart_at=None):
        self.phase_start[phase] = len(self.app.snapshot())
        self.app.send("produce %s %d %d" % (phase, COUNT, PAUSE_MS))
        if restart_at is not None:
            self.app.wait_for(lambda e: e.get("ev") == "progress" and e.get("phase") == phase
                              and e["i"] >= restart_at, 120, "send progress %d" % restart_at,
                              start=self.phase_start[phase])
            t0 = time.monotonic()
            self.broker.restart()
            print("  broker restarted after %d of %d orders sent (%.1f s)" % (restart_at, COUNT, time.monotonic() - t0),
                  flush=True)
        _, sent = self.app.wait_for(lambda e: e.get("ev") == "sent" and e.get("phase") == phase, 240,
                                    "phase %s sent" % phase, start=self.phase_start[phase])
        expect_eq(sent["errors"], [], "send errors of phase %s" % phase)
        self.sent[phase] = sent
        orders, events, payments = expected(phase, COUNT)
        committed, _, _ = self.tx_sets(phase)

        def done():
            evs = self.events(phase)
            got_orders = {r[3] for e in of(evs, "order") for r in recs(e)}
            got_events = {r[3] for e in of(evs, "batch") for r in recs(e)}
            got_ok = {r[3] for e in of(evs, "payment", topic="payments") for r in recs(e)}
            got_dlt = {r[3] for e in of(evs, "dlt") for r in recs(e)}
            got_tx = {r[3] for e in of(evs, "txout", iso="rc") for r in recs(e)}
            return (all(v in got_orders for _, v in orders) and all(v in got_events for _, v in events)
                    and all(v in got_ok for _, v in payments if v.startswith("ok"))
                    and all(v in got_dlt for _, v in payments if v.startswith("poison"))
                    and all("out:" + v in got_tx for v in committed))
        harness.wait_until(done, 120, "phase %s processed" % phase, interval=0.2, describe=self.describe)
        time.sleep(2.0)  # anything delivered twice arrives now

    def tx_sets(self, phase):
        """(committed values, aborted values, {txn: values} whose commit failed) sent to tx-in."""
        committed, aborted, failed = [], [], {}
        for t in self.sent[phase]["transactions"]:
            if t["outcome"] == "committed":
                committed += t["values"]
            elif t["outcome"] == "aborted":
                aborted += t["values"]
            else:
                failed[t["n"]] = t["values"]
        return committed, aborted, failed

    # -- checks; each returns a list of problems --

    def check_orders(self, phase, exact):
        evs = self.events(phase)
        orders, _, _ = expected(phase, COUNT)
        deliveries = [r for e in of(evs, "order") for r in recs(e)]
        problems = counter_problems(collections.Counter(r[3] for r in deliveries),
                                    collections.Counter(v for _, v in orders), "orders", exact)
        start = self.end_pos.get(("spring-orders", "orders"), {})
        pr, replayed, pos = replay_check(evs, "spring-orders", "orders", start, recs_if("order"))
        problems += pr
        if exact and replayed:
            problems.append("orders: %d records replayed without a restart" % replayed)
        problems += key_order_problems(log_order(deliveries), orders)
        by_thread = collections.defaultdict(set)
        for e in of(evs, "order"):
            by_thread[e["thread"]].add(e["rec"][0])
        if exact:
            if len(by_thread) != 3 or any(len(ps) != 2 for ps in by_thread.values()):
                problems.append("orders: expected 3 consumers with 2 partitions each, seen %s"
                                % {t: sorted(ps) for t, ps in by_thread.items()})
        self.end_pos[("spring-orders", "orders")] = pos
        print("  orders: %d deliveries of %d records, %d replayed, consumers %s" % (
            len(deliveries), len(orders), replayed, {t: sorted(ps) for t, ps in sorted(by_thread.items())}),
            flush=True)
        return problems

    def check_batches(self, phase, exact):
        evs = self.events(phase)
        _, events, _ = expected(phase, COUNT)
        batches = of(evs, "batch")
        deliveries = [r for e in batches for r in recs(e)]
        problems = counter_problems(collections.Counter(r[3] for r in deliveries),
                                    collections.Counter(v for _, v in events), "events", exact)
        start = self.end_pos.get(("spring-events", "events"), {})
        pr, replayed, pos = replay_check(evs, "spring-events", "events", start, recs_if("batch"))
        problems += pr
        if exact and replayed:
            problems.append("events: %d records replayed without a restart" % replayed)
        problems += key_order_problems(log_order(deliveries), events)
        sizes = [len(e["recs"]) for e in batches]
        if any(n > MAX_POLL_RECORDS or n == 0 for n in sizes):
            problems.append("events: batch sizes out of 1..%d: %s" % (MAX_POLL_RECORDS, sizes))
        if exact and not any(n > 1 for n in sizes):
            problems.append("events: no batch had more than one record: %s" % sizes)
        self.end_pos[("spring-events", "events")] = pos
        print("  events: %d batches (sizes %d..%d), %d deliveries, %d replayed" % (
            len(batches), min(sizes or [0]), max(sizes or [0]), len(deliveries), replayed), flush=True)
        return problems

    def check_retry(self, phase, exact):
        evs = self.events(phase)
        _, _, payments = expected(phase, COUNT)
        poison = {v for _, v in payments if v.startswith("poison")}
        ok = {v for _, v in payments if v.startswith("ok")}
        problems = []
        attempts = {t: collections.Counter() for t in RETRY_TOPICS}
        first = {}  # poison value -> [(topic, time)]
        origin = {}  # value -> (partition, offset) in payments
        for e in of(evs, "payment"):
            p, o, k, v = e["rec"]
            attempts[e["topic"]][v] += 1
            if e["topic"] == "payments":
                origin.setdefault(v, (p, o))
            first.setdefault(v, []).append((e["topic"], e["_t"]))
        dlt = of(evs, "dlt")
        in_dlt = collections.Counter(e["rec"][3] for e in dlt)
        problems += counter_problems(attempts["payments"], collections.Counter(ok | poison), "payments", exact)
        for t in RETRY_TOPICS[1:]:
            problems += counter_problems(attempts[t], collections.Counter(poison), t, exact)
        problems += counter_problems(in_dlt, collections.Counter(poison), "payments-dlt", exact)
        # every copy downstream comes from a failed delivery upstream
        chain = [attempts[t] for t in RETRY_TOPICS] + [in_dlt]
        for v in poison:
            for a, b, name in zip(chain, chain[1:], RETRY_TOPICS[1:] + ["payments-dlt"]):
                if b[v] > a[v]:
                    problems.append("%s: %d copies of %s but only %d failed deliveries before it"
                                    % (name, b[v], v, a[v]))
        for t in RETRY_TOPICS + ["payments-dlt"]:
            group = "spring-" + t
            start = self.end_pos.get((group, t), {})
            kind = "dlt" if t == "payments-dlt" else "payment"
            pr, replayed, pos = replay_check(evs, group, t, start, recs_if(kind, topic=t), allow_retry=True)
            problems += pr
            if exact and replayed:
                problems.append("%s: %d records delivered again without a restart" % (t, replayed))
            self.end_pos[(group, t)] = pos
        if exact:
            # one second between attempts (the default back-off of @RetryableTopic)
            for v in sorted(poison):
                topics = [t for t, _ in first.get(v, [])]
                if topics != RETRY_TOPICS:
                    problems.append("%s: attempts on %s, expected %s" % (v, topics, RETRY_TOPICS))
                    continue
                times = [ts for _, ts in first[v]]
                gaps = [b - a for a, b in zip(times, times[1:])]
                if min(gaps) < 0.9:
                    problems.append("%s: retried after %s s, expected the 1 s back-off" % (v, gaps))
        pre = "kafka_"
        for e in dlt:
            p, o, k, v = e["rec"]
            h = header_map(e)
            want_p, want_o = origin.get(v, (None, None))

            def one(name, conv=lambda b: b.decode()):
                vals = h.get(name)
                if not vals:
                    return "(missing)"
                return conv(vals[-1])
            seen = {
                "original-topic": one(pre + "original-topic"),
                "original-partition": one(pre + "original-partition", lambda b: int.from_bytes(b, "big")),
                "original-offset": one(pre + "original-offset", lambda b: int.from_bytes(b, "big")),
                "original-consumer-group": one("kafka_dlt-original-consumer-group"),
                "exception-fqcn": one(pre + "exception-fqcn"),
                "exception-cause-fqcn": one(pre + "exception-cause-fqcn"),
                "exception-message ends with": one(pre + "exception-message").endswith("cannot process payment " + v),
                "attempts": [int.from_bytes(b, "big") for b in h.get("retry_topic-attempts", [])],
                "dlt-partition": p,
            }
            want = {
                "original-topic": "payments", "original-partition": want_p, "original-offset": want_o,
                "original-consumer-group": "spring-payments",
                "exception-fqcn": "org.springframework.kafka.listener.ListenerExecutionFailedException",
                "exception-cause-fqcn": "java.lang.IllegalArgumentException",
                "exception-message ends with": True,
                "attempts": [2, 3, 4], "dlt-partition": want_p,
            }
            stack = one(pre + "exception-stacktrace")
            if "IllegalArgumentException: cannot process payment " + v not in stack:
                seen["exception-stacktrace"] = stack[:200]
                want["exception-stacktrace"] = "... IllegalArgumentException: cannot process payment " + v
            if seen != want:
                problems.append("DLT record %s at %d/%d: headers %s, expected %s" % (v, p, o, seen, want))
        print("  payments: %d ok, %d poison; attempts per topic %s; DLT records %d" % (
            len(ok), len(poison), {t: sum(c.values()) for t, c in attempts.items()}, len(dlt)), flush=True)
        return problems

    def check_tx(self, phase, exact):
        evs = self.events(phase)
        committed, aborted, failed = self.tx_sets(phase)
        problems = []
        rc = collections.Counter(e["rec"][3] for e in of(evs, "txout", iso="rc"))
        ru = collections.Counter(e["rec"][3] for e in of(evs, "txout", iso="ru"))
        tx_in = collections.Counter(e["rec"][3] for e in of(evs, "tx"))
        # a transaction whose commit threw (during the restart) is all or nothing
        want = collections.Counter("out:" + v for v in committed)
        for n, values in failed.items():
            there = [("out:" + v) in rc for v in values]
            if any(there):
                want.update("out:" + v for v in values)
            if any(there) and not all(there):
                problems.append("transaction %d (commit failed) partly visible: %s" % (n, there))
        problems += counter_problems(rc, want, "tx-out read_committed", exact=True)
        leaked = sorted(v for v in list(tx_in) + list(ru) if "abort-" in v)
        if leaked:
            problems.append("records of aborted upstream transactions were read: %s" % leaked[:5])
        for v in committed:
            if v.startswith("failonce"):
                if ru["out:" + v] < 2:
                    problems.append("%s: read_uncommitted saw %d copies of its output, expected the aborted "
                                    "one and the committed one" % (v, ru["out:" + v]))
                if tx_in[v] < 2:
                    problems.append("%s: delivered %d times to the transactional listener, expected a "
                                    "second delivery after the rollback" % (v, tx_in[v]))
            elif exact and tx_in[v] != 1:
                problems.append("%s: delivered %d times to the transactional listener" % (v, tx_in[v]))
        if exact and failed:
            problems.append("transactions failed without a restart: %s" % failed)
        print("  transactions: %d committed, %d aborted, %d failed upstream; tx-out read_committed %d records, "
              "read_uncommitted %d" % (len(committed) // 5, len(aborted) // 5, len(failed),
                                       sum(rc.values()), sum(ru.values())), flush=True)
        return problems

    def kip848(self):
        """A listener with group.protocol=consumer reads both phases' orders (a fresh group):
        every record once, each partition in offset order."""
        expect_fail = "kip848" in EXPECTED_TO_FAIL and os.environ.get("SPRING_COMPAT_PEER") != "kafka"
        start = len(self.app.snapshot())
        t0 = time.monotonic()
        self.app.send("start orders848")
        want = collections.Counter(v for ph in ("1", "2") for _, v in expected(ph, COUNT)[0])

        def finished():
            evs = self.app.snapshot()[start:]
            errors = of(evs, "consumer_error", listener="orders848")
            if errors:
                return errors[0]
            got = {r[3] for e in of(evs, "order848") for r in recs(e)}
            return all(v in got for v in want) and {"ev": "done"}
        outcome = harness.wait_until(finished, 90, "orders848 read every order or reported an error",
                                     interval=0.2, describe=self.describe)
        dt = outcome.get("_t", time.monotonic()) - t0
        if outcome["ev"] == "consumer_error":
            what = "%s: %s after %.1f s" % (outcome["error"], outcome["message"], dt)
            if not expect_fail:
                raise TestFailure("group.protocol=consumer: " + what)
            check(outcome["error"] == "org.apache.kafka.common.errors.UnsupportedVersionException"
                  and dt <= KIP848_PROMPT_S,
                  "expected to fail with UnsupportedVersionException within %.0f s (%s), seen %s"
                  % (KIP848_PROMPT_S, EXPECTED_TO_FAIL["kip848"], what))
            print("  expected failure: %s" % what, flush=True)
            return "expected to fail until Runnel implements it: " + what
        check(not expect_fail, "group.protocol=consumer works now: remove \"kip848\" from EXPECTED_TO_FAIL")
        time.sleep(1.0)
        evs = self.app.snapshot()[start:]
        deliveries = [r for e in of(evs, "order848") for r in recs(e)]
        problems = counter_problems(collections.Counter(r[3] for r in deliveries), want, "orders848", True)
        problems += replay_check(evs, "spring-orders-848", "orders", {}, recs_if("order848"))[0]
        check(not problems, "; ".join(problems[:8]))
        print("  group.protocol=consumer: %d records in %.1f s" % (len(deliveries), dt), flush=True)
        return ""

    def stop(self):
        self.app.send("quit")
        rc = self.app.wait_exit(60, "exit after quit")
        expect_eq(rc, 0, "application exit status")


class KafkaBroker:
    """Apache Kafka 4.4 in place of Runnel (SPRING_COMPAT_PEER=kafka), to tell a Runnel bug from
    the application's own behaviour."""

    def __init__(self):
        import kafka_peer
        self.peer = kafka_peer.KafkaPeer()
        self.bootstrap = self.peer.bootstrap

    def start(self):
        self.peer.start()
        return self

    def restart(self):
        self.peer.stop()
        self.peer.start()


def recs_if(kind, **match):
    def f(e):
        if e.get("ev") != kind or any(e.get(k) != v for k, v in match.items()):
            return []
        return recs(e)
    return f


# ---- the checks, first run on made-up faulty data ----

def self_check():
    """Each check must find what it is there to find; otherwise a passing run means nothing."""
    def order(p, o, v, k="k0"):
        return {"ev": "order", "rec": [p, o, k, v], "thread": "t"}

    def assigned(p, pos):
        return {"ev": "assigned", "group": "g", "thread": "t", "parts": [["orders", p, pos]]}
    model = recs_if("order")
    good = [order(0, 0, "a"), order(0, 1, "b"), assigned(0, 1), order(0, 1, "b"), order(0, 2, "c")]
    problems, replayed, pos = replay_check(good, "g", "orders", {}, model)
    expect_eq((problems, replayed, pos), ([], 1, {0: 3}), "replay model on a replay from the assigned position")
    faulty = {
        "a gap": [order(0, 0, "a"), order(0, 2, "c")],
        "a repeat without an assignment": [order(0, 0, "a"), order(0, 0, "a")],
        "an assignment past the next record": [order(0, 0, "a"), assigned(0, 5)],
        "a replay of more than max.poll.records": [order(0, o, str(o)) for o in range(150)] + [assigned(0, 10)],
        "a replay that does not start at the assigned position": [order(0, 0, "a"), order(0, 1, "b"),
                                                                 assigned(0, 1), order(0, 0, "a")],
    }
    for what, evs in faulty.items():
        problems, _, _ = replay_check(evs, "g", "orders", {}, model)
        check(problems, "the replay model did not catch %s" % what)
    retry = [order(0, 0, "a"), order(0, 0, "a"), order(0, 1, "b")]
    check(not replay_check(retry, "g", "orders", {}, model, allow_retry=True)[0], "a retried record refused")
    check(replay_check(retry, "g", "orders", {}, model)[0], "a retried record accepted where no retry is allowed")
    sent = [("k0", "1-0"), ("k1", "1-1"), ("k0", "1-2")]
    check(key_order_problems({0: {0: ("k0", "1-2"), 1: ("k0", "1-0")}}, sent), "key order: out of order not seen")
    check(key_order_problems({0: {0: ("k0", "1-0")}, 1: {0: ("k0", "1-2")}}, sent), "key order: split key not seen")
    check(not key_order_problems({0: {0: ("k0", "1-0"), 1: ("k0", "1-2")}, 1: {0: ("k1", "1-1")}}, sent),
          "key order: a good log refused")
    want = collections.Counter(["a", "b"])
    check(counter_problems(collections.Counter(["a"]), want, "x", True), "a missing record not seen")
    check(counter_problems(collections.Counter(["a", "b", "c"]), want, "x", True), "an unexpected record not seen")
    check(counter_problems(collections.Counter(["a", "a", "b"]), want, "x", True), "a duplicate not seen")
    check(not counter_problems(collections.Counter(["a", "a", "b"]), want, "x", False),
          "a duplicate refused where at-least-once allows it")


# ---- steps and matrix rows ----

SCENARIOS = [
    ("orders", "KafkaTemplate keyed sends, @KafkaListener concurrency 3 on 6 partitions", Line.check_orders),
    ("batch", "batch listener", Line.check_batches),
    ("retry_dlt", "@RetryableTopic: retry topics, DLT content and exception headers", Line.check_retry),
    ("transactions", "KafkaTransactionManager listener, read_committed, consume-produce exactly once",
     Line.check_tx),
]


def make_steps(line):
    def run(scenario, fn):
        ok = False
        note = ""
        try:
            note = fn() or ""
            ok = not note.startswith("expected to fail")
        except TestFailure as e:
            note = str(e).splitlines()[0][:300]
            raise
        finally:
            harness.record_result(SUITE, CLIENT, line.version, "%s: %s" % (line.name, scenario), ok, note)

    def start():
        run("application start: KafkaAdmin creates the NewTopic topics, every listener assigned", line.start)

    def phase(name, restart):
        def step():
            titles = [("broker restart mid-stream: " if restart else "") + title for _, title, _ in SCENARIOS]
            try:
                check(line.app is not None and line.app.proc.poll() is None, "the application is not running")
                line.produce(name, restart_at=COUNT * 2 // 5 if restart else None)
            except TestFailure as e:
                for title in titles:
                    harness.record_result(SUITE, CLIENT, line.version, "%s: %s" % (line.name, title), False,
                                          str(e).splitlines()[0][:300])
                raise
            all_problems = []
            for (_, _, fn), title in zip(SCENARIOS, titles):
                def verify():
                    problems = fn(line, name, not restart)
                    if problems:
                        raise TestFailure("; ".join(problems[:8]))
                try:
                    run(title, verify)
                except TestFailure as e:
                    all_problems.append("%s: %s" % (title, e))
            if all_problems:
                raise TestFailure("%s\n%s" % ("\n".join(all_problems), line.describe()))
        return step

    def stop():
        run("clean shutdown", line.stop)

    def kip848():
        check(line.app is not None and line.app.proc.poll() is None, "the application is not running")
        run("@KafkaListener with group.protocol=consumer (KIP-848)", line.kip848)

    steps = [("%s_start" % line.name, start, 240),
             ("%s_phase1" % line.name, phase("1", False), 240),
             ("%s_restart" % line.name, phase("2", True), 420)]
    if line.name == "boot4":  # the KIP-848 protocol is Kafka 4 clients' (3.9 has it as a preview)
        steps.append(("%s_kip848" % line.name, kip848, 120))
    return steps + [("%s_stop" % line.name, stop, 90)]


def main():
    harness.clear_results(SUITE)
    steps = [("checks_self_test", self_check, 30)]
    for name in LINES:
        steps += make_steps(Line(name))
    harness.run_tests(steps, SUITE)


if __name__ == "__main__":
    main()
