#!/usr/bin/env bash
# librdkafka's own regression suite (tests/test-runner) for compat-tests/librdkafka-suite/.
# The librdkafka 2.12.0 source tree, with its tests/ folder, ships inside the npm package
# node-rdkafka 3.6.1 (deps/librdkafka). This script fetches that package with `npm pack`
# (pinned version and integrity), unpacks deps/librdkafka into
# $RUNNEL_BUILD_DIR/librdkafka-suite/librdkafka-2.12.0 and builds the library and the test
# runner there (-j2). A stamp file makes a second run return at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}

NODE_RDKAFKA_VERSION=3.6.1
NODE_RDKAFKA_INTEGRITY=sha512-sfpTbrT35429cs0RE8Yb9avGX9BiRRvpV7aweQsghKTjtrVZP3jBrKOPItWXAqHb8doyh3SkuGuUVBLgig1SRg==
LIBRDKAFKA_VERSION=2.12.0
# No libcurl (OIDC token fetching) and no Cyrus SASL (GSSAPI): the suite runs against one
# PLAINTEXT broker. LZ4 is librdkafka's bundled copy; zlib, zstd and OpenSSL are Debian's.
# RapidJSON (headers only) lets the tests check the statistics JSON against its schema.
CONFIGURE_ARGS=(--no-download --disable-curl --disable-gssapi --disable-lz4-ext
                --enable-zlib --enable-zstd --enable-ssl)

dir=$build/librdkafka-suite
src=$dir/librdkafka-$LIBRDKAFKA_VERSION
stamp=$dir/built.stamp
want_stamp="node-rdkafka@$NODE_RDKAFKA_VERSION librdkafka@$LIBRDKAFKA_VERSION ${CONFIGURE_ARGS[*]} rapidjson"

if [[ -f $stamp && "$(cat "$stamp")" == "$want_stamp" && -x $src/tests/test-runner ]]; then
  exit 0
fi

# The Debian packages librdkafka's configure and build need.
pkgs=(g++ make pkg-config python3 libssl-dev zlib1g-dev libzstd-dev rapidjson-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  echo "librdkafka-suite: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v npm >/dev/null; then
  echo "librdkafka-suite: npm is needed to fetch node-rdkafka@$NODE_RDKAFKA_VERSION" >&2
  exit 1
fi

rm -f "$stamp"
mkdir -p "$dir"
fetch=$dir/fetch
rm -rf "$fetch" "$src"
mkdir -p "$fetch"
tarball=$(cd "$fetch" && npm pack --silent "node-rdkafka@$NODE_RDKAFKA_VERSION")
tarball=$fetch/$tarball
got="sha512-$(python3 -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
if [[ $got != "$NODE_RDKAFKA_INTEGRITY" ]]; then
  echo "librdkafka-suite: $tarball has integrity $got, expected $NODE_RDKAFKA_INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$fetch" package/deps/librdkafka
version=$(sed -n 's/^#define RD_KAFKA_VERSION *0x\([0-9a-f]*\).*/\1/p' "$fetch/package/deps/librdkafka/src/rdkafka.h")
if [[ $version != 020c00ff ]]; then
  echo "librdkafka-suite: node-rdkafka@$NODE_RDKAFKA_VERSION bundles librdkafka 0x$version, expected $LIBRDKAFKA_VERSION" >&2
  exit 1
fi
mv "$fetch/package/deps/librdkafka" "$src"
rm -rf "$fetch"

echo "librdkafka-suite: building librdkafka $LIBRDKAFKA_VERSION and its test runner in $src"
log=$dir/build.log
if ! (cd "$src" && ./configure "${CONFIGURE_ARGS[@]}" && make -j2 libs && make -j2 -C tests build) >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "librdkafka-suite: build failed, full log in $log" >&2
  exit 1
fi
if ! grep -q '^#define WITH_RAPIDJSON 1' "$src/config.h"; then
  echo "librdkafka-suite: configure did not find RapidJSON (rapidjson-dev)" >&2
  exit 1
fi
echo "$want_stamp" >"$stamp"
