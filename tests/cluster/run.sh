#!/usr/bin/env bash
# tests/cluster/run.sh: the cluster rehearsal (`make test-cluster`). Starts a
# 3-node Galera cluster, haproxy, two web nodes and two billing hosts on
# loopback addresses (scripts/cluster.sh), runs tests/cluster/*.test.mjs
# against them, and stops everything on exit, failure included. The fault
# table goes to tests/output/cluster-faults.md. Ends with "tests: N passed, N failed".
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$PROV_ROOT"
. scripts/cluster.sh

BIN=${PROV_TEST_BIN:-$PROV_ROOT/build/asan/bin}
OUT=$PROV_ROOT/tests/output
mkdir -p "$OUT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
CRUN=
trap cluster_stop EXIT
echo "== cluster: 3 Galera nodes, haproxy, 2 web nodes, 2 billing hosts"
cluster_start "$BIN" || { echo "tests: 0 passed, 1 failed"; exit 1; }
set -a; . "$CRUN/cluster.env"; set +a
echo "   started in ${CLUSTER_STARTED_IN} s; panel and API at $CLUSTER_URL"
# tests/lib/panel.mjs: the front is the panel; prov-admin reads billing host 1's config.
export PROV_TEST_URL=$CLUSTER_URL PROV_TEST_RUN=$CRUN PROV_TEST_BIN=$BIN PROV_TEST_OUTPUT=$OUT
export PROV_CONFIG=$CRUN/bill1/provisioning.conf
printf '| Fault | Sent | Acknowledged | Logged | Duplicated | Lost | Notes |\n|---|---|---|---|---|---|---|\n' >"$OUT/cluster-faults.md"
log=$OUT/cluster-tests.log
# PROV_TEST_NAME=REGEX runs only the tests whose names match (a fault at a time).
node --test --test-concurrency=1 ${PROV_TEST_NAME:+--test-name-pattern="$PROV_TEST_NAME"} --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$log" tests/cluster/*.test.mjs
pass=$(grep -aEo '^# pass [0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1)
fail=$(grep -aEo '^# fail [0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1)
echo "== fault table ($OUT/cluster-faults.md)"
cat "$OUT/cluster-faults.md"
echo "tests: ${pass:-0} passed, ${fail:-1} failed"
[ "${fail:-1}" -eq 0 ] && [ "${pass:-0}" -gt 0 ]
