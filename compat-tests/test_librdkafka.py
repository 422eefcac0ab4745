#!/usr/bin/python3
"""librdkafka against Runnel: every compression codec, 100,000 records each,
byte-exact verification, again after a clean restart on the same data
directory, then offsets-for-times and metadata (with auto-create).

Needs RUNNEL_BIN and RDKAFKA_ROUNDTRIP. RECORDS overrides the record count.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Broker, run_command, run_tests  # noqa: E402

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
RECORDS = int(os.environ.get("RECORDS", "100000"))
AUTO_PARTITIONS = 3

tool = os.environ.get("RDKAFKA_ROUNDTRIP")
if not tool or not os.access(tool, os.X_OK):
    harness.skip("RDKAFKA_ROUNDTRIP is not set to the built rdkafka_roundtrip helper")


def rt(*args, timeout=120, what=None):
    p = run_command([tool] + list(args), timeout, what or "rdkafka_roundtrip " + args[0])
    sys.stdout.write(p.stdout.decode("utf-8", "replace"))
    return p


def topic_for(codec):
    return "rdk-" + codec


def test_roundtrip_restart_times_metadata():
    broker = Broker(overrides={"num.partitions": str(AUTO_PARTITIONS),
                               "auto.create.topics.enable": "true",
                               # small segments so that 100k records span several files
                               "log.segment.bytes": str(8 << 20)}).start()
    for codec in CODECS:
        rt("produce", broker.bootstrap, topic_for(codec), codec, str(RECORDS),
           what="produce %d records with codec %s" % (RECORDS, codec))
        broker.check_alive("producing with codec %s" % codec)
        rt("verify", broker.bootstrap, topic_for(codec), str(RECORDS),
           what="verify codec %s before restart" % codec)

    broker.restart()
    for codec in CODECS:
        rt("verify", broker.bootstrap, topic_for(codec), str(RECORDS),
           what="verify codec %s after restart" % codec)

    rt("times", broker.bootstrap, topic_for("zstd"), what="offsets_for_times")
    rt("metadata", broker.bootstrap, topic_for("none"), str(AUTO_PARTITIONS),
       what="metadata and auto-create")
    broker.stop()


if __name__ == "__main__":
    run_tests([("roundtrip_restart_times_metadata", test_roundtrip_restart_times_metadata, 600)],
              "librdkafka", stop_on_failure=True,
              matrix=[("", "librdkafka (Debian)", harness.client_version("librdkafka"))])
