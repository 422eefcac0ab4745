#!/usr/bin/python3
"""Crash consistency: acknowledged records survive SIGKILL at random moments, and start-up
recovery copes with damaged files.

1. checker: the stream checks of steps 2 and 3 run on made-up data (a clean run, a hole,
   a record beyond the end); each fault must be reported.
2. kills: an idempotent librdkafka producer (enable.idempotence=true, acks=all, via
   `rdkafka_txn idempotent`) writes a numbered stream (record i to partition i % 3, key
   "s-<i>") while the broker is killed with SIGKILL CRASH_KILLS times (default 10) after
   random delays and started again on the same data directory each time. Small segments
   (log.segment.bytes) make the logs roll, so kills also land around rolls and producer
   snapshots. The delays come from a seeded generator; the seed is printed and
   CRASH_SEED=<seed> replays the same delays. After the last start everything is read
   back and:
   - every acknowledged record is there exactly once, at the offset its report named;
   - per partition the records are in production order, the offsets run from 0 to the
     end with no hole (idempotence leaves none: no retry writes a record twice);
   - nothing is there that was never sent;
   - the producer raised no fatal error.
   Then the broker is stopped with SIGTERM, started again, and the topic must read back
   exactly the same.
3. kills_fsync: the same with log.flush.interval.messages=1 (flush.messages=1 for every
   topic: fsync before the acknowledgement), CRASH_FSYNC_KILLS kills (default 3).
4. corruption: a raw idempotent producer writes keyed batches with known timestamps to 2
   partitions; between a SIGTERM stop and a start the files of partition 0 (and 1) are
   damaged by hand:
   a. the last segment's .log is cut in the middle of its last batch;
   b. bytes in the middle of the last batch are overwritten (CRC mismatch) and the
      clean-shutdown marker is removed, so that the tail is CRC-checked;
   c. the .index is cut to a size that is not a multiple of 8 and the .timeindex is made
      non-increasing (partition 0); an .index entry pointing past the end of the log is
      added (partition 1);
   d. the producer .snapshot files are deleted.
   After each start: the broker is up; every record before the damaged batch is read
   back at its offset and nothing after it; the log end offset is where the damage
   began; Fetch from inside each batch and ListOffsets by timestamp find the right
   batch; the producer's resent lost batch is written once at the log end (a second
   resend is answered as a duplicate with the same offset); after (d) the producer's
   last batch resent is a duplicate, a sequence gap is refused, and the next batch is
   appended. At the end a librdkafka idempotent producer adds records that land right
   after the log end, each once.

Environment: RUNNEL_BIN, RDKAFKA_TXN (required); CRASH_KILLS, CRASH_FSYNC_KILLS, CRASH_SEED.
"""
import glob
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, JsonLinesProcess, TestFailure, check, expect_eq, run_tests  # noqa: E402
from kafka_wire import Reader, array, crc32c, frame, i8, i16, i32, i64, string, varint  # noqa: E402

tool = os.environ.get("RDKAFKA_TXN")
if not tool or not os.access(tool, os.X_OK):
    harness.skip("RDKAFKA_TXN is not set to the built rdkafka_txn helper")

from test_idempotence import check_idempotent, create_topic, read_all  # noqa: E402

PARTITIONS = 3
KILLS = int(os.environ.get("CRASH_KILLS", "10"))
FSYNC_KILLS = int(os.environ.get("CRASH_FSYNC_KILLS", "3"))
SEED = int(os.environ["CRASH_SEED"]) if os.environ.get("CRASH_SEED") else random.SystemRandom().randrange(1 << 31)
# Delay between a start and the next SIGKILL, uniform in this range (seconds).
KILL_DELAY = (0.05, 1.5)
CLEAN_MARKER = ".runnel-cleanshutdown"

BROKER_OVERRIDES = {
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
    # Small segments: the logs roll (and producer snapshots are written) while killed.
    "log.segment.bytes": "262144",
}


def record_stats(line):
    print("  " + line, flush=True)


# ---- the stream checks ----

def check_stream(count, partitions, delivered, failed, consumed, ends):
    """check_idempotent (exactly once, at the acknowledged offset, in production order,
    nothing unknown) plus: per partition the offsets read are exactly 0 .. end - 1 (no
    hole), where `ends` {partition: end offset} is where the consumer reached the end."""
    problems = check_idempotent(count, partitions, delivered, failed, consumed)
    by_partition = {p: [] for p in range(partitions)}
    for p, o, _ in consumed:
        by_partition.setdefault(p, []).append(o)
    for p in range(partitions):
        offs = sorted(by_partition[p])
        end = ends.get(p)
        if end is None:
            problems.append("partition %d: the consumer reported no end" % p)
            continue
        if offs != list(range(end)):
            missing = sorted(set(range(end)) - set(offs))
            beyond = [o for o in offs if o >= end]
            problems.append("partition %d: offsets read are not 0..%d: %d missing (first %s), %d at or beyond the end"
                            % (p, end - 1, len(missing), missing[:5], len(beyond)))
    return problems


def checker_self_test():
    count, parts = 30, 3
    delivered = [(s % parts, s // parts, s) for s in range(count)]
    consumed = [(p, o, "s-%d" % s) for p in range(parts) for (pp, o, s) in delivered if pp == p]
    ends = {p: 10 for p in range(parts)}
    expect_eq(check_stream(count, parts, delivered, [], consumed, ends), [], "problems in clean data")
    # A failed record that was never written leaves no hole: the offsets after it move down.
    d = [(p, o if p != 1 or o < 3 else o - 1, s) for (p, o, s) in delivered if s != 10]
    c = [(p, o, "s-%d" % s) for (p, o, s) in d]
    expect_eq(check_stream(count, parts, d, [(1, 10)], c, {0: 10, 1: 9, 2: 10}), [],
              "problems with a failed record absent")

    def expect_problem(what, consumed, ends, needle):
        got = check_stream(count, parts, delivered, [], consumed, ends)
        check(any(needle in g for g in got), "checker did not report %s; it said %r" % (what, got))

    hole = [(p, o + (1 if p == 2 and o >= 4 else 0), k) for (p, o, k) in consumed]
    expect_problem("a hole", hole, {0: 10, 1: 10, 2: 11}, "offsets read are not")
    expect_problem("an end below what was read", consumed, {0: 10, 1: 10, 2: 9}, "offsets read are not")
    expect_problem("a missing end", consumed, {0: 10, 1: 10}, "no end")
    expect_problem("an unknown record", consumed + [(0, 10, "s-99")], {0: 11, 1: 10, 2: 10}, "not one the producer")


# ---- step 2 and 3: SIGKILL at random moments ----

def read_stream(broker, topic):
    evs = read_all(broker, topic, PARTITIONS, "read_uncommitted")
    consumed = [(e["partition"], e["offset"], e["key"]) for e in evs if e["event"] == "record"]
    ends = {e["partition"]: e["offset"] for e in evs if e["event"] == "eof"}
    return consumed, ends


def kill_run(topic, overrides, kills, rate, seed):
    rng = random.Random(seed)
    broker = Broker(overrides=overrides, name="broker-" + topic).start()
    create_topic(broker, topic, PARTITIONS)
    # Enough records to keep producing through every kill (about 0.8 s of running and a
    # start each), then a few seconds more.
    count = int(rate * (kills * 1.2 + 4))
    t0 = time.monotonic()
    producer = JsonLinesProcess([tool, "idempotent", broker.bootstrap, topic, str(PARTITIONS), str(count),
                                 "--rate", str(rate)], "producer-" + topic)
    kills_while_producing = 0
    for k in range(kills):
        delay = rng.uniform(*KILL_DELAY)
        time.sleep(delay)
        broker.check_alive("running %.2f s since the last start" % delay)
        evs = producer.snapshot()
        acked = sum(1 for e in evs if e["event"] == "delivered")
        producing = not any(e["event"] == "done" for e in evs)
        kills_while_producing += producing
        broker.kill()
        if k < 5 or k % 10 == 9 or k == kills - 1:
            record_stats("kill %d/%d after %.2f s: %d acknowledged so far%s"
                         % (k + 1, kills, delay, acked, "" if producing else " (producer already done)"))
        broker.start()
    rc = producer.wait_exit(240, "finish producing")
    t_produced = time.monotonic() - t0
    evs = producer.snapshot()
    fatal = [e for e in evs if e["event"] == "error" and e.get("fatal")]
    check(not fatal, "the idempotent producer raised a fatal error: %r\n%s" % (fatal[:3], producer.describe()))
    expect_eq(rc, 0, "idempotent producer exit status\n%s" % producer.describe())
    delivered = [(e["partition"], e["offset"], e["seq"]) for e in evs if e["event"] == "delivered"]
    failed = [(e["partition"], e["seq"]) for e in evs if e["event"] == "failed"]
    broker.check_alive("the last start")
    consumed, ends = read_stream(broker, topic)
    problems = check_stream(count, PARTITIONS, delivered, failed, consumed, ends)
    dup = len(consumed) - len({k for _, _, k in consumed})
    present = set(consumed)
    lost = sum(1 for p, o, s in delivered if (p, o, "s-%d" % s) not in present)
    record_stats("seed %d: %d kills (%d while producing), %d records sent, %d acknowledged, %d failed, "
                 "%d read back, %d lost, %d duplicates, %.1f s producing"
                 % (seed, kills, kills_while_producing, count, len(delivered), len(failed), len(consumed),
                    lost, dup, t_produced))
    if problems:
        raise TestFailure("after %d SIGKILLs (CRASH_SEED=%d): %d acknowledged, %d failed, %d read back; problems:\n  %s"
                          % (kills, seed, len(delivered), len(failed), len(consumed), "\n  ".join(problems)))
    check(kills_while_producing >= min(kills, 1), "no kill happened while the producer was running")
    # A clean stop and start changes nothing.
    broker.restart()
    again, ends_again = read_stream(broker, topic)
    expect_eq(ends_again, ends, "partition ends after a SIGTERM restart")
    expect_eq(sorted(again), sorted(consumed), "records read back after a SIGTERM restart")
    broker.stop()


def kills():
    print("  CRASH_SEED=%d CRASH_KILLS=%d" % (SEED, KILLS), flush=True)
    kill_run("crash", BROKER_OVERRIDES, KILLS, 4000, SEED)


def kills_fsync():
    print("  CRASH_SEED=%d CRASH_FSYNC_KILLS=%d, log.flush.interval.messages=1" % (SEED, FSYNC_KILLS), flush=True)
    overrides = dict(BROKER_OVERRIDES)
    overrides["log.flush.interval.messages"] = "1"
    kill_run("crash-fsync", overrides, FSYNC_KILLS, 1500, SEED + 1)


# ---- step 4: damaged files, through the raw protocol ----

PRODUCE, FETCH, LIST_OFFSETS, INIT_PRODUCER_ID = 0, 1, 2, 22
NONE, OUT_OF_ORDER_SEQUENCE_NUMBER = 0, 45
BATCH_HEADER = 61
TORN = "torn"
TORN_PARTITIONS = 2


class Raw:
    """One-request-a-connection raw Kafka calls against a broker."""

    def __init__(self, broker):
        self.broker = broker

    def call(self, api_key, version, body, what):
        corr, data = frame(api_key, version, body, False, "runnel-crash")
        with socket.create_connection(("127.0.0.1", self.broker.port), timeout=10) as s:
            s.sendall(data)
            payload = harness.recv_frame(s, 10)
        r = Reader(payload, what)
        expect_eq(r.i32(), corr, what + ": correlation id")
        return r

    def init_producer_id(self):
        r = self.call(INIT_PRODUCER_ID, 1, string(None) + i32(60000), "InitProducerId v1")
        r.i32()
        err, pid, epoch = r.i16(), r.i64(), r.i16()
        r.end()
        expect_eq(err, NONE, "InitProducerId error")
        return pid, epoch

    def produce(self, partition, batch, what):
        """Produce v3, acks=-1: (error, base offset)."""
        body = (string(None) + i16(-1) + i32(10000)
                + array([string(TORN) + array([i32(partition) + i32(len(batch)) + batch])]))
        r = self.call(PRODUCE, 3, body, what)
        got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
        r.i32()
        r.end()
        check(len(got) == 1 and len(got[0][1]) == 1, "%s: expected one partition in the answer, got %r" % (what, got))
        return got[0][1][0][1], got[0][1][0][2]

    def list_offset(self, partition, timestamp, what):
        """ListOffsets v1: the offset for `timestamp` (-1 latest, -2 earliest)."""
        body = i32(-1) + array([string(TORN) + array([i32(partition) + i64(timestamp)])])
        r = self.call(LIST_OFFSETS, 1, body, what)
        got = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
        r.end()
        (_, parts), = got
        (_, err, _, offset), = parts
        expect_eq(err, NONE, what + ": error")
        return offset

    def fetch_first_batch(self, partition, offset, what):
        """Fetch v4 of at least one batch from `offset`: (base offset, last offset) of the
        first batch returned."""
        body = (i32(-1) + i32(0) + i32(1) + i32(1 << 20) + i8(0)
                + array([string(TORN) + array([i32(partition) + i64(offset) + i32(1)])]))
        r = self.call(FETCH, 4, body, what)
        r.i32()
        got = r.array(lambda: (r.string(), r.array(lambda: (
            r.i32(), r.i16(), r.i64(), r.i64(), r.array(lambda: (r.i64(), r.i64())), r.bytes32()))))
        r.end()
        (_, parts), = got
        (_, err, _, _, _, records), = parts
        expect_eq(err, NONE, what + ": error")
        check(records is not None and len(records) >= BATCH_HEADER, "%s: no whole batch returned (%r bytes)"
              % (what, None if records is None else len(records)))
        base, = struct.unpack(">q", records[0:8])
        delta, = struct.unpack(">i", records[23:27])
        return base, base + delta


def keyed_batch(keys, pid, epoch, seq, ts):
    """A magic-2 batch, uncompressed, one record per key (value "v" + key), all at `ts`."""
    body = b""
    for i, k in enumerate(keys):
        kb, vb = k.encode(), b"v" + k.encode()
        rec = b"\x00" + varint(0) + varint(i) + varint(len(kb)) + kb + varint(len(vb)) + vb + varint(0)
        body += varint(len(rec)) + rec
    after_crc = struct.pack(">hiqqqhi", 0, len(keys) - 1, ts, ts, pid, epoch, seq) + i32(len(keys)) + body
    after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def log_batches(path):
    """(position, size, base offset, last offset) of each whole batch in a .log file."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos + BATCH_HEADER <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        delta, = struct.unpack(">i", data[pos + 23:pos + 27])
        if length < BATCH_HEADER - 12 or pos + 12 + length > len(data):
            break
        out.append((pos, 12 + length, base, base + delta))
        pos += 12 + length
    return out


class TornState:
    """The model of topic `torn`: per partition the batches as written, in offset order."""

    def __init__(self):
        self.broker = None
        self.raw = None
        self.pid = self.epoch = None
        self.next_seq = [0] * TORN_PARTITIONS
        self.batches = [[] for _ in range(TORN_PARTITIONS)]  # dicts: base, keys, seq, ts
        self.next_key = 0
        self.next_ts = int(time.time() * 1000) - 3600 * 1000

    def pdir(self, p):
        return os.path.join(self.broker.data_dir, "%s-%d" % (TORN, p))

    def last_segment(self, p, ext):
        logs = sorted(glob.glob(os.path.join(self.pdir(p), "*.log")))
        check(logs, "no segment in %s" % self.pdir(p))
        return logs[-1][:-len(".log")] + ext

    def end(self, p):
        b = self.batches[p]
        return b[-1]["base"] + len(b[-1]["keys"]) if b else 0

    def new_batch(self, p, n):
        keys = ["c-%d" % (self.next_key + i) for i in range(n)]
        self.next_key += n
        self.next_ts += 1000
        b = {"keys": keys, "seq": self.next_seq[p], "ts": self.next_ts, "base": None}
        self.next_seq[p] += n
        return b

    def send(self, p, b, what, expect_base):
        err, base = self.raw.produce(p, keyed_batch(b["keys"], self.pid, self.epoch, b["seq"], b["ts"]), what)
        expect_eq((err, base), (NONE, expect_base), "%s (error, base offset)" % what)
        return base

    def append(self, p, n, what):
        b = self.new_batch(p, n)
        b["base"] = self.send(p, b, what, self.end(p))
        self.batches[p].append(b)
        return b

    def fill(self, batches0, batches1):
        for i in range(batches0):
            self.append(0, 5 + i % 3, "batch %d to partition 0" % i)
        for i in range(batches1):
            self.append(1, 4, "batch %d to partition 1" % i)

    def verify(self, after):
        b = self.broker
        b.check_alive(after)
        harness.api_versions_probe(b.port)
        evs = read_all(b, TORN, TORN_PARTITIONS, "read_uncommitted", timeout_s=30)
        for p in range(TORN_PARTITIONS):
            want = [(b0["base"] + i, k) for b0 in self.batches[p] for i, k in enumerate(b0["keys"])]
            got = [(e["offset"], e["key"]) for e in evs if e["event"] == "record" and e["partition"] == p]
            if got != want:
                missing = [w for w in want if w not in got][:5]
                extra = [g for g in got if g not in want][:5]
                raise TestFailure("after %s: partition %d holds %d records, expected %d; missing %r, unexpected %r"
                                  % (after, p, len(got), len(want), missing, extra))
            expect_eq(self.raw.list_offset(p, -1, "ListOffsets latest"), self.end(p),
                      "after %s: log end offset of partition %d" % (after, p))
            for bt in self.batches[p]:
                mid = bt["base"] + len(bt["keys"]) // 2
                expect_eq(self.raw.fetch_first_batch(p, mid, "Fetch %d/%d" % (p, mid)),
                          (bt["base"], bt["base"] + len(bt["keys"]) - 1),
                          "after %s: the batch Fetch returns for offset %d/%d" % (after, p, mid))
                expect_eq(self.raw.list_offset(p, bt["ts"], "ListOffsets %d/ts %d" % (p, bt["ts"])), bt["base"],
                          "after %s: ListOffsets for the timestamp of the batch at %d/%d" % (after, p, bt["base"]))
            expect_eq(self.raw.list_offset(p, self.next_ts + 1, "ListOffsets beyond the last timestamp"), -1,
                      "after %s: ListOffsets for a timestamp after every record of partition %d" % (after, p))

    def stop(self):
        self.broker.stop()

    def start(self):
        self.broker.start()


_torn = TornState()


def cut_and_resend(damage, what):
    """Shared by cases a and b: damage the last batch of partition 0 while stopped, check
    the tail is gone, resend it (written once), resend again (duplicate), append one more."""
    t = _torn
    t.fill(6, 2)
    t.stop()
    lost = t.batches[0].pop()
    log = t.last_segment(0, ".log")
    on_disk = log_batches(log)
    check(on_disk and on_disk[-1][2] == lost["base"],
          "the last batch in %s is %r, expected the one at offset %d" % (log, on_disk[-1:], lost["base"]))
    damage(log, on_disk[-1][0], on_disk[-1][1])
    t.start()
    t.verify(what)
    lost["base"] = t.send(0, lost, "the lost batch resent", t.end(0))
    t.batches[0].append(lost)
    t.send(0, lost, "the lost batch resent again", lost["base"])
    t.append(0, 3, "the next batch after the lost one")
    t.append(1, 3, "the next batch to partition 1")
    t.verify(what + ", after the resend")


def corruption_setup():
    t = _torn
    overrides = dict(BROKER_OVERRIDES)
    overrides["log.index.interval.bytes"] = "150"  # an index entry every batch or two
    t.broker = Broker(overrides=overrides, name="broker-torn").start()
    t.raw = Raw(t.broker)
    create_topic(t.broker, TORN, TORN_PARTITIONS)
    t.pid, t.epoch = t.raw.init_producer_id()
    t.fill(8, 3)
    t.verify("the first batches")


def corrupt_truncated_tail():
    def damage(log, pos, size):
        with open(log, "r+b") as f:
            f.truncate(pos + size // 2)
    cut_and_resend(damage, "cutting the last batch in half")


def corrupt_crc():
    def damage(log, pos, size):
        at = pos + BATCH_HEADER + (size - BATCH_HEADER) // 2
        with open(log, "r+b") as f:
            f.seek(at)
            old = f.read(4)
            f.seek(at)
            f.write(bytes(b ^ 0xFF for b in old))
        marker = os.path.join(_torn.broker.data_dir, CLEAN_MARKER)
        check(os.path.exists(marker), "no %s after a clean stop" % marker)
        os.remove(marker)
    cut_and_resend(damage, "overwriting bytes of the last batch (CRC mismatch)")
    with open(_torn.broker.log_path, "rb") as f:
        check(b"CRC mismatch" in f.read(), "the broker did not log the CRC mismatch it cut")


def read_entries(path, size, fmt):
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) % size == 0, "%s: %d bytes, not a multiple of %d" % (path, len(data), size))
    return [struct.unpack(fmt, data[i:i + size]) for i in range(0, len(data), size)]


def corrupt_indexes():
    t = _torn
    t.fill(6, 2)
    t.stop()
    index, timeindex = t.last_segment(0, ".index"), t.last_segment(0, ".timeindex")
    good_index = read_entries(index, 8, ">II")
    good_times = read_entries(timeindex, 12, ">qI")
    check(len(good_index) >= 4 and len(good_times) >= 4,
          "expected a few index entries to damage: %d offset, %d time" % (len(good_index), len(good_times)))
    with open(index, "r+b") as f:
        f.truncate(8 * (len(good_index) // 2) + 5)
    with open(timeindex, "r+b") as f:
        f.seek(12)
        f.write(struct.pack(">q", 1))  # second entry's timestamp below the first
    index1 = t.last_segment(1, ".index")
    size1 = os.path.getsize(t.last_segment(1, ".log"))
    with open(index1, "ab") as f:
        f.write(struct.pack(">II", 1 << 20, size1 + 1000))
    t.start()
    t.verify("damaging the indexes")
    expect_eq(read_entries(index, 8, ">II"), good_index, "partition 0 offset index after the restart (rebuilt)")
    expect_eq(read_entries(timeindex, 12, ">qI"), good_times, "partition 0 time index after the restart (rebuilt)")
    check(all(pos < size1 for _, pos in read_entries(index1, 8, ">II")),
          "partition 1 offset index still points past the end of its log")
    t.append(0, 4, "a batch after the index damage")
    t.append(1, 4, "a batch to partition 1 after the index damage")
    t.verify("damaging the indexes, after producing")


def corrupt_snapshots():
    t = _torn
    t.fill(4, 2)
    t.stop()
    # A clean stop leaves every partition's producer state in one file of the data directory;
    # cut in half, it is refused as a whole. The snapshot files of the rolls go too: the state
    # must come from the log alone.
    states = os.path.join(t.broker.data_dir, "producer-state-at-close")
    check(os.path.exists(states), "no producer states after a clean stop")
    with open(states, "r+b") as f:
        f.truncate(os.path.getsize(states) // 2)
    snaps = [s for p in range(TORN_PARTITIONS) for s in glob.glob(os.path.join(t.pdir(p), "*.snapshot"))]
    for s in snaps:
        os.remove(s)
    t.start()
    t.verify("cutting the producer states of the clean stop in half, deleting %d producer snapshot(s)"
             % len(snaps))
    for p in range(TORN_PARTITIONS):
        last = t.batches[p][-1]
        t.send(p, last, "partition %d: the producer's last batch resent" % p, last["base"])
        gap = t.new_batch(p, 2)
        gap["seq"] += 1
        t.next_seq[p] -= 2
        err, _ = t.raw.produce(p, keyed_batch(gap["keys"], t.pid, t.epoch, gap["seq"], gap["ts"]),
                               "partition %d: a sequence gap" % p)
        expect_eq(err, OUT_OF_ORDER_SEQUENCE_NUMBER, "partition %d: a batch one sequence number ahead" % p)
        t.append(p, 3, "partition %d: the next batch after the snapshots were deleted" % p)
    t.verify("deleting the producer snapshots, after producing")


def corrupt_then_librdkafka():
    """A librdkafka idempotent producer (a new producer id) continues the damaged topic."""
    t = _torn
    ends = [t.end(p) for p in range(TORN_PARTITIONS)]
    count = 3000
    producer = JsonLinesProcess([tool, "idempotent", t.broker.bootstrap, TORN, str(TORN_PARTITIONS), str(count)],
                                "producer-torn")
    expect_eq(producer.wait_exit(60, "produce"), 0, "idempotent producer exit status\n%s" % producer.describe())
    evs = producer.snapshot()
    delivered = sorted((e["partition"], e["offset"], e["seq"]) for e in evs if e["event"] == "delivered")
    expect_eq(len(delivered), count, "records acknowledged")
    for p in range(TORN_PARTITIONS):
        mine = [(o, s) for (pp, o, s) in delivered if pp == p]
        expect_eq([o for o, _ in mine], list(range(ends[p], ends[p] + len(mine))),
                  "partition %d: acknowledged offsets (right after the log end %d, no gap)" % (p, ends[p]))
        expect_eq([s for _, s in mine], sorted(s for _, s in mine), "partition %d: production order" % p)
        t.batches[p].append({"base": ends[p], "keys": ["s-%d" % s for _, s in mine], "seq": 0,
                             "ts": t.next_ts})
    # The librdkafka records are one pseudo-batch per partition in the model: check the
    # records only (Fetch and ListOffsets are checked per real batch above).
    evs = read_all(t.broker, TORN, TORN_PARTITIONS, "read_uncommitted", timeout_s=30)
    for p in range(TORN_PARTITIONS):
        want = [(b0["base"] + i, k) for b0 in t.batches[p] for i, k in enumerate(b0["keys"])]
        got = [(e["offset"], e["key"]) for e in evs if e["event"] == "record" and e["partition"] == p]
        expect_eq(len(got), len(want), "partition %d: records read back" % p)
        check(got == want, "partition %d: records read back differ from the model (first difference at %r)"
              % (p, next(((g, w) for g, w in zip(got, want) if g != w), None)))
    t.stop()


if __name__ == "__main__":
    run_tests([
        ("checker", checker_self_test, 10),
        ("kills", kills, max(120, int(KILLS * 3 + 90))),
        ("kills_fsync", kills_fsync, max(90, int(FSYNC_KILLS * 3 + 60))),
        ("corruption_setup", corruption_setup, 60),
        ("corrupt_truncated_tail", corrupt_truncated_tail, 60),
        ("corrupt_crc", corrupt_crc, 60),
        ("corrupt_indexes", corrupt_indexes, 60),
        ("corrupt_snapshots", corrupt_snapshots, 60),
        ("corrupt_then_librdkafka", corrupt_then_librdkafka, 90),
    ], "crash_consistency", stop_on_failure=True,
              matrix=[("", "librdkafka idempotent producer (Debian)", harness.client_version("librdkafka"))])
