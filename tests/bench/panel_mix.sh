#!/usr/bin/env bash
# bench panel_mix: the panel as operators use it, not one repeated URL (run by
# tests/bench.sh, which exports PROV_TEST_URL, PROV_TEST_RUN, PROV_TEST_BIN).
#   data     1,000,000 log rows (prov-loggen) and 2,000 handlers across all
#            events, both task types and every status
#   sessions 8 logged-in sessions, 4 admins and 4 viewers
#   views    over 50 distinct views, one chosen at random per request with a
#            random session (viewers never get admin-only pages): the
#            handler list (default, each filter, sorts both ways, deep pages,
#            the form), the Execution Logs (default, each filter and
#            combinations, dates, text search, deep pages, details), the Task
#            Scheduler
#   phase 1  saturation: wrk, 16 connections, PANEL_MIX_SECONDS (10) s: req/s
#            as a share of Apache's static file in the same run, p50/p99,
#            socket errors and non-200 answers
#   phase 2  operators at work while billing dispatches: each connection
#            waits 50-150 ms (random) between requests while prov-dispatch
#            --batch writes PANEL_MIX_EVENTS (30,000) events into the same
#            MariaDB; p50/p99 and the batch's events/s
# Figures go to stdout and $PROV_BENCH_OUTPUT/panel_mix.txt.
set -euo pipefail
: "${PROV_TEST_URL:?run through tests/bench.sh}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${PANEL_MIX_ROWS:-1000000}
HANDLERS=${PANEL_MIX_HANDLERS:-2000}
SECONDS_RUN=${PANEL_MIX_SECONDS:-10}
EVENTS=${PANEL_MIX_EVENTS:-30000}
OUT=${PROV_BENCH_OUTPUT:-/tmp}/panel_mix
URL=$PROV_TEST_URL
BIN=$PROV_TEST_BIN
mkdir -p "$OUT"
sqlq() { mariadb --no-defaults --socket="$PROV_TEST_RUN/mysqld.sock" -uroot -N --batch provisioning -e "$1"; }
die() { echo "panel_mix bench: $*" >&2; exit 1; }
. "$ROOT/scripts/servers.sh"
. "$ROOT/tests/bench/lib/nginx.sh"

# ---------------------------------------------------------------- data
have=$(sqlq "SELECT COUNT(*) FROM exec_logs")
if [ "$have" -lt "$ROWS" ]; then
  "$BIN/prov-loggen" --rows $((ROWS - have)) --days 90 --handlers 20 --seed 1 >"$OUT/generate.txt"
fi
sqlq "SET SESSION max_recursive_iterations = 1000000;
  DELETE FROM handlers; -- the earlier benches' (panel_list leaves 10,000): the mix has its own 2,000
  INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
  WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $HANDLERS)
  SELECT CONCAT('mix handler ', n),
         ELT(1 + n % 17, 'clients.create','clients.update','clients.delete','clients.archive',
             'clients.custom_fields.update','clients.balance_notzero','clients.balance_zero',
             'clients.accounts.create','clients.accounts.update','clients.accounts.delete',
             'clients.subscriptions.assign','clients.subscriptions.activate',
             'clients.subscriptions.deactivate','clients.subscriptions.renew','clients.subscriptions.close',
             'clients.create','clients.update'),
         IF(n % 7 = 0, CONCAT('mix-', n, '.sh'), CONCAT('http://127.0.0.1:9/h', n)), IF(n % 7 = 0, 'script', 'http'),
         ELT(1 + n % 3, 'disabled', 'enabled', 'archived'), 1 + n % 500, UTC_TIMESTAMP(), UTC_TIMESTAMP()
  FROM seq;
  ANALYZE TABLE exec_logs, handlers" >/dev/null
echo "data: $(sqlq "SELECT COUNT(*) FROM exec_logs") log rows, $(sqlq "SELECT COUNT(*) FROM handlers") handlers"

# ---------------------------------------------------------------- sessions
login() { # login NAME ROLE: prints the session token
  local user=$1 role=$2 password jar token status
  password=$(openssl rand -hex 12)
  echo "$password" | "$BIN/prov-admin" user add "$user" --role "$role" >/dev/null
  jar=$(mktemp)
  token=$(curl -fsS -c "$jar" -b "$jar" "$URL/login" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
  status=$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' --data-urlencode "csrf_token=$token" \
    --data-urlencode "username=$user" --data-urlencode "password=$password" "$URL/login")
  [ "$status" = 303 ] || die "login of $user failed ($status)"
  awk '$6 == "prov_session" { print $7 }' "$jar"
  rm -f "$jar"
}
tag=$(openssl rand -hex 3)
admins=() viewers=()
for i in 1 2 3 4; do
  admins+=("$(login "mix-admin-$tag-$i" admin)")
  viewers+=("$(login "mix-viewer-$tag-$i" viewer)")
done

# ---------------------------------------------------------------- views
day() { sqlq "SELECT DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL $1 DAY, '%Y-%m-%d')"; }
read -r low high < <(sqlq "SELECT MIN(id), MAX(id) FROM exec_logs")
at() { sqlq "SELECT id FROM exec_logs WHERE id >= $low + ($high - $low) * $1 DIV 100 ORDER BY id LIMIT 1"; }
deep=() detail=()
for pct in 3 10 25 40 60 80; do deep+=("$(at $pct)"); done
for pct in 5 50 90 99; do detail+=("$(at $pct)"); done
mapfile -t forms < <(sqlq "SELECT id FROM handlers WHERE name LIKE 'mix handler %' AND id % 97 = 0 LIMIT 3")
[ ${#deep[@]} -ge 6 ] && [ ${#detail[@]} -ge 4 ] && [ ${#forms[@]} -ge 3 ] || die "not enough rows to build the views"
shared=(
  /handlers /handlers?status=enabled /handlers?status=disabled /handlers?status=archived
  /handlers?type=http /handlers?type=script /handlers?event=clients.balance_zero
  "/handlers?event=clients.update&status=enabled" "/handlers?event=clients.subscriptions.renew&type=script"
  "/handlers?sort=name" "/handlers?sort=name&dir=desc" "/handlers?sort=event" "/handlers?sort=event&dir=desc"
  "/handlers?sort=id&dir=desc" "/handlers?sort=priority&dir=desc" "/handlers?page=5" "/handlers?page=20&sort=name"
  "/handlers?size=100&page=7"
  "/handlers/${forms[0]}" "/handlers/${forms[1]}"
  /logs /logs?status=fail /logs?status=success /logs?event=clients.update /logs?event=clients.create
  /logs?handler=900000012 /logs?handler=900000001 "/logs?handler=900000012&status=fail"
  "/logs?event=clients.update&status=fail" "/logs?handler=900000002&event=clients.update&status=fail"
  "/logs?from=$(day 60)&to=$(day 60)" "/logs?from=$(day 3)" "/logs?status=fail&from=$(day 30)&to=$(day 20)"
  "/logs?q=refused" "/logs?q=timed+out" "/logs?handler=900000012&q=credit+hold"
  "/logs?handler=900000017&event=clients.update&status=fail&q=timed+out&from=$(day 80)&to=$(day 10)"
  "/logs?before=${deep[0]}" "/logs?before=${deep[1]}" "/logs?before=${deep[2]}" "/logs?after=${deep[3]}"
  "/logs?status=fail&before=${deep[4]}" "/logs?event=clients.update&before=${deep[5]}"
  "/logs/${detail[0]}" "/logs/${detail[1]}" "/logs/${detail[2]}" "/logs/${detail[3]}"
  /scheduler
)
admin_only=(/handlers/new "/handlers/${forms[2]}/delete" /apikeys)
echo "views: ${#shared[@]} for every session, ${#admin_only[@]} more for admins"

lua_list() { local s=$1 x; shift; printf '%s = {' "$s"; for x in "$@"; do printf '"%s",' "$x"; done; printf '}\n'; }
script=$OUT/mix.lua
{
  lua_list shared "${shared[@]}"
  lua_list admin_only "${admin_only[@]}"
  lua_list admins "${admins[@]}"
  lua_list viewers "${viewers[@]}"
  cat <<'LUA'
-- A random session, then a random view it may see.
local all_admin = {}
for _, p in ipairs(shared) do all_admin[#all_admin + 1] = p end
for _, p in ipairs(admin_only) do all_admin[#all_admin + 1] = p end
local pause = tonumber(os.getenv("MIX_PAUSE_MS") or "0")
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("seed", threads) end
init = function() math.randomseed(os.time() * 100 + seed) end
request = function()
  local paths, session
  if math.random(2) == 1 then
    paths, session = all_admin, admins[math.random(#admins)]
  else
    paths, session = shared, viewers[math.random(#viewers)]
  end
  return wrk.format("GET", paths[math.random(#paths)], { Cookie = "prov_session=" .. session })
end
delay = function()
  if pause > 0 then return math.random(math.floor(pause / 2), math.floor(pause * 3 / 2)) end
  return 0
end
done = function(summary, latency)
  local e = summary.errors
  io.write(string.format("MIX requests=%d seconds=%.2f rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f socket_errors=%d non2xx3xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
} >"$script"
# Every view answers 200 once, for an admin and (where allowed) a viewer.
for p in "${shared[@]}" "${admin_only[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "prov_session=${admins[0]}" "$URL$p")
  [ "$code" = 200 ] || die "$p answers $code to an admin"
done
for p in "${shared[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "prov_session=${viewers[0]}" "$URL$p")
  [ "$code" = 200 ] || die "$p answers $code to a viewer"
done

field() { sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" <<<" $2"; }
report=$OUT/panel_mix.txt
: >"$report"

# ---------------------------------------------------------------- unloaded
# Each view alone, one request at a time: the median of 5 (time to the first
# byte), the slowest listed. Targets: 10 ms, 20 ms for a text search.
for p in "${shared[@]}" "${admin_only[@]}"; do
  for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_starttransfer}\n' -b "prov_session=${admins[0]}" "$URL$p"; done |
    sort -n | sed -n 3p | awk -v p="$p" '{ printf "%.1f %s\n", $1 * 1000, p }'
done | sort -rn >"$OUT/unloaded.txt"
awk '{ search = ($2 ~ /[?&]q=/); over += search ? ($1 > 20) : ($1 > 10) }
  END { printf "unloaded: %d views, slowest %.1f ms (%s); %d over target (10 ms, text search 20 ms)\n", NR, first, firstp, over }
  NR == 1 { first = $1; firstp = $2 }' "$OUT/unloaded.txt" | tee -a "$report"
head -5 "$OUT/unloaded.txt" | sed 's/^/  /' | tee -a "$report"

# ---------------------------------------------------------------- phase 1
printf '{}\n' >"$PROV_TEST_RUN/site/static/mix-static.json"
static=$(wrk -t2 -c16 -d"${SECONDS_RUN}s" --latency "$URL/static/mix-static.json" | awk '/Requests\/sec/ { print $2 }')
# Warm-up, not measured: mod_fcgid grows its pool of panel processes only as
# requests find none idle (each such request waits a second); a server that
# has been serving has its pool (FcgidMinProcessesPerClass keeps it).
MIX_PAUSE_MS=0 wrk -t2 -c16 -d"${PANEL_MIX_WARMUP_SECONDS:-5}s" -s "$script" "$URL/" >/dev/null
mix=$(MIX_PAUSE_MS=0 wrk -t2 -c16 -d"${SECONDS_RUN}s" -s "$script" "$URL/" | grep '^MIX ')
echo "phase 1 (saturation, 16 connections, ${SECONDS_RUN} s): ${mix#MIX }" | tee -a "$report"
awk -v m="$(field rps "$mix")" -v s="$static" -v p99="$(field p99_ms "$mix")" \
  -v err="$(field socket_errors "$mix")" -v bad="$(field non2xx3xx "$mix")" 'BEGIN {
  printf "phase 1: mix %.0f req/s = %.1f%% of the static file (%.0f req/s; target >= 15%%); p99 %.1f ms (target <= 100); socket errors %d, 4xx/5xx answers %d (target 0 / 0)\n", m, 100 * m / s, s, p99, err, bad
}' | tee -a "$report"

# ---------------------------------------------------------------- phase 2
bench_nginx_start "$PROV_TEST_RUN/mix-nginx" || exit 1
trap 'kill $nginx_pid 2>/dev/null' EXIT
# Billing's one receiver: every other handler of the event is disabled, so the
# batch makes exactly one execution per event (the mix handlers are recreated
# by the next run).
sqlq "UPDATE handlers SET status = 'disabled' WHERE status = 'enabled'
    AND (name NOT LIKE 'mix handler %' OR events_id = 'clients.subscriptions.renew');
  DELETE FROM handlers WHERE name = 'mix billing';
  INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
  VALUES ('mix billing', 'clients.subscriptions.renew', '$nginx_url', 'http', 'enabled', 1, UTC_TIMESTAMP(), UTC_TIMESTAMP())"
"$BIN/prov-cache" reload --by bench >/dev/null
batch_input=$OUT/renew.ndjson
python3 - "$EVENTS" >"$batch_input" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event": {"events_id": "clients.subscriptions.renew", "object_id": i},
                      "data": {"subscription_id": i, "plan": "gold", "period": "2026-12"}}))
PY
logged_before=$(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name = 'mix billing'")
batch_start_ms=$(date +%s%3N)
"$BIN/prov-dispatch" --batch <"$batch_input" >/dev/null &
batch=$!
# The operators work for as long as the batch runs (at least SECONDS_RUN).
mix2=$(MIX_PAUSE_MS=100 wrk -t2 -c16 -d"${PANEL_MIX_PHASE2_SECONDS:-20}s" -s "$script" "$URL/" | grep '^MIX ')
wait "$batch" || die "the batch failed"
batch_end_ms=$(date +%s%3N)
logged=$(( $(sqlq "SELECT COUNT(*) FROM exec_logs WHERE handler_name = 'mix billing'") - logged_before ))
[ "$logged" -eq "$EVENTS" ] || die "the batch logged $logged of $EVENTS events"
echo "phase 2 (16 connections, 50-150 ms between requests, while --batch dispatches $EVENTS events): ${mix2#MIX }" | tee -a "$report"
awk -v p99="$(field p99_ms "$mix2")" -v bad="$(field non2xx3xx "$mix2")" -v err="$(field socket_errors "$mix2")" \
  -v n="$EVENTS" -v t="$(( (batch_end_ms - batch_start_ms) ))e-3" 'BEGIN {
  printf "phase 2: p99 %.1f ms (target <= 15); socket errors %d, 4xx/5xx answers %d; the batch: %d events logged in %.1f s (%.0f events/s)\n", p99, err, bad, n, t, n / t
}' | tee -a "$report"
