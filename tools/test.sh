#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run:
# installs dependencies (with the real clients), builds, runs every test (unit,
# compat with real clients, the benchmark's smoke run), then runs each fuzz
# target for a bounded time (RUNNEL_FUZZ_SECONDS per target, default 30; 0 skips).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
export RUNNEL_BUILD_DIR=$build
# Every client the README's command installs must be there: a missing one fails its suite.
export RUNNEL_REQUIRE_CLIENTS=${RUNNEL_REQUIRE_CLIENTS:-1}
# Each part's wall time is printed at its end, so a run's log says where the time went.
phase_start=$SECONDS
phase_done() {
  echo "== test.sh: $1 took $((SECONDS - phase_start)) s (total $SECONDS s)"
  phase_start=$SECONDS
}
"$root/tools/install-deps.sh" --test
phase_done "installing dependencies"
"$root/tools/build.sh" -DRUNNEL_TESTS=ON
phase_done "building"
# The compat suites write the rows of docs/compatibility.md into $build/compat-results.
rm -rf "$build/compat-results"
rc=0
(cd "$build" && ctest --output-on-failure -j"${RUNNEL_TEST_JOBS:-2}" --timeout 600) || rc=$?
phase_done "ctest"
if [ -d "$build/compat-results" ]; then
  python3 "$root/tools/compat_matrix.py" "$build/compat-results" "$root/docs/compatibility.md"
fi
if [ "$rc" != 0 ]; then exit "$rc"; fi
fuzz_seconds=${RUNNEL_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
  "$root/tools/fuzz.sh" "$fuzz_seconds"
  phase_done "fuzzing"
fi
