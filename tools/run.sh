#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running broker:
# installs dependencies, builds, and starts runnel. Arguments go to runnel
# (a properties file and/or --override key=value).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
RUNNEL_TESTS=OFF "$root/tools/build.sh" -DRUNNEL_TESTS=OFF
exec "${RUNNEL_BUILD_DIR:-$root/build}/server/runnel" "$@"
