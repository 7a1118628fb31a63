#!/usr/bin/env bash
# bench/dispatch: one event, one HTTP handler to the local test receiver,
# logged to MariaDB. Median wall time per prov-dispatch run against the shell
# baseline doing the same work in the same run (curl CLI POST, then a mariadb
# CLI INSERT into exec_logs), and the dispatcher's peak RSS.
# Run by tests/bench.sh (`make bench`), which exports PROV_TEST_RUN, PROV_CONFIG, PROV_TEST_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${PROV_BENCH_RUNS:-300}
BASE_RUNS=${PROV_BENCH_BASE_RUNS:-100}
OUT=${PROV_BENCH_OUTPUT:-$ROOT/tests/output/bench}
mkdir -p "$OUT" "$ROOT/build/bench"
timer=$ROOT/build/bench/spawn-timer
cc -O2 -Wall -Wextra -Werror -o "$timer" "$ROOT/tests/bench/spawn-timer.c"
sock=$PROV_TEST_RUN/mysqld.sock
sqlq() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names provisioning -e "$1"; }

# The receiver: a real node HTTP server on a free loopback port, echo mode.
portfile=$(mktemp)
node --input-type=module -e "
  import { startReceiver } from '$ROOT/tests/lib/receiver.mjs';
  const r = await startReceiver();
  process.stdout.write(String(r.port) + '\n');
  setInterval(() => {}, 60000);
" >"$portfile" &
receiver=$!
trap 'kill $receiver 2>/dev/null; rm -f "$portfile"' EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
port=$(head -1 "$portfile")
[ -n "$port" ] || { echo "bench: the receiver did not start" >&2; exit 1; }
url=http://127.0.0.1:$port/echo

sqlq "UPDATE handlers SET status='disabled' WHERE status='enabled';
      INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
      VALUES ('bench', 'clients.create', '$url', 'http', 'enabled', 1, UTC_TIMESTAMP(), UTC_TIMESTAMP());
      UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1;"
"$PROV_TEST_BIN/prov-cache" reload --by bench >/dev/null
data=$OUT/event.json
printf '{"client_id":12,"name":"Example Ltd","balance":-3.5,"currency":"EUR"}\n' >"$data"
"$PROV_TEST_BIN/prov-dispatch" clients.create --object-id 12 <"$data" >/dev/null # warm-up, fills the local copy

logged_before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench'")
cmd=("$PROV_TEST_BIN/prov-dispatch" clients.create --object-id 12)
echo "command: ${cmd[*]} < event.json   (x$RUNS)"
disp=$("$timer" "$RUNS" "$data" "${cmd[@]}")
logged=$(( $(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench'") - logged_before ))

baseline="curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @- '$url' &&
  mariadb --no-defaults --socket='$sock' -uroot provisioning -e \"INSERT INTO exec_logs (dt, status,
  events_id, handler_id, handler_name, event_uid, delivery_id, request_body) VALUES (UTC_TIMESTAMP(6),
  'success', 'clients.create', NULL, 'baseline', UUID(), UUID(), '{}')\""
echo "baseline: sh -c 'curl POST && mariadb INSERT'   (x$BASE_RUNS)"
base=$("$timer" "$BASE_RUNS" "$data" sh -c "$baseline")

# What loading the libraries alone costs on this machine: an empty program linked the same way.
printf 'int main(void){return 0;}\n' >"$ROOT/build/bench/empty.c"
cc -O2 -o "$ROOT/build/bench/empty" "$ROOT/build/bench/empty.c"
cc -O2 -Wl,--no-as-needed -o "$ROOT/build/bench/empty-libs" "$ROOT/build/bench/empty.c" \
  $(pkg-config --libs libmariadb jansson libcurl libcrypto)
empty=$("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty")
libs=$("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty-libs")

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
d=$(field median_ms "$disp"); b=$(field median_ms "$base")
echo "prov-dispatch: $disp"
echo "baseline:      $base"
echo "empty program: $empty"
echo "empty program linked with libmariadb+jansson+libcurl+libcrypto: $libs"
echo "log rows written by the dispatcher runs: $logged"
awk -v d="$d" -v b="$b" -v rss="$(field peak_rss_kib "$disp")" 'BEGIN {
  printf "median per event: dispatcher %.2f ms, baseline %.2f ms, %.1fx faster; peak RSS %.1f MiB\n", d, b, b / d, rss / 1024
}' | tee "$OUT/dispatch.txt"
sqlq "UPDATE handlers SET status='disabled' WHERE name='bench'; DELETE FROM exec_logs WHERE handler_name IN ('bench','baseline')"
