#!/usr/bin/env bash
# bench/monthend: the month-end rehearsal (issue #15). PROV_BENCH_MONTHEND_EVENTS
# (default 1,000,000) clients.subscriptions.renew events through one
# prov-dispatch --batch to nginx `return 200`, with MariaDB at its durable
# default (innodb_flush_log_at_trx_commit = 1) and at least
# PROV_BENCH_LOG_ROWS (default 10,000,000) rows already in the log (topped up
# with prov-loggen as bench/logs does). The events are generated on the fly
# into the batch's stdin. Figures: wall time, events/s, peak RSS, and the log
# rows written, counted against the events sent.
# Run by tests/bench.sh (`make bench`): PROV_TEST_RUN, PROV_CONFIG, PROV_TEST_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EVENTS=${PROV_BENCH_MONTHEND_EVENTS:-1000000}
ROWS=${PROV_BENCH_LOG_ROWS:-10000000}
DAYS=${PROV_BENCH_LOG_DAYS:-180}
JOBS=${PROV_BENCH_LOGGEN_JOBS:-2}
OUT=${PROV_BENCH_OUTPUT:-$ROOT/tests/output/bench}/monthend
mkdir -p "$OUT"
sock=$PROV_TEST_RUN/mysqld.sock
sqlq() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names provisioning -e "$1"; }

. "$ROOT/tests/bench/lib/fill.sh"
bench_loggen_fill "$ROWS" "$DAYS" "$JOBS" "$OUT"
existing=$(sqlq "SELECT COUNT(*) FROM exec_logs")

. "$ROOT/scripts/servers.sh"
. "$ROOT/tests/bench/lib/nginx.sh"
bench_nginx_start "$PROV_TEST_RUN/nginx-monthend" || exit 1
flush_was=$(sqlq "SELECT @@innodb_flush_log_at_trx_commit")
trap 'kill $nginx_pid 2>/dev/null; sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = $flush_was"' EXIT
sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = 1"
bench_use_handler bench-monthend clients.subscriptions.renew "$nginx_url"

before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-monthend'")
started=$(date +%s.%N)
python3 - "$EVENTS" <<'PY' |
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write('{"event":{"events_id":"clients.subscriptions.renew","id":"monthend-%d","object_id":%d},'
              '"data":{"subscription_id":%d,"client_id":%d,"plan":"business-m","period":"2026-12",'
              '"amount":49.9,"currency":"EUR"}}\n' % (i, i, i, 100000 + i % 50000))
PY
  /usr/bin/time -f '%M %e' -o "$OUT/time.txt" "$PROV_TEST_BIN/prov-dispatch" --batch |
  awk '/"logged":true/ { logged++ } END { print NR, logged + 0 }' >"$OUT/results.txt"
read -r rss_kib seconds <"$OUT/time.txt"
read -r lines printed_logged <"$OUT/results.txt"
logged=$(( $(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-monthend'") - before ))
awk -v n="$EVENTS" -v s="$seconds" -v rss="$rss_kib" -v lines="$lines" -v pl="$printed_logged" -v logged="$logged" -v existing="$existing" 'BEGIN {
  printf "month-end rehearsal: %d clients.subscriptions.renew events through prov-dispatch --batch to nginx, innodb_flush_log_at_trx_commit = 1, %d log rows before: wall %.1f s, %.0f events/s, peak RSS %.1f MiB; %d result lines (%d logged:true), %d log rows written\n", n, existing, s, n / s, rss / 1024, lines, pl, logged
}' | tee "$OUT/monthend.txt"
[ "$logged" -eq "$EVENTS" ] && [ "$lines" -eq "$EVENTS" ] ||
  { echo "monthend bench: not every execution logged ($logged of $EVENTS)" >&2; exit 1; }
sqlq "UPDATE handlers SET status='disabled' WHERE name='bench-monthend'"
