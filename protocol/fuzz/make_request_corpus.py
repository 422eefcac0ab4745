#!/usr/bin/env python3
"""Writes the seed corpus of request_decode_fuzz from the golden request bytes.

Usage: make_request_corpus.py <golden dir> <output dir>

For every API, the lowest version, the first flexible version and the highest
version of the "primary" request vector become one seed each: a request header
(at the header version the vector names, correlation id 1, client id "seed")
followed by the body bytes.
"""
import json
import os
import struct
import sys


def header(api_key, version, header_version):
    out = struct.pack(">hhi", api_key, version, 1)
    if header_version >= 1:
        out += struct.pack(">h", 4) + b"seed"
    if header_version >= 2:
        out += b"\x00"  # no tagged fields
    return out


def main():
    golden, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    msg_dir = os.path.join(golden, "messages")
    for name in sorted(os.listdir(msg_dir)):
        vectors = []
        with open(os.path.join(msg_dir, name), encoding="utf-8") as f:
            for line in f:
                v = json.loads(line)
                if v["kind"] == "request" and v["variant"] == "primary" and not v["unstable"]:
                    vectors.append(v)
        if not vectors:
            continue
        vectors.sort(key=lambda v: v["version"])
        picked = {vectors[0]["version"], vectors[-1]["version"]}
        flexible = [v["version"] for v in vectors if v["flexible"]]
        if flexible:
            picked.add(flexible[0])
        for v in vectors:
            if v["version"] not in picked:
                continue
            data = header(v["api_key"], v["version"], v["header_version"]) + bytes.fromhex(v["hex"])
            path = os.path.join(out_dir, "%s_v%d" % (name.split(".")[0], v["version"]))
            with open(path, "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
