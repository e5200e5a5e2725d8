#!/usr/bin/env bash
# Runs every fuzz target over (a copy of) its seed corpus for SECONDS each.
#   bash tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# BUILD_DIR was configured with CC=clang CXX=clang++ -DGETMFS_FUZZ=ON and built with
# `--target fuzz`. Fails on the first target that crashes, printing the crashing input's
# path and the end of the fuzzer's output. The repository is never written to: new corpus
# entries and crash files stay in a temporary directory (kept when a target fails).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in "$here"/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
work="$(mktemp -d /tmp/getmfs-fuzz.XXXXXX)"
status=0
for name in "${targets[@]}"; do
  binary="$build/fuzz/fuzz_$name"
  if [ ! -x "$binary" ]; then
    echo "run.sh: $binary is missing (cmake --build $build --target fuzz)" >&2
    status=1
    break
  fi
  mkdir -p "$work/$name/corpus" "$work/$name/crashes"
  cp -r "$here/corpus/$name/." "$work/$name/corpus/"
  log="$work/$name/fuzz.log"
  echo "== fuzz_$name: ${seconds}s over $(ls "$work/$name/corpus" | wc -l) seeds"
  if (cd "$work/$name" && ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
        "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$name/crashes/" corpus >"$log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2 || true
  else
    echo "FAIL: fuzz_$name crashed" >&2
    for crash in "$work/$name/crashes"/*; do
      [ -e "$crash" ] && echo "crashing input: $crash" >&2
    done
    tail -n 40 "$log" >&2
    status=1
    break
  fi
done
if [ "$status" -eq 0 ]; then
  rm -rf "$work"
else
  echo "run.sh: kept $work (corpus, crashes, logs)" >&2
fi
exit "$status"
