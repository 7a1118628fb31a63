#!/usr/bin/env bash
# bench/dispatch: one event, one HTTP handler, logged to MariaDB. For each of
# three local receivers (nginx `return 200`, the fast receiver; Apache
# answering 200 from a static file; the node test receiver's /echo: the
# seed's echo handler), the
# median wall time per `prov-dispatch EVENT < data` run, interleaved in one
# run with the shell baseline doing the same work (curl CLI POST, then a
# mariadb CLI INSERT into exec_logs): with the dispatcher service running
# (prov-dispatchd --serve, the production setup: prov-dispatch hands the
# event to a resident worker), and without it (prov-dispatch execs
# prov-dispatchd, which does everything itself). Peak RSS of the process
# billing starts and of a service worker. Then --batch: 1,000 events through
# one process, events/s and the median time per event, also with
# journal_sync = 1 (what power-loss safety costs) and with per-object order
# on and off (what its check costs).
# Run by tests/bench.sh (`make bench`), which exports PROV_TEST_URL,
# PROV_TEST_RUN, PROV_CONFIG, PROV_TEST_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${PROV_BENCH_RUNS:-300}
BATCH=${PROV_BENCH_BATCH:-1000}
OUT=${PROV_BENCH_OUTPUT:-$ROOT/tests/output/bench}
mkdir -p "$OUT" "$ROOT/build/bench"
timer=$ROOT/build/bench/spawn-timer
cc -O2 -Wall -Wextra -Werror -o "$timer" "$ROOT/tests/bench/spawn-timer.c"
sock=$PROV_TEST_RUN/mysqld.sock
sqlq() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names provisioning -e "$1"; }

# Receiver 1: nginx answering `return 200 '{}'` on a free loopback port (the
# fast receiver the issue names). Receiver 2: the private Apache serving a
# two-byte JSON file; a POST to it answers 200.
. "$ROOT/scripts/servers.sh"
. "$ROOT/tests/bench/lib/nginx.sh"
bench_nginx_start "$PROV_TEST_RUN/nginx" || exit 1
printf '{}\n' >"$PROV_TEST_RUN/site/static/bench-ok.json"
fast_url=$PROV_TEST_URL/static/bench-ok.json

# Receiver 2: the node test receiver on a free loopback port, echo mode.
portfile=$(mktemp)
node --input-type=module -e "
  import { startReceiver } from '$ROOT/tests/lib/receiver.mjs';
  const r = await startReceiver();
  process.stdout.write(String(r.port) + '\n');
  setInterval(() => r.reset(), 1000);
" >"$portfile" &
receiver=$!
trap 'kill $receiver $nginx_pid 2>/dev/null; rm -f "$portfile"' EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
port=$(head -1 "$portfile")
[ -n "$port" ] || { echo "bench: the receiver did not start" >&2; exit 1; }
echo_url=http://127.0.0.1:$port/echo

# The service, on its own config: two workers (this machine's CPUs).
svc_conf=$PROV_TEST_RUN/bench-service.conf
{ grep -v '^dispatch_' "$PROV_CONFIG"; echo "dispatch_socket = $PROV_TEST_RUN/bench-dispatch.sock"; echo "dispatch_workers = ${PROV_BENCH_WORKERS:-2}"; } >"$svc_conf"
"$PROV_TEST_BIN/prov-dispatchd" --config "$svc_conf" --serve 2>"$OUT/service.log" &
service=$!
trap 'kill $receiver $service $nginx_pid 2>/dev/null; rm -f "$portfile"' EXIT
for _ in $(seq 200); do [ "$(grep -c 'worker ready' "$OUT/service.log")" -ge "${PROV_BENCH_WORKERS:-2}" ] && break; sleep 0.05; done
[ "$(grep -c 'worker ready' "$OUT/service.log")" -ge "${PROV_BENCH_WORKERS:-2}" ] || { echo "bench: the service did not start" >&2; cat "$OUT/service.log" >&2; exit 1; }

data=$OUT/event.json
printf '{"client_id":12,"name":"Example Ltd","balance":-3.5,"currency":"EUR"}\n' >"$data"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# Publish exactly one enabled handler: 'bench' POSTing to $1.
use_receiver() {
  sqlq "UPDATE handlers SET status='disabled' WHERE status='enabled';
        DELETE FROM handlers WHERE name='bench';
        INSERT INTO handlers (name, events_id, task, task_type, status, priority, ordered, created_at, updated_at)
        VALUES ('bench', 'clients.create', '$1', 'http', 'enabled', 1, ${BENCH_ORDERED:-1}, UTC_TIMESTAMP(), UTC_TIMESTAMP());
        UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1;"
  "$PROV_TEST_BIN/prov-cache" reload --by bench >/dev/null
  "$PROV_TEST_BIN/prov-dispatch" clients.create --object-id 12 <"$data" >/dev/null # warm-up, fills the local copy
  for _ in 1 2 3 4; do "$PROV_TEST_BIN/prov-dispatch" --config "$svc_conf" clients.create <"$data" >/dev/null; done
}

# The largest peak RSS of the service's workers so far.
worker_rss_kib() {
  local pid max=0 kib
  for pid in $(cat "/proc/$service/task/$service/children"); do
    kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
    [ "${kib:-0}" -gt "$max" ] && max=$kib
  done
  echo "$max"
}

# bench_single NAME URL: dispatcher and baseline against one receiver.
bench_single() {
  local name=$1 url=$2 disp base logged_before logged d b
  use_receiver "$url"
  local baseline="curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @- '$url' &&
    mariadb --no-defaults --socket='$sock' -uroot provisioning -e \"INSERT INTO exec_logs (dt, status,
    events_id, handler_id, handler_name, event_uid, delivery_id, request_body) VALUES (UTC_TIMESTAMP(6),
    'success', 'clients.create', NULL, 'baseline', UUID(), UUID(), '{}')\""
  logged_before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench'")
  # Interleaved runs (service, direct, baseline, service, ...): all see the same machine load.
  local all svc direct
  all=$("$timer" "$RUNS" "$data" "$PROV_TEST_BIN/prov-dispatch" --config "$svc_conf" clients.create --object-id 12 \
    -- "$PROV_TEST_BIN/prov-dispatch" clients.create --object-id 12 -- sh -c "$baseline")
  svc=$(sed -n 1p <<<"$all"); direct=$(sed -n 2p <<<"$all"); base=$(sed -n 3p <<<"$all")
  logged=$(( $(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name='bench'") - logged_before ))
  d=$(field median_ms "$direct"); b=$(field median_ms "$base")
  echo "-- receiver: $name ($url)"
  echo "prov-dispatch clients.create < event.json, service running: $svc"
  echo "prov-dispatch clients.create < event.json, no service:      $direct"
  echo "baseline sh -c 'curl POST && mariadb INSERT':                 $base"
  echo "log rows written by the dispatcher runs: $logged of $((2 * RUNS))"
  [ "$logged" -eq $((2 * RUNS)) ] || { echo "bench: log rows missing" >&2; return 1; }
  awk -v n="$name" -v s="$(field median_ms "$svc")" -v d="$d" -v b="$b" -v rss="$(field peak_rss_kib "$svc")" \
    -v wrss="$(worker_rss_kib)" -v drss="$(field peak_rss_kib "$direct")" 'BEGIN {
    printf "%s: median per event: service %.2f ms (%.1fx faster than the baseline), no service %.2f ms (%.1fx), baseline %.2f ms; peak RSS: prov-dispatch %.1f MiB, service worker %.1f MiB, prov-dispatchd alone %.1f MiB\n", n, s, b / s, d, b / d, b, rss / 1024, wrss / 1024, drss / 1024
  }' | tee -a "$OUT/dispatch.txt"
}

# bench_batch NAME URL [CONFIG]: $BATCH envelopes through one prov-dispatch --batch.
bench_batch() {
  local name=$1 url=$2 config=${3:-$PROV_CONFIG} input=$OUT/batch.ndjson
  use_receiver "$url"
  python3 - "$BATCH" >"$input" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event": {"events_id": "clients.create", "object_id": i},
                      "data": {"client_id": i, "name": "Example Ltd", "balance": -3.5}}))
PY
  # Results are flushed line by line: the gaps between them are the time per event.
  PROV_CONFIG=$config python3 - "$PROV_TEST_BIN/prov-dispatch" "$input" "$name" <<'PY' | tee -a "$OUT/dispatch.txt"
import statistics, subprocess, sys, time
prog, path, name = sys.argv[1:4]
with open(path, "rb") as data:
    start = time.perf_counter()
    p = subprocess.Popen([prog, "--batch"], stdin=data, stdout=subprocess.PIPE)
    stamps = [time.perf_counter() for _ in p.stdout]
    status = p.wait()
total = time.perf_counter() - start
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
ok = status == 0 and len(stamps) > 1
print("%s: --batch %d events in %.2f s: %.0f events/s, median %.3f ms per event%s" % (
    name, len(stamps), total, len(stamps) / total, statistics.median(gaps) * 1000 if ok else 0,
    "" if ok else " (FAILED: exit %d)" % status))
sys.exit(0 if ok else 1)
PY
}

: >"$OUT/dispatch.txt"
bench_single "nginx (return 200)" "$nginx_url"
bench_single "Apache (static file, 200)" "$fast_url"
bench_single "node test receiver (/echo)" "$echo_url"
bench_batch "nginx (return 200)" "$nginx_url"
bench_batch "node test receiver (/echo)" "$echo_url"

# journal_sync = 1 (power-loss safety: each request record fdatasynced
# before its delivery) against the default, alternated A/B/A/B so both see
# the same machine; the figure operators choose by (README, Durability).
sync_conf=$PROV_TEST_RUN/bench-journal-sync.conf
{ grep -v '^journal_sync' "$PROV_CONFIG"; echo "journal_sync = 1"; } >"$sync_conf"
for round in 1 2; do
  bench_batch "nginx (return 200), journal_sync = 0 (round $round)" "$nginx_url"
  bench_batch "nginx (return 200), journal_sync = 1 (round $round)" "$nginx_url" "$sync_conf"
done

# Per-object order (issue #15): its check is one indexed read per event with
# an object_id (every event here has its own) for all of the event's ordered
# handlers; off, there is none. A/B/A/B like journal_sync.
for round in $(seq "${PROV_BENCH_ORDER_ROUNDS:-2}"); do
  BENCH_ORDERED=1 bench_batch "nginx (return 200), per-object order on (round $round)" "$nginx_url"
  BENCH_ORDERED=0 bench_batch "nginx (return 200), per-object order off (round $round)" "$nginx_url"
done

# What starting a process costs on this machine: an empty program, and one
# linked with the dispatcher's stack as Debian's shared libraries.
printf 'int main(void){return 0;}\n' >"$ROOT/build/bench/empty.c"
cc -O2 -o "$ROOT/build/bench/empty" "$ROOT/build/bench/empty.c"
cc -O2 -Wl,--no-as-needed -o "$ROOT/build/bench/empty-libs" "$ROOT/build/bench/empty.c" \
  $(pkg-config --libs libmariadb jansson libcurl libcrypto)
echo "-- floors"
cc -O2 -static-pie -o "$ROOT/build/bench/empty-static" "$ROOT/build/bench/empty.c"
# Built as the Makefile builds prov-dispatch: musl, static-pie.
musl=/usr/lib/$(cc -dumpmachine | sed 's/-gnu$/-musl/')
musl-gcc -O2 -fPIE -c -o "$ROOT/build/bench/empty-musl.o" "$ROOT/build/bench/empty.c"
cc -nostdlib -static-pie -o "$ROOT/build/bench/empty-musl" "$musl/rcrt1.o" "$musl/crti.o" \
  "$(cc -print-file-name=crtbeginS.o)" "$ROOT/build/bench/empty-musl.o" "$musl/libc.a" \
  "$(cc -print-libgcc-file-name)" "$(cc -print-file-name=crtendS.o)" "$musl/crtn.o"
echo "empty program: $("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty")"
echo "empty program, glibc static-pie: $("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty-static")"
echo "empty program, musl static-pie like prov-dispatch: $("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty-musl")"
echo "empty program linked with shared libmariadb+jansson+libcurl+libcrypto: $("$timer" "$RUNS" "$data" "$ROOT/build/bench/empty-libs")"
echo "prov-dispatchd --help (start-up and exit only): $("$timer" "$RUNS" "$data" "$PROV_TEST_BIN/prov-dispatchd" --help)"
echo "== summary ($OUT/dispatch.txt)"
cat "$OUT/dispatch.txt"
sqlq "UPDATE handlers SET status='disabled' WHERE name='bench'; DELETE FROM exec_logs WHERE handler_name IN ('bench','baseline')"
