#!/usr/bin/python3
"""kcat against Runnel: produce files of lines, of keyed lines and of binary
records, consume them back byte for byte, list metadata as text and JSON.

Topics are auto-created by kcat's first Metadata request (auto.create.topics.enable,
num.partitions=NUM_PARTITIONS); kcat produces and consumes partition 0 only.
"""
import json
import os
import random
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, check, expect_eq, run_command, run_tests  # noqa: E402

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
if not KCAT:
    harness.skip("kcat is not installed (tools/install-deps.sh --test)")

NUM_PARTITIONS = 4
LINES = 20000
BINARY_RECORDS = 2000
BIN_DELIM = b"|#|"  # kcat -D takes escapes; "|#|" needs none

_broker = None


def broker():
    global _broker
    if _broker is None or not _broker.alive():
        _broker = Broker(overrides={"num.partitions": str(NUM_PARTITIONS),
                                    "auto.create.topics.enable": "true"}).start()
    return _broker


def kcat(args, what, timeout=60, input=None):
    return run_command([KCAT, "-b", broker().bootstrap] + args, timeout, what, input=input).stdout


def produce_file(topic, path, extra=()):
    kcat(["-P", "-t", topic, "-p", "0"] + list(extra) + ["-l", path], "kcat -P -l %s to %s" % (path, topic))


def consume(topic, fmt, extra=()):
    return kcat(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", fmt] + list(extra),
                "kcat -C from %s" % topic)


def first_difference(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def compare_bytes(seen, expected, what):
    if seen == expected:
        return
    i = first_difference(seen, expected)
    raise harness.TestFailure(
        "%s: %d bytes expected, %d seen; first difference at byte %d:\n  expected %r\n  seen     %r"
        % (what, len(expected), len(seen), i, expected[max(0, i - 40):i + 40], seen[max(0, i - 40):i + 40]))


def write_temp(name, data):
    path = os.path.join(harness.make_temp_dir(), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_lines():
    rng = random.Random(1)
    lines = []
    for i in range(LINES):
        filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 \t,.;éß€") for _ in range(rng.randrange(0, 200)))
        lines.append(("line %d %s" % (i, filler)).encode("utf-8"))
    data = b"".join(line + b"\n" for line in lines)
    produce_file("kcat-lines", write_temp("lines.txt", data))
    compare_bytes(consume("kcat-lines", "%s\\n"), data, "payloads read back from kcat-lines")
    offsets = consume("kcat-lines", "%o\\n").split()
    expect_eq(offsets, [str(i).encode() for i in range(LINES)], "offsets of kcat-lines")


def test_keyed_lines():
    lines = [b"key-%d\tvalue %d %s" % (i, i, b"x" * (i % 97)) for i in range(3000)]
    data = b"".join(line + b"\n" for line in lines)
    produce_file("kcat-keyed", write_temp("keyed.txt", data), ["-K", "\\t"])
    compare_bytes(consume("kcat-keyed", "%k\\t%s\\n"), data, "keys and values read back from kcat-keyed")
    keys = consume("kcat-keyed", "%K\\n").split()
    expect_eq(keys[:3], [b"5", b"5", b"5"], "key lengths")


def test_binary():
    rng = random.Random(2)
    records = []
    for i in range(BINARY_RECORDS):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
        body = body.replace(b"|", b"!")  # the delimiter must not occur inside a record
        records.append(b"%d:" % i + body)
    data = b"".join(r + BIN_DELIM for r in records)
    produce_file("kcat-binary", write_temp("binary.dat", data), ["-D", BIN_DELIM.decode()])
    out = consume("kcat-binary", "%o %S %s")
    # Parse "<offset> <length> <payload bytes>" records, exact lengths.
    pos, seen = 0, []
    while pos < len(out):
        m = re.compile(rb"(\d+) (\d+) ").match(out, pos)
        check(m is not None, "kcat-binary output not in the requested format at byte %d: %r"
              % (pos, out[pos:pos + 40]))
        off, length = int(m.group(1)), int(m.group(2))
        expect_eq(off, len(seen), "offset of binary record")
        start = m.end()
        check(start + length <= len(out), "binary record %d truncated" % off)
        seen.append(out[start:start + length])
        pos = start + length
    expect_eq(len(seen), len(records), "number of binary records read back")
    for i, (s, r) in enumerate(zip(seen, records)):
        compare_bytes(s, r, "binary record %d" % i)


def test_list_metadata():
    for t in ("kcat-meta-a", "kcat-meta-b"):
        produce_file(t, write_temp(t + ".txt", b"one\ntwo\n"))
    text = kcat(["-L"], "kcat -L").decode("utf-8", "replace")
    check(re.search(r"1 brokers:", text) is not None, "kcat -L: expected '1 brokers:' in\n" + text)
    for t in ("kcat-meta-a", "kcat-meta-b"):
        check(re.search(r'topic "%s" with %d partitions:' % (t, NUM_PARTITIONS), text) is not None,
              "kcat -L: expected topic %s with %d partitions in\n%s" % (t, NUM_PARTITIONS, text))

    raw = kcat(["-L", "-J"], "kcat -L -J")
    try:
        md = json.loads(raw)
    except ValueError as e:
        raise harness.TestFailure("kcat -L -J printed invalid JSON (%s): %r" % (e, raw[:400]))
    expect_eq(len(md.get("brokers", [])), 1, "number of brokers in kcat -L -J")
    broker_id = md["brokers"][0]["id"]
    check(md["brokers"][0]["name"].endswith(":%d" % broker().port),
          "broker address %r should end with the listener port %d" % (md["brokers"][0]["name"], broker().port))
    topics = {t["topic"]: t for t in md.get("topics", [])}
    for name in ("kcat-meta-a", "kcat-meta-b"):
        check(name in topics, "kcat -L -J: topic %s missing; topics: %s" % (name, sorted(topics)))
        t = topics[name]
        check("error" not in t, "topic %s has error %r" % (name, t.get("error")))
        parts = sorted(t["partitions"], key=lambda p: p["partition"])
        expect_eq([p["partition"] for p in parts], list(range(NUM_PARTITIONS)), "partitions of " + name)
        for p in parts:
            expect_eq(p["leader"], broker_id, "leader of %s[%d]" % (name, p["partition"]))
            expect_eq([r["id"] for r in p["replicas"]], [broker_id], "replicas of %s[%d]" % (name, p["partition"]))

    one = json.loads(kcat(["-L", "-J", "-t", "kcat-meta-a"], "kcat -L -J -t kcat-meta-a"))
    expect_eq([t["topic"] for t in one["topics"]], ["kcat-meta-a"], "topics of a single-topic listing")


def test_clean_shutdown():
    broker().stop()


if __name__ == "__main__":
    run_tests([("lines", test_lines, 120),
               ("keyed_lines", test_keyed_lines, 60),
               ("binary", test_binary, 60),
               ("list_metadata", test_list_metadata, 60),
               ("clean_shutdown", test_clean_shutdown, 30)], "kcat",
              matrix=[("", "kcat (Debian)", harness.client_version("kcat"))])
