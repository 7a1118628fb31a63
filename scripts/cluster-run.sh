#!/usr/bin/env bash
# scripts/cluster-run.sh start|stop: `make cluster` and `make cluster-stop`.
# The rehearsal's installation (scripts/cluster.sh) from the release build,
# left running in PROV_CLUSTER_RUN (default /tmp/prov-cluster-$UID) for an
# operator to try: kill a node, stop a web node, dispatch from either host.
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$PROV_ROOT"
. scripts/cluster.sh
CRUN=${PROV_CLUSTER_RUN:-/tmp/prov-cluster-$(id -u)}

case "${1:-}" in
  start)
    if [ -f "$CRUN/cluster.env" ]; then
      echo "make cluster: already running in $CRUN (make cluster-stop first)" >&2; exit 1
    fi
    rm -rf "$CRUN" && mkdir -p "$CRUN" || exit 1
    if ! cluster_start "$PROV_ROOT/bin"; then
      echo "make cluster: failed; stopping what was started" >&2
      cluster_stop; exit 1
    fi
    . "$CRUN/cluster.env"
    cat <<TEXT
Cluster started in ${CLUSTER_STARTED_IN} s (run folder $CRUN):
  Panel and API (haproxy):  $CLUSTER_URL/login   user admin, password $CLUSTER_ADMIN_PASSWORD
  Web nodes:                http://127.0.0.1:$CLUSTER_WEB1_PORT  http://127.0.0.1:$CLUSTER_WEB2_PORT
  MariaDB (haproxy, TCP):   $CLUSTER_FRONT:$CLUSTER_DB_PORT (one writer); nodes 127.0.0.11-13:$CLUSTER_DB_PORT
  Billing hosts:            PROV_CONFIG=$CRUN/bill1/provisioning.conf (and bill2) prov-dispatch EVENT
  Node N's root client:     mariadb --socket=$CRUN/dbN/mysqld.sock -uroot provisioning
Stop it with: make cluster-stop
TEXT
    ;;
  stop)
    if [ ! -d "$CRUN" ]; then echo "make cluster-stop: nothing was running"; exit 0; fi
    set -a; . "$CRUN/cluster.env" 2>/dev/null; set +a
    cluster_stop
    echo "make cluster-stop: stopped the billing hosts, web nodes, haproxy and the Galera nodes"
    ;;
  *) echo "usage: scripts/cluster-run.sh start|stop" >&2; exit 64 ;;
esac
