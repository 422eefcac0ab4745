#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run:
# installs dependencies (with the real clients), builds, runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
"$root/tools/install-deps.sh" --test
"$root/tools/build.sh" -DRUNNEL_TESTS=ON
cd "$build"
ctest --output-on-failure -j"${RUNNEL_TEST_JOBS:-2}" --timeout 600
