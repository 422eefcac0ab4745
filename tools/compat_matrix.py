#!/usr/bin/env python3
"""Writes docs/compatibility.md from the rows the compatibility suites recorded in a test run.

    tools/compat_matrix.py <results dir> <output file>

Every suite appends JSON lines to <results dir>/<suite>.jsonl (compat-tests/harness.py,
record_result): suite, client, version, scenario, passed, note. Extra sections come from
<results dir>/*.section.md (each a markdown fragment a suite writes: counts, accepted
differences), included in name order. tools/test.sh runs this after ctest.
"""

import collections
import datetime
import glob
import json
import os
import subprocess
import sys


def load_rows(results_dir):
    rows = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.jsonl"))):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    sys.exit("%s:%d: not a JSON line" % (path, n))
                for key in ("suite", "client", "version", "scenario", "passed"):
                    if key not in row:
                        sys.exit("%s:%d: no %r" % (path, n, key))
                rows.append(row)
    return rows


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def commit_of(root):
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


# librdkafka's suite runs twice: (counts file suffix, group protocol, the lists it reads).
LIBRDKAFKA_SUITE_RUNS = [
    ("", "classic", [("waiting.txt", "Waiting"), ("not_applicable.txt", "Not applicable"),
                     ("classic_not_run.txt", "Not run with classic groups")]),
    ("-consumer", "consumer", [("consumer_waiting.txt", "Waiting with consumer groups"),
                               ("consumer_not_run.txt", "Not run with consumer groups")]),
]


def list_entries(root, name):
    listing = os.path.join(root, "compat-tests", "librdkafka-suite", name)
    if not os.path.exists(listing):
        return None
    out = []
    with open(listing) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [x.strip() for x in line.split("|")]
            out.append((parts[0], parts[1] if len(parts) > 1 else ""))
    return out


def librdkafka_suite_section(results_dir, root):
    out = []
    for suffix, protocol, lists in LIBRDKAFKA_SUITE_RUNS:
        path = os.path.join(results_dir, "librdkafka-suite%s-counts.json" % suffix)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            c = json.load(f)
        if not out:
            out = ["## librdkafka's own regression suite", ""]
        out.append("librdkafka %s's `tests/` in broker mode against Runnel (`compat-tests/librdkafka-suite/`, "
                   "`TEST_KAFKA_VERSION=%s`, %s groups), %s test processes at once, %.0f s:"
                   % (c.get("librdkafka", "?"), c.get("kafka_version", "?"), protocol, c.get("jobs", "?"),
                      c.get("seconds", 0)))
        out.append("")
        out.append("| passed | failed | waiting for an API, feature or fix | not applicable to one plaintext broker "
                   "| not run with %s groups |" % protocol)
        out.append("|---|---|---|---|---|")
        out.append("| %d | %d | %d | %d | %d |" % (c.get("passed", 0), c.get("failed", 0), c.get("waiting", 0),
                                                   c.get("not_applicable", 0), c.get("not_run", 0)))
        out.append("")
        for name, title in lists:
            entries = list_entries(root, name)
            if not entries:
                continue
            out.append("%s (`compat-tests/librdkafka-suite/%s`):" % (title, name))
            out.append("")
            no_group = [u for u, why in entries if why.startswith("no group membership")]
            for unit, why in entries:
                if unit not in no_group:
                    out.append("- %s: %s" % (unit, why))
            if no_group:
                out.append("- %s: no group membership (they never subscribe; the reasons are in the file)"
                           % ", ".join(no_group))
            out.append("")
        if c.get("flaky_tests"):
            out.append("Passed only when run a second time: %s." % ", ".join(sorted(c["flaky_tests"])))
            out.append("")
    return "\n".join(out) if out else None


def oracle_section(root):
    sys.path.insert(0, os.path.join(root, "compat-tests", "oracle"))
    try:
        import known_runnel_bugs
    except ImportError:
        return None
    out = ["## Differences from Apache Kafka 4.4 (the oracle)", ""]
    out.append("The differential oracle (`compat-tests/oracle/`, [oracle.md](oracle.md)) sends the same "
               "requests to Kafka 4.4 and to Runnel. Differences that are expected (ids, times, the old "
               "versions only Runnel keeps) are listed in `compat-tests/oracle/expected_differences.py`; "
               "the ones that are Runnel's to fix:")
    out.append("")
    for bug in known_runnel_bugs.KNOWN_BUGS:
        out.append("- %s: %s" % (bug.get("api", ""), bug.get("why", "")))
    out.append("")
    out.append("APIs Kafka 4.4 has and Runnel does not implement yet: %s."
               % ", ".join("%s (%d)" % (n, k) for k, n in sorted(known_runnel_bugs.MISSING_APIS.items())))
    out.append("")
    out.append("Versions where Runnel stops below Kafka 4.4: %s."
               % ", ".join("key %d: %d < %d" % (k, v[0], v[1])
                           for k, v in sorted(known_runnel_bugs.MISSING_VERSIONS.items())))
    return "\n".join(out)


def render(rows, sections, commit):
    out = []
    out.append("# Compatibility")
    out.append("")
    out.append("Which clients work with Runnel, scenario by scenario, as the last full test run "
               "(`tools/test.sh`) found them. This page is written by that run "
               "(`tools/compat_matrix.py`), not by hand: every row is a scenario a suite in "
               "`compat-tests/` ran against a real Runnel broker.")
    out.append("")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out.append("Run: %s, commit %s." % (stamp, commit))
    out.append("")
    by_client = collections.OrderedDict()
    for r in sorted(rows, key=lambda r: (r["client"].lower(), r["version"])):
        by_client.setdefault((r["client"], r["version"]), []).append(r)
    out.append("## Summary")
    out.append("")
    out.append("| client | version | scenarios passed | not passing (each listed in its suite with its "
               "cause: an API Runnel lacks yet, or a failure) |")
    out.append("|---|---|---|---|")
    for (client, version), rs in by_client.items():
        ok = sum(1 for r in rs if r["passed"])
        bad = [r["scenario"] for r in rs if not r["passed"]]
        out.append("| %s | %s | %d of %d | %s |" % (cell(client), cell(version), ok, len(rs),
                                                   cell(", ".join(bad)) if bad else "-"))
    out.append("")
    for section in sections:
        out.append(section.rstrip())
        out.append("")
    out.append("## Every scenario")
    out.append("")
    by_suite = collections.OrderedDict()
    for r in sorted(rows, key=lambda r: r["suite"]):
        by_suite.setdefault(r["suite"], []).append(r)
    for suite, rs in by_suite.items():
        out.append("### %s" % suite)
        out.append("")
        out.append("| client | version | scenario | result | note |")
        out.append("|---|---|---|---|---|")
        for r in rs:
            out.append("| %s | %s | %s | %s | %s |" % (
                cell(r["client"]), cell(r["version"]), cell(r["scenario"]),
                "pass" if r["passed"] else "**fail**", cell(r.get("note") or "")))
        out.append("")
    return "\n".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results_dir, output = sys.argv[1], sys.argv[2]
    rows = load_rows(results_dir)
    if not rows:
        sys.exit("compat_matrix: no rows in %s" % results_dir)
    sections = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.section.md"))):
        with open(path) as f:
            sections.append(f.read())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for extra in (librdkafka_suite_section(results_dir, root), oracle_section(root)):
        if extra:
            sections.append(extra)
    text = render(rows, sections, commit_of(root))
    with open(output + ".new", "w") as f:
        f.write(text + "\n")
    os.replace(output + ".new", output)
    failed = sum(1 for r in rows if not r["passed"])
    print("compat_matrix: %d rows (%d failed) from %s into %s" % (len(rows), failed, results_dir,
                                                                output))


if __name__ == "__main__":
    main()
