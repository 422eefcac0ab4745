#!/usr/bin/env bash
# Apache Kafka 4.4 (broker and command-line tools) from Maven Central, for the tests and the
# benchmark that run it beside Runnel: resolves compat-tests/kafka/pom.xml into a class path file.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
mkdir -p "$build/kafka-peer"
mvn -B -q -f "$root/compat-tests/kafka/pom.xml" dependency:build-classpath \
  -Dmdep.outputFile="$build/kafka-peer/classpath.txt.new"
mv "$build/kafka-peer/classpath.txt.new" "$build/kafka-peer/classpath.txt"
