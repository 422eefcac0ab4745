#!/usr/bin/env bash
# The golden vector writer (compat-tests/golden, kafka-clients pinned in its pom.xml) for the
# golden_java test: compiles it into $RUNNEL_BUILD_DIR/golden-java/ and writes there
# `classpath.txt`, the class path (compiled writer + the resolved client jars) that the test
# runs it with. Nothing is done when the sources and the pom are unchanged since the last build.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${RUNNEL_BUILD_DIR:-$root/build}")
project=$root/compat-tests/golden
dir=$build/golden-java

stamp=$( (cd "$project" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
if [[ -f "$dir/classpath.txt" && "$(cat "$dir/stamp" 2>/dev/null)" == "$stamp" ]]; then
  exit 0
fi
rm -rf "$dir"
mvn -B -q -f "$project/pom.xml" -Dgolden.out="$dir" compile
echo "$dir/classes:$(cat "$dir/dependencies.txt")" > "$dir/classpath.txt"
echo "$stamp" > "$dir/stamp"
