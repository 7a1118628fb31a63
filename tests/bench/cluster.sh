#!/usr/bin/env bash
# tests/bench/cluster.sh: events/s across the cluster against a single node
# (run by tests/bench.sh, which exports PROV_TEST_URL, PROV_TEST_RUN,
# PROV_TEST_BIN, PROV_CONFIG with its single-node instance up).
#   1. single node: the bench instance's MariaDB (innodb_flush_log_at_trx_commit
#      = 1 for the run), two prov-dispatch --batch at once, EVENTS each
#   2. cluster (scripts/cluster.sh): 3 Galera nodes behind haproxy, the same two
#      batches at once, one on each billing host
#   3. the time a SIGKILLed writer node takes to rejoin (IST) after the run
# One HTTP handler to nginx `return 200`; every execution logged (counted).
# Figures go to stdout and $PROV_BENCH_OUTPUT/cluster/.
set -uo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EVENTS=${PROV_BENCH_CLUSTER_EVENTS:-5000}
OUT=${PROV_BENCH_OUTPUT:-/tmp}/cluster
BIN=$PROV_TEST_BIN
SINGLE_RUN=$PROV_TEST_RUN SINGLE_CONFIG=$PROV_CONFIG
mkdir -p "$OUT"
PROV_ROOT=$ROOT
. "$ROOT/scripts/cluster.sh"
. "$ROOT/tests/bench/lib/nginx.sh"
die() { echo "cluster bench: $*" >&2; exit 1; }

CRUN=
bench_nginx_start "$SINGLE_RUN/nginx-cluster" || exit 1
trap 'kill $nginx_pid 2>/dev/null; cluster_stop' EXIT

python3 - "$EVENTS" >"$OUT/batch.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event": {"events_id": "clients.subscriptions.renew", "object_id": i},
                      "data": {"client_id": i, "package_id": 7, "period": "2026-12"}}))
PY

HANDLER_SQL="UPDATE handlers SET status='disabled' WHERE status='enabled';
  INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
  VALUES ('bench-cluster', 'clients.subscriptions.renew', '$nginx_url', 'http', 'enabled', 1, UTC_TIMESTAMP(), UTC_TIMESTAMP());
  UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1;"

# two_batches CONFIG1 CONFIG2 SQLCMD...: both batches at once; prints events/s.
two_batches() {
  local c1=$1 c2=$2; shift 2
  local before after start end p1 p2
  before=$("$@" -N -e "SELECT COUNT(*) FROM exec_logs")
  start=$(date +%s.%N)
  PROV_CONFIG=$c1 "$BIN/prov-dispatch" --batch <"$OUT/batch.ndjson" >"$OUT/out1.ndjson" & p1=$!
  PROV_CONFIG=$c2 "$BIN/prov-dispatch" --batch <"$OUT/batch.ndjson" >"$OUT/out2.ndjson" & p2=$!
  wait $p1 || die "batch 1 failed"; wait $p2 || die "batch 2 failed"
  end=$(date +%s.%N)
  after=$("$@" -N -e "SELECT COUNT(*) FROM exec_logs")
  [ $((after - before)) -eq $((2 * EVENTS)) ] || die "logged $((after - before)) of $((2 * EVENTS)) executions"
  awk -v s="$start" -v e="$end" -v n=$((2 * EVENTS)) 'BEGIN { printf "%.0f", n / (e - s) }'
}

# ---------------------------------------------------------------- 1. single node
single_sql() { mariadb --no-defaults --socket="$SINGLE_RUN/mysqld.sock" -uroot provisioning "$@"; }
flush=$(single_sql -N -e "SELECT @@innodb_flush_log_at_trx_commit")
single_sql -e "SET GLOBAL innodb_flush_log_at_trx_commit = 1; $HANDLER_SQL" || die "single node setup"
PROV_CONFIG=$SINGLE_CONFIG "$BIN/prov-cache" reload --by bench >/dev/null || die "prov-cache reload"
single=$(two_batches "$SINGLE_CONFIG" "$SINGLE_CONFIG" single_sql) || exit 1
single_sql -e "SET GLOBAL innodb_flush_log_at_trx_commit = $flush; UPDATE handlers SET status='disabled' WHERE name='bench-cluster'"

# ---------------------------------------------------------------- 2. cluster
started=$(date +%s.%N)
cluster_start "$BIN" || die "the cluster did not start"
. "$CRUN/cluster.env"
echo "cluster started in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
db1_sql() { cluster_sql 1 provisioning "$@"; }
db1_sql -e "$HANDLER_SQL" || die "cluster setup"
PROV_CONFIG=$CRUN/bill1/provisioning.conf "$BIN/prov-cache" reload --by bench >/dev/null || die "prov-cache reload (cluster)"
clustered=$(two_batches "$CRUN/bill1/provisioning.conf" "$CRUN/bill2/provisioning.conf" db1_sql) || exit 1
certs=0
for n in "${CLUSTER_DB_NODES[@]}"; do certs=$((certs + $(cluster_wsrep "$n" WSREP_LOCAL_CERT_FAILURES))); done

# ---------------------------------------------------------------- 3. rejoin
cluster_db_kill 1
killed=$(date +%s.%N)
cluster_db_node_start 1 && cluster_db_wait 1 180 || die "db1 did not rejoin"
rejoin=$(awk -v s="$killed" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
how=SST; grep -q 'IST received:' "$CRUN/db1/mariadb.log" && how=IST

awk -v s="$single" -v c="$clustered" -v n=$((2 * EVENTS)) -v certs="$certs" -v r="$rejoin" -v how="$how" 'BEGIN {
  printf "two billing processes, %d events (--batch, one HTTP handler, every execution logged):\n", n
  printf "  single node (innodb_flush_log_at_trx_commit = 1): %d events/s\n", s
  printf "  cluster (3 Galera nodes, one writer through haproxy, two billing hosts): %d events/s (%.2fx the single node); %d certification failures\n", c, c / s, certs
  printf "  a SIGKILLed writer node is back and Synced %.1f s after the kill (restart included; by %s)\n", r, how
}' | tee "$OUT/cluster.txt"
