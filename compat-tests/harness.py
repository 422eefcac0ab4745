"""Test harness for Runnel's compatibility tests (Python 3 standard library only).

Starts the real `runnel` binary on a free 127.0.0.1 port with a fresh data
directory, and runs a list of test functions with a time bound each. On a
failure the broker's log is printed, the failing step is named, and the
process exits non-zero. Every broker and temporary directory is cleaned up,
also when a test fails or times out (try/finally plus atexit).

Environment:
  RUNNEL_BIN          path of the runnel executable (required)
  RDKAFKA_ROUNDTRIP   path of the rdkafka_roundtrip helper (librdkafka tests)
  RUNNEL_KEEP_DATA=1  keep data directories and logs after the run
  COMPAT_ONLY=a,b     run only the named steps of a suite (include the steps they build on)
"""

import atexit
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77  # ctest SKIP_RETURN_CODE

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class TestFailure(Exception):
    """A check failed; the message says what was expected and what was seen."""


class TestTimeout(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def expect_eq(seen, expected, what):
    if seen != expected:
        raise TestFailure("%s: expected %r, seen %r" % (what, expected, seen))


def skip(reason):
    """A missing client or tool. Skips the suite when a developer runs it by hand; with
    RUNNEL_REQUIRE_CLIENTS=1 (tools/test.sh, and so CI, set it) it is a failure."""
    if os.environ.get("RUNNEL_REQUIRE_CLIENTS") == "1":
        print("FAIL: %s (RUNNEL_REQUIRE_CLIENTS=1: a missing client is a failure)" % reason, flush=True)
        sys.exit(1)
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP)


_live_brokers = []
_temp_dirs = []
_other_procs = []


def register_process(proc):
    """A subprocess.Popen (another broker, a client) that is killed at exit if still running."""
    _other_procs.append(proc)


def _cleanup():
    for b in list(_live_brokers):
        try:
            b.kill()
        except Exception:
            pass
    for p in _other_procs:
        try:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        except Exception:
            pass
    if os.environ.get("RUNNEL_KEEP_DATA") == "1":
        for d in _temp_dirs:
            print("kept %s" % d, file=sys.stderr)
        return
    for d in _temp_dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def make_temp_dir(prefix="runnel-compat-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(d)
    return d


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def runnel_bin():
    path = os.environ.get("RUNNEL_BIN")
    if not path:
        print("FAIL: RUNNEL_BIN is not set; point it at the built runnel executable", file=sys.stderr)
        sys.exit(2)
    if not os.access(path, os.X_OK):
        print("FAIL: RUNNEL_BIN=%s is not an executable file" % path, file=sys.stderr)
        sys.exit(2)
    return path


class Broker:
    """One runnel process on a fixed port and data directory."""

    def __init__(self, bin=None, data_dir=None, overrides=None, name="broker"):
        self.bin = bin or runnel_bin()
        self.name = name
        self.port = free_port()
        self.work_dir = make_temp_dir()
        self.data_dir = data_dir or os.path.join(self.work_dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = os.path.join(self.work_dir, "runnel.log")
        self.overrides = dict(overrides or {})
        self.proc = None
        self.starts = 0
        self._log_file = None
        _all_brokers.append(self)

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def command(self):
        args = [self.bin,
                "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
                "--override", "log.dirs=%s" % self.data_dir]
        for k, v in self.overrides.items():
            args += ["--override", "%s=%s" % (k, v)]
        return args

    def start(self):
        check(self.proc is None, "%s: start() while already running" % self.name)
        self.starts += 1
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(("=== start #%d: %s\n" % (self.starts, " ".join(self.command()))).encode())
        self._log_file.flush()
        log_offset = self._log_file.tell()
        self.proc = subprocess.Popen(self.command(), stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, close_fds=True)
        _live_brokers.append(self)
        ready_line = ("runnel: listening on 127.0.0.1:%d" % self.port).encode()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self._reap()
                raise TestFailure("%s exited with status %s during start-up (expected it to print %r)"
                                  % (self.name, rc, ready_line.decode()))
            with open(self.log_path, "rb") as f:
                f.seek(log_offset)
                if ready_line in f.read():
                    break
            if _can_connect(self.port):
                break
            if time.monotonic() > deadline:
                raise TestFailure("%s did not print %r nor accept connections on port %d within %.0f s"
                                  % (self.name, ready_line.decode(), self.port, START_TIMEOUT))
            time.sleep(0.05)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self, after):
        if self.proc is None:
            raise TestFailure("%s is not running (after %s)" % (self.name, after))
        rc = self.proc.poll()
        if rc is not None:
            self._reap()
            raise TestFailure("%s died after %s: exit status %s" % (self.name, after, _describe_rc(rc)))

    def stop(self):
        """SIGTERM, then wait; an exit other than status 0 (or a needed SIGKILL) is a failure."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._reap()
            raise TestFailure("%s did not exit within %.0f s of SIGTERM; killed" % (self.name, STOP_TIMEOUT))
        self._reap()
        if rc != 0:
            raise TestFailure("%s exited uncleanly after SIGTERM: %s" % (self.name, _describe_rc(rc)))

    def kill(self):
        """SIGKILL, no questions asked."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._reap()

    def restart(self):
        """Clean stop (checked) and start again on the same port and data directory."""
        self.stop()
        return self.start()

    def _reap(self):
        if self in _live_brokers:
            _live_brokers.remove(self)
        self.proc = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, max_lines=150):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        if len(lines) > max_lines:
            return "... (%d earlier lines)\n" % (len(lines) - max_lines) + "\n".join(lines[-max_lines:])
        return "\n".join(lines)


_all_brokers = []


def _describe_rc(rc):
    if rc < 0:
        try:
            return "killed by signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "status %d" % rc


def _can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def run_command(args, timeout, what, env=None, input=None):
    """Runs a helper program; a non-zero exit or a timeout is a test failure."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise TestFailure("%s: no result within %.0f s\n  command: %s\n  stderr: %s"
                          % (what, timeout, " ".join(args), _text(e.stderr)[-4000:]))
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise TestFailure("%s failed (%s) after %.1f s\n  command: %s\n  stdout: %s\n  stderr: %s"
                          % (what, _describe_rc(p.returncode), dt, " ".join(args),
                             _text(p.stdout)[-4000:], _text(p.stderr)[-6000:]))
    return p


def _text(b):
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


# ---- raw Kafka protocol bits shared by tests ----

def api_versions_request(correlation_id=1, version=0, client_id="runnel-compat"):
    """ApiVersions request (v0..v2 use request header v1 and an empty body)."""
    cid = client_id.encode()
    body = struct.pack(">hhih", 18, version, correlation_id, len(cid)) + cid
    return struct.pack(">i", len(body)) + body


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TestFailure("timed out waiting for %d bytes (got %d)" % (n, len(buf)))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            raise TestFailure("timed out waiting for %d bytes (got %d)" % (n, len(buf)))
        except ConnectionResetError:
            raise TestFailure("connection reset after %d of %d bytes" % (len(buf), n))
        if not chunk:
            raise TestFailure("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(sock, timeout=10.0, max_size=64 << 20):
    deadline = time.monotonic() + timeout
    (size,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    check(0 <= size <= max_size, "response frame size %d out of range" % size)
    return recv_exact(sock, size, deadline)


def parse_api_versions_v0(payload):
    """Parses an ApiVersions response in the v0 layout: returns (correlation_id, error, {key: (min, max)})."""
    check(len(payload) >= 10, "ApiVersions response too short: %d bytes" % len(payload))
    corr, err, n = struct.unpack(">ihi", payload[:10])
    check(0 <= n <= 1000, "ApiVersions response: api count %d out of range" % n)
    check(len(payload) >= 10 + 6 * n, "ApiVersions response: %d apis claimed, %d bytes present"
          % (n, len(payload)))
    apis = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", payload[10 + 6 * i:16 + 6 * i])
        apis[k] = (lo, hi)
    return corr, err, apis


def api_versions_probe(port, timeout=10.0):
    """Opens a fresh connection and asks ApiVersions v0; returns the api map or raises."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(api_versions_request(correlation_id=4242, version=0))
        corr, err, apis = parse_api_versions_v0(recv_frame(s, timeout))
    expect_eq(corr, 4242, "ApiVersions correlation id")
    expect_eq(err, 0, "ApiVersions error code")
    check(18 in apis, "ApiVersions answer does not list ApiVersions (key 18): %r" % apis)
    return apis


# ---- the runner ----

class _Alarm:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        def on_alarm(signum, frame):
            raise TestTimeout("test exceeded its time limit of %d s" % self.seconds)
        self.prev = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.prev)
        return False


def run_tests(tests, suite, stop_on_failure=False, matrix=None):
    """tests: list of (name, function, timeout_seconds), run in order. Brokers
    live across tests (later steps may use what earlier ones wrote); the brokers
    started by a failed test are killed and their logs printed. With
    stop_on_failure the steps after the first failure are skipped. Ends with a
    'N passed, N failed, N skipped' line; exits 0 only if nothing failed.
    matrix: [(step name prefix, client, version)], the first prefix that matches
    a step names the client it drives; each step that ran is then a row of the
    compatibility matrix (record_result)."""
    passed = failed = skipped = 0
    if matrix:
        clear_results(suite)

    def matrix_row(name, ok):
        if name in ("clean_shutdown", "final_stop"):
            return
        for prefix, client, version in matrix or []:
            if name.startswith(prefix):
                record_result(suite, client, version, name, ok)
                return
    t_suite = time.monotonic()
    only = [n for n in os.environ.get("COMPAT_ONLY", "").split(",") if n]
    for name, fn, limit in tests:
        if only and name not in only:
            skipped += 1
            print("skip %s.%s (not in COMPAT_ONLY)" % (suite, name), flush=True)
            continue
        if failed and stop_on_failure:
            skipped += 1
            print("skip %s.%s (an earlier step failed)" % (suite, name), flush=True)
            continue
        start_index = len(_all_brokers)
        t0 = time.monotonic()
        print("--- %s.%s" % (suite, name), flush=True)
        ok = False
        try:
            with _Alarm(limit):
                fn()
            ok = True
        except (TestFailure, TestTimeout) as e:
            print("FAIL %s.%s: %s" % (suite, name, e), flush=True)
        except Exception:
            print("FAIL %s.%s: unexpected exception\n%s" % (suite, name, traceback.format_exc()), flush=True)
        dt = time.monotonic() - t0
        matrix_row(name, ok)
        if ok:
            passed += 1
            print("ok   %s.%s (%.1f s)" % (suite, name, dt), flush=True)
            continue
        failed += 1
        # Print every broker that this test started or used (all of them, when unsure).
        for b in _all_brokers[start_index:] or _all_brokers:
            died = "" if b.proc is None or b.proc.poll() is None else " (exited: %s)" % _describe_rc(b.proc.poll())
            print("----- log of %s (port %d, %s)%s -----\n%s\n----- end of log -----"
                  % (b.name, b.port, b.log_path, died, b.log_tail()), flush=True)
        for b in _all_brokers[start_index:]:
            if b.alive():
                b.kill()
    # Brokers still running after the last step are stopped cleanly and checked like
    # any other stop: an unclean exit (a crash on shutdown, or a report printed at
    # exit such as LeakSanitizer's in a sanitized build) fails the suite.
    for b in list(_live_brokers):
        try:
            b.stop()
        except TestFailure as e:
            failed += 1
            print("FAIL %s.final_stop: %s\n----- log of %s (port %d, %s) -----\n%s\n----- end of log -----"
                  % (suite, e, b.name, b.port, b.log_path, b.log_tail()), flush=True)
    print("%s: %.1f s" % (suite, time.monotonic() - t_suite))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    sys.exit(0 if failed == 0 else 1)


# ---- helper programs that report JSON lines (added for the consumer group tests) ----

import json  # noqa: E402
import threading  # noqa: E402

_live_procs = []


class JsonLinesProcess:
    """A helper program that prints one JSON object a line on stdout and reads
    commands, one a line, on stdin. A thread collects the events into .events
    (in order, each with "_t", its monotonic arrival time); stderr goes to a
    file. Killed at exit if still running."""

    def __init__(self, args, name, env=None):
        self.args = list(args)
        self.name = name
        self.stderr_path = os.path.join(make_temp_dir("runnel-proc-"), "%s.stderr" % name)
        self._stderr = open(self.stderr_path, "wb")
        self.events = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env, close_fds=True)
        _live_procs.append(self)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError("not an object")
            except ValueError:
                ev = {"event": "unparsed", "line": line.decode("utf-8", "replace")}
            ev["_t"] = time.monotonic()
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def snapshot(self):
        with self._cond:
            return list(self.events)

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise TestFailure("%s: cannot send %r, it has exited (%s)\n%s"
                              % (self.name, line, self.proc.poll(), self.describe()))

    def wait_for(self, pred, timeout, what, start=0):
        """Waits for an event (at index >= start) for which pred(event) is true;
        returns (index, event). Fails on timeout or when the program ends first."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return i, self.events[i]
                    i += 1
                if self._eof:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.2))
        self.proc.poll()
        raise TestFailure("%s: no %s within %.1f s%s\n%s"
                          % (self.name, what, timeout,
                             " (it exited: %s)" % _describe_rc(self.proc.returncode)
                             if self.proc.returncode is not None else "", self.describe()))

    def wait_exit(self, timeout, what="exit"):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s: did not %s within %.1f s\n%s" % (self.name, what, timeout, self.describe()))
        self._thread.join(timeout=5)
        self._finish()
        return rc

    def kill(self):
        """SIGKILL (a crash, as far as anyone else can tell)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self._thread.join(timeout=5)
        self._finish()

    def _finish(self):
        if self in _live_procs:
            _live_procs.remove(self)
        for f in (self.proc.stdin, self._stderr):
            try:
                f.close()
            except OSError:
                pass

    def stderr_tail(self, max_lines=40):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "\n".join(lines[-max_lines:])

    def describe(self, max_events=25):
        evs = self.snapshot()
        shown = [json.dumps({k: v for k, v in e.items() if k != "_t"}) for e in evs[-max_events:]]
        return ("  --- %s: %d events, last %d:\n    %s\n  --- %s stderr (%s):\n%s"
                % (self.name, len(evs), len(shown), "\n    ".join(shown), self.name,
                   self.stderr_path, self.stderr_tail()))


def wait_until(cond, timeout, what, interval=0.05, describe=None):
    """Polls cond() until it returns a true value (returned) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure("%s: not reached within %.1f s%s"
                              % (what, timeout, "\n" + describe() if describe else ""))
        time.sleep(interval)


def _kill_live_procs():
    for p in list(_live_procs):
        try:
            p.kill()
        except Exception:
            pass


atexit.register(_kill_live_procs)


# ---- helper processes that run alongside a test (clients that keep running) ----

class Spawned:
    """A helper program whose stdout lines are collected by a thread while it runs.
    lines() returns what it printed so far; wait_for() polls for a condition with a bound;
    finish() waits for its exit (non-zero or a timeout is a failure). Killed at exit if
    still running."""

    def __init__(self, args, what, env=None, stdin_pipe=False):
        import threading
        self.what = what
        self.args = list(args)
        self._lines = []
        self._err = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                     env=env, close_fds=True)
        _spawned.append(self)
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True)]
        for t in self._threads:
            t.start()

    def _pump(self, stream, into):
        for line in iter(stream.readline, b""):
            with self._lock:
                into.append(line.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def lines(self):
        with self._lock:
            return list(self._lines)

    def stderr_tail(self, n=4000):
        with self._lock:
            return "\n".join(self._err)[-n:]

    def wait_for(self, pred, timeout, what):
        """Polls pred(lines) until it is true; a timeout or an early exit is a failure."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if pred(lines):
                return lines
            rc = self.proc.poll()
            if rc is not None:
                for t in self._threads:
                    t.join(timeout=2)
                lines = self.lines()
                if pred(lines):
                    return lines
                raise TestFailure("%s: %s exited (%s) before %s\n  stdout tail: %s\n  stderr: %s"
                                  % (self.what, self.args[0], _describe_rc(rc), what,
                                     "\n".join(lines[-10:]), self.stderr_tail()))
            if time.monotonic() > deadline:
                raise TestFailure("%s: no %s within %.0f s\n  stdout tail: %s\n  stderr: %s"
                                  % (self.what, what, timeout, "\n".join(lines[-10:]), self.stderr_tail()))
            time.sleep(0.05)

    def close_stdin(self):
        if self.proc.stdin:
            self.proc.stdin.close()

    def terminate(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def finish(self, timeout, ok_codes=(0,)):
        """Waits for the exit; returns all stdout lines."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("%s: did not exit within %.0f s\n  stderr: %s" % (self.what, timeout, self.stderr_tail()))
        for t in self._threads:
            t.join(timeout=5)
        if self in _spawned:
            _spawned.remove(self)
        if rc not in ok_codes:
            raise TestFailure("%s failed (%s)\n  command: %s\n  stdout tail: %s\n  stderr: %s"
                              % (self.what, _describe_rc(rc), " ".join(self.args),
                                 "\n".join(self.lines()[-10:]), self.stderr_tail()))
        return self.lines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if self in _spawned:
            _spawned.remove(self)


_spawned = []


def _kill_spawned():
    for s in list(_spawned):
        try:
            s.kill()
        except Exception:
            pass


atexit.register(_kill_spawned)


# ---- the compatibility matrix ----

def results_dir():
    """Where suites write their matrix rows: $RUNNEL_COMPAT_RESULTS, else build/compat-results."""
    d = os.environ.get("RUNNEL_COMPAT_RESULTS")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(os.environ.get("RUNNEL_BUILD_DIR", os.path.join(here, "..", "build")),
                         "compat-results")
    os.makedirs(d, exist_ok=True)
    return d


def record_result(suite, client, version, scenario, passed, note=""):
    """One row of docs/compatibility.md: `client` at `version` ran `scenario` against Runnel.
    Rows are appended as JSON lines to <results_dir>/<suite>.jsonl; tools/compat_matrix.py
    turns every suite's rows into the matrix."""
    row = {"suite": suite, "client": client, "version": str(version), "scenario": scenario,
           "passed": bool(passed), "note": note, "time": time.time()}
    with open(os.path.join(results_dir(), suite + ".jsonl"), "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def clear_results(suite):
    """Called once at a suite's start so a rerun does not keep an older run's rows."""
    path = os.path.join(results_dir(), suite + ".jsonl")
    if os.path.exists(path):
        os.remove(path)


def package_version(cmd, what):
    """The first line a version command prints (e.g. ["pkg-config", "--modversion", "rdkafka"]),
    or "unknown"."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        line = (out.stdout or out.stderr).strip().splitlines()
        return line[0].strip() if line else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (%s)" % what


def client_version(client):
    """The installed version of one of the clients the suites in this folder drive."""
    if client == "librdkafka":
        return package_version(["pkg-config", "--modversion", "rdkafka"], client)
    if client == "kcat":
        import re
        line = package_version(["sh", "-c", "kcat -V 2>&1 | grep -m1 Version"], client)
        m = re.search(r"Version (\S+).*librdkafka (\S+)", line)
        return "%s (librdkafka %s)" % m.groups() if m else line
    if client == "confluent-kafka-python":
        import confluent_kafka
        return "%s (librdkafka %s)" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0])
    if client == "kafka-python":
        import kafka
        return kafka.__version__
    if client == "kafkajs":
        here = os.path.dirname(os.path.abspath(__file__))
        try:
            with open(os.path.join(here, "js", "node_modules", "kafkajs", "package.json")) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            return "unknown"
    raise ValueError("unknown client %r" % client)
