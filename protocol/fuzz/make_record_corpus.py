#!/usr/bin/env python3
"""Writes the seed corpus of record_batch_fuzz from the golden record batches.

Usage: make_record_corpus.py <golden dir> <output dir>

Each golden batch or message set becomes one seed as it is. The records
section of each compressed v2 batch (the bytes after its 61-byte header)
also becomes a seed prefixed with its codec number, the form in which the
target feeds decompress().
"""
import json
import os
import sys

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def main():
    golden, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(golden, "records", "record_batches.jsonl"), encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            data = bytes.fromhex(v["hex"])
            with open(os.path.join(out_dir, v["name"]), "wb") as out:
                out.write(data)
            if v["magic"] == 2 and v["compression"] in CODECS:
                with open(os.path.join(out_dir, "codec_" + v["compression"]), "wb") as out:
                    out.write(bytes([CODECS[v["compression"]]]) + data[61:])


if __name__ == "__main__":
    main()
