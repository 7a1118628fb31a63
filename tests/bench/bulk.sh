#!/usr/bin/env bash
# tests/bench/bulk.sh: bulk recovery of 10,000 and 100,000 failed executions
# (run by tests/bench.sh, which exports PROV_TEST_URL, PROV_TEST_RUN,
# PROV_TEST_BIN with an instance up). For each size, one handler whose
# receiver (a local python3 server, 200 at once) was down: N failed log rows
# are inserted, then
#   1. prov-admin logs redeliver --handler H --since T: the count stated and
#      the request (wall time)
#   2. one prov-worker --once pass: the selection of all N in chunks of 500
#      (each its own transaction) and the first 1,000 deliveries: wall time
#      and the worker's peak RSS; a bounded selection keeps the RSS flat
#      from 10,000 to 100,000 (the ratio is the figure)
# Figures go to stdout and $PROV_BENCH_OUTPUT/bulk/.
set -euo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
BIN=$PROV_TEST_BIN
OUT=${PROV_BENCH_OUTPUT:-/tmp}/bulk
SIZES=${PROV_BENCH_BULK_SIZES:-10000 100000}
mkdir -p "$OUT"
sqlq() { mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot -N --batch provisioning -e "$1"; }
die() { echo "bulk bench: $*" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200); self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
receiver=$!
trap 'kill $receiver 2>/dev/null' EXIT
sleep 0.5
kill -0 $receiver || die "the receiver did not start"

printf '%-8s %-12s %-14s %-12s %-12s\n' rows request_s worker_pass_s peak_rss_kb delivered | tee "$OUT/figures.txt"
for n in $SIZES; do
  sqlq "UPDATE handlers SET status = 'disabled' WHERE status = 'enabled';
        INSERT INTO handlers (name, events_id, task, task_type, status, priority, retry_enabled, created_at, updated_at)
        VALUES ('bulk bench $n', 'clients.update', 'http://127.0.0.1:$port/hook', 'http', 'enabled', 1, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP());
        UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1"
  h=$(sqlq "SELECT MAX(id) FROM handlers")
  "$BIN/prov-cache" reload --by bench >/dev/null
  since=$(sqlq "SELECT DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL 1 MINUTE, '%Y-%m-%d %H:%i:%s')")
  sqlq "INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid, delivery_id,
          attempt, trigger_kind, duration_us, request_body, error)
        SELECT UTC_TIMESTAMP(6), 'fail', 'clients.update', $h, 'bulk bench $n', seq MOD 1000, CONCAT('evt-', seq), UUID(),
          1, 'dispatch', 1000, CONCAT('{\"event\":{\"id\":\"evt-', seq, '\"},\"data\":{\"n\":', seq, '}}'), 'refused'
        FROM seq_1_to_$n"
  t0=$(date +%s.%N)
  "$BIN/prov-admin" logs redeliver --handler "$h" --since "$since" > "$OUT/request-$n.txt"
  t1=$(date +%s.%N)
  grep -q "^$n failed executions to redeliver" "$OUT/request-$n.txt" || die "N stated: $(head -1 "$OUT/request-$n.txt")"
  /usr/bin/time -f '%e %M' -o "$OUT/worker-$n.time" "$BIN/prov-worker" --once > "$OUT/worker-$n.txt"
  id=$(grep -Eo 'bulk redelivery #[0-9]+' "$OUT/request-$n.txt" | grep -Eo '[0-9]+$')
  total=$(sqlq "SELECT total FROM bulk_redeliveries WHERE id = $id")
  [ "$total" = "$n" ] || die "selected $total of $n"
  delivered=$(sqlq "SELECT COUNT(*) FROM bulk_redelivery_items WHERE bulk_id = $id AND state = 'delivered'")
  read -r wall rss < "$OUT/worker-$n.time"
  printf '%-8s %-12.2f %-14s %-12s %-12s\n' "$n" "$(echo "$t1 - $t0" | bc)" "$wall" "$rss" "$delivered" | tee -a "$OUT/figures.txt"
  # The rest is not measured: end the request so the next size's pass works on its own.
  sqlq "UPDATE bulk_redelivery_items SET state = 'failed', active_log_id = NULL, error = 'bench' WHERE bulk_id = $id AND state = 'queued';
        UPDATE bulk_redeliveries SET state = 'done', pending_key = NULL WHERE id = $id"
done
