#!/usr/bin/env python3
"""Golden bytes from the Java client, made now: builds the writer if its sources changed
(tools/deps/golden.sh), runs it into $RUNNEL_BUILD_DIR/golden-java/vectors/ (every API the
client knows, every version, request and response, three variants) and checks every line with
golden_java_test ($GOLDEN_JAVA_TEST). Java and Maven are required: without them this fails."""
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    build = os.path.abspath(os.environ.get("RUNNEL_BUILD_DIR", os.path.join(ROOT, "build")))
    check = os.environ.get(
        "GOLDEN_JAVA_TEST", os.path.join(build, "compat-tests", "golden", "golden_java_test"))
    for tool in ("java", "mvn"):
        if not shutil.which(tool):
            print(f"golden_java: `{tool}` is missing (tools/install-deps.sh --test installs it)")
            return 1
    env = dict(os.environ, RUNNEL_BUILD_DIR=build)
    start = time.monotonic()
    subprocess.run([os.path.join(ROOT, "tools", "deps", "golden.sh")], env=env, check=True)
    with open(os.path.join(build, "golden-java", "classpath.txt")) as f:
        classpath = f.read().strip()
    out = os.path.join(build, "golden-java", "vectors")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(["java", "-cp", classpath, "dev.runnel.golden.GoldenVectors", out], env=env,
                   check=True)
    print(f"golden_java: vectors written in {time.monotonic() - start:.1f} s")
    return subprocess.run([check], env=dict(env, RUNNEL_GOLDEN_JAVA_DIR=out)).returncode


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"golden_java: {e}")
        sys.exit(1)
