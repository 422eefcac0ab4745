#!/usr/bin/env python3
"""Many partitions on one broker under a descriptor limit.

For each partition count, starts the broker (fresh data directory) under
RLIMIT_NOFILE = --nofile, and measures over the wire, without a client library:

  create      CreateTopics v0 of all partitions, --chunk topics of --per-topic
              partitions per request, one request at a time
  produce     (with --produce) one Produce v3 request per --chunk topics, one
              record into every partition
  metadata    Metadata v1 for all topics (median of 3), checking the partition count
  shutdown    SIGTERM to exit
  startup     clean restart: spawn to the first ApiVersions answer (the broker
              loads every partition before it listens), then Metadata again
  delete      DeleteTopics v0 of every topic, --chunk per request
  rss         VmRSS with the partitions minus VmRSS of the empty broker, per partition
  fds         descriptors the broker holds (/proc/<pid>/fd) with all partitions

Prints one line per partition count and, with --json, one JSON object per line.

  tools/bench/many_partitions.py --broker-bin build/server/runnel --dir /var/tmp \\
      --partitions 10000,30000,100000 --nofile 20000
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    b = s.encode()
    return i16(len(b)) + b


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, n):
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()


class Conn:
    def __init__(self, port, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.corr = 0

    def call(self, api_key, version, body):
        self.corr += 1
        req = i16(api_key) + i16(version) + i32(self.corr) + string("many-partitions") + body
        self.s.sendall(i32(len(req)) + req)
        size = struct.unpack(">i", self.recv(4))[0]
        r = Reader(self.recv(size))
        if r.i32() != self.corr:
            raise RuntimeError("correlation id mismatch")
        return r

    def recv(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise RuntimeError("connection closed")
            out += chunk
        return bytes(out)

    def close(self):
        self.s.close()


def api_versions(conn):
    r = conn.call(18, 0, b"")
    if r.i16() != 0:
        raise RuntimeError("ApiVersions error")


def create_topics(conn, names, partitions):
    body = i32(len(names))
    for n in names:
        body += string(n) + i32(partitions) + i16(1) + i32(0) + i32(0)
    body += i32(600000)
    r = conn.call(19, 0, body)
    for _ in range(r.i32()):
        name, err = r.string(), r.i16()
        if err != 0:
            raise RuntimeError(f"CreateTopics {name}: error {err}")


def delete_topics(conn, names):
    body = i32(len(names)) + b"".join(string(n) for n in names) + i32(600000)
    r = conn.call(20, 0, body)
    for _ in range(r.i32()):
        name, err = r.string(), r.i16()
        if err != 0:
            raise RuntimeError(f"DeleteTopics {name}: error {err}")


def metadata_all(conn):
    """Metadata v1 for all topics: (topics, partitions, response bytes)."""
    r = conn.call(3, 1, i32(-1))
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), r.string()
    r.i32()  # controller id
    topics = r.i32()
    partitions = 0
    for _ in range(topics):
        r.i16(), r.string(), r.i8()
        n = r.i32()
        for _ in range(n):
            r.i16(), r.i32(), r.i32()
            r.take(4 * r.i32())
            r.take(4 * r.i32())
        partitions += n
    return topics, partitions, len(r.d)


# --- Produce v3: one batch of one record per partition ---

def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def one_record_batch(value, ts):
    rec = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    records = varint(len(rec)) + rec
    after_crc = (i16(0) + i32(0) + i64(ts) + i64(ts) + i64(-1) + i16(-1) + i32(-1) + i32(1) +
                 records)
    batch = i32(-1) + b"\x02" + struct.pack(">I", crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(batch)) + batch


def produce(conn, names, partitions, batch):
    body = i16(-1)  # null transactional id
    body += i16(1) + i32(30000) + i32(len(names))
    for n in names:
        body += string(n) + i32(partitions)
        for p in range(partitions):
            body += i32(p) + i32(len(batch)) + batch
    r = conn.call(0, 3, body)
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            p, err = r.i32(), r.i16()
            r.i64(), r.i64()
            if err != 0:
                raise RuntimeError(f"Produce {name}-{p}: error {err}")


# --- the broker process ---

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, binary, data_dir, port, nofile, log_path):
        self.binary, self.data_dir, self.port, self.nofile = binary, data_dir, port, nofile
        self.log_path = log_path
        self.proc = None

    def start(self):
        """Starts the broker; returns seconds until it answers ApiVersions."""
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
             "--override", f"log.dirs={self.data_dir}"],
            stdout=log, stderr=log, preexec_fn=limit)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = Conn(self.port, timeout=5)
                api_versions(c)
                c.close()
                return time.monotonic() - t0
            except OSError:
                time.sleep(0.01)

    def stop(self):
        """SIGTERM; returns seconds until the process exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=1800)
        dt = time.monotonic() - t0
        if rc != 0:
            raise RuntimeError(f"broker exit status {rc}; see {self.log_path}")
        return dt

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def chunks(xs, n):
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def run(args, total):
    per_topic = args.per_topic
    names = [f"mp-{i:06d}" for i in range(total // per_topic)]
    base = tempfile.mkdtemp(prefix="runnel-many-", dir=args.dir)
    data = os.path.join(base, "data")
    broker = Broker(args.broker_bin, data, free_port(), args.nofile, os.path.join(base, "broker.log"))
    out = {"partitions": len(names) * per_topic, "topics": len(names), "nofile": args.nofile}
    try:
        out["startup_empty_s"] = broker.start()
        time.sleep(0.5)
        rss0 = broker.rss_kib()
        c = Conn(broker.port)
        t0 = time.monotonic()
        for chunk in chunks(names, args.chunk):
            create_topics(c, chunk, per_topic)
        out["create_s"] = time.monotonic() - t0
        if args.produce:
            batch = one_record_batch(b"x" * 100, int(time.time() * 1000))
            t0 = time.monotonic()
            for chunk in chunks(names, args.chunk):
                produce(c, chunk, per_topic, batch)
            out["produce_s"] = time.monotonic() - t0
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            topics, parts, size = metadata_all(c)
            times.append(time.monotonic() - t0)
        if parts != out["partitions"]:
            raise RuntimeError(f"Metadata lists {parts} partitions, expected {out['partitions']}")
        out["metadata_s"] = sorted(times)[1]
        out["metadata_bytes"] = size
        out["fds"] = broker.fds()
        rss1 = broker.rss_kib()
        out["rss_mib"] = rss1 / 1024
        out["rss_per_partition_kib"] = (rss1 - rss0) / out["partitions"]
        c.close()
        out["shutdown_s"] = broker.stop()
        out["startup_s"] = broker.start()
        c = Conn(broker.port)
        topics, parts, _ = metadata_all(c)
        if parts != out["partitions"]:
            raise RuntimeError(f"after restart Metadata lists {parts} partitions")
        out["rss_after_restart_mib"] = broker.rss_kib() / 1024
        out["fds_after_restart"] = broker.fds()
        t0 = time.monotonic()
        for chunk in chunks(names, args.chunk):
            delete_topics(c, chunk)
        out["delete_s"] = time.monotonic() - t0
        topics, parts, _ = metadata_all(c)
        if parts != 0:
            raise RuntimeError(f"after delete Metadata lists {parts} partitions")
        c.close()
        out["shutdown_empty_s"] = broker.stop()
    finally:
        if broker.proc and broker.proc.poll() is None:
            broker.proc.kill()
            broker.proc.wait()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--broker-bin", required=True)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--partitions", default="10000,30000,100000")
    ap.add_argument("--per-topic", type=int, default=100, help="partitions per topic")
    ap.add_argument("--chunk", type=int, default=10, help="topics per request")
    ap.add_argument("--nofile", type=int, default=20000, help="RLIMIT_NOFILE of the broker")
    ap.add_argument("--produce", action="store_true", help="one record into every partition")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the data directory and log")
    args = ap.parse_args()
    for total in (int(x) for x in args.partitions.split(",")):
        r = run(args, total)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(f"{r['partitions']:>7} partitions ({r['topics']} topics), nofile {r['nofile']}: "
                  f"create {r['create_s']:.1f} s"
                  + (f", produce {r['produce_s']:.1f} s" if "produce_s" in r else "") +
                  f", metadata {r['metadata_s'] * 1000:.0f} ms ({r['metadata_bytes'] / 1e6:.1f} MB)"
                  f", shutdown {r['shutdown_s']:.1f} s, startup {r['startup_s']:.1f} s"
                  f", delete {r['delete_s']:.1f} s, RSS {r['rss_mib']:.0f} MiB"
                  f" ({r['rss_per_partition_kib']:.1f} KiB/partition), fds {r['fds']}"
                  f" / {r['fds_after_restart']} after restart", flush=True)


if __name__ == "__main__":
    main()
