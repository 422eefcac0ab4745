"""Kafka wire encoding and decoding for the raw-socket compat tests (standard library only).

Encoders return bytes; `Reader` decodes a response and fails the test (harness.check) on a
truncated or malformed one. `frame()` builds a size-prefixed request with header v1 (v2 for
flexible versions). `record_batch()` builds a magic-2 record batch with a correct CRC-32C.
"""

import itertools
import socket
import struct
import time

import harness
from harness import TestFailure, check, expect_eq

# ---- encoding ----


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def varint(n):
    return uvarint((n << 1) ^ (n >> 63))  # zigzag


def _raw(s):
    return s.encode() if isinstance(s, str) else s


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = _raw(s)
    return struct.pack(">h", len(b)) + b


def cstring(s):
    if s is None:
        return uvarint(0)
    b = _raw(s)
    return uvarint(len(b) + 1) + b


def bytes32(b):
    return struct.pack(">i", len(b)) + b


def array(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def carray(items):
    return uvarint(len(items) + 1) + b"".join(items)


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


_correlation = itertools.count(1000)


def frame(api_key, version, body, flexible, client_id="runnel-compat"):
    """Request header v1 (v2 with an empty tag buffer for flexible versions) + body, size-prefixed.
    Returns (correlation id, bytes)."""
    corr = next(_correlation)
    hdr = struct.pack(">hhi", api_key, version, corr) + string(client_id)
    if flexible:
        hdr += b"\x00"
    payload = hdr + body
    return corr, struct.pack(">i", len(payload)) + payload


# ---- record batches ----

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


TRANSACTIONAL = 0x10


def record_batch(values, producer_id=-1, epoch=-1, base_sequence=-1, transactional=False):
    """A magic-2 batch (base offset 0, uncompressed) with one record per value."""
    body = b""
    for i, v in enumerate(values):
        rec = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        body += varint(len(rec)) + rec
    ts = int(time.time() * 1000)
    attributes = TRANSACTIONAL if transactional else 0
    after_crc = (struct.pack(">hiqqqhi", attributes, len(values) - 1, ts, ts, producer_id, epoch, base_sequence)
                 + i32(len(values)) + body)
    after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


# ---- decoding ----

class Reader:
    def __init__(self, data, what):
        self.d, self.pos, self.what = data, 0, what

    def take(self, n):
        check(self.pos + n <= len(self.d), "%s: response truncated at byte %d (wanted %d more of %d)"
              % (self.what, self.pos, n, len(self.d)))
        b = self.d[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            check(shift < 35, "%s: uvarint too long" % self.what)

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode("utf-8", "backslashreplace")

    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode("utf-8", "backslashreplace")

    def bytes32(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, fn):
        n = self.i32()
        check(-1 <= n <= 10000, "%s: array length %d" % (self.what, n))
        return [fn() for _ in range(max(n, 0))]

    def carray(self, fn):
        n = self.uvarint()
        check(n <= 10001, "%s: compact array length %d" % (self.what, n))
        return [fn() for _ in range(max(n - 1, 0))]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def end(self):
        expect_eq(self.pos, len(self.d), "%s: response length" % self.what)


# ---- requests ----

def call(port, api_key, version, body, what, flexible=False, client_id="runnel-compat", sock=None,
         timeout=10.0):
    """Sends one request (on `sock`, or on a fresh connection to 127.0.0.1:`port` that is closed
    afterwards) and returns a Reader positioned after the response header, whose correlation id
    it checks."""
    corr, data = frame(api_key, version, body, flexible, client_id)
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        payload = harness.recv_frame(s, timeout)
    finally:
        if sock is None:
            s.close()
    r = Reader(payload, what)
    expect_eq(r.i32(), corr, what + ": correlation id")
    if flexible:
        r.tags()
    return r


def still_serving(broker, after):
    """Fails unless `broker` is alive and a fresh connection gets an ApiVersions answer."""
    broker.check_alive(after)
    try:
        harness.api_versions_probe(broker.port)
    except (OSError, TestFailure) as e:
        raise TestFailure("after %s: a fresh connection got no ApiVersions answer: %s" % (after, e))
