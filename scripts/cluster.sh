# cluster.sh: a whole multi-host installation on this one machine, for the
# cluster rehearsal (tests/cluster) and `make cluster`. Sourced, not run.
#
#   db1 db2 db3   MariaDB + Galera 4, each on its own loopback address
#                 (127.0.0.11-13), client port, group port 4567, IST 4568, SST 4444
#   haproxy       127.0.0.20: the database front (one writer: db1 while it is
#                 Synced, else a backup; see README "Running on several hosts")
#                 and the web front (round robin over the two web nodes)
#   web1 web2     Apache + mod_fcgid + panel.fcgi/api.fcgi, each with its own run
#                 folder and config, reaching MariaDB through haproxy
#   bill1 bill2   a billing host each: prov-dispatchd --serve and prov-worker,
#                 their own spool, cache and dispatcher socket
#
# Layout of CRUN (mode 755):
#   CRUN/dbN/{data,mysqld.sock,mysqld.pid,mariadb.log}
#   CRUN/haproxy/{haproxy.cfg,haproxy.pid,haproxy.log}
#   CRUN/webN/  a servers.sh run folder (site, apache, provisioning.conf)
#   CRUN/billN/ provisioning.conf, spool, cache, dispatch.sock, logs, pids
#   CRUN/cluster.env  the addresses, for tests and `make cluster`'s summary
# Every wait is a readiness check with a deadline.

. "${PROV_ROOT:?}/scripts/servers.sh"

CLUSTER_DB_NODES=(1 2 3)
cluster_db_addr() { echo "127.0.0.1$1"; }
CLUSTER_FRONT=127.0.0.20

# A free TCP port on ADDRESS (the kernel's choice).
cluster_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,process.argv[1],()=>{console.log(s.address().port);s.close()})' "$1"
}

# The root client of node N (its Unix socket).
cluster_sql() { local n=$1; shift; mariadb --no-defaults --socket="$CRUN/db$n/mysqld.sock" -uroot "$@"; }

# wsrep status variable NAME of node N, or nothing when it does not answer.
cluster_wsrep() {
  cluster_sql "$1" -N --batch -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '$2'" 2>/dev/null
}

cluster_node_synced() { [ "$(cluster_wsrep "$1" WSREP_LOCAL_STATE_COMMENT)" = Synced ]; }

# The nodes run as mysql when started by root: the rsync state transfer's
# daemon, started by root, would serve as nobody, who cannot read a datadir.
cluster_db_user() { if [ "$(id -u)" -eq 0 ]; then echo mysql; else id -un; fi; }

# cluster_db_init N: node N's datadir, once.
cluster_db_init() {
  local dir=$CRUN/db$1 me
  me=$(cluster_db_user)
  # Its own tmpdir: bootstraps running at once collide on temporary names in /tmp.
  mkdir -p "$dir/tmp" && chmod 755 "$dir" && chown "$me" "$dir" "$dir/tmp" || return 1
  [ -f "$dir/data/.prov-initialised" ] && return 0
  rm -rf "$dir/data"
  if ! mariadb-install-db --no-defaults --force --datadir="$dir/data" --user="$me" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
      --skip-test-db >"$dir/install.log" 2>&1; then
    prov_die "cluster: mariadb-install-db failed for db$1: $(grep -m3 -iE 'error|fail' "$dir/install.log" | tr '\n' ' ')"
    return 1
  fi
  touch "$dir/data/.prov-initialised"
}

# cluster_db_node_start N [--wsrep-new-cluster]: start node N (initialise once).
cluster_db_node_start() {
  local n=$1 extra=${2:-} dir addr me
  dir=$CRUN/db$n addr=$(cluster_db_addr "$n") me=$(cluster_db_user)
  cluster_db_init "$n" || return 1
  local peers="" p start=()
  for p in "${CLUSTER_DB_NODES[@]}"; do peers="$peers${peers:+,}$(cluster_db_addr "$p"):4567"; done
  rm -f "$dir/mysqld.sock"
  # One writer at a time (haproxy) still needs Galera's settings for any
  # writer: row events, interleaved auto-increment locks.
  local args=(--no-defaults --datadir="$dir/data" --user="$me" --tmpdir="$dir/tmp"
    --innodb-buffer-pool-size=128M --innodb-log-file-size=64M
    --innodb-flush-log-at-trx-commit=1
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2
    --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so
    --wsrep-cluster-address="gcomm://$peers" --wsrep-sst-method=rsync)
  # A node that died (SIGKILL, power) left no position in grastate.dat: find
  # it in InnoDB first (--wsrep-recover, what Debian's galera_recovery does),
  # so the node rejoins by IST (the writes it missed) instead of a full SST.
  if [ -z "$extra" ] && grep -q '^seqno: *-1' "$dir/data/grastate.dat" 2>/dev/null; then
    mariadbd "${args[@]}" --wsrep-recover --skip-networking --socket="$dir/recover.sock" \
      --log-error="$dir/recover.log" >/dev/null 2>&1 9>&-
    p=$(sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:-\{0,1\}[0-9]*\)$/\1/p' "$dir/recover.log" | tail -1)
    [ -n "$p" ] && start=(--wsrep-start-position="$p")
  fi
  mariadbd "${args[@]}" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/mariadb.log" \
    --bind-address="$addr" --port="$CLUSTER_DB_PORT" --max-connections=300 \
    --wsrep-cluster-name=prov \
    --wsrep-node-name="db$n" --wsrep-node-address="$addr:4567" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://$addr:4567;ist.recv_addr=$addr:4568;gcache.size=256M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S" \
    --wsrep-sst-receive-address="$addr:4444" \
    --wsrep-slave-threads=2 "${start[@]}" $extra >/dev/null 2>&1 9>&- &
  disown $!  # its SIGKILL (the fault) is not this shell's news
}

# cluster_db_wait N SECONDS: until node N answers and is Synced.
cluster_db_wait() {
  prov_wait_for "$2" cluster_node_synced "$1" ||
    { prov_die "cluster: db$1 is not Synced after $2 s; see $CRUN/db$1/mariadb.log"; return 1; }
  chmod 777 "$CRUN/db$1/mysqld.sock" 2>/dev/null || true
}

# cluster_db_kill N: SIGKILL node N (the fault), wait until it is gone.
cluster_db_kill() {
  local pid
  pid=$(cat "$CRUN/db$1/mysqld.pid" 2>/dev/null) || return 0
  kill -9 "$pid" 2>/dev/null
  prov_wait_for 30 bash -c "! kill -0 $pid"
}

cluster_db_node_stop() {
  local pid
  pid=$(cat "$CRUN/db$1/mysqld.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  prov_wait_for 60 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  rm -f "$CRUN/db$1/mysqld.pid"
}

# The database, the application user (over TCP, from the loopback addresses
# only) and the schema, on the bootstrap node; Galera copies them.
cluster_db_setup() {
  local password=$1
  cluster_sql 1 <<SQL || { prov_die "cluster: cannot create the database"; return 1; }
CREATE DATABASE IF NOT EXISTS provisioning CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'prov'@'127.0.0.%' IDENTIFIED BY '$password';
ALTER USER 'prov'@'127.0.0.%' IDENTIFIED BY '$password';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, LOCK TABLES ON provisioning.* TO 'prov'@'127.0.0.%';
CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.%';
SQL
  cluster_sql 1 provisioning <"$PROV_ROOT/schema.sql" || { prov_die "cluster: schema.sql failed to load"; return 1; }
}

# ---------------------------------------------------------------- haproxy

cluster_haproxy_start() {
  local dir=$CRUN/haproxy n backup
  mkdir -p "$dir" || return 1
  # A node takes writes only when Galera says Synced (wsrep_local_state 4): a
  # node that accepts connections while it is still joining is not up.
  cat >"$dir/galera-check" <<'CHECK'
#!/bin/sh
# haproxy external check: $3 the node's address, $4 its port.
state=$(mariadb --no-defaults -h "$3" -P "$4" -u haproxy_check --connect-timeout=1 -N -B \
  -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_state'" 2>/dev/null | cut -f2)
[ "$state" = 4 ]
CHECK
  chmod 755 "$dir/galera-check"
  {
    cat <<CFG
# Generated by scripts/cluster.sh; do not edit.
global
  pidfile $dir/haproxy.pid
  log stdout format raw local0 info
  maxconn 4000
  insecure-fork-wanted
  external-check
defaults
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout check 2s
  retries 2
# The database front: one writer. Every connection goes to db1 while it is
# Synced; when it fails, to the first backup (db2), then db3. When db1 is
# Synced again, the backup's sessions are closed (on-marked-up), so two nodes
# never take writes for long (a transaction cut there fails and is retried or
# spooled by the client, like any lost connection).
listen mariadb
  bind $CLUSTER_FRONT:$CLUSTER_DB_PORT
  mode tcp
  option external-check
  external-check path "/usr/bin:/bin"
  external-check command $dir/galera-check
  default-server on-marked-down shutdown-sessions
CFG
    for n in "${CLUSTER_DB_NODES[@]}"; do
      backup=""; [ "$n" = 1 ] || backup=" backup"
      echo "  server db$n $(cluster_db_addr "$n"):$CLUSTER_DB_PORT check inter 500 fall 2 rise 2$backup on-marked-up shutdown-backup-sessions"
    done
    cat <<CFG
listen web
  bind $CLUSTER_FRONT:$CLUSTER_WEB_PORT
  mode http
  balance roundrobin
  option redispatch
  option httpchk GET /static/css/panel.css
  timeout client 60s
  timeout server 60s
  server web1 127.0.0.1:$CLUSTER_WEB1_PORT check inter 500 fall 2 rise 2
  server web2 127.0.0.1:$CLUSTER_WEB2_PORT check inter 500 fall 2 rise 2
CFG
  } >"$dir/haproxy.cfg"
  haproxy -c -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 ||
    { prov_die "cluster: haproxy configuration: $(tail -1 "$dir/check.log")"; return 1; }
  haproxy -D -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 9>&- ||
    { prov_die "cluster: haproxy did not start: $(tail -1 "$dir/haproxy.log")"; return 1; }
  prov_wait_for 20 bash -c "exec 3<>/dev/tcp/$CLUSTER_FRONT/$CLUSTER_DB_PORT" ||
    { prov_die "cluster: haproxy does not listen on $CLUSTER_FRONT:$CLUSTER_DB_PORT"; return 1; }
}

cluster_haproxy_stop() {
  local pid
  pid=$(cat "$CRUN/haproxy/haproxy.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null
  prov_wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  rm -f "$CRUN/haproxy/haproxy.pid"
}

# ---------------------------------------------------------------- config

# cluster_write_config FILE RUNDIR PASSWORD: a host's config, reaching MariaDB
# through the haproxy front over TCP.
cluster_write_config() {
  local file=$1 dir=$2
  umask 077
  cat >"$file.new" <<CONF
# Provisioning API configuration of one cluster host, written by scripts/cluster.sh.
db_host = $CLUSTER_FRONT
db_port = $CLUSTER_DB_PORT
db_name = provisioning
db_user = prov
db_password = $3
scripts_dir = $dir/scripts
templates_dir = $dir/site/templates
cache_path = $dir/cache/snapshot.json
spool_dir = $dir/spool
dispatch_socket = $dir/dispatch.sock
outbound_allow = 127.0.0.0/8, ::1/128
CONF
  mv "$file.new" "$file"
  if [ "$(id -u)" -eq 0 ]; then chgrp www-data "$file" && chmod 640 "$file"; fi
}

# ---------------------------------------------------------------- web nodes, billing hosts

# cluster_web_start N BINDIR PORT PASSWORD: web node N (Apache + panel + API).
cluster_web_start() {
  local dir=$CRUN/web$1
  prov_run_dir_prepare "$dir" && prov_stage_site "$dir" "$2" &&
  cluster_write_config "$dir/provisioning.conf" "$dir" "$4" &&
  prov_apache_start "$dir" "$3" "$dir/provisioning.conf"
}

cluster_web_stop() { prov_apache_stop "$CRUN/web$1"; }

# cluster_bill_start N BINDIR PASSWORD: billing host N: the dispatcher service
# and the retry worker, with the host's own spool, cache and socket.
cluster_bill_start() {
  local n=$1 bindir=$2 dir=$CRUN/bill$1 _
  prov_run_dir_prepare "$dir" || return 1
  [ -f "$dir/provisioning.conf" ] || cluster_write_config "$dir/provisioning.conf" "$dir" "$3" || return 1
  cluster_bill_dispatchd_start "$n" "$bindir" || return 1
  "$bindir/prov-worker" --config "$dir/provisioning.conf" --interval 1 --id "bill$n" \
    >>"$dir/worker.log" 2>&1 9>&- &
  echo $! >"$dir/worker.pid"
}

cluster_bill_dispatchd_start() {
  local dir=$CRUN/bill$1 _
  : >"$dir/dispatchd.log"
  "$2/prov-dispatchd" --config "$dir/provisioning.conf" --serve >>"$dir/dispatchd.log" 2>&1 9>&- &
  echo $! >"$dir/dispatchd.pid"
  prov_wait_for 30 grep -q 'worker ready' "$dir/dispatchd.log" ||
    { prov_die "cluster: bill$1's prov-dispatchd did not start; see $dir/dispatchd.log"; return 1; }
}

# cluster_pid_stop FILE: SIGTERM the process FILE names, wait, remove FILE.
cluster_pid_stop() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if kill "$pid" 2>/dev/null; then
    prov_wait_for 60 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$1"
}

cluster_bill_stop() {
  cluster_pid_stop "$CRUN/bill$1/worker.pid"
  cluster_pid_stop "$CRUN/bill$1/dispatchd.pid"
}

# ---------------------------------------------------------------- the whole cluster

# cluster_start BINDIR: everything, in CRUN (a new folder unless set). Writes
# CRUN/cluster.env. The caller stops it with cluster_stop (trap EXIT).
cluster_start() {
  local bindir=$1 password n t0
  [ -n "${CRUN:-}" ] || CRUN=$(mktemp -d /tmp/prov-cluster.XXXXXX) || return 1
  chmod 755 "$CRUN"
  CLUSTER_DB_PORT=$(cluster_free_port "$CLUSTER_FRONT") &&
  CLUSTER_WEB_PORT=$(cluster_free_port "$CLUSTER_FRONT") &&
  CLUSTER_WEB1_PORT=$(prov_free_port) && CLUSTER_WEB2_PORT=$(prov_free_port) || return 1
  password=$(openssl rand -hex 16)
  t0=$(date +%s)
  for n in "${CLUSTER_DB_NODES[@]}"; do cluster_db_init "$n" || return 1; done
  cluster_db_node_start 1 --wsrep-new-cluster && cluster_db_wait 1 60 &&
  cluster_db_setup "$password" || return 1
  cluster_db_node_start 2 && cluster_db_node_start 3 &&
  cluster_db_wait 2 120 && cluster_db_wait 3 120 || return 1
  cluster_haproxy_start || return 1
  cluster_web_start 1 "$bindir" "$CLUSTER_WEB1_PORT" "$password" &&
  cluster_web_start 2 "$bindir" "$CLUSTER_WEB2_PORT" "$password" || return 1
  for n in 1 2; do cluster_bill_start "$n" "$bindir" "$password" || return 1; done
  local admin; admin=$(openssl rand -hex 8)
  printf '%s\n' "$admin" | "$bindir/prov-admin" --config "$CRUN/bill1/provisioning.conf" \
    user add admin --role admin >/dev/null || { prov_die "cluster: cannot add the admin user"; return 1; }
  cat >"$CRUN/cluster.env" <<ENV
CRUN=$CRUN
CLUSTER_BIN=$bindir
CLUSTER_FRONT=$CLUSTER_FRONT
CLUSTER_DB_PORT=$CLUSTER_DB_PORT
CLUSTER_WEB_PORT=$CLUSTER_WEB_PORT
CLUSTER_WEB1_PORT=$CLUSTER_WEB1_PORT
CLUSTER_WEB2_PORT=$CLUSTER_WEB2_PORT
CLUSTER_URL=http://$CLUSTER_FRONT:$CLUSTER_WEB_PORT
CLUSTER_ADMIN_PASSWORD=$admin
CLUSTER_STARTED_IN=$(( $(date +%s) - t0 ))
ENV
  chmod 600 "$CRUN/cluster.env"
}

cluster_stop() {
  [ -n "${CRUN:-}" ] && [ -d "$CRUN" ] || return 0
  local n
  for n in 1 2; do cluster_bill_stop "$n"; cluster_web_stop "$n"; done
  cluster_haproxy_stop
  for n in "${CLUSTER_DB_NODES[@]}"; do cluster_db_node_stop "$n"; done
  if [ -z "${PROV_KEEP_RUN:-}" ]; then rm -rf "$CRUN"; else echo "kept $CRUN"; fi
}

# cluster_web_apache_start N: start web node N's Apache again (after cluster_web_stop).
cluster_web_apache_start() {
  local port_var=CLUSTER_WEB$1_PORT
  prov_apache_start "$CRUN/web$1" "${!port_var}" "$CRUN/web$1/provisioning.conf"
}
