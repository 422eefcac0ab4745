#!/usr/bin/env python3
"""Writes the seed corpus of segment_recovery_fuzz (layout in
segment_recovery_fuzz.cc) from the golden v2 record batches.

Usage: make_recovery_corpus.py <golden dir> <output dir>
"""
import json
import os
import struct
import sys


def seed(flags, snapshot_offset, index=b"", timeindex=b"", txnindex=b"", snapshot=b"", log=b""):
    head = bytes([flags, snapshot_offset])
    head += struct.pack(">HHHH", len(index), len(timeindex), len(txnindex), len(snapshot))
    return head + index + timeindex + txnindex + snapshot + log


def main():
    golden, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    batches = {}
    with open(os.path.join(golden, "records", "record_batches.jsonl"), encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            if v["magic"] == 2:
                batches[v["name"]] = (bytes.fromhex(v["hex"]), v["batches"][0])
    # A segment: plain, gzip, transactional, its commit marker, zstd; offsets
    # rewritten to follow each other (baseOffset is outside the CRC).
    log = b""
    offset = 0
    index = b""
    timeindex = b""
    for name in ["v2_none", "v2_gzip", "v2_transactional", "v2_control_commit", "v2_zstd"]:
        data, info = batches[name]
        last = offset + info["last_offset_delta"]
        index += struct.pack(">ii", offset, len(log))
        timeindex += struct.pack(">qi", info["max_timestamp"], last)
        log += struct.pack(">q", offset) + data[8:]
        offset = last + 1
    # Snapshot: magic, version, crc (fixed by flag 4), offset, one producer
    # (id 4242 epoch 3) with one batch.
    producer = struct.pack(">qhiqqb", 4242, 3, 9, 1700000100001, -1, 1)
    producer += struct.pack(">iiqiq", 17, 18, 7, 1, 1700000100001)
    snapshot = b"RNPS" + struct.pack(">hIqi", 1, 0, 9, 1) + producer
    outputs = {
        "unclean_no_indexes": seed(0, 0, log=log),
        "clean_no_indexes": seed(1, 0, log=log),
        "unclean_with_indexes": seed(0, 0, index, timeindex, log=log),
        "clean_with_snapshot": seed(1 | 4, 9, index, timeindex, snapshot=snapshot, log=log),
        "torn_last_batch": seed(2, 0, log=log[:-20]),
        "empty": seed(0, 0),
    }
    for name, data in outputs.items():
        with open(os.path.join(out_dir, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
