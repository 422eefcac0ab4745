#!/usr/bin/env python3
"""Convert Kafka's JSON message definitions into Runnel's schema files.

Usage: import_kafka_json.py <dir with *.json> <protocol/schema dir>

The schema form (read by generate.py) is line oriented; indentation (two
spaces) nests fields inside the struct-typed field above them:

  request ProduceRequest apiKey=0 versions=0-11 flexible=9+ [unstable]
    Acks int16 0+
    TopicData []TopicProduceData 0+
      Name string 0+ mapKey
      ...
  common SomeStruct 0+          (a common struct of the message above)
    Field int32 0+

Message line:  <kind> <Name> [apiKey=N] versions=R flexible=R [deprecated=R]
               [listeners=a,b] [unstable]      kind: request|response|header|data
Field line:    <Name> <type> <versions> [nullable=R] [tagged=R tag=N]
               [flexible=R] [default=V] [mapKey]
Ranges are "N", "N-M", "N+" or "none". String defaults are JSON-quoted;
default=null means null. Only facts are kept: no descriptions.
"""
import json
import os
import re
import sys


def strip_comments(text):
    out = []
    for line in text.split("\n"):
        res = []
        in_str = False
        i = 0
        while i < len(line):
            c = line[i]
            if in_str:
                res.append(c)
                if c == "\\" and i + 1 < len(line):
                    res.append(line[i + 1])
                    i += 1
                elif c == '"':
                    in_str = False
            else:
                if line.startswith("//", i):
                    break
                if c == '"':
                    in_str = True
                res.append(c)
            i += 1
        out.append("".join(res))
    return "\n".join(out)


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def api_base(name):
    for suffix in ("Request", "Response"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def fmt_default(ftype, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    value = str(value)
    if ftype == "string":
        if value == "null":
            return "null"
        return json.dumps(value, ensure_ascii=False)
    return value


def field_lines(fields, indent):
    lines = []
    for f in fields:
        parts = [f["name"], f["type"], f["versions"]]
        if "nullableVersions" in f:
            parts.append("nullable=" + f["nullableVersions"])
        if "taggedVersions" in f:
            parts.append("tagged=" + f["taggedVersions"])
            parts.append("tag=" + str(int(f["tag"])))
        if "flexibleVersions" in f:
            parts.append("flexible=" + f["flexibleVersions"])
        if "default" in f:
            parts.append("default=" + fmt_default(f["type"], f["default"]))
        if f.get("mapKey"):
            parts.append("mapKey")
        lines.append("  " * indent + " ".join(parts))
        if "fields" in f:
            lines.extend(field_lines(f["fields"], indent + 1))
    return lines


def message_lines(d):
    parts = [d["type"], d["name"]]
    if "apiKey" in d:
        parts.append("apiKey=%d" % d["apiKey"])
    parts.append("versions=" + d["validVersions"])
    parts.append("flexible=" + d["flexibleVersions"])
    if "deprecatedVersions" in d:
        parts.append("deprecated=" + d["deprecatedVersions"])
    if "listeners" in d:
        parts.append("listeners=" + ",".join(d["listeners"]))
    if d.get("latestVersionUnstable"):
        parts.append("unstable")
    lines = [" ".join(parts)]
    lines.extend(field_lines(d["fields"], 1))
    for s in d.get("commonStructs", []):
        lines.append("common %s %s" % (s["name"], s["versions"]))
        lines.extend(field_lines(s["fields"], 1))
    return lines


def main():
    src, dst = sys.argv[1], sys.argv[2]
    groups = {}
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(src, fn), encoding="utf-8") as fh:
            d = json.loads(strip_comments(fh.read()))
        if d["type"] in ("request", "response"):
            key = snake(api_base(d["name"]))
        else:
            key = snake(d["name"])
        groups.setdefault(key, []).append(d)
    order = {"request": 0, "response": 1, "header": 2, "data": 3}
    for key, msgs in sorted(groups.items()):
        msgs.sort(key=lambda d: order[d["type"]])
        out = ["# Runnel protocol schema (see protocol/gen/import_kafka_json.py)."]
        for d in msgs:
            out.extend(message_lines(d))
        with open(os.path.join(dst, key + ".schema"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
    print("wrote %d schema files" % len(groups))


if __name__ == "__main__":
    main()
