#!/usr/bin/env bash
# bench/callers: many billing processes (issue #15). 16 parallel callers, each
# running `prov-dispatch clients.subscriptions.renew --object-id N` once per
# event (its own object), through the dispatcher service (prov-dispatchd
# --serve), one HTTP handler to nginx `return 200`, every execution logged,
# MariaDB at its durable default (innodb_flush_log_at_trx_commit = 1, set for
# this bench and put back after). Two runs: as fast as the callers go (events/s
# in all; target >= 3,000), and 1,000 events/s offered in all (p99 per call;
# target <= 5 ms). The same callers running /bin/true give the cost of a
# process start alone on this machine, the floor under every figure.
# PROV_BENCH_CALLERS (16), PROV_BENCH_CALLERS_EVENTS (8000 per run),
# PROV_BENCH_SERVICE_WORKERS (the service's workers; default 4).
# Run by tests/bench.sh (`make bench`): PROV_TEST_RUN, PROV_CONFIG, PROV_TEST_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=${PROV_BENCH_CALLERS:-16}
EVENTS=${PROV_BENCH_CALLERS_EVENTS:-8000}
WORKERS=${PROV_BENCH_SERVICE_WORKERS:-4}
OUT=${PROV_BENCH_OUTPUT:-$ROOT/tests/output/bench}/callers
mkdir -p "$OUT" "$ROOT/build/bench"
sock=$PROV_TEST_RUN/mysqld.sock
sqlq() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names provisioning -e "$1"; }
callers=$ROOT/build/bench/callers
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$callers" "$ROOT/tests/bench/callers.c"

. "$ROOT/scripts/servers.sh"
. "$ROOT/tests/bench/lib/nginx.sh"
. "$ROOT/tests/bench/lib/fill.sh"
bench_nginx_start "$PROV_TEST_RUN/nginx-callers" || exit 1
flush_was=$(sqlq "SELECT @@innodb_flush_log_at_trx_commit")
service=
cleanup() {
  kill $nginx_pid $service 2>/dev/null || true
  sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = $flush_was"
}
trap cleanup EXIT
sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = 1"
bench_use_handler bench-callers clients.subscriptions.renew "$nginx_url"

svc_conf=$PROV_TEST_RUN/bench-callers.conf
{ grep -v '^dispatch_' "$PROV_CONFIG"; echo "dispatch_socket = $PROV_TEST_RUN/bench-callers.sock"
  echo "dispatch_workers = $WORKERS"; } >"$svc_conf"
"$PROV_TEST_BIN/prov-dispatchd" --config "$svc_conf" --serve 2>"$OUT/service.log" &
service=$!
prov_wait_for 10 bash -c "[ \$(grep -c 'worker ready' '$OUT/service.log') -ge $WORKERS ]" ||
  { echo "bench: the service did not start" >&2; cat "$OUT/service.log" >&2; exit 1; }

data=$OUT/renew.json
printf '{"subscription_id":1,"client_id":100001,"plan":"business-m","period":"2026-12","amount":49.9,"currency":"EUR"}\n' >"$data"
cmd=("$PROV_TEST_BIN/prov-dispatch" --config "$svc_conf" clients.subscriptions.renew --object-id %i)
"$callers" "$P" "$P" 0 "$data" "${cmd[@]}" >/dev/null # warm-up: every worker connected

: >"$OUT/callers.txt"
run() { # run LABEL RATE COMMAND...: one run, its figures, and the rows it logged
  local label=$1 rate=$2 before after figures
  shift 2
  before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-callers'")
  figures=$("$callers" "$P" "$EVENTS" "$rate" "$data" "$@")
  after=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-callers'")
  echo "$label: $P callers, $figures, log rows written $((after - before))" | tee -a "$OUT/callers.txt"
}
run "process start alone (/bin/true), as fast as they go" 0 /bin/true
run "prov-dispatch through the service, as fast as they go (target >= 3000 events/s)" 0 "${cmd[@]}"
run "process start alone (/bin/true), 1000/s offered" 1000 /bin/true
run "prov-dispatch through the service, 1000 events/s offered (target p99 <= 5 ms)" 1000 "${cmd[@]}"
echo "service workers: $WORKERS; innodb_flush_log_at_trx_commit during the runs: $(sqlq "SELECT @@innodb_flush_log_at_trx_commit")" | tee -a "$OUT/callers.txt"
grep -q "log rows written $EVENTS\$" <(grep 'through the service, as fast' "$OUT/callers.txt") ||
  { echo "callers bench: not every execution logged" >&2; exit 1; }
sqlq "UPDATE handlers SET status='disabled' WHERE name='bench-callers'; DELETE FROM exec_logs WHERE handler_name='bench-callers'"
