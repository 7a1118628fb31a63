#!/usr/bin/env bash
# tests/bench.sh [NAME...]: the benchmarks behind `make bench`. Starts one
# private instance (release build) and runs tests/bench/NAME.sh in it; each
# prints its figures as ratios against a baseline measured in the same run.
# Speed is never asserted in `make test`; it is measured here.
set -uo pipefail
PROV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$PROV_ROOT"
. scripts/servers.sh

export PROV_BENCH_OUTPUT=$PROV_ROOT/tests/output/bench
mkdir -p "$PROV_BENCH_OUTPUT"
RUN=
trap prov_instance_stop EXIT
prov_instance_start "$PROV_ROOT/bin" || exit 1

status=0
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=($(ls tests/bench/*.sh 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.sh$//'))
for name in "${benches[@]}"; do
  echo "== bench: $name"
  bash "tests/bench/$name.sh" || { echo "bench $name failed" >&2; status=1; }
done
exit $status
