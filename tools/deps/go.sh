#!/usr/bin/env bash
# The Go clients for compat-tests/go/test_go.py (franz-go with kadm, sarama, kafka-go): downloads
# the modules pinned in compat-tests/go/go.mod and go.sum from the Go module proxy and builds the
# go-compat test program into $RUNNEL_BUILD_DIR/go-compat/go-compat. Uses the newest of the go on
# PATH and /usr/local/go/bin/go; fails when neither is as new as go.mod's go line. The go command
# is kept from fetching another toolchain (GOTOOLCHAIN=local).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RUNNEL_BUILD_DIR:-$root/build}
src=$root/compat-tests/go
need=$(awk '$1 == "go" { print $2; exit }' "$src/go.mod")

version_of() { "$1" env GOVERSION 2>/dev/null | sed 's/^go//'; }
newer_or_equal() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

best="" best_version=""
for candidate in "$(command -v go || true)" /usr/local/go/bin/go; do
  [[ -n "$candidate" && -x "$candidate" ]] || continue
  v=$(GOTOOLCHAIN=local version_of "$candidate") || continue
  [[ -n "$v" ]] || continue
  if [[ -z "$best" ]] || ! newer_or_equal "$best_version" "$v"; then
    best=$candidate best_version=$v
  fi
done
if [[ -z "$best" ]]; then
  echo "deps/go.sh: no Go found (PATH or /usr/local/go/bin); compat-tests/go needs Go $need or newer" >&2
  exit 1
fi
if ! newer_or_equal "$best_version" "$need"; then
  echo "deps/go.sh: $best is Go $best_version; compat-tests/go/go.mod needs Go $need or newer" >&2
  exit 1
fi

export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
out=$build/go-compat
mkdir -p "$out"
cd "$src"
# Up to date when the sources, go.mod, go.sum and the Go version are those of the last build.
stamp=$( (echo "$best_version"; cat go.mod go.sum ./*.go) | sha256sum | cut -d' ' -f1)
if [[ -x "$out/go-compat" && "$(cat "$out/stamp" 2>/dev/null)" == "$stamp" ]]; then
  echo "deps/go.sh: $out/go-compat is up to date"
  exit 0
fi
"$best" mod download
"$best" build -trimpath -o "$out/go-compat.new" .
mv "$out/go-compat.new" "$out/go-compat"
echo "$stamp" > "$out/stamp"
echo "deps/go.sh: built $out/go-compat with Go $best_version"
