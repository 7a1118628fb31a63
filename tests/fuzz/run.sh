#!/usr/bin/env bash
# tests/fuzz/run.sh: run the libFuzzer harnesses built by `make fuzz-build`
# (build/fuzz/fuzz_*) over their corpora in tests/fuzz/corpus/<harness>/.
#   run.sh check NAME [SECONDS]  replay NAME's corpus, then fuzz it SECONDS (5)
#   run.sh long                  fuzz every harness FUZZ_SECONDS (600) each,
#                                FUZZ_JOBS (1) at a time; logs in tests/output/fuzz/
#   run.sh merge                 shrink each corpus to the inputs that add coverage
# New inputs go to tests/output/fuzz/<harness>/corpus, never to the committed
# corpus; a crash leaves its reproducer there (crash-*, leak-*, timeout-*, oom-*),
# rerun with build/fuzz/<harness> <file>. Exit status: 0 clean, 1 a finding.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${PROV_FUZZ_BIN:-$ROOT/build/fuzz}
OUT=$ROOT/tests/output/fuzz
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

harnesses() {
  local f
  for f in tests/fuzz/fuzz_*.c; do basename "${f%.c}"; done
}

# fuzz NAME SECONDS LOG: fuzz NAME from its corpus and what earlier runs found.
fuzz() {
  local name=$1 seconds=$2 log=$3 dict=tests/fuzz/$1.dict work=$OUT/$1
  mkdir -p "$work/corpus"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192
    -print_final_stats=1 -artifact_prefix="$work/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  "$BIN/$name" "${args[@]}" "$work/corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1
}

# A finding's reproducer, named in the log by libFuzzer.
reproducer() {
  grep -aEo "Test unit written to [^ ]+" "$1" | tail -1 | sed 's/Test unit written to //'
}

check() {
  local name=$1 seconds=${2:-5} log
  mkdir -p "$OUT/$name"
  [ -x "$BIN/$name" ] || { echo "FAIL $name: $BIN/$name is not built (make fuzz-build)"; return 1; }
  log=$OUT/$name.replay.log
  if ! "$BIN/$name" -runs=0 -timeout=10 "tests/fuzz/corpus/$name" >"$log" 2>&1; then
    echo "FAIL $name: replaying its corpus (log $log, input ${log%.log}: $(grep -aEo 'Running: [^ ]+' "$log" | tail -1))"
    tail -30 "$log" | sed 's/^/     /'
    return 1
  fi
  log=$OUT/$name.log
  if ! fuzz "$name" "$seconds" "$log"; then
    echo "FAIL $name: fuzzing found a problem; reproduce with $BIN/$name $(reproducer "$log") (log $log)"
    grep -aE -A25 'ERROR: |runtime error:' "$log" | head -40 | sed 's/^/     /'
    return 1
  fi
  echo "ok   $name ($(summary "$log"))"
}

# "N execs, cov C ft F" from a log's final lines.
summary() {
  local execs cov ft
  execs=$(grep -aEo 'stat::number_of_executed_units: [0-9]+' "$1" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -aEo 'cov: [0-9]+' "$1" | tail -1 | grep -Eo '[0-9]+')
  ft=$(grep -aEo 'ft: [0-9]+' "$1" | tail -1 | grep -Eo '[0-9]+')
  echo "${execs:-?} execs, cov ${cov:-?} ft ${ft:-?}"
}

long() {
  local seconds=${FUZZ_SECONDS:-600} jobs=${FUZZ_JOBS:-1} name failed=0 pids=() names=()
  mkdir -p "$OUT"
  for name in $(harnesses); do
    [ -x "$BIN/$name" ] || { echo "FAIL $name: not built"; failed=1; continue; }
    echo "fuzzing $name for ${seconds}s (log $OUT/$name.long.log)"
    fuzz "$name" "$seconds" "$OUT/$name.long.log" &
    pids+=($!) names+=("$name")
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  done
  local i
  for i in "${!pids[@]}"; do
    name=${names[$i]}
    if wait "${pids[$i]}"; then
      echo "ok   $name ($(summary "$OUT/$name.long.log"))"
    else
      echo "FAIL $name: reproduce with $BIN/$name $(reproducer "$OUT/$name.long.log") (log $OUT/$name.long.log)"
      failed=1
    fi
  done
  return $failed
}

# Keep the committed corpora small: the seeds (seed-*) and the regression
# inputs of fixed bugs (regress-*) stay; of the rest of the corpus and what
# runs found, only inputs that reach new edges are added (-use_counters=0:
# edges, not hit counts).
merge() {
  local name tmp dir
  for name in $(harnesses); do
    dir=tests/fuzz/corpus/$name
    mkdir -p "$OUT/$name/corpus"
    tmp=$(mktemp -d)
    cp "$dir"/seed-* "$dir"/regress-* "$tmp"/ 2>/dev/null
    if "$BIN/$name" -merge=1 -use_counters=0 -max_len=8192 "$tmp" "$dir" "$OUT/$name/corpus" \
      >"$OUT/$name.merge.log" 2>&1; then
      rm -f "$dir"/* && cp "$tmp"/* "$dir"/
    else
      echo "$name: merge failed (log $OUT/$name.merge.log)"
    fi
    rm -rf "$tmp"
    echo "$name: $(ls "$dir" | wc -l) inputs"
  done
}

case ${1:-} in
check) check "$2" "${3:-5}" ;;
long) long ;;
merge) merge ;;
list) harnesses ;;
*) echo "usage: $0 check NAME [SECONDS] | long | merge | list" >&2; exit 2 ;;
esac
