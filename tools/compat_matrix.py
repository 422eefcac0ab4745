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
    out.append("| client | version | scenarios passed | failed |")
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
    text = render(rows, sections, commit_of(root))
    with open(output + ".new", "w") as f:
        f.write(text + "\n")
    os.replace(output + ".new", output)
    failed = sum(1 for r in rows if not r["passed"])
    print("compat_matrix: %d rows (%d failed) from %s into %s" % (len(rows), failed, results_dir,
                                                                output))


if __name__ == "__main__":
    main()
