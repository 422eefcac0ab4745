"""Apache Kafka 4.4 beside Runnel: one KRaft node (combined broker and controller) on free
127.0.0.1 ports, and Kafka's own command-line tools, both from the Maven artifacts that
tools/deps/kafka.sh resolves (compat-tests/kafka/pom.xml) into a class path file.

    kafka = KafkaPeer().start()      # formats its storage, waits for the first connection
    kafka.bootstrap                  # "127.0.0.1:<port>"
    kafka_tool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", ...], timeout=60)
    kafka.stop()

The class path file is $RUNNEL_KAFKA_CLASSPATH, else <build>/kafka-peer/classpath.txt.
"""

import base64
import os
import subprocess
import time
import uuid

import harness
from harness import TestFailure, check

KAFKA_VERSION = "4.4.0"
START_TIMEOUT = 120.0
# A fair configuration for one node on a small machine: a fixed 1 GiB heap (Kafka's own
# kafka-server-start.sh default), G1 as Kafka's scripts choose it, internal topics with one
# replica, and no initial rebalance delay (the same as Runnel's default).
HEAP = "-Xmx1G -Xms1G"
JVM_OPTS = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true"]


def classpath_file():
    env = os.environ.get("RUNNEL_KAFKA_CLASSPATH")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.environ.get("RUNNEL_BUILD_DIR", os.path.join(here, "..", "build"))
    return os.path.join(build, "kafka-peer", "classpath.txt")


def classpath():
    path = classpath_file()
    if not os.path.exists(path):
        harness.skip("Apache Kafka %s is not resolved (%s missing; run tools/install-deps.sh --test)"
                     % (KAFKA_VERSION, path))
    with open(path) as f:
        return f.read().strip()


def java():
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else "java"


def _log4j_config(path, log_file, level):
    with open(path, "w") as f:
        f.write("""Configuration:
  name: runnel-compat
  Appenders:
    File:
      name: file
      fileName: "%s"
      PatternLayout:
        pattern: "[%%d] %%p %%m (%%c)%%n"
  Loggers:
    Root:
      level: %s
      AppenderRef:
        - ref: file
""" % (log_file, level))


def kafka_tool(main_class, args, timeout, what=None, input=None, env=None):
    """Runs one of Kafka's command-line tools (its main class) on the resolved class path;
    returns (exit status, stdout, stderr) as text."""
    work = harness.make_temp_dir("kafka-tool-")
    cfg = os.path.join(work, "log4j2.yaml")
    _log4j_config(cfg, os.path.join(work, "tool.log"), "WARN")
    cmd = [java(), "-Xmx512M", "-Dlog4j2.configurationFile=" + cfg, "-cp", classpath(),
           main_class] + list(args)
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env,
                           text=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s did not finish within %.0f s" % (what or main_class, timeout))
    return p.returncode, p.stdout, p.stderr


class KafkaPeer:
    """One Apache Kafka node in KRaft combined mode, with its own data directory."""

    def __init__(self, overrides=None, heap=HEAP, name="kafka"):
        self.name = name
        self.port = harness.free_port()
        self.controller_port = harness.free_port()
        self.work_dir = harness.make_temp_dir("kafka-peer-")
        self.data_dir = os.path.join(self.work_dir, "data")
        self.log_path = os.path.join(self.work_dir, "server.log")
        self.stdout_path = os.path.join(self.work_dir, "stdout.log")
        self.props_path = os.path.join(self.work_dir, "server.properties")
        self.heap = heap
        self.overrides = dict(overrides or {})
        self.proc = None
        # As Kafka's Uuid.randomUuid(): an id starting with '-' would be read as an option.
        self.cluster_id = "-"
        while self.cluster_id.startswith("-"):
            self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.formatted = False
        self.started_at = None
        self.ready_seconds = None

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def properties(self):
        p = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": "1@127.0.0.1:%d" % self.controller_port,
            "listeners": "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d"
                         % (self.port, self.controller_port),
            "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data_dir,
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        p.update(self.overrides)
        return p

    def _write_config(self):
        with open(self.props_path, "w") as f:
            for k, v in self.properties().items():
                f.write("%s=%s\n" % (k, v))
        self.log4j = os.path.join(self.work_dir, "log4j2.yaml")
        _log4j_config(self.log4j, self.log_path, "INFO")

    def format(self):
        self._write_config()
        rc, out, err = kafka_tool("kafka.tools.StorageTool",
                                  ["format", "-t", self.cluster_id, "-c", self.props_path],
                                  timeout=120, what="kafka-storage format")
        if rc != 0:
            raise TestFailure("kafka-storage format failed (%d): %s %s" % (rc, out, err))
        self.formatted = True

    def command(self):
        return ([java()] + self.heap.split() + JVM_OPTS +
                ["-Dlog4j2.configurationFile=" + self.log4j, "-cp", classpath(), "kafka.Kafka",
                 self.props_path])

    def start(self):
        check(self.proc is None, "%s: start() while already running" % self.name)
        if not self.formatted:
            self.format()
        out = open(self.stdout_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, close_fds=True)
        out.close()
        harness.register_process(self.proc)
        deadline = self.started_at + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise TestFailure("%s exited with status %s during start-up; log:\n%s"
                                  % (self.name, self.proc.returncode, self.log_tail()))
            if harness._can_connect(self.port):
                try:
                    harness.api_versions_probe(self.port, timeout=5)
                    break
                except (OSError, TestFailure):
                    pass
            if time.monotonic() > deadline:
                raise TestFailure("%s did not answer ApiVersions on port %d within %.0f s; log:\n%s"
                                  % (self.name, self.port, START_TIMEOUT, self.log_tail()))
            time.sleep(0.05)
        self.ready_seconds = time.monotonic() - self.started_at
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=60):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, max_lines=80):
        lines = []
        for path in (self.stdout_path, self.log_path):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    lines += f.read().decode("utf-8", "replace").splitlines()[-max_lines:]
        return "\n".join(lines[-max_lines:])
