#!/usr/bin/env bash
# Configures and builds Runnel into build/ (or $RUNNEL_BUILD_DIR).
# Extra arguments are passed to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build" -j"${RUNNEL_JOBS:-2}"
