#!/usr/bin/env bash
# Builds Runnel with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/ (or $RUNNEL_BUILD_DIR) and runs every test there, the compat
# tests included (they start the sanitized broker). Any sanitizer report fails
# the run: ASan aborts, UBSan halts on the first error, LeakSanitizer runs at
# exit (a broker that leaks exits non-zero after SIGTERM).
# Extra arguments are passed to ctest, e.g. `-L compat` or `-R storage`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build-asan}
RUNNEL_BUILD_DIR=$build CMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Debug} \
  "$root/tools/build.sh" -DRUNNEL_SANITIZE=ON -DRUNNEL_TESTS=ON
cd "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Tests that cannot mean anything under the sanitizers read it (see compat-tests/test_limits.py).
export RUNNEL_SANITIZED=1
ctest --output-on-failure -j"${RUNNEL_TEST_JOBS:-2}" --timeout 900 "$@"
