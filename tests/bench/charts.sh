#!/usr/bin/env bash
# tests/bench/charts.sh: the panel's charts (issue #17) at 10,000,000 log rows
# (run by tests/bench.sh, which exports PROV_TEST_URL, PROV_TEST_RUN,
# PROV_TEST_BIN with an instance up).
#   1. 20 handlers and prov-loggen's rows for them (PROV_BENCH_CHART_ROWS,
#      default 10000000, over 90 days), their roll-ups written with them
#   2. server time (Apache's %D) of each chart's page, p50/p99 over
#      PROV_BENCH_REQUESTS sequential requests (default 100), against a
#      logged-in GET /login (session check and redirect) in the same run;
#      target: p99 <= 50 ms per chart page
#   3. when the log was empty before, the rows go again (TRUNCATE), so that
#      the benches after this one find the instance as they expect
# Figures go to stdout and $PROV_BENCH_OUTPUT/charts/.
set -euo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
ROWS=${PROV_BENCH_CHART_ROWS:-10000000}
N=${PROV_BENCH_REQUESTS:-100}
OUT=${PROV_BENCH_OUTPUT:-/tmp}/charts
URL=$PROV_TEST_URL
BIN=$PROV_TEST_BIN
ACCESS_LOG=$PROV_TEST_RUN/apache/access.log
TARGET_P99_MS=50
mkdir -p "$OUT"

sqlq() { mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot -N --batch provisioning -e "$1"; }
die() { echo "charts bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. data
was_empty=$([ "$(sqlq "SELECT COUNT(*) FROM (SELECT 1 FROM exec_logs LIMIT 1) x")" = 0 ] && echo 1 || echo 0)
cleanup() {
  if [ "$was_empty" = 1 ]; then
    sqlq "TRUNCATE exec_logs; TRUNCATE exec_rollup; TRUNCATE exec_rollup_hour; TRUNCATE exec_rollup_day;
          TRUNCATE exec_totals; DELETE FROM handlers WHERE name LIKE 'bench chart %'" || true
  fi
}
trap cleanup EXIT
have_handlers=$(sqlq "SELECT COUNT(*) FROM handlers")
if [ "$have_handlers" -lt 20 ]; then
  sqlq "INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    SELECT CONCAT('bench chart ', seq), ELT(1 + seq % 5, 'clients.create', 'clients.update', 'clients.accounts.create',
      'clients.subscriptions.assign', 'clients.balance_zero'), CONCAT('http://127.0.0.1:9/c', seq),
      IF(seq % 4 = 3, 'script', 'http'), 'enabled', seq, UTC_TIMESTAMP(), UTC_TIMESTAMP()
    FROM seq_1_to_20 LIMIT $((20 - have_handlers))"
fi
have=$(sqlq "SELECT COUNT(*) FROM exec_logs")
if [ "$have" -lt "$ROWS" ]; then
  echo "generating $((ROWS - have)) log rows: prov-loggen --rows $((ROWS - have)) --days 90 --handlers 20 --existing-handlers --seed 3"
  started=$(date +%s)
  "$BIN/prov-loggen" --rows $((ROWS - have)) --days 90 --handlers 20 --existing-handlers --seed 3 | tee "$OUT/generate.txt"
  echo "generation took $(($(date +%s) - started)) s" | tee -a "$OUT/generate.txt"
fi
sqlq "ANALYZE TABLE exec_logs, exec_rollup, exec_rollup_hour, exec_rollup_day" >/dev/null
{
  echo "rows: exec_logs $(sqlq "SELECT COUNT(*) FROM exec_logs"), exec_rollup $(sqlq "SELECT COUNT(*) FROM exec_rollup"),"
  echo "      exec_rollup_hour $(sqlq "SELECT COUNT(*) FROM exec_rollup_hour"), exec_rollup_day $(sqlq "SELECT COUNT(*) FROM exec_rollup_day")"
} | tee "$OUT/rows.txt"

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

# ---------------------------------------------------------------- 3. server time per chart
hot=$(sqlq "SELECT handler_id FROM exec_totals GROUP BY handler_id ORDER BY SUM(executions) DESC LIMIT 1")
rare=$(sqlq "SELECT handler_id FROM exec_totals GROUP BY handler_id ORDER BY SUM(executions) LIMIT 1")
[ -n "$hot" ] || die "no executions counted"
day() { sqlq "SELECT DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL $1 DAY, '%Y-%m-%d')"; }
d60=$(day 60)
scenarios=(
  "baseline: GET /login (logged in)|/login|303"
  "form: 24 h + 7 d, busiest handler|/handlers/$hot|200"
  "form: 24 h + 7 d, quietest handler|/handlers/$rare|200"
  "list: 25 sparklines|/handlers|200"
  "list: 100 sparklines|/handlers?size=100|200"
  "logs: histogram, whole log (days)|/logs|200"
  "logs: histogram, busiest handler|/logs?handler=$hot|200"
  "logs: histogram, event+status|/logs?event=clients.update&status=fail|200"
  "logs: histogram, 4 days (hours)|/logs?from=$(day 4)&to=$(day 1)|200"
  "logs: histogram, one day (hours)|/logs?from=$d60&to=$d60|200"
  "logs: histogram, one hour (minutes)|/logs?from=$d60+10:00&to=$d60+10:59|200"
  "scheduler: health summary|/scheduler|200"
)

percentile() { # $1: percent, stdin: microseconds (sorted)
  awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", v[i] / 1000 }'
}

report=$OUT/server-time.txt
printf '%-40s %5s %7s %7s %7s  %s\n' "page (server time, Apache %D)" n p50_ms p99_ms max_ms "p99<=${TARGET_P99_MS}ms" | tee "$report"
misses=0
for entry in "${scenarios[@]}"; do
  IFS='|' read -r name path want <<<"$entry"
  sep='?'; [[ $path == *\?* ]] && sep='&'
  : >"$OUT/run.curl"
  for i in $(seq "$N"); do printf 'url = "%s%s%sn=%s"\noutput = /dev/null\n' "$URL" "$path" "$sep" "$i" >>"$OUT/run.curl"; done
  head -n 20 "$OUT/run.curl" | curl -s -b "$JAR" -K - >/dev/null # warm the processes
  start=$(wc -l <"$ACCESS_LOG")
  curl -s -b "$JAR" -K "$OUT/run.curl" -w '%{http_code}\n' >"$OUT/codes.txt"
  for _ in $(seq 50); do [ $(($(wc -l <"$ACCESS_LOG") - start)) -ge "$N" ] && break; sleep 0.1; done
  tail -n +$((start + 1)) "$ACCESS_LOG" | awk '{ print $NF, $(NF-2) }' >"$OUT/lines.txt"
  bad=$(awk -v w="$want" '$2 != w' "$OUT/lines.txt" | wc -l)
  [ "$bad" -eq 0 ] || die "$name: $bad answers were not $want (see $ACCESS_LOG)"
  awk '{ print $1 }' "$OUT/lines.txt" | sort -n >"$OUT/times.txt"
  p50=$(percentile 50 <"$OUT/times.txt")
  p99=$(percentile 99 <"$OUT/times.txt")
  max=$(percentile 100 <"$OUT/times.txt")
  verdict=ok
  awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(p > t) }' && { verdict=MISS; misses=$((misses + 1)); }
  printf '%-40s %5s %7s %7s %7s  %s\n' "$name" "$(wc -l <"$OUT/times.txt")" "$p50" "$p99" "$max" "$verdict" | tee -a "$report"
done
echo "charts bench: $misses page(s) over the p99 target; figures in $OUT"
