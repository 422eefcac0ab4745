#!/usr/bin/env bash
# The Java client (kafka-clients 4.4.x and 3.9.x) for compat-tests/java/test_java.py: builds
# compat-tests/java (one Maven profile per client version, versions pinned in its pom.xml) into
# $RUNNEL_BUILD_DIR/java-compat/<profile>/ and writes there `classpath.txt`, the class path
# (compiled scenarios + the resolved client jars) that the test runs with `java -cp`.
# Nothing is done when the sources and the pom are unchanged since the last build.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
project=$root/compat-tests/java
out=$build/java-compat
mkdir -p "$out"

stamp=$( (cd "$project" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
for profile in kafka-4.4 kafka-3.9; do
  dir=$out/$profile
  if [[ -f "$dir/classpath.txt" && "$(cat "$dir/stamp" 2>/dev/null)" == "$stamp" ]]; then
    continue
  fi
  rm -rf "$dir"
  mvn -B -q -f "$project/pom.xml" -P "$profile" -Djava.compat.out="$dir" compile
  echo "$dir/classes:$(cat "$dir/dependencies.txt")" > "$dir/classpath.txt"
  echo "$stamp" > "$dir/stamp"
done
