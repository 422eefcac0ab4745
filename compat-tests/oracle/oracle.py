"""The differential oracle: one request, sent to Apache Kafka and to Runnel, both answers
decoded with Kafka's message definitions (kmsg.py) and compared field by field.

A difference is accepted only when expected_differences.py names it (ids, timestamps, throttle
times, free-text messages, ports...) or when known_runnel_bugs.py lists it for that scenario;
every listed bug must still differ, else the scenario fails with "remove it".
"""

import os
import re
import socket
import struct
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import kmsg  # noqa: E402
import records  # noqa: E402
from harness import TestFailure  # noqa: E402

import expected_differences  # noqa: E402
import known_runnel_bugs  # noqa: E402

ANSWER_TIMEOUT = 15.0
VERBOSE = os.environ.get("ORACLE_VERBOSE") == "1"  # print each request as it is sent

# Outcomes that are not a decoded answer.
CLOSED = "connection closed without an answer"
TIMEOUT = "no answer within %.0f s" % ANSWER_TIMEOUT


class Side:
    """One broker as the oracle sees it: a connection and what it learnt (topic ids, producer
    ids, member ids) so that a request can name that broker's own ids."""

    def __init__(self, name, port, msgs):
        self.name = name
        self.port = port
        self.msgs = msgs
        self.sock = None
        self.corr = 100
        self.state = {}

    def connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _recv_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionResetError()
            buf += chunk
        return buf

    def exchange(self, frame, timeout=ANSWER_TIMEOUT, expect_answer=True):
        """Sends a frame; returns the response payload, CLOSED or TIMEOUT."""
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(frame)
            if not expect_answer:
                return None
            deadline = time.monotonic() + timeout
            (size,) = struct.unpack(">i", self._recv_exact(4, deadline))
            return self._recv_exact(size, deadline)
        except socket.timeout:
            self.close()
            return TIMEOUT
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            self.close()
            return CLOSED

    def request(self, api_key, version, body, timeout=ANSWER_TIMEOUT, raw_frame=None,
                header_version=None, decode_version=None):
        """Returns the decoded body, or CLOSED / TIMEOUT / 'undecodable: ...'."""
        self.corr += 1
        corr = self.corr
        if not raw_frame and api_key not in (3, 20):  # Metadata and DeleteTopics name them as asked
            body = _with_topic_ids(body, self.state.get("topic_ids", {}))
        frame = raw_frame(corr) if raw_frame else self.msgs.encode_request(
            api_key, version, body, corr)
        payload = self.exchange(frame, timeout)
        if payload in (CLOSED, TIMEOUT):
            return payload
        dv = version if decode_version is None else decode_version
        if api_key not in self.msgs.responses:
            return "an answer to unknown API %d (%d bytes)" % (api_key, len(payload))
        try:
            got_corr, decoded = self.msgs.decode_response(api_key, dv, payload, header_version)
        except kmsg.DecodeError as e:
            return "undecodable: %s (%d bytes: %s)" % (e, len(payload), payload[:64].hex())
        if got_corr != corr:
            return "correlation id %d, expected %d" % (got_corr, corr)
        return _parse_records(decoded)


def _name_topic_ids(v, ids):
    """An answer where each topic id the broker gave one of its topics reads "id of <topic>":
    the same topic's ids then compare equal across brokers, and elements that only carry a
    topic id (Produce v13, Fetch v13...) are matched by it."""
    if not ids:
        return v
    names = {i: n for n, i in ids.items()}

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(y) for k, y in x.items()}
        if isinstance(x, list):
            return [walk(y) for y in x]
        if isinstance(x, uuid.UUID) and x in names:
            return "id of " + names[x]
        return x
    return walk(v)


def _with_topic_ids(v, ids):
    """A copy of a request body where each struct naming a known topic ("Name" or "Topic")
    without a "TopicId" gets this broker's id for it: versions that name topics by id (Produce
    v13, Fetch v13, OffsetCommit v10...) then reach the same topic on both brokers. Versions
    without the field do not encode it."""
    if isinstance(v, dict):
        out = {k: _with_topic_ids(x, ids) for k, x in v.items()}
        for key in ("Name", "Topic"):
            name = v.get(key)
            if isinstance(name, str) and name in ids and "TopicId" not in v:
                out["TopicId"] = ids[name]
        return out
    if isinstance(v, list):
        return [_with_topic_ids(x, ids) for x in v]
    return v


def _parse_records(v):
    if isinstance(v, dict):
        return {k: (records.parse(x) if k == "Records" and isinstance(x, bytes) else _parse_records(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [_parse_records(x) for x in v]
    return v


def must(answer, what):
    """The decoded answer, or a failure naming what came instead."""
    if not isinstance(answer, dict):
        raise TestFailure("%s: %s" % (what, answer))
    return answer


# ---- comparing ----

# Struct fields that identify an element of an array (the path names the element by them).
_ID_FIELDS = ("Name", "Topic", "TopicName", "TopicId", "PartitionIndex", "Partition", "PartitionId", "Index",
              "ApiKey", "GroupId", "MemberId", "ResourceName", "TransactionalId", "Key")


def _label(item, index):
    if isinstance(item, dict):
        for k in _ID_FIELDS:
            # The zero topic id (a topic named by a name that neither broker knows) labels it too.
            zero_id = isinstance(item.get(k), uuid.UUID) and item[k].int == 0
            if k in item and (zero_id or isinstance(item[k], (str, int))) and not isinstance(item[k], bool):
                if k == "MemberId":
                    break  # member ids differ between brokers by nature
                return "%s=%s" % (k, item[k])
    return str(index)


def _sortable(items):
    if not items:
        return True
    if not all(isinstance(i, dict) for i in items):
        return False
    return all(_label(i, 0) != "0" for i in items) and len({_label(i, 0) for i in items}) == len(items)


def diff(kafka, runnel, path="", out=None):
    """[(path, field_path, kafka value, runnel value)]; path has element labels, field_path
    only the field names (what the expected differences match)."""
    if out is None:
        out = []
    if isinstance(kafka, dict) and isinstance(runnel, dict):
        for k in list(kafka.keys()) + [k for k in runnel if k not in kafka]:
            p = "%s.%s" % (path, k) if path else k
            if k not in kafka or k not in runnel:
                out.append((p, kafka.get(k, "<absent>"), runnel.get(k, "<absent>")))
                continue
            diff(kafka[k], runnel[k], p, out)
        return out
    if isinstance(kafka, list) and isinstance(runnel, list):
        if _sortable(kafka) and _sortable(runnel):
            kl = {_label(i, 0): i for i in kafka}
            rl = {_label(i, 0): i for i in runnel}
            for lab in list(kl) + [x for x in rl if x not in kl]:
                p = "%s[%s]" % (path, lab)
                if lab not in kl or lab not in rl:
                    out.append((p, kl.get(lab, "<absent>"), rl.get(lab, "<absent>")))
                else:
                    diff(kl[lab], rl[lab], p, out)
            return out
        if len(kafka) != len(runnel):
            out.append((path + "[len]", len(kafka), len(runnel)))
        for i, (a, b) in enumerate(zip(kafka, runnel)):
            diff(a, b, "%s[%s]" % (path, _label(a, i)), out)
        return out
    if kafka != runnel:
        out.append((path, kafka, runnel))
    return out


def field_path(path):
    """Topics[Name=t].Partitions[0].ErrorCode -> Topics.Partitions.ErrorCode"""
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _is_unset(v, zero_unset):
    if isinstance(v, int) and not isinstance(v, bool):
        return v < 0 or (zero_unset and v == 0)
    return v in (None, "", b"") or v == uuid.UUID(int=0)


def _rule_ok(rule, kafka_side, runnel_side, kv, rv):
    if rule == "any":
        return True
    if rule == "id":  # both set or both unset (a negative number is unset)
        return _is_unset(kv, False) == _is_unset(rv, False)
    if rule == "id0":  # the same, 0 meaning unset too
        return _is_unset(kv, True) == _is_unset(rv, True)
    if rule == "own_port":
        return kv == kafka_side.port and rv == runnel_side.port
    if rule == "set_or_null":  # free text: Kafka's words, any words or none
        return True
    if rule == "time":  # a wall-clock time: both set (positive) or both the same
        return kv == rv or (isinstance(kv, int) and isinstance(rv, int) and kv > 0 and rv > 0)
    if rule == "nonnegative":
        return isinstance(kv, int) and isinstance(rv, int) and kv >= 0 and rv >= 0
    raise ValueError("unknown rule %s" % rule)


def glob(pattern, text):
    """* matches any run of characters; nothing else is special (paths hold [ and ])."""
    rx = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, text, re.S) is not None


def _matches(entry, api, scenario, fpath, path):
    if entry.get("api", "*") not in ("*", api):
        return False
    if "scenario" in entry and not glob(entry["scenario"], scenario):
        return False
    pats = entry["field"] if isinstance(entry["field"], list) else [entry["field"]]
    return any(glob(p, fpath) or glob(p, path) for p in pats)


class Oracle:
    def __init__(self, msgs, kafka_port, runnel_port):
        self.msgs = msgs
        self.kafka = Side("kafka", kafka_port, msgs)
        self.runnel = Side("runnel", runnel_port, msgs)
        self.sides = (self.kafka, self.runnel)
        self.seen_bugs = set()
        self.failures = []
        self.last_request = ""
        self.last_request_full = ""
        self.compared = 0
        self.exchanges = 0

    def both(self, api_key, version, body, timeout=ANSWER_TIMEOUT, raw_frame=None,
             header_version=None, decode_version=None, parallel=False):
        """Sends the request (body: a dict, or a function of the Side) to both brokers;
        returns (kafka answer, runnel answer) without comparing them. parallel: both at once
        (for requests that wait, such as JoinGroup)."""
        res = {}

        def go(side):
            b = body(side) if callable(body) else body
            res[side.name] = side.request(api_key, version, b, timeout, raw_frame, header_version,
                                          decode_version)
        if parallel:
            import threading
            ts = [threading.Thread(target=go, args=(s,)) for s in self.sides]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        else:
            for side in self.sides:
                go(side)
        self.exchanges += 1
        return tuple(_name_topic_ids(res[s.name], s.state.get("topic_ids", {})) for s in self.sides)

    def ask(self, scenario, api_key, version, body, **kw):
        """both(), then check(): raises TestFailure listing every unexplained difference."""
        t0 = time.monotonic()
        ka, ra = self.both(api_key, version, body, **kw)
        self.last_request_full = repr(body(self.kafka) if callable(body) else body)
        self.last_request = _show(body(self.kafka) if callable(body) else body, 300)
        if VERBOSE:
            print("  %s %s v%d (%.2f s): kafka %s, runnel %s" % (
                scenario, self.msgs.api_name(api_key), version, time.monotonic() - t0,
                "answered" if isinstance(ka, dict) else ka, "answered" if isinstance(ra, dict) else ra), flush=True)
        dv = kw.get("decode_version")
        self.check(scenario, self.msgs.api_name(api_key), version if dv is None else dv, ka, ra)
        return ka, ra

    def check(self, scenario, api, version, ka, ra):
        self.compared += 1
        where = "%s v%d" % (api, version)
        if not isinstance(ka, dict) or not isinstance(ra, dict):
            if ka == ra:
                return
            diffs = [("<outcome>", ka if not isinstance(ka, dict) else "an answer",
                      ra if not isinstance(ra, dict) else "an answer")]
        else:
            diffs = diff(ka, ra)
        bad = []
        for path, kv, rv in diffs:
            fpath = field_path(path)
            exp = [e for e in expected_differences.EXPECTED if _matches(e, api, scenario, fpath, path)]
            if any(_rule_ok(e["rule"], self.kafka, self.runnel, kv, rv) for e in exp):
                continue
            bug = [i for i, b in enumerate(known_runnel_bugs.KNOWN_BUGS)
                   if b["scenario"] == scenario and _matches(b, api, scenario, fpath, path)
                   and glob(b.get("request", "*"), self.last_request_full)]
            if bug:
                self.seen_bugs.update(bug)
                continue
            bad.append("  %s %s\n      kafka:  %s\n      runnel: %s\n      request (kafka's): %s"
                       % (where, path, _show(kv), _show(rv), self.last_request))
        self.failures.extend(bad)

    def take_failures(self):
        """Raises TestFailure with every unexplained difference since the last call."""
        bad, self.failures = self.failures, []
        if bad:
            shown = bad[:60]
            raise TestFailure("%d unexplained difference(s):\n%s%s" % (
                len(bad), "\n".join(shown), "\n  ... and %d more" % (len(bad) - len(shown)) if len(bad) > len(shown) else ""))

    def check_bugs_seen(self, scenario):
        """Every known bug of the scenario must still show; one that does not is fixed."""
        stale = [b for i, b in enumerate(known_runnel_bugs.KNOWN_BUGS)
                 if b["scenario"] == scenario and i not in self.seen_bugs]
        if stale:
            raise TestFailure("known Runnel bug(s) no longer differ, remove them from "
                              "known_runnel_bugs.KNOWN_BUGS:\n%s"
                              % "\n".join("  %s: %s (%s)" % (b["scenario"], b["field"], b["why"])
                                          for b in stale))


def _show(v, limit=600):
    s = repr(v)
    return s if len(s) < limit else s[:limit] + "..."
