#!/usr/bin/env bash
# The Spring Boot compatibility application (compat-tests/spring), built for two Boot lines from
# Maven Central: Boot 4.1 (spring-kafka 4.1) and Boot 3.5 (spring-kafka 3.3), as executable jars in
# $RUNNEL_BUILD_DIR/spring-compat/{boot4,boot3}/spring-compat-app.jar. Versions are pinned by the
# parent of compat-tests/spring/boot4/pom.xml and boot3/pom.xml. A jar newer than every source
# file and pom is not built again.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
src=$root/compat-tests/spring
for line in boot4 boot3; do
  out=$build/spring-compat/$line
  jar=$out/spring-compat-app.jar
  if [[ -f $jar ]] && [[ -z $(find "$src/src" "$src/$line/pom.xml" -newer "$jar" -print -quit) ]]; then
    continue
  fi
  mvn -B -q -Dstyle.color=never -f "$src/$line/pom.xml" package -Dspring.compat.out="$out"
  test -f "$jar"
done
