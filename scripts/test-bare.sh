#!/usr/bin/env bash
# test-bare.sh [RELEASE...]: the README's two commands on a bare Debian, as a
# new user would run them. For each release (default: bookworm trixie) it
# unpacks a minimal root (debootstrap --variant=minbase plus make, git and
# ca-certificates, nothing else), clones the committed HEAD of this checkout
# into it and runs `make run` (then checks the panel answers, then `make stop`)
# and `make test` inside, with a clean environment. Prints each command's
# result, test counts and time; exits non-zero when any of them failed.
#
# Needs root (debootstrap, chroot, mounts). Environment:
#   PROV_BARE_CACHE   where base roots (tar) and downloaded .debs are kept,
#                     default /var/tmp/prov-bare; a re-run reuses them
#   PROV_BARE_FRESH=1 build the base roots again
#   PROV_BARE_KEEP=1  keep each root after the run (for a look inside)
#   PROV_BARE_MIRROR, PROV_BARE_SECURITY  Debian archive and security archive;
#                     default: the first ones this machine's apt sources name
# The apt cache (.deb files) is shared between runs to save the download; the
# packages installed are the same, only fetched once. npm modules are not kept.
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PROV_BARE_CACHE:-/var/tmp/prov-bare}
RELEASES=("$@")
((${#RELEASES[@]})) || RELEASES=(bookworm trixie)

die() { echo "test-bare: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount); run it as root"
if ! command -v debootstrap >/dev/null; then
  echo "test-bare: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null ||
    die "debootstrap is missing and could not be installed; apt-get install debootstrap"
fi
git -C "$PROV_ROOT" rev-parse HEAD >/dev/null 2>&1 || die "$PROV_ROOT is not a git checkout"

# The archives this machine's apt uses (one-line .list and deb822 .sources).
host_uris() {
  {
    grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      grep -oE '[a-z]+://[^[:space:]]+'
    grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed 's/^URIs://' | tr ' ' '\n'
  } | grep -E "$1" | head -1
}
MIRROR=${PROV_BARE_MIRROR:-$(host_uris '/debian/?$')}
SECURITY=${PROV_BARE_SECURITY:-$(host_uris '/debian-security/?$')}
[ -n "$MIRROR" ] || die "no Debian archive in /etc/apt/sources.list*; set PROV_BARE_MIRROR"

SHA=$(git -C "$PROV_ROOT" rev-parse HEAD)
if [ -n "$(git -C "$PROV_ROOT" status --porcelain --untracked-files=no)" ]; then
  echo "test-bare: note: uncommitted changes in $PROV_ROOT are not tested (clone of $SHA)"
fi
mkdir -p "$CACHE" || exit 1

version_of() {
  case $1 in bookworm) echo 12 ;; trixie) echo 13 ;; *) echo "?" ;; esac
}

# The base root of a release, once: debootstrap's minimal variant plus what
# the README's user adds by hand before cloning.
base_tar() {
  local rel=$1 tar=$CACHE/base-$1.tar tmp
  if [ -f "$tar" ] && [ -z "${PROV_BARE_FRESH:-}" ]; then echo "$tar"; return 0; fi
  tmp=$(mktemp -d "$CACHE/debootstrap-$rel.XXXXXX") || return 1
  echo "test-bare: debootstrap $rel from $MIRROR (once; kept in $tar)" >&2
  if ! debootstrap --variant=minbase --include=make,git,ca-certificates "$rel" "$tmp" "$MIRROR" \
      >"$CACHE/debootstrap-$rel.log" 2>&1; then
    echo "test-bare: debootstrap $rel failed; see $CACHE/debootstrap-$rel.log" >&2
    rm -rf "$tmp"; return 1
  fi
  chmod 755 "$tmp" && tar -C "$tmp" -cf "$tar.new" . && mv "$tar.new" "$tar" && rm -rf "$tmp" && echo "$tar"
}

# The host's trusted CA certificates that the root's bundle lacks, as local
# certificates of the root (a real machine has its own), kept by update-ca-certificates.
copy_host_cas() {
  local root=$1 dir=$1/usr/local/share/ca-certificates/host
  mkdir -p "$dir"
  awk -v dir="$dir" '
    FNR == 1 { file++ }
    /-----BEGIN CERTIFICATE-----/ { cert = "" }
    { cert = cert $0 "\n" }
    /-----END CERTIFICATE-----/ {
      if (file == 1) have[cert] = 1
      else if (!(cert in have)) { n++; f = sprintf("%s/host-%03d.crt", dir, n); printf "%s", cert > f; close(f) }
    }' "$root/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt
  chroot "$root" update-ca-certificates >/dev/null 2>&1
}

ROOT=
MOUNTS=()
cleanup_root() {
  [ -n "$ROOT" ] || return 0
  local pid link m i
  # Whatever still runs inside the root was started by this run: stop it.
  for pid in /proc/[0-9]*; do
    link=$(readlink "$pid/root" 2>/dev/null) || continue
    [ "$link" = "$ROOT" ] && kill -9 "${pid#/proc/}" 2>/dev/null
  done
  sleep 0.2
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${MOUNTS[i]}
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "test-bare: could not unmount $m" >&2
  done
  MOUNTS=()
  if [ -n "${PROV_BARE_KEEP:-}" ]; then
    echo "test-bare: kept $ROOT"
  elif ! grep -q " $ROOT/" /proc/mounts; then
    rm -rf "$ROOT"
  fi
  ROOT=
}
trap 'cleanup_root' EXIT
trap 'exit 130' INT TERM

mount_in() { # mount_in TARGET mount-args...
  local target=$ROOT$1; shift
  mkdir -p "$target" && mount "$@" "$target" && MOUNTS+=("$target")
}

# Run a command line inside the root as a fresh login would: root, clean environment.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}

free_port() {
  local port
  for port in $(shuf -i 20000-60000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

SUMMARY=()
FAILED=0
run_release() {
  local rel=$1 ver tar log port t0 rc_run rc_test t_run t_test counts login versions
  ver=$(version_of "$rel")
  tar=$(base_tar "$rel") || { SUMMARY+=("Debian $ver ($rel): no base root"); FAILED=1; return; }
  ROOT=$(mktemp -d "$CACHE/root-$rel.XXXXXX") || return
  log=$CACHE/$rel.log
  : >"$log"
  echo "== Debian $ver ($rel): root $ROOT, log $log"
  tar -C "$ROOT" -xpf "$tar" || { FAILED=1; cleanup_root; return; }
  chmod 755 "$ROOT" # "/" inside: the tar's "." is debootstrap's mktemp folder (700)
  # The sources a Debian install has: the release, its updates, its security fixes.
  {
    echo "deb $MIRROR $rel main"
    echo "deb $MIRROR $rel-updates main"
    [ -n "$SECURITY" ] && echo "deb $SECURITY $rel-security main"
  } >"$ROOT/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # "/" inside is a mount point of its own, private, as on a real machine:
  # tests that unshare a mount namespace (deb.test.mjs) make "/" private
  # there, which a chroot's plain folder refuses (EINVAL).
  mount_in "" --bind "$ROOT" && mount --make-private "$ROOT" &&
    mount_in /proc -t proc proc && mount_in /sys -t sysfs sysfs &&
    mount_in /dev --bind /dev && mount_in /dev/pts --bind /dev/pts &&
    mount_in /dev/shm -t tmpfs -o mode=1777 shm &&
    mkdir -p "$CACHE/debs-$rel" && mount_in /var/cache/apt/archives --bind "$CACHE/debs-$rel" ||
    { echo "test-bare: mounting into $ROOT failed" >&2; FAILED=1; cleanup_root; return; }
  copy_host_cas "$ROOT"
  git clone -q --no-checkout "$PROV_ROOT" "$ROOT/root/provisioning" &&
    git -C "$ROOT/root/provisioning" checkout -q "$SHA" ||
    { echo "test-bare: git clone into $ROOT failed" >&2; FAILED=1; cleanup_root; return; }

  # make run on a free port (the root shares the machine's network), then the
  # panel's login page must answer, then make stop.
  port=$(free_port)
  t0=$(date +%s)
  in_root "cd /root/provisioning && PROV_PORT=$port make run" >>"$log" 2>&1
  rc_run=$?
  t_run=$(($(date +%s) - t0))
  login=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login")
  [ "$rc_run" -eq 0 ] && [ "$login" = 200 ] || rc_run=1
  echo "   make run:  $([ $rc_run -eq 0 ] && echo ok || echo FAILED) in ${t_run} s (login page: HTTP $login)"
  versions=$(in_root 'printf "Node %s, %s, %s" "$(node -v 2>/dev/null)" \
    "$(mariadbd --version 2>/dev/null | grep -oE "[0-9.]+-MariaDB")" "$(apache2 -v 2>/dev/null | grep -oE "Apache/[0-9.]+")"')
  echo "   installed: $versions"
  in_root "cd /root/provisioning && make stop" >>"$log" 2>&1

  t0=$(date +%s)
  in_root "cd /root/provisioning && make test" >>"$log" 2>&1
  rc_test=$?
  t_test=$(($(date +%s) - t0))
  counts=$(grep -aE '^tests: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  [ -n "$counts" ] || { counts="tests: no count line"; rc_test=1; }
  echo "   make test: $([ $rc_test -eq 0 ] && echo ok || echo FAILED) in ${t_test} s ($counts)"
  ((rc_run == 0 && rc_test == 0)) || { FAILED=1; grep -aE '^(not ok|FAIL)|: ' "$log" | tail -5 | sed 's/^/     /'; }
  SUMMARY+=("Debian $ver ($rel, $versions): make run $([ $rc_run -eq 0 ] && echo ok || echo FAILED) ${t_run} s; make test $([ $rc_test -eq 0 ] && echo ok || echo FAILED) ${t_test} s, ${counts#tests: }")
  rm -rf "$CACHE/output-$rel" && cp -r "$ROOT/root/provisioning/tests/output" "$CACHE/output-$rel" 2>/dev/null
  cleanup_root
}

START=$(date +%s)
for rel in "${RELEASES[@]}"; do run_release "$rel"; done
echo "test-bare: commit $SHA, $(($(date +%s) - START)) s in all"
printf 'test-bare: %s\n' "${SUMMARY[@]}"
exit "$FAILED"
