#!/usr/bin/env bash
# run.sh start|stop|status: the private instance behind `make run` / `make stop`:
# MariaDB, Apache, the dispatcher service and the retry worker.
# Data lives under var/ (ignored by git); what Apache must read is staged into a
# run folder under /tmp whose permissions this script sets.
# Environment: PROV_PORT (8080), and for tests PROV_VAR_DIR (var/), PROV_RUN_DIR
# (the run folder) and PROV_RUN_BIN (bin/, the programs to run).
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$PROV_ROOT/scripts/servers.sh"

VAR=${PROV_VAR_DIR:-$PROV_ROOT/var}
BIN=${PROV_RUN_BIN:-$PROV_ROOT/bin}
PORT=${PROV_PORT:-8080}
RUN=${PROV_RUN_DIR:-/tmp/provisioning-run-$(id -u)-$(printf %s "$PROV_ROOT" | cksum | cut -d' ' -f1)}
CONFIG=$VAR/provisioning.conf

running() { [ -f "$RUN/apache/httpd.pid" ] && kill -0 "$(cat "$RUN/apache/httpd.pid")" 2>/dev/null; }

# The port of the running instance (kept in the run folder at start), else PROV_PORT's.
running_port() { cat "$RUN/port" 2>/dev/null || echo "$PORT"; }

# Where to go and how to log in: printed by every start, first or not.
instructions() {
  local port=$1
  cat <<MSG

  Provisioning API panel: http://127.0.0.1:$port/
  Log in as:              admin / $(cat "$VAR/admin.password" 2>/dev/null)
                          (kept in $VAR/admin.password; prov-admin user passwd admin changes it)
  Config:                 $CONFIG (PROV_CONFIG for bin/ programs)
  Dispatcher service:     prov-dispatchd --serve on $RUN/dispatch.sock
                          (bin/prov-dispatch hands it its events)
  Retry worker:           prov-worker --interval 5 (retries, the spool, script redeliveries)
  Script handlers:        $RUN/scripts (scripts_dir), with sample.sh to copy from
  Logs:                   $RUN/apache/error.log, $RUN/mariadb.log, $RUN/dispatchd.log,
                          $RUN/worker.log
  Stop with:              make stop

MSG
}

start() {
  mkdir -p "$VAR" && chmod 700 "$VAR" || exit 1
  exec 9>"$VAR/run.lock"
  flock -n 9 || { echo "make run: another 'make run' is starting right now" >&2; exit 1; }
  if running; then
    echo "make run: already running at http://127.0.0.1:$(running_port)/; 'make stop' stops it"
    instructions "$(running_port)"
    exit 0
  fi
  [ -x "$BIN/prov-admin" ] || { echo "make run: $BIN/prov-admin is not built; run make" >&2; exit 1; }
  prov_port_in_use "$PORT" && { echo "make run: port 127.0.0.1:$PORT is already in use; set PROV_PORT=... to use another" >&2; exit 1; }

  trap 'echo "make run: failed; stopping what was started" >&2; worker_stop; dispatchd_stop; prov_apache_stop "$RUN"; prov_mariadb_stop "$RUN"' ERR
  set -e
  prov_run_dir_prepare "$RUN"
  echo "$PORT" >"$RUN/port"
  install -m 755 "$PROV_ROOT/scripts/handlers/sample.sh" "$RUN/scripts/sample.sh"
  prov_stage_site "$RUN" "$BIN"
  prov_mariadb_start "$VAR/mysql" "$RUN"
  [ -f "$VAR/db.password" ] || (umask 077; openssl rand -hex 24 >"$VAR/db.password")
  prov_db_setup "$RUN" provisioning prov "$(cat "$VAR/db.password")"
  touch "$VAR/mysql/.prov-initialised"
  prov_write_config "$RUN" "$CONFIG" provisioning prov "$(cat "$VAR/db.password")"
  printf 'dispatch_socket = %s\n' "$RUN/dispatch.sock" >>"$CONFIG"
  cp -p "$CONFIG" "$RUN/provisioning.conf"
  prov_apache_start "$RUN" "$PORT" "$RUN/provisioning.conf"
  dispatchd_start
  worker_start
  local password
  if [ ! -f "$VAR/admin.password" ]; then
    password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-16)
    printf '%s\n' "$password" | "$BIN/prov-admin" --config "$CONFIG" user add admin --role admin >/dev/null
    (umask 077; printf '%s\n' "$password" >"$VAR/admin.password")
  fi
  trap - ERR
  set +e
  instructions "$PORT"
}

# The dispatcher service (prov-dispatchd --serve) on the config's socket.
dispatchd_start() {
  "$BIN/prov-dispatchd" --config "$CONFIG" --serve >>"$RUN/dispatchd.log" 2>&1 9>&- &
  echo $! >"$RUN/dispatchd.pid"
  local _
  for _ in $(seq 100); do
    grep -q 'worker ready' "$RUN/dispatchd.log" 2>/dev/null && return 0
    kill -0 "$(cat "$RUN/dispatchd.pid")" 2>/dev/null || break
    sleep 0.05
  done
  echo "make run: prov-dispatchd --serve did not start; see $RUN/dispatchd.log" >&2
  return 1
}

dispatchd_stop() {
  local pid
  [ -f "$RUN/dispatchd.pid" ] || return 0
  pid=$(cat "$RUN/dispatchd.pid")
  if kill "$pid" 2>/dev/null; then
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  rm -f "$RUN/dispatchd.pid"
}

# The retry worker in loop mode: a pass every 5 s (retries, the spool, the
# script redeliveries the panel queues); each pass shows on the Task Scheduler.
worker_start() {
  "$BIN/prov-worker" --config "$CONFIG" --interval 5 --id make-run >>"$RUN/worker.log" 2>&1 9>&- &
  echo $! >"$RUN/worker.pid"
  sleep 0.2
  kill -0 "$(cat "$RUN/worker.pid")" 2>/dev/null && return 0
  echo "make run: prov-worker did not start; see $RUN/worker.log" >&2
  return 1
}

worker_stop() {
  local pid
  [ -f "$RUN/worker.pid" ] || return 0
  pid=$(cat "$RUN/worker.pid")
  # SIGTERM ends it after the delivery in flight (bounded by its timeout).
  if kill "$pid" 2>/dev/null; then
    prov_wait_for 60 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$RUN/worker.pid"
}

stop() {
  local was=0
  [ -f "$RUN/apache/httpd.pid" ] && was=1
  [ -f "$RUN/mysqld.pid" ] && was=1
  worker_stop
  dispatchd_stop
  prov_apache_stop "$RUN"
  prov_mariadb_stop "$RUN"
  rm -f "$RUN/port"
  if [ "$was" = 1 ]; then echo "make stop: stopped the retry worker, the dispatcher service, Apache and MariaDB"; else echo "make stop: nothing was running"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running at http://127.0.0.1:$(running_port)/"; else echo "not running"; exit 3; fi ;;
  *) echo "usage: scripts/run.sh start|stop|status" >&2; exit 64 ;;
esac
