#!/usr/bin/env bash
# Installs every Debian 12 package Runnel needs to build, run and test.
# Usage: tools/install-deps.sh [--test]   (--test adds the real clients used by compat-tests)
set -euo pipefail

build_pkgs=(cmake make g++ pkg-config python3 libasio-dev libzstd-dev liblz4-dev zlib1g-dev
            libsnappy-dev libssl-dev libre2-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev librdkafka-dev kcat python3-confluent-kafka
           python3-kafka python3-snappy python3-lz4 python3-zstandard
           clang libclang-rt-14-dev  # tools/fuzz.sh (libFuzzer)
           openjdk-17-jdk-headless maven python3-venv)  # tools/deps/*.sh (Go: the machine's own, see tools/deps/go.sh)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# kafkajs for compat-tests/test_kafkajs.py comes from the npm registry (pinned in
# compat-tests/js/package-lock.json). Debian's nodejs and npm are installed only when no node
# is present: a node from elsewhere may conflict with Debian's npm package.
if [[ "${1:-}" == "--test" ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if command -v node >/dev/null; then
      echo "install-deps: node is present but npm is not; install npm for kafkajs" >&2
    else
      SUDO=""
      if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
      echo "installing: nodejs npm"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
    fi
  fi
  if command -v npm >/dev/null; then
    (cd "$(dirname "${BASH_SOURCE[0]}")/../compat-tests/js" && npm ci --quiet --no-audit --no-fund)
  fi
fi

# The clients and peers from the other registries (Maven Central, PyPI, the Go module proxy,
# npm): one script each in tools/deps/, run in name order, each pinning its versions.
if [[ "${1:-}" == "--test" ]]; then
  for script in "$(dirname "${BASH_SOURCE[0]}")"/deps/*.sh; do
    echo "install-deps: $(basename "$script")"
    "$script"
  done
fi
