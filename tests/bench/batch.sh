#!/usr/bin/env bash
# bench/batch: prov-dispatch --batch throughput (issue #15) with MariaDB at
# its durable default (innodb_flush_log_at_trx_commit = 1, set for this bench
# and put back after), one HTTP handler POSTing to nginx `return 200`, against
# the bare libcurl keep-alive POST loop (tests/bench/curl-loop.c: one easy
# handle, the same body) to the same receiver, alternated loop / batch over
# PROV_BENCH_BATCH_ROUNDS rounds (default 2) so both see the same machine.
# PROV_BENCH_BATCH_EVENTS events per run (default 30000). Per round: events/s,
# the ratio to the loop, peak RSS, and the log rows counted (every execution
# logged). Targets: >= 8,000 events/s and >= 80% of the loop.
# Run by tests/bench.sh (`make bench`): PROV_TEST_RUN, PROV_CONFIG, PROV_TEST_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EVENTS=${PROV_BENCH_BATCH_EVENTS:-30000}
ROUNDS=${PROV_BENCH_BATCH_ROUNDS:-2}
OUT=${PROV_BENCH_OUTPUT:-$ROOT/tests/output/bench}/batch
mkdir -p "$OUT" "$ROOT/build/bench"
sock=$PROV_TEST_RUN/mysqld.sock
sqlq() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names provisioning -e "$1"; }
loop=$ROOT/build/bench/curl-loop
dispatch=${PROV_BENCH_DISPATCH:-$PROV_TEST_BIN/prov-dispatch} # another build to compare with
cc -O2 -Wall -Wextra -Werror -o "$loop" "$ROOT/tests/bench/curl-loop.c" $(pkg-config --cflags --libs libcurl)

. "$ROOT/scripts/servers.sh"
. "$ROOT/tests/bench/lib/nginx.sh"
bench_nginx_start "$PROV_TEST_RUN/nginx-batch" || exit 1
flush_was=$(sqlq "SELECT @@innodb_flush_log_at_trx_commit")
trap 'kill $nginx_pid 2>/dev/null; sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = $flush_was"' EXIT
sqlq "SET GLOBAL innodb_flush_log_at_trx_commit = 1"

. "$ROOT/tests/bench/lib/fill.sh"
bench_use_handler bench-batch clients.subscriptions.renew "$nginx_url"

input=$OUT/renew.ndjson
python3 - "$EVENTS" "$OUT/body.json" >"$input" <<'PY'
import json, sys
n, body = int(sys.argv[1]), sys.argv[2]
def line(i):
    return json.dumps({"event": {"events_id": "clients.subscriptions.renew", "id": "renew-%d" % i, "object_id": i},
                       "data": {"subscription_id": i, "client_id": 100000 + i % 50000, "plan": "business-m",
                                "period": "2026-12", "amount": 49.9, "currency": "EUR"}}, separators=(",", ":"))
for i in range(n):
    print(line(i))
# The loop POSTs what the handler receives: the envelope with its dt.
env = json.loads(line(0)); env["event"]["dt"] = "2026-12-01T00:00:00.000Z"
open(body, "w").write(json.dumps(env, separators=(",", ":")))
PY

: >"$OUT/batch.txt"
for round in $(seq "$ROUNDS"); do
  base=$("$loop" "$nginx_url" "$EVENTS" "$OUT/body.json")
  before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-batch'")
  /usr/bin/time -f "%M %e" -o "$OUT/time.txt" "$dispatch" --batch <"$input" >"$OUT/results.ndjson"
  read -r rss_kib seconds <"$OUT/time.txt"
  results=$(wc -l <"$OUT/results.ndjson")
  logged=$(( $(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench-batch'") - before ))
  printed_logged=$(grep -c '"logged":true' "$OUT/results.ndjson" || true)
  awk -v r="$round" -v n="$EVENTS" -v s="$seconds" -v base="$base" -v rss="$rss_kib" -v res="$results" \
      -v logged="$logged" -v pl="$printed_logged" 'BEGIN {
    split(base, kv, /[ =]/); loop = kv[6]; ev = n / s
    printf "round %d: libcurl keep-alive loop %.0f req/s; prov-dispatch --batch %d events in %.2f s: %.0f events/s = %.0f%% of the loop (targets: 8000 events/s, 80%%); peak RSS %.1f MiB (target 64); %d result lines, %d logged:true, %d log rows written\n", r, loop, n, s, ev, 100 * ev / loop, rss / 1024, res, pl, logged
  }' | tee -a "$OUT/batch.txt"
  [ "$logged" -eq "$EVENTS" ] && [ "$results" -eq "$EVENTS" ] && [ "$printed_logged" -eq "$EVENTS" ] ||
    { echo "batch bench: not every execution logged ($logged of $EVENTS)" >&2; exit 1; }
done
echo "innodb_flush_log_at_trx_commit during the runs: $(sqlq "SELECT @@innodb_flush_log_at_trx_commit")" | tee -a "$OUT/batch.txt"
sqlq "UPDATE handlers SET status='disabled' WHERE name='bench-batch'; DELETE FROM exec_logs WHERE handler_name='bench-batch'"
