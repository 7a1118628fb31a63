# servers.sh: start and stop a private MariaDB and Apache (mod_fcgid) for
# `make run` and the tests. Sourced, not run. Every wait is a readiness check
# with a deadline; every failure is one line on stderr and a non-zero status.
#
# Layout of a run folder RUN (created by prov_run_dir_prepare, mode 755, so
# Apache's children can read it even when the checkout's parents cannot):
#   RUN/site/{cgi-bin,templates,static}   staged copies of what Apache serves
#   RUN/mysqld.sock RUN/mysqld.pid       MariaDB
#   RUN/apache/                          httpd.conf, logs, pid, fcgid sockets
#   RUN/provisioning.conf                the config the panel reads
#   RUN/scripts RUN/cache RUN/spool      handler scripts, snapshot, spool

PROV_ROOT=${PROV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

prov_die() { echo "$*" >&2; return 1; }

# The user Apache's children run as: www-data when started as root.
prov_web_user() { if [ "$(id -u)" -eq 0 ]; then echo www-data; else id -un; fi; }

# A free TCP port on 127.0.0.1, chosen by the kernel.
prov_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

prov_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Wait until "$@" succeeds, at most $1 seconds (checked every 0.1 s).
prov_wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

prov_run_dir_prepare() {
  local run=$1
  mkdir -p "$run"/{site,apache,scripts,cache,spool} || return 1
  chmod 755 "$run" "$run"/site "$run"/apache "$run"/scripts
  # The dispatcher and worker write these; the panel (www-data) only reads them.
  chmod 755 "$run"/cache "$run"/spool
}

# Copy what Apache serves into RUN/site. $2: folder holding cgi-bin/{panel,api}.fcgi.
prov_stage_site() {
  local run=$1 bindir=$2 site=$1/site
  local program
  rm -rf "$site.new" && mkdir -p "$site.new/cgi-bin" || return 1
  for program in panel.fcgi api.fcgi; do
    [ -x "$bindir/cgi-bin/$program" ] || { prov_die "stage: $bindir/cgi-bin/$program is not built (run make)"; return 1; }
    cp "$bindir/cgi-bin/$program" "$site.new/cgi-bin/" || return 1
  done
  cp -R "$PROV_ROOT/templates" "$PROV_ROOT/static" "$site.new/" || return 1
  chmod -R u=rwX,go=rX "$site.new" && chmod 755 "$site.new"/cgi-bin/*.fcgi || return 1
  rm -rf "$site" && mv "$site.new" "$site"
}

# ---------------------------------------------------------------- MariaDB

# prov_mariadb_start DATADIR RUN: initialise DATADIR once, start mariadbd on
# RUN/mysqld.sock (no TCP), wait until it answers.
prov_mariadb_start() {
  local datadir=$1 run=$2 sock=$2/mysqld.sock
  local marker=$datadir/.prov-initialised
  if [ -S "$sock" ] && mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1; then
    prov_die "mariadb: already running on $sock"; return 1
  fi
  if [ -d "$datadir" ] && [ ! -f "$marker" ] && [ -n "$(ls -A "$datadir" 2>/dev/null)" ]; then
    prov_die "mariadb: $datadir is half-initialised (no $marker); remove it and start again"; return 1
  fi
  local me; me=$(id -un)
  if [ ! -f "$marker" ]; then
    mkdir -p "$datadir" || return 1
    # --force skips only its check that this machine's host name resolves (a
    # bare root has no /etc/hosts); the instance is reached by its socket only.
    mariadb-install-db --no-defaults --force --datadir="$datadir" --user="$me" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$me" \
      --skip-test-db >"$run/mariadb-install.log" 2>&1 ||
      { prov_die "mariadb: mariadb-install-db failed; see $run/mariadb-install.log"; return 1; }
  fi
  rm -f "$sock"
  mariadbd --no-defaults --datadir="$datadir" --socket="$sock" --pid-file="$run/mysqld.pid" \
    --skip-networking --user="$me" --log-error="$run/mariadb.log" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --max-connections=300 >/dev/null 2>&1 9>&- &   # 9: run.sh's lock, not for daemons
  local pid=$!
  if ! prov_wait_for 60 mariadb-admin --no-defaults --socket="$sock" -uroot ping; then
    kill "$pid" 2>/dev/null
    prov_die "mariadb: did not answer within 60 s; see $run/mariadb.log"; return 1
  fi
  chmod 777 "$sock" 2>/dev/null || true
}

prov_mariadb_stop() {
  local run=$1 pid
  [ -f "$run/mysqld.pid" ] || return 0
  pid=$(cat "$run/mysqld.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  prov_wait_for 60 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  rm -f "$run/mysqld.pid"
}

prov_sql() { mariadb --no-defaults --socket="$1/mysqld.sock" -uroot "${@:2}"; }

# prov_db_setup RUN DBNAME USER PASSWORD: database, application user, schema.
prov_db_setup() {
  local run=$1 name=$2 user=$3 password=$4
  prov_sql "$run" <<SQL || { prov_die "mariadb: cannot create database $name"; return 1; }
CREATE DATABASE IF NOT EXISTS \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$password';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, LOCK TABLES ON \`$name\`.* TO '$user'@'localhost';
SQL
  prov_sql "$run" "$name" <"$PROV_ROOT/schema.sql" || { prov_die "mariadb: schema.sql failed to load"; return 1; }
}

# prov_write_config RUN FILE DBNAME USER PASSWORD: the config every program reads.
prov_write_config() {
  local run=$1 file=$2
  umask 077
  cat >"$file.new" <<CONF
# Provisioning API configuration, written by scripts/servers.sh.
db_socket = $run/mysqld.sock
db_name = $3
db_user = $4
db_password = $5
scripts_dir = $run/scripts
templates_dir = $run/site/templates
cache_path = $run/cache/snapshot.json
spool_dir = $run/spool
# The destination policy refuses loopback, private and link-local addresses
# unless listed here; the tests' receivers and a local handler are on loopback.
outbound_allow = 127.0.0.0/8, ::1/128
# Retention, applied by \`prov-admin logs purge\` (the defaults):
# log_retention_days = 90
# retry_retention_days = 30
# cache_generations_keep = 20
CONF
  mv "$file.new" "$file"
  if [ "$(id -u)" -eq 0 ]; then chgrp www-data "$file" && chmod 640 "$file"; fi
}

# ---------------------------------------------------------------- Apache

# prov_apache_start RUN PORT CONFIG: httpd.conf from apache.conf.example, start, wait.
prov_apache_start() {
  local run=$1 port=$2 config=$3 dir=$1/apache user
  user=$(prov_web_user)
  if prov_port_in_use "$port"; then
    prov_die "apache: port 127.0.0.1:$port is already in use; stop what holds it or choose another port"; return 1
  fi
  mkdir -p "$dir/fcgid" || return 1
  [ "$(id -u)" -eq 0 ] && chown "$user" "$dir/fcgid"
  # The operator's snippet, with its default paths pointed at this run folder.
  sed -e "s|/usr/lib/provisioning/cgi-bin|$run/site/cgi-bin|g" \
      -e "s|/usr/share/provisioning/static|$run/site/static|g" \
      -e "s|/etc/provisioning/provisioning.conf|$config|g" \
      "$PROV_ROOT/apache.conf.example" >"$dir/provisioning.conf" || return 1
  local mods=/usr/lib/apache2/modules
  cat >"$dir/httpd.conf" <<CONF
# Generated by scripts/servers.sh for a private instance; do not edit.
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
ErrorLog "$dir/error.log"
LogLevel warn
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule mime_module $mods/mod_mime.so
LoadModule headers_module $mods/mod_headers.so
LoadModule reqtimeout_module $mods/mod_reqtimeout.so
LoadModule fcgid_module $mods/mod_fcgid.so
$( [ "$(id -u)" -eq 0 ] && printf 'User %s\nGroup %s\n' "$user" "$user" )
TypesConfig /etc/mime.types
LogFormat "%h %t \"%r\" %>s %b %D" timed
CustomLog "$dir/access.log" timed
DocumentRoot "$run/site/static"
<Directory />
  AllowOverride None
  Require all denied
</Directory>
ServerTokens Prod
ServerSignature Off
TraceEnable Off
FcgidIPCDir "$dir/fcgid"
FcgidProcessTableFile "$dir/fcgid/shm"
Include "$dir/provisioning.conf"
CONF
  if ! apache2 -t -f "$dir/httpd.conf" >"$dir/configtest.log" 2>&1; then
    prov_die "apache: configuration test failed: $(tail -1 "$dir/configtest.log")"; return 1
  fi
  apache2 -f "$dir/httpd.conf" -k start >"$dir/start.log" 2>&1 9>&- ||
    { prov_die "apache: did not start: $(tail -1 "$dir/start.log")"; return 1; }
  if ! prov_wait_for 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/static/css/panel.css"; then
    prov_die "apache: no answer on 127.0.0.1:$port within 30 s; see $dir/error.log"; return 1
  fi
}

prov_apache_stop() {
  local dir=$1/apache pid
  [ -f "$dir/httpd.pid" ] || return 0
  pid=$(cat "$dir/httpd.pid" 2>/dev/null) || return 0
  apache2 -f "$dir/httpd.conf" -k stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null
  prov_wait_for 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  rm -f "$dir/httpd.pid"
}

# ---------------------------------------------------------------- a whole instance

# prov_instance_start BINDIR: a throw-away instance for tests and benchmarks on
# a free port. Sets RUN and exports PROV_TEST_URL, PROV_TEST_RUN, PROV_CONFIG,
# PROV_TEST_BIN. The caller must call prov_instance_stop (trap EXIT).
prov_instance_start() {
  local bindir=$1 port password
  RUN=$(mktemp -d /tmp/prov-test.XXXXXX) || return 1
  chmod 755 "$RUN"
  port=$(prov_free_port) || return 1
  password=$(openssl rand -hex 16)
  prov_run_dir_prepare "$RUN" &&
  prov_stage_site "$RUN" "$bindir" &&
  prov_mariadb_start "$RUN/mysql" "$RUN" &&
  prov_db_setup "$RUN" provisioning prov "$password" &&
  prov_write_config "$RUN" "$RUN/provisioning.conf" provisioning prov "$password" &&
  prov_apache_start "$RUN" "$port" "$RUN/provisioning.conf" || return 1
  export PROV_TEST_URL=http://127.0.0.1:$port
  export PROV_TEST_RUN=$RUN
  export PROV_CONFIG=$RUN/provisioning.conf
  export PROV_TEST_BIN=$bindir
}

prov_instance_stop() {
  [ -n "${RUN:-}" ] || return 0
  # An nginx front a test started on this instance (scripts/nginx.sh), if any.
  if declare -F prov_nginx_stop >/dev/null; then prov_nginx_stop "$RUN"; fi
  prov_apache_stop "$RUN"
  prov_mariadb_stop "$RUN"
  if [ -z "${PROV_KEEP_RUN:-}" ]; then rm -rf "$RUN"; else echo "kept $RUN"; fi
  RUN=
}
