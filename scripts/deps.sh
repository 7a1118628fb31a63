#!/usr/bin/env bash
# deps.sh: install what building, running and testing need, and nothing when
# it is all there already. Debian 12 packages; node modules from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

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
  nginx-light # the dispatcher benchmark's fast receiver (return 200)
  musl-tools # prov-dispatch, the per-event front, is built with musl (fast start-up)
  clang libclang-rt-14-dev # the fuzz harnesses: libFuzzer with ASan + UBSan (tests/fuzz)
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# node and npm: any install that provides the commands will do (Debian's or another).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

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
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Browser-test modules: exactly what package-lock.json says, only when it changed.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.prov-lock-installed; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.prov-lock-installed
fi
