#!/usr/bin/env bash
# bench panel_list: the Provisioning API list over 10,000 handlers, as an
# operator uses it (default view, sorted deep page, filtered, edit form, status
# toggle), against a logged-in GET /login (session check and redirect only)
# as the baseline cost of one panel request.
# Prints median and p95 per request and the median as a ratio to the baseline.
set -euo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
N=${PANEL_BENCH_HANDLERS:-10000}
REQUESTS=${PANEL_BENCH_REQUESTS:-200}
sql() { mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot provisioning "$@"; }

sql -e "SET SESSION max_recursive_iterations = 1000000; DELETE FROM handlers;
  INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
  WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $N)
  SELECT CONCAT('bench handler ', n),
         ELT(1 + n % 15, 'clients.create','clients.update','clients.delete','clients.archive',
             'clients.custom_fields.update','clients.balance_notzero','clients.balance_zero',
             'clients.accounts.create','clients.accounts.update','clients.accounts.delete',
             'clients.subscriptions.assign','clients.subscriptions.activate',
             'clients.subscriptions.deactivate','clients.subscriptions.renew','clients.subscriptions.close'),
         CONCAT('http://127.0.0.1:9/h', n), IF(n % 7 = 0, 'script', 'http'),
         ELT(1 + n % 3, 'enabled', 'disabled', 'archived'), 1 + n % 500, UTC_TIMESTAMP(), UTC_TIMESTAMP()
  FROM seq"

user=bench-$RANDOM$RANDOM
password=bench-password-$RANDOM$RANDOM
echo "$password" | "$PROV_TEST_BIN/prov-admin" user add "$user" --role admin >/dev/null
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
token=$(curl -fsS -c "$jar" -b "$jar" "$PROV_TEST_URL/login" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | head -1 | grep -o '[0-9a-f]\{64\}')
curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
  --data-urlencode "username=$user" --data-urlencode "password=$password" "$PROV_TEST_URL/login"
token=$(curl -fsS -b "$jar" "$PROV_TEST_URL/handlers" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | head -1 | grep -o '[0-9a-f]\{64\}')
id=$(sql -N -e "SELECT MIN(id) FROM handlers WHERE status = 'enabled'")

# time_ms METHOD PATH [DATA]: REQUESTS timings in ms, one a line.
time_ms() {
  local i data=${3:-}
  for ((i = 0; i < REQUESTS; i++)); do
    if [ "$1" = POST ]; then
      data="csrf_token=$token&to=$([ $((i % 2)) -eq 0 ] && echo disabled || echo enabled)"
      curl -sS -o /dev/null -b "$jar" -w '%{http_code} %{time_total}\n' --data "$data" "$PROV_TEST_URL$2"
    else
      curl -sS -o /dev/null -b "$jar" -w '%{http_code} %{time_total}\n' "$PROV_TEST_URL$2"
    fi
  done | awk '$1 != 200 && $1 != 303 { bad++ } { printf "%.3f\n", $2 * 1000 } END { if (bad) exit 1 }'
}

stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[int(NR * 0.95)] }'; }

read -r base_med base_p95 < <(time_ms GET /login | stats)
printf '%-50s median %7.2f ms  p95 %7.2f ms  (baseline)\n' "GET /login (session check, redirect)" "$base_med" "$base_p95"
for spec in "GET /handlers" "GET /handlers?sort=name&dir=desc&page=100" \
  "GET /handlers?event=clients.balance_zero&type=script&status=archived" \
  "GET /handlers?sort=event&size=100&page=30" "GET /handlers/$id" "POST /handlers/$id/status"; do
  read -r med p95 < <(time_ms ${spec% *} "${spec#* }" | stats)
  printf '%-50s median %7.2f ms  p95 %7.2f ms  x%.2f of baseline\n' "$spec" "$med" "$p95" \
    "$(awk -v a="$med" -v b="$base_med" 'BEGIN { print a / b }')"
done
echo "($N handlers, $REQUESTS sequential requests each, release build)"
