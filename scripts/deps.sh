#!/usr/bin/env bash
# deps.sh: install what building, running and testing need, and nothing when
# it is all there already. Debian 12 (bookworm) or 13 (trixie) packages; node
# modules from the lock file. Then checks the versions the project relies on and
# stops with one line naming what is missing and how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Oldest versions the code and the tests rely on (Debian 12 ships these or newer).
NODE_MIN=18     # the tests (node:test, fetch) and the modules in package-lock.json
MARIADB_MIN=10.6 # FOR UPDATE SKIP LOCKED (the retry queue)
APACHE_MIN=2.4  # the generated httpd.conf (Require, mod_fcgid)

packages=(
  build-essential pkg-config
  libfcgi-dev clearsilver-dev libcurl4-openssl-dev libmariadb-dev libjansson-dev
  libssl-dev libcrypt-dev libcmocka-dev zlib1g-dev
  # static archives the release prov-dispatch links (libcurl's dependencies)
  libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libldap-dev libzstd-dev libbrotli-dev
  libgnutls28-dev nettle-dev libgmp-dev libtasn1-6-dev libidn2-dev libunistring-dev
  libp11-kit-dev libkrb5-dev libsasl2-dev
  mariadb-server mariadb-client apache2 libapache2-mod-fcgid
  chromium curl openssl valgrind wrk strace
  groff-base man-db # the man pages test renders docs/*.1 (groff -ww, man -l)
  nginx-light # the dispatcher benchmark's fast receiver (return 200); nginx.conf.example's test
  prometheus # the metrics test scrapes /metrics with a private one on loopback (promtool too)
  spawn-fcgi # runs the FastCGI programs behind nginx in that test (scripts/nginx.sh)
  multiwatch systemd # docs/systemd/prov-{panel,api}.service run multiwatch; systemd-analyze verifies the units
  galera-4 haproxy # make test-cluster: a 3-node Galera cluster behind haproxy (scripts/cluster.sh)
  musl-tools # prov-dispatch, the per-event front, is built with musl (fast start-up)
  clang libclang-rt-dev # the fuzz harnesses: libFuzzer with ASan + UBSan (tests/fuzz)
  # make deb: dpkg-buildpackage with debhelper; dh_apache2 comes with apache2-dev
  # (it provides the virtual dh-apache2 on Debian 12 and 13); lintian checks the result
  dpkg-dev debhelper apache2-dev lintian
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# node and npm: any install that provides the commands will do (Debian's or
# another); its version is checked below.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# apt and dpkg hold these while they run; /proc/locks lists locked inodes.
apt_lock_holder() {
  local f inode
  for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
    inode=$(stat -c %i "$f" 2>/dev/null) || continue
    grep -qE "^[0-9]+: .* [0-9a-f]+:[0-9a-f]+:$inode " /proc/locks && { echo "$f"; return 0; }
  done
  return 1
}

# apt-get that waits (up to 10 minutes) for another apt or dpkg run to finish
# instead of failing on its lock. apt's own DPkg::Lock::Timeout covers dpkg's
# locks only, not the package lists' or the download folder's, hence the loop.
apt_get() {
  local held waited=0
  while held=$(apt_lock_holder); do
    ((waited)) || echo "deps: another apt or dpkg run holds $held; waiting for it to finish (up to 10 minutes)"
    ((waited++ < 600)) || { echo "deps: $held is still held after 10 minutes; finish or stop the other apt/dpkg run and try again" >&2; exit 1; }
    sleep 1
  done
  $SUDO apt-get -o DPkg::Lock::Timeout=600 "$@"
}

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: missing packages (${missing[*]}) and not root; install them as root" >&2; exit 1; }
    SUDO=sudo
  else
    SUDO=
  fi
  # Packages must not start their own services: we run private instances.
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Versions: one line naming what is too old and how to get a right one.
# version_ge A B: A >= B, comparing dotted numbers.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
need() { # need WHAT FOUND MINIMUM HOW
  [ -n "$2" ] && version_ge "$2" "$3" && return 0
  echo "deps: $1 $3 or newer is needed, found ${2:-none}; $4" >&2
  exit 1
}
node_version=$(node -p 'process.versions.node' 2>/dev/null || true)
need "Node.js (node: $(command -v node || echo 'not on PATH'))" "$node_version" "$NODE_MIN" \
  "Debian 12 and 13 ship one: apt-get install nodejs npm (and put /usr/bin first in PATH)"
mariadb_version=$(mariadbd --version 2>/dev/null | grep -oE 'Ver [0-9]+\.[0-9]+\.[0-9]+' | cut -d' ' -f2 || true)
need "MariaDB (mariadbd)" "$mariadb_version" "$MARIADB_MIN" "install Debian's: apt-get install mariadb-server"
apache_version=$(/usr/sbin/apache2 -v 2>/dev/null | grep -oE 'Apache/[0-9]+\.[0-9]+\.[0-9]+' | cut -d/ -f2 || true)
need "Apache (/usr/sbin/apache2)" "$apache_version" "$APACHE_MIN" "install Debian's: apt-get install apache2"
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] ||
  { echo "deps: Apache's mod_fcgid is missing; install it: apt-get install libapache2-mod-fcgid" >&2; exit 1; }

# Test modules (playwright-core for the browser tests; stripe and
# standardwebhooks, the receivers' official signature checkers, for the
# integration tests): exactly what package-lock.json says, only when it
# changed. engine-strict: a module that does not run on this Node is an error
# here, not a failure later inside a test.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.prov-lock-installed; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --engine-strict --loglevel=warn
  cp package-lock.json node_modules/.prov-lock-installed
fi
