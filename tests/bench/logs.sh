#!/usr/bin/env bash
# tests/bench/logs.sh: the Execution Logs at 10,000,000 rows (run by tests/bench.sh,
# which exports PROV_TEST_URL, PROV_TEST_RUN, PROV_TEST_BIN with an instance up).
#   1. prov-loggen fills the log (PROV_BENCH_LOG_ROWS, default 10000000, over
#      PROV_BENCH_LOG_DAYS, default 180; PROV_BENCH_LOGGEN_JOBS processes at once, default 2)
#   2. server time of the logs page per filter, deep pages and details: p50/p99
#      from Apache's %D, PROV_BENCH_REQUESTS sequential requests each (default 200)
#   3. wrk req/s of the default view against a static file, same run
#   4. the plans of the filters' statements (EXPLAIN), and what a lookup by id costs
#   5. the purge of the rows older than 90 days (day partitions dropped, the rest
#      deleted) while a writer inserts: its time and the writer's worst insert
# Figures go to stdout and $PROV_BENCH_OUTPUT/logs/.
set -euo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
ROWS=${PROV_BENCH_LOG_ROWS:-10000000}
DAYS=${PROV_BENCH_LOG_DAYS:-180}
JOBS=${PROV_BENCH_LOGGEN_JOBS:-2}
N=${PROV_BENCH_REQUESTS:-200}
WRK_SECONDS=${PROV_BENCH_WRK_SECONDS:-10}
OUT=${PROV_BENCH_OUTPUT:-/tmp}/logs
URL=$PROV_TEST_URL
BIN=$PROV_TEST_BIN
ACCESS_LOG=$PROV_TEST_RUN/apache/access.log
TARGET_P99_MS=50
mkdir -p "$OUT"

sqlq() { mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot -N --batch provisioning -e "$1"; }
die() { echo "logs bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. data
. "$(dirname "$0")/lib/fill.sh"
bench_loggen_fill "$ROWS" "$DAYS" "$JOBS" "$OUT" || die "prov-loggen failed"
# Let InnoDB write out the pages the generator left dirty before measuring.
settle() {
  local pct dirty
  pct=$(sqlq "SELECT @@innodb_max_dirty_pages_pct")
  sqlq "SET GLOBAL innodb_max_dirty_pages_pct = 0"
  for _ in $(seq 240); do
    dirty=$(sqlq "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'")
    [ "$dirty" -lt 200 ] && break
    sleep 0.5
  done
  sqlq "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
}
settle
sqlq "ANALYZE TABLE exec_logs" >/dev/null
echo "rows in exec_logs: $(sqlq "SELECT COUNT(*) FROM exec_logs")"

# ---------------------------------------------------------------- 2. a session
JAR=$OUT/cookies.txt
user=bench-$(openssl rand -hex 4)
password=$(openssl rand -hex 12)
echo "$password" | "$BIN/prov-admin" user add "$user" --role admin >/dev/null
rm -f "$JAR"
token=$(curl -fsS -c "$JAR" -b "$JAR" "$URL/login" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
status=$(curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code}' --data-urlencode "csrf_token=$token" \
  --data-urlencode "username=$user" --data-urlencode "password=$password" "$URL/login")
[ "$status" = 303 ] || die "login failed ($status)"
session=$(awk '$6 == "prov_session" { print $7 }' "$JAR")
[ -n "$session" ] || die "no session cookie"

# ---------------------------------------------------------------- 3. server time per scenario
day() { sqlq "SELECT DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL $1 DAY, '%Y-%m-%d')"; }
old_day=$(day $((DAYS * 2 / 3)))
# Cursors spread over the oldest tenth of the log, and rows for the details page.
sqlq "SELECT id FROM exec_logs FORCE INDEX (ix_logs_dt) WHERE dt < UTC_TIMESTAMP() - INTERVAL $((DAYS * 9 / 10)) DAY
      AND id % 97 = 0 LIMIT $N" >"$OUT/deep-ids.txt"
sqlq "SELECT id FROM exec_logs WHERE id % 89 = 0 LIMIT $N" >"$OUT/detail-ids.txt"
[ -s "$OUT/deep-ids.txt" ] || die "no deep rows to page from"

scenarios=(
  "default|/logs"
  "event|/logs?event=clients.update"
  "status|/logs?status=fail"
  "handler|/logs?handler=900000012"
  "handler-rare|/logs?handler=900000001"
  "handler+status|/logs?handler=900000012&status=fail"
  "event+status|/logs?event=clients.update&status=fail"
  "handler+event+status|/logs?handler=900000002&event=clients.update&status=fail"
  "dates(one day, 60 days ago)|/logs?from=$old_day&to=$old_day"
  "status+dates|/logs?status=fail&from=$old_day&to=$old_day"
  "text(common)|/logs?q=refused"
  "text(no match: full window)|/logs?q=no-such-text"
  "text+handler|/logs?handler=900000012&q=credit+hold"
  "all filters|/logs?handler=900000017&event=clients.update&status=fail&q=timed+out&from=$(day $((DAYS * 8 / 9)))&to=$(day 10)"
  "deep page (older)|/logs?before=@deep"
  "deep page (newer)|/logs?after=@deep"
  "deep page, status|/logs?status=fail&before=@deep"
  "details|/logs/@detail"
)

# curl config: the scenario's URL N times (cursor ids vary), one connection.
# Each URL gets its own unused parameter (n=...), so that no cache on the way
# (the panel keeps none) could make these times other than of the queries and
# the rendering.
write_urls() {
  local path=$1 count=$2 file=$3 sep='?' i=0
  [[ $path == *\?* ]] && sep='&'
  : >"$file"
  case $path in
    *@deep*) head -n "$count" "$OUT/deep-ids.txt" | while read -r id; do printf 'url = "%s%s%sn=%s"\noutput = /dev/null\n' "$URL" "${path/@deep/$id}" "$sep" "$RANDOM$id"; done >>"$file" ;;
    *@detail*) head -n "$count" "$OUT/detail-ids.txt" | while read -r id; do printf 'url = "%s%s"\noutput = /dev/null\n' "$URL" "${path/@detail/$id}"; done >>"$file" ;;
    *) for i in $(seq "$count"); do printf 'url = "%s%s%sn=%s%s"\noutput = /dev/null\n' "$URL" "$path" "$sep" "$RANDOM" "$i"; done >>"$file" ;;
  esac
}

percentile() { # $1: percent, stdin: numbers (one per line, sorted)
  awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", v[i] / 1000 }'
}

report=$OUT/server-time.txt
printf '%-30s %5s %7s %7s %7s %7s  %s\n' scenario n p50_ms p95_ms p99_ms max_ms "p99<=${TARGET_P99_MS}ms" | tee "$report"
misses=0
for entry in "${scenarios[@]}"; do
  name=${entry%%|*}
  path=${entry#*|}
  write_urls "$path" 20 "$OUT/warmup.curl"
  curl -s -b "$JAR" -K "$OUT/warmup.curl" >/dev/null
  write_urls "$path" "$N" "$OUT/run.curl"
  start=$(wc -l <"$ACCESS_LOG")
  curl -s -b "$JAR" -K "$OUT/run.curl" -w '%{http_code}\n' >"$OUT/codes.txt"
  # Apache may write the last lines a moment after curl has its answers.
  for _ in $(seq 50); do [ $(($(wc -l <"$ACCESS_LOG") - start)) -ge "$(wc -l <"$OUT/codes.txt")" ] && break; sleep 0.1; done
  tail -n +$((start + 1)) "$ACCESS_LOG" | awk '{ print $NF, $(NF-2) }' >"$OUT/lines.txt"
  bad=$(awk '$2 != 200' "$OUT/lines.txt" | wc -l)
  [ "$bad" -eq 0 ] || die "$name: $bad answers were not 200 (see $ACCESS_LOG)"
  awk '{ print $1 }' "$OUT/lines.txt" | sort -n >"$OUT/times.txt"
  n=$(wc -l <"$OUT/times.txt")
  p50=$(percentile 50 <"$OUT/times.txt")
  p95=$(percentile 95 <"$OUT/times.txt")
  p99=$(percentile 99 <"$OUT/times.txt")
  max=$(percentile 100 <"$OUT/times.txt")
  verdict=ok
  awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(p > t) }' && { verdict=MISS; misses=$((misses + 1)); }
  printf '%-30s %5s %7s %7s %7s %7s  %s\n' "$name" "$n" "$p50" "$p95" "$p99" "$max" "$verdict" | tee -a "$report"
done

# ---------------------------------------------------------------- 4. throughput
wrk_rate() { wrk -t2 -c8 -d"${WRK_SECONDS}s" "$@" | tee -a "$OUT/wrk.txt" | awk '/Requests\/sec/ { print $2 }'; }
: >"$OUT/wrk.txt"
wrk -t2 -c8 -d3s -H "Cookie: prov_session=$session" "$URL/logs" >/dev/null # warm every panel process
static_rate=$(wrk_rate "$URL/static/css/panel.css")
logs_rate=$(wrk_rate -H "Cookie: prov_session=$session" "$URL/logs")
login_rate=$(wrk_rate "$URL/login")
ratio=$(awk -v a="$logs_rate" -v b="$static_rate" 'BEGIN { printf "%.1f", 100 * a / b }')
login_ratio=$(awk -v a="$login_rate" -v b="$static_rate" 'BEGIN { printf "%.1f", 100 * a / b }')
{
  echo "wrk -t2 -c8 -d${WRK_SECONDS}s, same instance, same run:"
  printf '  static file /static/css/panel.css  %10s req/s\n' "$static_rate"
  printf '  /logs default view (logged in)     %10s req/s  = %s%% of static (target >= 25%%)\n' "$logs_rate" "$ratio"
  printf '  /login (no database, for scale)    %10s req/s  = %s%% of static\n' "$login_rate" "$login_ratio"
} | tee "$OUT/throughput.txt"

# ---------------------------------------------------------------- 5. plans
# What each filter's statement reads (logs.c names its index), and the cost of
# a lookup by id, which has no dt: one primary key probe per day partition.
{
  echo "partitions of exec_logs: $(sqlq "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs'")"
  probe=$(head -1 "$OUT/detail-ids.txt")
  for plan in "ix_logs_dt|1" "ix_logs_handler|handler_id = 900000012" "ix_logs_event|events_id = 'clients.update'" \
      "ix_logs_status|status = 'fail'" "ix_logs_handler_event|handler_id = 900000002 AND events_id = 'clients.update'" \
      "ix_logs_handler_status|handler_id = 900000012 AND status = 'fail'" "ix_logs_event_status|events_id = 'clients.update' AND status = 'fail'" \
      "ix_logs_handler_event_status|handler_id = 900000002 AND events_id = 'clients.update' AND status = 'fail'"; do
    echo "$(sqlq "EXPLAIN SELECT id FROM exec_logs FORCE INDEX (${plan%%|*}) WHERE ${plan#*|} AND dt < '9999-01-01' ORDER BY dt DESC, id DESC LIMIT 51" | tr '\t' ' ')"
  done
  echo "by id: $(sqlq "EXPLAIN SELECT * FROM exec_logs WHERE id = $probe" | tr '\t' ' ')"
  echo "index probes of one lookup by id: $(sqlq "SELECT id, dt FROM exec_logs WHERE id = $probe; SHOW SESSION STATUS LIKE 'Handler_read_key'" | awk 'END { print $2 }')"
  t0=$(date +%s%N)
  for _ in $(seq 500); do echo "SELECT id, dt FROM exec_logs WHERE id = $probe;"; done | sqlq "$(cat)" >/dev/null
  t1=$(date +%s%N)
  for _ in $(seq 500); do echo "SELECT 1;"; done | sqlq "$(cat)" >/dev/null
  t2=$(date +%s%N)
  echo "a lookup by id: $(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.3f ms (SELECT 1: %.3f ms)", (b - a) / 500 / 1e6, (c - b) / 500 / 1e6 }') over one connection"
} | tee "$OUT/plans.txt"

# ---------------------------------------------------------------- 6. purge while writing
cutoff_days=90
due=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE dt < UTC_TIMESTAMP() - INTERVAL $cutoff_days DAY")
parts_before=$(sqlq "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs'")
# A writer inserting one row every 5 ms, each in its own transaction, as dispatchers do.
mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot -N --batch provisioning >"$OUT/writer.txt" <<'SQL' &
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE i INT DEFAULT 0; DECLARE t DATETIME(6); DECLARE took BIGINT; DECLARE worst BIGINT DEFAULT 0; DECLARE total BIGINT DEFAULT 0;
  WHILE i < 600 DO
    SET t = SYSDATE(6);
    INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id, request_body)
      VALUES (UTC_TIMESTAMP(6), 'success', 'clients.update', 900000001, 'bench writer', UUID(), UUID(), '{}');
    SET took = TIMESTAMPDIFF(MICROSECOND, t, SYSDATE(6));
    SET worst = GREATEST(worst, took), total = total + took, i = i + 1;
    DO SLEEP(0.005);
  END WHILE;
  SELECT CONCAT(i, ' inserts, mean ', ROUND(total / i / 1000, 2), ' ms, worst ', ROUND(worst / 1000, 1), ' ms');
END //
SQL
writer=$!
started=$(date +%s.%N)
"$BIN/prov-admin" logs purge --days "$cutoff_days" | tee "$OUT/purge.txt"
took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
wait "$writer"
{
  echo "purge of the log alone: $(sed -n 's/^took \([0-9.]*\) s for the log and \([0-9.]*\) s.*/\1 s (target < 1 s); then the retention of queues and metrics roll-ups: \2 s/p' "$OUT/purge.txt")"
  echo "purge of $due rows older than $cutoff_days days out of $(($(sqlq "SELECT COUNT(*) FROM exec_logs") + due)): $took s in all ($(grep -o '([0-9]* days dropped whole)' "$OUT/purge.txt" || echo 'no day dropped'); partitions $parts_before -> $(sqlq "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs'"); the rest of the cutoff's day deleted row by row)"
  echo "concurrent writer (one INSERT every 5 ms): $(cat "$OUT/writer.txt")"
} | tee "$OUT/purge-summary.txt"

echo "logs bench: $misses scenario(s) over the p99 target; figures in $OUT"
