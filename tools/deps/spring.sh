#!/usr/bin/env bash
# The Spring Boot compatibility application (compat-tests/spring), built for two Boot lines from
# Maven Central in one Maven run: Boot 4.1 (spring-kafka 4.1) and Boot 3.5 (spring-kafka 3.3), as
# executable jars $RUNNEL_BUILD_DIR/spring-compat/{boot4,boot3}/spring-compat-app.jar. Versions
# are pinned by the parents of compat-tests/spring/boot4/pom.xml and boot3/pom.xml. Jars newer
# than every source file and pom are not built again.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
src=$root/compat-tests/spring
out=$build/spring-compat
stale=0
for line in boot4 boot3; do
  jar=$out/$line/spring-compat-app.jar
  if [[ ! -f $jar ]] || [[ -n $(find "$src/src" "$src/pom.xml" "$src/$line/pom.xml" -newer "$jar" -print -quit) ]]; then
    stale=1
  fi
done
if ((stale)); then
  mvn -B -q -Dstyle.color=never -f "$src/pom.xml" package -Dspring.compat.root="$out"
  test -f "$out/boot4/spring-compat-app.jar" && test -f "$out/boot3/spring-compat-app.jar"
fi
