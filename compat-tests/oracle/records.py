"""Magic-2 record batches for the oracle's Produce requests, and a reader that turns the
`records` bytes of a Fetch answer into batches (so a difference names the batch field)."""

import struct

_CRC32C_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _varint(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _vbytes(b):
    return _varint(-1) if b is None else _varint(len(b)) + b


def batch(records, base_timestamp, producer_id=-1, producer_epoch=-1, base_sequence=-1,
          transactional=False, control=False, attributes_extra=0, bad_crc=False, gzip=False):
    """records: [(key, value, [(header key, header value)])]; record i gets timestamp
    base_timestamp + i. gzip: the records compressed (attributes codec 1)."""
    body = b""
    for i, (key, value, headers) in enumerate(records):
        r = (b"\x00" + _varint(i) + _varint(i) + _vbytes(key) + _vbytes(value) + _varint(len(headers))
             + b"".join(_vbytes(hk.encode()) + _vbytes(hv) for hk, hv in headers))
        body += _varint(len(r)) + r
    if gzip:
        import gzip as gz
        body = gz.compress(body, mtime=0)
        attributes_extra |= 1
    attrs = attributes_extra | (0x10 if transactional else 0) | (0x20 if control else 0)
    n = len(records)
    after_crc = (struct.pack(">hiqqqhii", attrs, n - 1, base_timestamp, base_timestamp + n - 1,
                             producer_id, producer_epoch, base_sequence, n) + body)
    crc = crc32c(after_crc) ^ (0xFFFFFFFF if bad_crc else 0)
    after_len = struct.pack(">ibI", 0, 2, crc) + after_crc  # partition leader epoch, magic
    return struct.pack(">qi", 0, len(after_len)) + after_len


def parse(data):
    """Fetch `records` bytes -> [batch dict]; a trailing partial batch is kept as bytes."""
    if data is None:
        return None
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base_offset, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            break
        b = data[pos:pos + 12 + length]
        (leader_epoch, magic, crc, attrs, last_delta, base_ts, max_ts, pid, epoch, base_seq,
         count) = struct.unpack_from(">ibIhiqqqhii", b, 12)
        out.append({"BaseOffset": base_offset, "BatchLength": length, "PartitionLeaderEpoch": leader_epoch,
                    "Magic": magic, "Crc": crc, "Attributes": attrs, "LastOffsetDelta": last_delta,
                    "BaseTimestamp": base_ts, "MaxTimestamp": max_ts, "ProducerId": pid,
                    "ProducerEpoch": epoch, "BaseSequence": base_seq, "RecordCount": count,
                    "RecordsBytes": b[61:].hex()})
        pos += 12 + length
    if pos < len(data):
        out.append({"PartialBatch": data[pos:].hex()})
    return out
