#!/usr/bin/env python3
"""librdkafka's own regression suite (librdkafka 2.12.0, tests/test-runner) against Runnel.

tools/deps/librdkafka-suite.sh builds the test runner from the librdkafka tree that the npm
package node-rdkafka 3.6.1 bundles. This suite runs it the way upstream runs it against a real
cluster (tests/LibrdkafkaTestApp.py, `make quick`): broker mode (-L: no local or mock-cluster
tests), quick mode (-Q), no socket-emulation tests (-E), no tests flagged as known issues (-K),
a test.conf with bootstrap.servers and `test.timeout.multiplier=2`, and brokers configured as
the scenario files ask (tests/scenarios/default.json: auto-create on, num.partitions=4;
noautocreate.json: auto-create off, for the tests of that scenario). Every test number runs in
its own test-runner process (TESTS=<number>) under a time limit, several at once, all against
one broker per scenario, as upstream's tests share one cluster.

Quick mode skips every SUB_TEST() (only SUB_TEST_QUICK() runs), which leaves some tests empty:
those in FULL_MODE run without -Q, and a C test whose output shows no client created fails.
0081_admin runs once per Admin API sub-test function (SPLIT), so each API has its own row.
Tests that call $KAFKA_PATH/bin/kafka-topics.sh get Kafka 4.4's own TopicCommand from the class
path tools/deps/kafka.sh resolves.

TEST_KAFKA_VERSION is 4.4.0, the Kafka release whose behaviour Runnel follows: the framework
then expects Kafka 4.x behaviour where it checks the version (message format v0/v1 gone,
group configs, the 4.x authorized operations of a group, Kafka 4's tool class names; every
check in the tree is at 4.0 or below, so any 4.x gives the same run).

The consumer group protocol is a separate switch of the framework,
TEST_CONSUMER_GROUP_PROTOCOL, which sets group.protocol on every consumer the tests create.
The suite runs in one of two modes (LIBRDKAFKA_SUITE_GROUP_PROTOCOL, two ctest entries):
  classic   (compat_librdkafka_suite) the switch unset: classic groups (JoinGroup/SyncGroup);
  consumer  (compat_librdkafka_suite_consumer) TEST_CONSUMER_GROUP_PROTOCOL=consumer: KIP-848
            groups (ConsumerGroupHeartbeat), with the broker's session timeout at the 6 s
            the framework gives classic consumers (MODE_OVERRIDES). Only the units that join
            a consumer group run; consumer_not_run.txt lists every other one with why, and
            the suite checks that a unit it calls "no group membership" there really never
            subscribes (see consumer_not_run.txt's header).

Every unit (test number, scenario or sub-test function) is one of:
  passed          every test of it the runner selected ran and PASSED;
  not applicable  listed in not_applicable.txt (cannot apply to one PLAINTEXT broker): not run;
  not run         listed in <mode>_not_run.txt (meaningless or not needed in this mode): not
                  run;
  waiting         listed in waiting.txt or <mode>_waiting.txt (a planned API or feature, or a
                  known Runnel bug): it runs and must fail the way the list says; if it passes,
                  or fails otherwise, the suite fails ("remove it from waiting.txt"), except
                  for an entry whose reason starts with "client race:" (a race in the client
                  that answer timings decide), which may also pass;
  failed          anything else, including a test that skipped itself without being listed.
Counts go to <build>/compat-results/librdkafka-suite[-consumer]-counts.json, one matrix row
per unit.

Environment (besides harness.py's):
  LIBRDKAFKA_SUITE_GROUP_PROTOCOL=classic|consumer   the mode (default classic)
  RUNNEL_BUILD_DIR          where tools/deps/librdkafka-suite.sh built the runner (default build/)
  COMPAT_ONLY=0001,0045@noautocreate,0081:DeleteRecords   run only these (a test number
                            names all its units)
  LIBRDKAFKA_SUITE_JOBS     test-runner processes at once (default 4)
  LIBRDKAFKA_SUITE_LOGS=1   print every test's output, not only that of failures
  LIBRDKAFKA_SUITE_FULL=1   run every test without quick mode
  LIBRDKAFKA_SUITE_PEER=kafka   run against Apache Kafka 4.4 (kafka_peer.py) instead, to see
                            what Kafka does with a test; nothing is recorded
"""

import concurrent.futures
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
import harness  # noqa: E402
import kafka_peer  # noqa: E402

# The group protocol of the run (see the docstring): its name, the suffix of its matrix suite
# and the value of TEST_CONSUMER_GROUP_PROTOCOL (None: unset).
MODES = {"classic": ("", None), "consumer": ("-consumer", "consumer")}
MODE = os.environ.get("LIBRDKAFKA_SUITE_GROUP_PROTOCOL", "classic")
if MODE not in MODES:
    sys.exit("LIBRDKAFKA_SUITE_GROUP_PROTOCOL=%s: want one of %s" % (MODE, ", ".join(MODES)))
SUITE = "librdkafka-suite" + MODES[MODE][0]
# One row of the compatibility summary per mode.
CLIENT = "librdkafka test suite" + ("" if MODE == "classic" else " (%s groups)" % MODE)
VERSION = "2.12.0"
KAFKA_VERSION = "4.4.0"
RUNNER_ARGS = ["-Q", "-L", "-E", "-K", "-p1"]

# The brokers each scenario needs (tests/scenarios/*.json); replication factors are 1 on one node.
SCENARIOS = {
    "default": {"auto.create.topics.enable": "true"},
    "noautocreate": {"auto.create.topics.enable": "false"},
}
COMMON_OVERRIDES = {
    "num.partitions": "4",
    "default.replication.factor": "1",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "delete.topic.enable": "true",
}
# With consumer groups the session timeout is the broker's (a consumer may not set
# session.timeout.ms): the 6 s the framework gives every classic group consumer
# (test_session_timeout_ms in tests/test.c), instead of Kafka's default of 45 s.
MODE_OVERRIDES = {
    "classic": {},
    "consumer": {"group.consumer.min.session.timeout.ms": "6000",
                 "group.consumer.session.timeout.ms": "6000"},
}

# Wall-time limit of one test-runner process (the slowest unit takes about 110 s).
UNIT_LIMIT = 240
# Test numbers run as one unit per sub-test function (SUBTESTS=<function>:), so that the first
# failing step does not hide the others: 0081_admin calls every Admin API in turn from
# do_test_apis(). Units are named <number>:<function without do_test_>.
SPLIT = {"0081": ("0081-admin.c", "do_test_apis")}
# Test numbers that do nothing in quick mode: their sub-tests are SUB_TEST(), which quick mode
# skips without a word, or the test skips itself ("Test skipped due to quick mode"). They run
# in full mode. A C test that created no client at all fails (see run_unit), so a test that
# does nothing is never counted as passed.
FULL_MODE = {"0018", "0019", "0026", "0045", "0050", "0061", "0082", "0089", "0102", "0122",
             "0132", "0137"}
# With consumer groups also 0022: its one quick sub-test (a subscription to a missing topic) is
# for classic groups only.
if MODE == "consumer":
    FULL_MODE = FULL_MODE | {"0022"}
# The brokers hold several hundred partitions at the end; a clean stop flushes them all.
STOP_TIMEOUT = 60.0


def build_dir():
    return os.environ.get("RUNNEL_BUILD_DIR") or os.path.join(here, "..", "..", "build")


def make_kafka_path(work_dir):
    """A KAFKA_PATH for the tests that call $KAFKA_PATH/bin/kafka-topics.sh (create a topic with
    configs, add partitions, delete): Kafka 4.4's own TopicCommand from the class path that
    tools/deps/kafka.sh resolves. Kafka's other scripts (kafka-acls.sh, the JMX tool) are not
    provided: what needs them is in not_applicable.txt."""
    classpath = kafka_peer.classpath()
    kafka_path = os.path.join(work_dir, "kafka")
    os.makedirs(os.path.join(kafka_path, "bin"))
    log4j = os.path.join(kafka_path, "log4j2.yaml")
    kafka_peer._log4j_config(log4j, os.path.join(kafka_path, "tools.log"), "WARN")
    script = os.path.join(kafka_path, "bin", "kafka-topics.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec '%s' -Xmx256M -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile='%s' "
                "-cp '%s' org.apache.kafka.tools.TopicCommand \"$@\"\n"
                % (kafka_peer.java(), log4j, classpath))
    os.chmod(script, 0o755)
    return kafka_path


def tests_dir():
    return os.path.join(build_dir(), "librdkafka-suite", "librdkafka-%s" % VERSION, "tests")


# ---- the test list, read from the runner's own source ----

def parse_tests(test_c):
    """The tests[] table of tests/test.c: [(name, flags, scenarios)], in order."""
    with open(test_c) as f:
        src = f.read()
    start = src.index("struct test tests[] = {")
    end = src.index("{NULL}};", start)
    table = src[start:end]
    entries = []
    parts = re.split(r"\b_TEST\(", table)[1:]
    for part in parts:
        m = re.match(r"\s*(\w+)\s*,\s*([^,)]*)", part)
        if not m:
            raise harness.TestFailure("cannot parse a _TEST entry of %s: %r" % (test_c, part[:80]))
        name, flags = m.group(1), m.group(2).strip()
        sm = re.search(r'\.scenario\s*=\s*"([^"]*)"', part)
        scenarios = sm.group(1) if sm else "default"
        entries.append((name, flags, scenarios))
    harness.check(len(entries) > 100, "only %d tests parsed from %s" % (len(entries), test_c))
    return entries


def excluded_by_flags(flags):
    """What the runner's -L -E -K and the manual flag leave out (the _WIN32 and _OSX known
    issues are 0 on Linux)."""
    words = set(re.findall(r"TEST_F_\w+", flags))
    why = []
    if "TEST_F_LOCAL" in words:
        why.append("local (no broker)")
    if "TEST_F_SOCKEM" in words:
        why.append("socket emulation (-E)")
    if "TEST_F_KNOWN_ISSUE" in words:
        why.append("known issue (-K)")
    if "TEST_F_MANUAL" in words:
        why.append("manual")
    return why


def split_functions(number):
    """The sub-test functions the driver function of a SPLIT test calls, in order."""
    source, driver = SPLIT[number]
    with open(os.path.join(tests_dir(), source)) as f:
        src = f.read()
    m = re.search(r"\nstatic void %s\([^)]*\) \{\n(.*?)\n\}\n" % driver, src, re.S)
    harness.check(m, "no %s() in %s" % (driver, source))
    names = []
    for name in re.findall(r"\b(do_test_\w+)\(", m.group(1)):
        if name not in names:
            names.append(name)
    harness.check(len(names) > 5, "only %d sub-test functions found in %s()" % (len(names), driver))
    return names


def units(entries):
    """[(unit, number, scenario, [test names], subtests)]: one unit per test number and
    scenario (or per sub-test function of a SPLIT test), with the tests the runner will run
    for it."""
    out = {}
    for name, flags, scenarios in entries:
        if excluded_by_flags(flags):
            continue
        number = name.split("_", 1)[0]
        for scenario in SCENARIOS:
            if scenario in scenarios:
                unit = number if scenario == "default" else "%s@%s" % (number, scenario)
                out.setdefault(unit, (unit, number, scenario, [], None))[3].append(name)
    result = []
    for u in sorted(out.values(), key=lambda u: (u[1], u[2] != "default", u[2])):
        if u[1] in SPLIT and u[2] == "default":
            for fn in split_functions(u[1]):
                result.append(("%s:%s" % (u[1], fn[len("do_test_"):]), u[1], u[2], u[3], fn + ":"))
        else:
            result.append(u)
    return result


def excluded_numbers(entries, selected):
    """Test numbers none of whose tests runs in broker mode, with why."""
    why = {}
    for name, flags, _ in entries:
        number = name.split("_", 1)[0]
        if number in selected:
            continue
        reasons = excluded_by_flags(flags) or ["scenario not run here"]
        why.setdefault(number, set()).update(reasons)
    return why


# ---- the two lists ----

def read_list(path, fields):
    """Lines 'unit | field | field'; '#' starts a comment line. Returns {unit: [fields...]}."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(" | ")]
            if len(parts) != fields + 1 or not all(parts):
                raise harness.TestFailure("%s:%d: expected %d fields separated by ' | ': %r"
                                          % (path, n, fields + 1, line))
            harness.check(parts[0] not in out, "%s:%d: %s listed twice" % (path, n, parts[0]))
            out[parts[0]] = parts[1:]
    return out


def read_optional_list(name, fields):
    path = os.path.join(here, name)
    return read_list(path, fields) if os.path.exists(path) else {}


# A call that joins a consumer group: the framework's helpers that subscribe
# (test_consumer_subscribe*, and test_consume_msgs_easy*, which subscribes when given no
# partition), rd_kafka_subscribe() and the C++ KafkaConsumer::subscribe().
SUBSCRIBES = re.compile(r"\brd_kafka_subscribe\s*\(|->subscribe\s*\(|\btest_consumer_subscribe\w*\s*\("
                        r"|\btest_consume_msgs_easy\w*\s*\(")
NO_GROUP = "no group membership"


def check_not_run(not_run, by_unit):
    """A unit that <mode>_not_run.txt says never joins a group (its reason starts with
    NO_GROUP) must not call anything that subscribes: the list stays true when librdkafka's tests
    change."""
    errors = []
    for unit, (why,) in not_run.items():
        if not why.startswith(NO_GROUP) or unit not in by_unit:
            continue
        number = by_unit[unit][1]
        for path in sorted(glob.glob(os.path.join(tests_dir(), number + "-*.c*"))):
            with open(path, errors="replace") as f:
                # Comments and strings out, so that a word in them does not count.
                src = re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\])*\"",
                             lambda m: " " + "\n" * m.group(0).count("\n"), f.read(), flags=re.S)
            m = SUBSCRIBES.search(src)
            if m:
                line = src.count("\n", 0, m.start()) + 1
                errors.append("%s_not_run.txt says %s has %s, but %s:%d calls %s"
                              % (MODE, unit, NO_GROUP, os.path.basename(path), line,
                                 m.group(0).strip()))
    return errors


# ---- running one test number ----

ANSI = re.compile(r"\x1b\[[0-9;]*m")
_procs_lock = threading.Lock()
_running = []


def run_unit(unit, number, scenario, names, subtests, broker, work_dir, conf_path, kafka_path):
    """Runs the test-runner for one test number; returns a dict with the outcome."""
    log_path = os.path.join(work_dir, "%s.log" % unit.replace("@", "-").replace(":", "-"))
    report_path = os.path.join(work_dir, "%s.report.json" % unit.replace("@", "-").replace(":", "-"))
    # Each test runs in its own folder under <work>/units/, where ../src is librdkafka's src/
    # (0053_stats reads ../src/statistics_schema.json, as from tests/).
    cwd = os.path.join(work_dir, "units", unit.replace("@", "-").replace(":", "-"))
    os.makedirs(cwd, exist_ok=True)
    tdir = tests_dir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "TESTS", "SUBTESTS", "TESTS_SKIP", "TESTS_SKIP_BEFORE", "TEST_DEBUG",
                        "TEST_CONSUMER_GROUP_PROTOCOL", "KAFKA_PATH", "ZK_ADDRESS", "KAFKA_VERSION")}
    env.update({
        "TESTS": number,
        "TEST_SCENARIO": scenario,
        "TEST_KAFKA_VERSION": KAFKA_VERSION,
        "RDKAFKA_TEST_CONF": conf_path,
        "TEST_REPORT": report_path,
        "BROKERS": broker.bootstrap,
        "KAFKA_PATH": kafka_path,
        "RDKAFKA_GITVER": "librdkafka-%s" % VERSION,
        "LD_LIBRARY_PATH": os.pathsep.join([os.path.join(tdir, "..", "src"),
                                            os.path.join(tdir, "..", "src-cpp")]),
    })
    if MODES[MODE][1]:
        env["TEST_CONSUMER_GROUP_PROTOCOL"] = MODES[MODE][1]
    if subtests:
        env["SUBTESTS"] = subtests
    limit = UNIT_LIMIT
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        full = number in FULL_MODE or os.environ.get("LIBRDKAFKA_SUITE_FULL") == "1"
        args = [a for a in RUNNER_ARGS if not (full and a == "-Q")]
        proc = subprocess.Popen([os.path.join(tdir, "test-runner")] + args, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
        harness.register_process(proc)
        with _procs_lock:
            _running.append(proc)
        timed_out = False
        try:
            rc = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait(timeout=30)
        finally:
            with _procs_lock:
                _running.remove(proc)
    dt = time.monotonic() - t0
    with open(log_path, "rb") as f:
        output = ANSI.sub("", f.read().decode("utf-8", "replace"))
    states = {}
    try:
        with open(report_path) as f:
            report = json.load(f)
        states = {n: t.get("state") for n, t in report.get("tests", {}).items()}
    except (OSError, ValueError):
        report = None
    failures = failure_messages(output)
    problems = []
    skips = []
    if timed_out:
        problems.append("no exit within %d s (killed)" % limit)
    elif rc != 0:
        problems.append("test-runner exited with %s" % describe_rc(rc))
    if report is None and not timed_out:
        problems.append("no test report written")
    for name in names:
        state = states.get(name)
        if state == "PASSED":
            continue
        if state == "SKIPPED":
            skips.append("%s skipped: %s" % (name, skip_reason(output, name)))
        elif report is not None:
            problems.append("%s: %s" % (name, state or "not in the report"))
    if (not problems and not skips and glob.glob(os.path.join(tdir, number + "-*.c"))
            and "Created    kafka instance" not in output):
        problems.append("created no client: the test did nothing (quick mode skips SUB_TEST()s: "
                        "add it to FULL_MODE)")
    if subtests and not problems and not skips:
        # A unit of one sub-test function passes only if one of its sub-tests passed.
        if not re.search(r"\[ %s\d+.*: PASS \(" % re.escape(subtests), output):
            m = re.search(r"\[ (%s\d+[^\]]*): SKIP: ([^\]]*)\]" % re.escape(subtests), output)
            skips.append("%s skipped: %s" % (m.group(1), m.group(2).strip()) if m
                         else "no sub-test of %s ran" % subtests)
    return {"unit": unit, "seconds": dt, "problems": problems, "skips": skips,
            "failures": failures, "log": log_path, "output": output, "states": states, "names": names}


def describe_rc(rc):
    if rc < 0:
        try:
            return "signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "signal %d" % -rc
    return "status %d" % rc


def failure_messages(output):
    """The runner's '### Test "..." failed at ...' lines with the message under each."""
    lines = output.splitlines()
    out = []
    for i, line in enumerate(lines):
        if '### Test "' in line and " failed at " in line:
            msg = lines[i + 1].strip() if i + 1 < len(lines) else ""
            out.append("%s %s" % (line[line.index("### Test"):].strip(), msg))
        elif "timed out (timeout set to" in line:
            out.append(line.strip())
    return out


def skip_reason(output, name):
    """The reason in the runner's summary line of that test."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 5 and cells[1] == name and cells[2] == "SKIPPED":
            return cells[4] or "(no reason printed)"
    return "(no reason printed)"


def tail(text, n=60):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


# ---- the suite ----

def main():
    tdir = tests_dir()
    runner = os.path.join(tdir, "test-runner")
    if not os.access(runner, os.X_OK):
        harness.skip("librdkafka's test runner is not built at %s (run tools/deps/librdkafka-suite.sh)"
                     % runner)
    entries = parse_tests(os.path.join(tdir, "test.c"))
    all_units = units(entries)
    by_unit = {u[0]: u for u in all_units}
    not_applicable = read_list(os.path.join(here, "not_applicable.txt"), 1)
    not_run_file = "%s_not_run.txt" % MODE
    not_run = read_optional_list(not_run_file, 1)
    waiting = read_list(os.path.join(here, "waiting.txt"), 2)
    mode_waiting_file = "%s_waiting.txt" % MODE
    mode_waiting = read_optional_list(mode_waiting_file, 2)
    # LIBRDKAFKA_SUITE_PEER=kafka runs the same tests against Apache Kafka 4.4 (kafka_peer.py)
    # instead, to see what Kafka does with a test that fails against Runnel; nothing is recorded.
    reference = os.environ.get("LIBRDKAFKA_SUITE_PEER") == "kafka"
    if not reference:
        harness.clear_results(SUITE)
    t_suite = time.monotonic()
    list_errors = []
    lists = (("not_applicable.txt", not_applicable), (not_run_file, not_run),
             ("waiting.txt", waiting), (mode_waiting_file, mode_waiting))
    for name, listed in lists:
        for unit in listed:
            if unit not in by_unit:
                list_errors.append("%s lists %s, which is not a broker-mode test of this runner"
                                   % (name, unit))
    # A unit of waiting.txt may be one this mode does not run; no other unit may be in two lists.
    for i, (name_a, a) in enumerate(lists):
        for name_b, b in lists[i + 1:]:
            if (name_a, name_b) == (not_run_file, "waiting.txt"):
                continue
            for unit in sorted(set(a) & set(b)):
                list_errors.append("%s is in both %s and %s" % (unit, name_a, name_b))
    waiting = {u: w for u, w in waiting.items() if u not in not_run}
    list_errors += check_not_run(not_run, by_unit)
    waiting_file = {u: mode_waiting_file if u in mode_waiting else "waiting.txt"
                    for u in list(waiting) + list(mode_waiting)}
    waiting.update(mode_waiting)

    only = [n for n in os.environ.get("COMPAT_ONLY", "").split(",") if n]
    selected = [u for u in all_units if not only or u[0] in only or u[1] in only]
    for n in only:
        if n not in by_unit and n not in {u[1] for u in all_units}:
            list_errors.append("COMPAT_ONLY names %s, which is not a broker-mode test" % n)
    excluded = excluded_numbers(entries, {u[1] for u in all_units})
    print("librdkafka %s test runner: %s" % (VERSION, runner))
    print("%d broker-mode test numbers (%d units: per scenario, 0081 per sub-test function); %d "
          "test numbers left out as in upstream's broker runs (local, socket emulation, known "
          "issues, manual)"
          % (len({u[1] for u in all_units}), len(all_units), len(excluded)), flush=True)

    work_dir = harness.make_temp_dir("runnel-librdkafka-suite-")
    kafka_path = make_kafka_path(work_dir)
    os.makedirs(os.path.join(work_dir, "units"))
    os.symlink(os.path.join(tdir, "..", "src"), os.path.join(work_dir, "units", "src"))
    brokers = {}
    confs = {}
    needed = {u[2] for u in selected if u[0] not in not_applicable and u[0] not in not_run}
    for scenario in sorted(needed):
        overrides = dict(COMMON_OVERRIDES)
        overrides.update(SCENARIOS[scenario])
        overrides.update(MODE_OVERRIDES[MODE])
        if reference:
            overrides["group.initial.rebalance.delay.ms"] = "3000"
            b = kafka_peer.KafkaPeer(overrides=overrides, name="kafka-%s" % scenario).start()
        else:
            b = harness.Broker(overrides=overrides, name="runnel-%s" % scenario).start()
        brokers[scenario] = b
        conf = os.path.join(work_dir, "test-%s.conf" % scenario)
        with open(conf, "w") as f:
            f.write("broker.address.family=v4\n"
                    "test.timeout.multiplier=2\n"
                    "bootstrap.servers=%s\n"
                    "security.protocol=PLAINTEXT\n" % b.bootstrap)
        confs[scenario] = conf
        print("scenario %s: broker %s (log %s)" % (scenario, b.bootstrap, b.log_path), flush=True)

    results = {}
    to_run = [u for u in selected if u[0] not in not_applicable and u[0] not in not_run]
    jobs = int(os.environ.get("LIBRDKAFKA_SUITE_JOBS", "4"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_unit, u[0], u[1], u[2], u[3], u[4], brokers[u[2]], work_dir,
                               confs[u[2]], kafka_path): u
                   for u in to_run}
        retries = {}
        while futures:
            fut = next(concurrent.futures.as_completed(futures))
            u = futures.pop(fut)
            r = fut.result()
            judge(r, waiting, waiting_file)
            if r["verdict"] == "failed" and u[0] not in retries and not reference:
                # Once more, alone with its broker's other tests as before: a test that fails
                # twice fails; one that passes the second time passes with its first failure
                # printed and kept in the counts ("flaky"), as a sign of trouble to look at.
                print_result(r)
                print("again %s.%s: running it a second time" % (SUITE, u[0]), flush=True)
                retries[u[0]] = r
                futures[pool.submit(run_unit, u[0], u[1], u[2], u[3], u[4], brokers[u[2]], work_dir,
                                    confs[u[2]], kafka_path)] = u
                continue
            if u[0] in retries:
                r["first_run"] = retries[u[0]]["why"]
            results[r["unit"]] = r
            print_result(r)

    if reference:
        for b in brokers.values():
            b.stop()
        bad = sorted(u for u, r in results.items() if r["problems"] or r["skips"])
        print("against Apache Kafka %s: %d of %d passed; not passed: %s"
              % (kafka_peer.KAFKA_VERSION, len(results) - len(bad), len(results), " ".join(bad)))
        sys.exit(0)

    counts = {"passed": 0, "failed": 0, "not_applicable": 0, "not_run": 0, "waiting": 0}
    failed_units = []
    flaky = {}
    for unit, number, scenario, names, _ in selected:
        if unit in not_applicable:
            counts["not_applicable"] += 1
            harness.record_result(SUITE, CLIENT, VERSION, unit, False,
                                  "not applicable: %s" % not_applicable[unit][0])
            continue
        if unit in not_run:
            # Listed with its reason in the suite's section of the matrix, not as a failed row.
            counts["not_run"] += 1
            continue
        r = results[unit]
        if r["verdict"] == "passed":
            counts["passed"] += 1
            note = ", ".join(names)
            if r.get("first_run"):
                flaky[unit] = r["first_run"][:500]
                note = "passed on its second run; the first failed: %s" % r["first_run"][:200]
            harness.record_result(SUITE, CLIENT, VERSION, unit, True, note)
        elif r["verdict"] == "waiting":
            counts["waiting"] += 1
            harness.record_result(SUITE, CLIENT, VERSION, unit, False, "waiting: %s" % waiting[unit][0])
        else:
            counts["failed"] += 1
            failed_units.append(unit)
            harness.record_result(SUITE, CLIENT, VERSION, unit, False, r["why"][:300])

    harness.STOP_TIMEOUT = STOP_TIMEOUT
    for scenario, b in brokers.items():
        try:
            b.check_alive("the suite")
            t0 = time.monotonic()
            b.stop()
            print("scenario %s: the broker stopped cleanly in %.1f s" % (scenario, time.monotonic() - t0))
        except harness.TestFailure as e:
            list_errors.append("broker of scenario %s: %s\n%s" % (scenario, e, b.log_tail()))

    for e in list_errors:
        print("FAIL %s: %s" % (SUITE, e), flush=True)
    wall = time.monotonic() - t_suite
    counts_doc = dict(counts, seconds=round(wall, 1), jobs=jobs, kafka_version=KAFKA_VERSION,
                      group_protocol=MODE,
                      librdkafka=VERSION, failed_tests=failed_units, flaky_tests=flaky,
                      waiting_tests=sorted(u for u in results if results[u]["verdict"] == "waiting"))
    with open(os.path.join(harness.results_dir(), SUITE + "-counts.json"), "w") as f:
        json.dump(counts_doc, f, indent=1, sort_keys=True)
        f.write("\n")
    write_section(counts, selected, not_applicable, waiting, results)
    print("%s: %d passed, %d failed, %d not applicable, %d not run with %s groups, %d waiting "
          "(%.1f s, %d at once)"
          % (SUITE, counts["passed"], counts["failed"], counts["not_applicable"], counts["not_run"],
             MODE, counts["waiting"], wall, jobs))
    if failed_units:
        print("%s: failed: %s" % (SUITE, " ".join(failed_units)))
    for unit, why in sorted(flaky.items()):
        print("%s: %s passed only on its second run; the first failed: %s" % (SUITE, unit, why))
    failed = counts["failed"] + len(list_errors)
    print("%d passed, %d failed, %d skipped" % (counts["passed"] + counts["waiting"], failed,
                                                counts["not_applicable"] + counts["not_run"]),
          flush=True)
    sys.exit(0 if failed == 0 else 1)


# A waiting entry whose reason starts so is a race in the client that answer timings decide: it
# must fail the way the list says or pass, and a pass does not ask for its removal.
RACE = "client race:"


def judge(r, waiting, waiting_file):
    """Sets r["verdict"] (passed, waiting, failed) and r["why"]."""
    unit = r["unit"]
    bad = r["problems"] + r["skips"]
    seen = "; ".join(r["failures"] + r["problems"] + r["skips"])
    if unit in waiting:
        feature, pattern = waiting[unit]
        if not bad and feature.startswith(RACE):
            r["verdict"], r["why"] = "passed", "the race %s lists was not hit" % waiting_file[unit]
        elif not bad:
            r["verdict"], r["why"] = "failed", ("passes now: remove it from %s (%s)"
                                                % (waiting_file[unit], feature))
        elif re.search(pattern, r["output"] + "\n" + seen, re.S):
            r["verdict"], r["why"] = "waiting", feature
        else:
            r["verdict"], r["why"] = "failed", ("fails otherwise than %s says (%s: /%s/): %s"
                                                % (waiting_file[unit], feature, pattern, seen))
        return
    if not bad:
        r["verdict"], r["why"] = "passed", ""
    elif r["skips"] and not r["problems"]:
        r["verdict"], r["why"] = "failed", ("skipped, and not in not_applicable.txt: %s"
                                            % "; ".join(r["skips"]))
    else:
        r["verdict"], r["why"] = "failed", seen


def print_result(r):
    word = {"passed": "ok  ", "waiting": "wait", "failed": "FAIL"}[r["verdict"]]
    print("%s %s.%s (%.1f s)%s" % (word, SUITE, r["unit"], r["seconds"],
                                  (": " + r["why"]) if r["why"] else ""), flush=True)
    if r["verdict"] == "failed" or os.environ.get("LIBRDKAFKA_SUITE_LOGS") == "1":
        print("----- output of %s (%s), last lines -----\n%s\n----- end -----"
              % (r["unit"], r["log"], tail(r["output"])), flush=True)


def write_section(counts, selected, not_applicable, waiting, results):
    out = ["## librdkafka's regression suite", "",
           "librdkafka %s's own tests (`tests/test-runner` in broker mode, quick, "
           "TEST_KAFKA_VERSION=%s, %s consumer groups), one row per test number (0081_admin: per Admin API) above: "
           "%d passed, %d failed, %d not applicable, %d not run with %s groups, %d waiting for a planned feature."
           % (VERSION, KAFKA_VERSION, MODE, counts["passed"], counts["failed"], counts["not_applicable"],
              counts["not_run"], MODE, counts["waiting"]), ""]
    rows = [(u[0], "waiting", waiting[u[0]][0]) for u in selected
            if u[0] in results and results[u[0]].get("verdict") == "waiting"]
    if rows:
        out += ["| test | waiting for |", "|---|---|"]
        out += ["| %s | %s |" % (u, w.replace("|", "\\|")) for u, _, w in rows]
        out.append("")
    with open(os.path.join(harness.results_dir(), SUITE + ".section.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
