#!/usr/bin/env bash
# The newest Python Kafka clients from PyPI (confluent-kafka, kafka-python, aiokafka and the
# compression modules they use), pinned in compat-tests/newest-py/requirements.txt, in a venv
# at $RUNNEL_BUILD_DIR/venv made from Debian's /usr/bin/python3 (python3-venv). Debian's own
# client packages stay untouched for the other suites.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
req="$root/compat-tests/newest-py/requirements.txt"
venv="$build/venv"
stamp="$venv/.requirements"
if [[ -x "$venv/bin/python" ]] && [[ -f "$stamp" ]] && cmp -s "$req" "$stamp"; then
  exit 0  # already installed from this very requirements file
fi
mkdir -p "$build"
[[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: -r "$req"
"$venv/bin/python" -m pip check
cp "$req" "$stamp"
