#!/usr/bin/env bash
# tests/run.sh [unit|fuzz|all]: every test of the project, against the asan build.
#   1. C unit tests (cmocka) and template golden files (cstest)
#   2. the fuzz harnesses (build/fuzz, `make fuzz-build`): each replays its
#      corpus and fuzzes for FUZZ_CHECK_SECONDS (5); one test per harness
#   3. a private MariaDB + Apache/mod_fcgid on a free loopback port, then the
#      integration and browser tests (node's test runner, playwright-core on
#      Debian's Chromium); both servers stop on exit, failure included
#   4. the Apache error log must hold no sanitizer report
# Ends with one line: "tests: N passed, N failed".
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$PROV_ROOT"
. scripts/servers.sh
. scripts/nginx.sh

MODE=${1:-all}
BIN=${PROV_TEST_BIN:-$PROV_ROOT/build/asan/bin}
UNIT=${PROV_TEST_UNIT:-$PROV_ROOT/build/asan/tests}
OUT=$PROV_ROOT/tests/output
mkdir -p "$OUT"
passed=0
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# run_cmocka DIR: every cmocka program test_* in DIR.
run_cmocka() {
  local t log n
  for t in "$1"/test_*; do
    [ -x "$t" ] || continue
    log=$OUT/$(basename "$t").log
    if "$t" >"$log" 2>&1; then
      n=$(grep -aEo '^\[  PASSED  \] [0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
      count "${n:-0}" 0
      echo "ok   $(basename "$t") (${n:-0} tests)"
    else
      n=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
      count 0 "${n:-1}"
      echo "FAIL $(basename "$t")"; sed 's/^/     /' "$log" | tail -40
    fi
  done
}

run_unit() {
  echo "== unit tests (cmocka, asan+ubsan)"
  run_cmocka "$UNIT"
  echo "== template golden files (cstest)"
  local hdf gold actual
  for hdf in tests/templates/*.hdf; do
    [ -f "$hdf" ] || continue
    gold=${hdf%.hdf}.gold
    actual=$OUT/$(basename "${hdf%.hdf}").out
    (cd templates && cstest "../$hdf" "$(basename "${hdf%.hdf}" | sed 's/--.*//').cs") >"$actual" 2>&1
    # After a deliberate template change: PROV_UPDATE_GOLD=1 tests/run.sh unit, then review git diff.
    [ -n "${PROV_UPDATE_GOLD:-}" ] && cp "$actual" "$gold"
    if diff -u "$gold" "$actual" >"$actual.diff"; then
      count 1 0; echo "ok   $(basename "$hdf")"
    else
      count 0 1; echo "FAIL $(basename "$hdf")"; head -40 "$actual.diff" | sed 's/^/     /'
    fi
  done
}

# run_fuzz: each libFuzzer harness replays its corpus, then fuzzes a few
# seconds (tests/fuzz/run.sh check); a finding fails it, naming the reproducer.
run_fuzz() {
  echo "== fuzz harnesses (libFuzzer, asan+ubsan): corpus replay + ${FUZZ_CHECK_SECONDS:-5}s each"
  local name
  for name in $(tests/fuzz/run.sh list); do
    if tests/fuzz/run.sh check "$name" "${FUZZ_CHECK_SECONDS:-5}"; then count 1 0; else count 0 1; fi
  done
}

RUN=
run_integration() {
  echo "== integration and browser tests (MariaDB + Apache/mod_fcgid + Chromium)"
  # nginx.test.mjs stops its nginx and spawn-fcgi itself; this is for a run cut short.
  trap prov_instance_stop EXIT
  prov_instance_start "$BIN" || { count 0 1; return 1; }
  echo "== live tests of the core against the instance's MariaDB (cmocka, asan+ubsan)"
  run_cmocka "${PROV_TEST_LIVE:-$PROV_ROOT/build/asan/live}"
  export PROV_TEST_OUTPUT=$OUT
  local log=$OUT/node-tests.log files
  files=$(ls tests/integration/*.test.mjs tests/browser/*.test.mjs 2>/dev/null)
  node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$log" $files
  local pass fail
  pass=$(grep -aEo '^# pass [0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1)
  fail=$(grep -aEo '^# fail [0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1)
  count "${pass:-0}" "${fail:-1}"

  # Sanitizer reports from the panel processes land in Apache's error log.
  if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$RUN/apache/error.log"; then
    echo "FAIL sanitizer report in Apache's error log:"
    grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$RUN/apache/error.log" | head -60
    count 0 1
  else
    count 1 0; echo "ok   no sanitizer report in Apache's error log"
  fi
  cp "$RUN/apache/error.log" "$OUT/apache-error.log" 2>/dev/null
}

[ "$MODE" = fuzz ] || run_unit
[ "$MODE" = unit ] || run_fuzz
[ "$MODE" = unit ] || [ "$MODE" = fuzz ] || run_integration
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
