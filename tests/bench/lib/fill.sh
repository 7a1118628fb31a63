# Sourced by benchmarks (they define sqlq and have PROV_TEST_BIN).
# bench_loggen_fill ROWS DAYS JOBS OUTDIR: top exec_logs up to ROWS rows over
# the last DAYS days, JOBS prov-loggen at once (each its share with its own
# seed; the server does the work). Prints what was generated and how fast.
bench_loggen_fill() {
  local rows=$1 days=$2 jobs=$3 out=$4 have j share started pid
  local pids=()
  have=$(sqlq "SELECT COUNT(*) FROM exec_logs")
  [ "$have" -lt "$rows" ] || return 0
  echo "generating $((rows - have)) log rows over $days days: $jobs x prov-loggen --rows $(((rows - have) / jobs)) --days $days --handlers 20"
  started=$(date +%s.%N)
  for j in $(seq "$jobs"); do
    share=$(((rows - have) / jobs)); [ "$j" -eq "$jobs" ] && share=$((rows - have - (jobs - 1) * share))
    "$PROV_TEST_BIN/prov-loggen" --rows "$share" --days "$days" --handlers 20 --seed "$((have + j))" >"$out/generate-$j.txt" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || { echo "prov-loggen failed" >&2; return 1; }; done
  cat "$out"/generate-*.txt
  awk -v s="$started" -v e="$(date +%s.%N)" -v n="$((rows - have))" 'BEGIN { printf "generated %d rows in %.0f s: %.0f rows/s\n", n, e - s, n / (e - s) }' | tee "$out/generate.txt"
}

# bench_use_handler NAME EVENT URL: NAME, POSTing EVENT to URL, the only
# enabled handler, published.
bench_use_handler() {
  sqlq "UPDATE handlers SET status='disabled' WHERE status='enabled';
        DELETE FROM handlers WHERE name='$1';
        INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
        VALUES ('$1', '$2', '$3', 'http', 'enabled', 1, UTC_TIMESTAMP(), UTC_TIMESTAMP());
        UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1;"
  "$PROV_TEST_BIN/prov-cache" reload --by bench >/dev/null
}
