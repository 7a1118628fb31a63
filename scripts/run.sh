#!/usr/bin/env bash
# run.sh start|stop|status: the private instance behind `make run` / `make stop`.
# Data lives under var/ (ignored by git); what Apache must read is staged into a
# run folder under /tmp whose permissions this script sets.
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$PROV_ROOT/scripts/servers.sh"

VAR=$PROV_ROOT/var
PORT=${PROV_PORT:-8080}
RUN=${PROV_RUN_DIR:-/tmp/provisioning-run-$(id -u)-$(printf %s "$PROV_ROOT" | cksum | cut -d' ' -f1)}
CONFIG=$VAR/provisioning.conf

running() { [ -f "$RUN/apache/httpd.pid" ] && kill -0 "$(cat "$RUN/apache/httpd.pid")" 2>/dev/null; }

start() {
  mkdir -p "$VAR" && chmod 700 "$VAR" || exit 1
  exec 9>"$VAR/run.lock"
  flock -n 9 || { echo "make run: another 'make run' is starting right now" >&2; exit 1; }
  if running; then
    echo "make run: already running at http://127.0.0.1:$PORT/ (config $CONFIG); 'make stop' stops it"
    exit 0
  fi
  [ -x "$PROV_ROOT/bin/prov-admin" ] || { echo "make run: bin/prov-admin is not built; run make" >&2; exit 1; }
  prov_port_in_use "$PORT" && { echo "make run: port 127.0.0.1:$PORT is already in use; set PROV_PORT=... to use another" >&2; exit 1; }

  trap 'echo "make run: failed; stopping what was started" >&2; dispatchd_stop; prov_apache_stop "$RUN"; prov_mariadb_stop "$RUN"' ERR
  set -e
  prov_run_dir_prepare "$RUN"
  prov_stage_site "$RUN" "$PROV_ROOT/bin"
  prov_mariadb_start "$VAR/mysql" "$RUN"
  [ -f "$VAR/db.password" ] || (umask 077; openssl rand -hex 24 >"$VAR/db.password")
  prov_db_setup "$RUN" provisioning prov "$(cat "$VAR/db.password")"
  touch "$VAR/mysql/.prov-initialised"
  prov_write_config "$RUN" "$CONFIG" provisioning prov "$(cat "$VAR/db.password")"
  printf 'dispatch_socket = %s\n' "$RUN/dispatch.sock" >>"$CONFIG"
  cp -p "$CONFIG" "$RUN/provisioning.conf"
  prov_apache_start "$RUN" "$PORT" "$RUN/provisioning.conf"
  dispatchd_start
  local password
  if [ ! -f "$VAR/admin.password" ]; then
    password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-16)
    printf '%s\n' "$password" | "$PROV_ROOT/bin/prov-admin" --config "$CONFIG" user add admin --role admin >/dev/null
    (umask 077; printf '%s\n' "$password" >"$VAR/admin.password")
  fi
  password=$(cat "$VAR/admin.password")
  trap - ERR
  set +e
  cat <<MSG

  Provisioning API panel: http://127.0.0.1:$PORT/
  Log in as:              admin / $password
  Config:                 $CONFIG (PROV_CONFIG for bin/ programs)
  Dispatcher service:     prov-dispatchd --serve on $RUN/dispatch.sock
                          (bin/prov-dispatch hands it its events)
  Logs:                   $RUN/apache/error.log, $RUN/mariadb.log, $RUN/dispatchd.log
  Stop with:              make stop

MSG
}

# The dispatcher service (prov-dispatchd --serve) on the config's socket.
dispatchd_start() {
  "$PROV_ROOT/bin/prov-dispatchd" --config "$CONFIG" --serve >>"$RUN/dispatchd.log" 2>&1 9>&- &
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

stop() {
  local was=0
  [ -f "$RUN/apache/httpd.pid" ] && was=1
  [ -f "$RUN/mysqld.pid" ] && was=1
  dispatchd_stop
  prov_apache_stop "$RUN"
  prov_mariadb_stop "$RUN"
  if [ "$was" = 1 ]; then echo "make stop: stopped the dispatcher service, Apache and MariaDB"; else echo "make stop: nothing was running"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running at http://127.0.0.1:$PORT/"; else echo "not running"; exit 3; fi ;;
  *) echo "usage: scripts/run.sh start|stop|status" >&2; exit 64 ;;
esac
