#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DRUNNEL_FUZZ=ON, Debug, ASan and
# UBSan) into build-fuzz/ and runs each for a while on a copy of its seed
# corpus. Fails on the first crash, leak, timeout or out-of-memory, printing
# the reproducer's path.
# Usage: tools/fuzz.sh [seconds-per-target]   (default 30)
# Needs: clang and libclang-rt-14-dev (tools/install-deps.sh --test).
set -euo pipefail

seconds="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
jobs="${RUNNEL_JOBS:-2}"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DRUNNEL_FUZZ=ON \
  -DRUNNEL_TESTS=OFF "${launcher[@]}" >/dev/null

# target:corpus directory (relative to the project root)
targets=(request_decode_fuzz:protocol/fuzz/corpus/request_decode
         record_batch_fuzz:protocol/fuzz/corpus/record_batch
         segment_recovery_fuzz:storage/fuzz/corpus/segment_recovery)
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
cmake --build "$build" -j"$jobs" --target "${names[@]}"

# Everything a run writes (corpus copy, new inputs, logs, the recovery
# target's partition directories) stays under one work directory. tmpfs when
# there is one: the recovery target fsyncs.
parent="${TMPDIR:-/tmp}"
if [[ -d /dev/shm && -w /dev/shm ]]; then parent=/dev/shm; fi
work="$(mktemp -d "$parent/runnel-fuzz-XXXXXX")"
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

failed=0
for t in "${targets[@]}"; do
  name="${t%%:*}"
  corpus="$root/${t#*:}"
  exe="$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)"
  mkdir -p "$work/$name/corpus" "$work/$name/tmp"
  cp "$corpus"/* "$work/$name/corpus/"
  log="$work/$name.log"
  echo "fuzz: $name for ${seconds}s"
  set +e
  TMPDIR="$work/$name/tmp" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$work/$name/corpus" >"$log" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    failed=1
    grep -v '^storage: ' "$log" | tail -n 60
    echo "fuzz: $name FAILED (exit $rc); reproducer:"
    grep -o "Test unit written to .*" "$log" | sed 's/^Test unit written to /  /' || true
    echo "  rerun: $exe <reproducer>"
  else
    grep -E '^(Done|stat::number_of_executed_units)' "$log" | head -n 1 | sed "s/^/fuzz: $name: /"
  fi
done
rm -rf "$work"
exit "$failed"
