#!/usr/bin/env python3
"""Convert Kafka's JSON message definitions into Runnel's schema files.

Usage: import_kafka_json.py <label>=<dir with *.json> [...] <protocol/schema dir>

Several sources may be given, oldest first (e.g. 3.9.0=<3.9 dir> 4.4.0=<4.4
dir>): the schema of each message then covers the union of their versions.
A newer source describes every version from its lowest valid version up; an
older one the versions below that. Where both describe a version they must
agree (fields present, types, nullable, tagged and flexible versions,
defaults); any disagreement stops the import. An older source's latest
version that it marks unstable is replaced by a newer source's definition of
that version, if there is one. Messages pair up by api key
(request/response) or name (headers, data), so an API that a newer source
renames keeps one schema, under the newer name; a field that a newer source
renames at the same place with the same layout takes the newer name too (the
import prints each rename). Every *.schema file of the output directory is
rewritten, and one that no source produces any more is removed.

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


# --------------------------------------------------------------------------
# Version sets. A set is a frozenset of versions 0..CAP; CAP stands for every
# version above the highest one any source defines (an open "N+" range).

CAP = 1000


def vset(text):
    if text is None or text == "none":
        return frozenset()
    if text.endswith("+"):
        return frozenset(range(int(text[:-1]), CAP + 1))
    if "-" in text:
        a, b = text.split("-")
        return frozenset(range(int(a), int(b) + 1))
    return frozenset([int(text)])


def vtext(s, what):
    if not s:
        return "none"
    lo, hi = min(s), max(s)
    if len(s) != hi - lo + 1:
        raise ImportConflict("%s: versions %s are not one range" % (what, sorted(s)))
    if hi == CAP:
        return "%d+" % lo
    return str(lo) if lo == hi else "%d-%d" % (lo, hi)


class ImportConflict(Exception):
    pass


def split(s, low):
    """The part of set s below `low`, and the part from `low` up."""
    return frozenset(v for v in s if v < low), frozenset(v for v in s if v >= low)


def merge_set(old_s, new_s, low, overlap, what):
    """Old's versions below `low`, new's from `low` up; both must agree on
    the versions in `overlap`."""
    for v in overlap:
        if (v in old_s) != (v in new_s):
            raise ImportConflict("%s: version %d is %s in the older source, %s in the newer" % (
                what, v, "in" if v in old_s else "not in", "in" if v in new_s else "not in"))
    return split(old_s, low)[0] | split(new_s, low)[1]


def attr_text(result, present, candidates, what):
    """The range text for `result`, an attribute's versions that only matter
    where the field is `present`: the first source text that means the same
    there (keeps "3+" rather than "3-13"), else `result` itself."""
    for c in candidates:
        if c is not None and vset(c) & present == result & present:
            return c
    return vtext(result & present, what)


# --------------------------------------------------------------------------
# Merging one message's definitions


class Span:
    """The versions a source describes: from `low` up (the newest source, or
    any source for the versions above an older one) and its own
    `valid` versions."""

    def __init__(self, old_valid, new_valid):
        self.low = min(new_valid) if new_valid else CAP + 1
        self.overlap = frozenset(v for v in old_valid if v >= self.low)


def struct_shape(f):
    return f["type"][2:] if f["type"].startswith("[]") else f["type"]


def merge_field(a, b, span, what, renames):
    """a (older) and b (newer) are the same field; returns the merged field."""
    name = b["name"]
    if a["name"] != b["name"]:
        renames.append("%s: %s -> %s" % (what, a["name"], b["name"]))
    what = "%s.%s" % (what, name)
    ta, tb = a["type"], b["type"]
    inline = "fields" in a and "fields" in b
    if ta != tb:
        same_array = ta.startswith("[]") == tb.startswith("[]")
        if not (inline and same_array):
            raise ImportConflict("%s: type %s in the older source, %s in the newer" % (what, ta, tb))
        renames.append("%s: type %s -> %s" % (what, struct_shape(a), struct_shape(b)))
    if ("fields" in a) != ("fields" in b):
        raise ImportConflict("%s: inline struct in one source only" % what)
    pa, pb = vset(a["versions"]), vset(b["versions"])
    present = merge_set(pa, pb, span.low, span.overlap, what + " versions")
    out = {"name": name, "type": tb, "versions": vtext(present, what)}
    both = span.overlap & pa  # versions both sources describe, field present
    for key in ("nullableVersions", "taggedVersions", "flexibleVersions"):
        if key in a or key in b:
            sa, sb = vset(a.get(key)), vset(b.get(key))
            res = merge_set(sa & pa, sb & pb, span.low, both, "%s %s" % (what, key))
            # flexibleVersions "none" still says something: not the message's.
            if res & present or key == "flexibleVersions":
                out[key] = attr_text(res, present, [b.get(key), a.get(key)], what)
    if "taggedVersions" in out:
        tags = {int(x["tag"]) for x in (a, b) if "tag" in x}
        if len(tags) != 1:
            raise ImportConflict("%s: tags %s" % (what, sorted(tags)))
        out["tag"] = tags.pop()
    if "default" in a or "default" in b:
        da, db = a.get("default"), b.get("default")
        if str(da) != str(db) and both:
            raise ImportConflict("%s: default %r in the older source, %r in the newer" % (what, da, db))
        out["default"] = db if "default" in b else da
    if a.get("mapKey") or b.get("mapKey"):
        out["mapKey"] = True
    if "fields" in b:
        out["fields"] = merge_fields(a["fields"], b["fields"], span, what, renames)
    return out


def only_field(f, span, older, what):
    """A field that one source alone defines."""
    what = "%s.%s" % (what, f["name"])
    s = vset(f["versions"])
    if older:
        for v in span.overlap & s:
            raise ImportConflict("%s: version %d is only in the older source" % (what, v))
        present = split(s, span.low)[0]
    else:
        for v in span.overlap & s:
            raise ImportConflict("%s: version %d is only in the newer source" % (what, v))
        present = split(s, span.low)[1]
    out = dict(f)
    out["versions"] = vtext(present, what)
    for key in ("nullableVersions", "taggedVersions", "flexibleVersions"):
        if key in f:
            res = vset(f[key]) & present
            if res or key == "flexibleVersions":
                out[key] = attr_text(res, present, [f[key]], what)
            else:
                del out[key]
                if key == "taggedVersions":
                    out.pop("tag", None)
    if "fields" in f:
        out["fields"] = [only_field(g, span, older, what) for g in f["fields"]]
    return out


def present_in_overlap(f, span):
    return bool(vset(f["versions"]) & span.overlap)


def merge_fields(old, new, span, what, renames):
    old_names = {f["name"] for f in old}
    new_names = {f["name"] for f in new}
    out, i, j = [], 0, 0
    while i < len(old) or j < len(new):
        a = old[i] if i < len(old) else None
        b = new[j] if j < len(new) else None
        if a is not None and a["name"] not in new_names:
            if (b is not None and b["name"] not in old_names and present_in_overlap(a, span)
                    and present_in_overlap(b, span)):
                out.append(merge_field(a, b, span, what, renames))  # renamed in place
                i += 1
                j += 1
            else:
                out.append(only_field(a, span, True, what))
                i += 1
        elif b is not None and b["name"] not in old_names:
            out.append(only_field(b, span, False, what))
            j += 1
        elif a is not None and b is not None and a["name"] == b["name"]:
            out.append(merge_field(a, b, span, what, renames))
            i += 1
            j += 1
        else:
            raise ImportConflict("%s: fields %s and %s are in a different order in the two sources"
                                 % (what, a["name"] if a else "-", b["name"] if b else "-"))
    return [f for f in out if f["versions"] != "none"]


def merge_message(a, b, renames, unstable=None):
    """a (older) and b (newer) define one message; returns the merged one.
    `unstable` is the older source's unstable latest version of the API, if
    any: when the newer source defines that version, its definition wins."""
    what = b["name"]
    va, vb = vset(a["validVersions"]), vset(b["validVersions"])
    if unstable is not None and unstable in vb:
        va = va - {unstable}
    if not vb:
        return a
    if not va:
        return b
    valid = va | vb
    vtext(valid, what + " validVersions")
    span = Span(va, vb)
    if a["name"] != b["name"]:
        renames.append("%s -> %s" % (a["name"], b["name"]))
    out = {"type": b["type"], "name": b["name"]}
    if "apiKey" in b:
        out["apiKey"] = b["apiKey"]
    if a.get("apiKey") != b.get("apiKey"):
        raise ImportConflict("%s: api keys differ" % what)
    # validVersions: every version either source defines, as one range.
    out["validVersions"] = vtext(frozenset(v for v in valid if v <= max(vb | va)), what)
    fa, fb = vset(a.get("flexibleVersions")), vset(b.get("flexibleVersions"))
    flex = merge_set(fa & va, fb, span.low, span.overlap, what + " flexibleVersions")
    out["flexibleVersions"] = attr_text(flex, valid | frozenset([CAP]),
                                        [b.get("flexibleVersions"), a.get("flexibleVersions")], what)
    dep = split(vset(a.get("deprecatedVersions")) & va, span.low)[0] | \
        split(vset(b.get("deprecatedVersions")) & vb, span.low)[1]
    if dep:
        out["deprecatedVersions"] = vtext(dep, what + " deprecatedVersions")
    for x in (b, a):
        if "listeners" in x:
            out["listeners"] = x["listeners"]
            break
    if max(vb) >= max(va) and b.get("latestVersionUnstable"):
        out["latestVersionUnstable"] = True
    elif max(va) > max(vb) and a.get("latestVersionUnstable"):
        out["latestVersionUnstable"] = True
    out["fields"] = merge_fields(a.get("fields", []), b.get("fields", []), span, what, renames)
    commons_a = {s["name"]: s for s in a.get("commonStructs", [])}
    commons = []
    for s in b.get("commonStructs", []):
        if s["name"] in commons_a:
            sa = commons_a.pop(s["name"])
            sw = "%s.%s" % (what, s["name"])
            versions = merge_set(vset(sa["versions"]), vset(s["versions"]), span.low,
                                 span.overlap & vset(sa["versions"]) & vset(s["versions"]),
                                 sw + " versions")
            commons.append({"name": s["name"], "versions": vtext(versions, sw),
                            "fields": merge_fields(sa["fields"], s["fields"], span, sw, renames)})
        else:
            commons.append({"name": s["name"], "versions": s["versions"],
                            "fields": [only_field(g, span, False, what) for g in s["fields"]]})
    for s in commons_a.values():
        commons.append({"name": s["name"], "versions": s["versions"],
                        "fields": [only_field(g, span, True, what) for g in s["fields"]]})
    if commons:
        out["commonStructs"] = commons
    return out


# --------------------------------------------------------------------------
# The check: every version each source defines has, in the merged message,
# the same wire layout (names aside) as in that source.


def layout(d, v):
    flexible = v in vset(d.get("flexibleVersions"))
    commons = {s["name"]: s["fields"] for s in d.get("commonStructs", [])}

    def fields_at(fields):
        out = []
        for f in fields:
            if v not in vset(f["versions"]):
                continue
            elem = struct_shape(f)
            sub = f.get("fields") or commons.get(elem)
            tagged = v in vset(f.get("taggedVersions"))
            out.append((f["type"].startswith("[]"), fields_at(sub) if sub is not None else elem,
                        v in vset(f.get("nullableVersions")), int(f["tag"]) if tagged else None,
                        v in vset(f["flexibleVersions"]) if "flexibleVersions" in f else flexible,
                        str(f.get("default")) if tagged else None))
        return out

    return (flexible, fields_at(d.get("fields", [])))


def check_merged(merged, label, d, skip):
    for v in sorted(vset(d["validVersions"]) - skip):
        if v not in vset(merged["validVersions"]) or layout(merged, v) != layout(d, v):
            raise SystemExit("%s v%d: the merged schema differs from %s's definition"
                             % (d["name"], v, label))


# --------------------------------------------------------------------------
# Output


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


def load(src):
    """key -> definition for every *.json of one source directory."""
    defs = {}
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(src, fn), encoding="utf-8") as fh:
            d = json.loads(strip_comments(fh.read()))
        if d["type"] in ("request", "response"):
            key = (d["type"], d["apiKey"])
        else:
            key = (d["type"], d["name"])
        defs[key] = d
    return defs


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    sources = []
    for arg in sys.argv[1:-1]:
        label, sep, path = arg.partition("=")
        if not sep:
            raise SystemExit("a source is <label>=<dir>: " + arg)
        sources.append((label, load(path)))
    dst = sys.argv[-1]
    merged, renames = {}, []
    for label, defs in sources:
        # The unstable latest version of each API so far (flagged on its request).
        unstable = {}
        for (kind, api), d in merged.items():
            if kind == "request" and d.get("latestVersionUnstable"):
                unstable[api] = max(vset(d["validVersions"]))
        for key, d in defs.items():
            try:
                if key in merged:
                    merged[key] = merge_message(merged[key], d, renames, unstable.get(key[1]))
                else:
                    merged[key] = d
            except ImportConflict as e:
                raise SystemExit("cannot merge %s into the older sources: %s" % (label, e))
    for i, (label, defs) in enumerate(sources):
        for key, d in defs.items():
            # An unstable latest version a newer source redefines is not checked.
            skip = set()
            req = defs.get(("request", key[1])) if key[0] in ("request", "response") else d
            if req is not None and req.get("latestVersionUnstable"):
                latest = max(vset(req["validVersions"]))
                if any(latest in vset(later.get(key, {}).get("validVersions"))
                       for _, later in sources[i + 1:]):
                    skip.add(latest)
            check_merged(merged[key], label, d, skip)
    groups = {}
    for (kind, _), d in merged.items():
        if not vset(d["validVersions"]):
            continue
        name = snake(api_base(d["name"]) if kind in ("request", "response") else d["name"])
        groups.setdefault(name, []).append(d)
    order = {"request": 0, "response": 1, "header": 2, "data": 3}
    header = ["# Runnel protocol schema (see protocol/gen/import_kafka_json.py).",
              "# From Kafka's message definitions: %s." % ", ".join(l for l, _ in sources)]
    for key, msgs in sorted(groups.items()):
        msgs.sort(key=lambda d: order[d["type"]])
        out = list(header)
        for d in msgs:
            out.extend(message_lines(d))
        with open(os.path.join(dst, key + ".schema"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
    stale = [fn for fn in os.listdir(dst) if fn.endswith(".schema") and fn[:-7] not in groups]
    for fn in stale:
        os.remove(os.path.join(dst, fn))
    for r in renames:
        print("renamed " + r)
    print("wrote %d schema files, removed %d" % (len(groups), len(stale)))


if __name__ == "__main__":
    main()
