# Shared by the benchmarks: a private PostgreSQL tuned like a real one (fsync ON: a
# benchmark that claims durability must pay for it), in a temporary directory.
#   bench_pg_start    sets PGHOST, PGUSER, PGDATABASE=tocsin, TOCSIN_DATABASE_URL; migrated
#   bench_pg_stop
set -u
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
BENCH_DIR=$(mktemp -d /tmp/tocsin-bench.XXXXXX)
chmod 755 "$BENCH_DIR"

#   BENCH_STATEMENTS=1  load pg_stat_statements, and print the statements that took the
#                       most execution time when the benchmark ends (where PostgreSQL's
#                       time goes; it costs a little, so figures of such a run are not kept);
#                       BENCH_STATEMENTS_SHOWN=N shows N of them (25)
bench_pg_start() {
  "$SRC/scripts/pg" start "$BENCH_DIR/pg" "$BENCH_DIR/run"
  export PGHOST=$BENCH_DIR/run PGUSER=postgres PGDATABASE=tocsin
  export TOCSIN_DATABASE_URL="host=$PGHOST dbname=tocsin user=postgres"
  if [ -n "${BENCH_STATEMENTS:-}" ]; then
    "$PGBIN/psql" -qX -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    "$SRC/scripts/pg" restart "$BENCH_DIR/pg"
    "$PGBIN/psql" -qX -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" \
      -c "SELECT pg_reload_conf()" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  fi
  "$TOCSIN" migrate >/dev/null
}

bench_pg_stop() {
  if [ -n "${BENCH_STATEMENTS:-}" ]; then
    echo "statements by total execution time (BENCH_STATEMENTS):"
    "$PGBIN/psql" -X -P pager=off -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT round(total_exec_time)::bigint AS ms, calls,
      round((total_exec_time / calls * 1000)::numeric)::bigint AS us_per_call,
      left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
      FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${BENCH_STATEMENTS_SHOWN:-25}" 2>&1 || true
  fi
  "$SRC/scripts/pg" stop "$BENCH_DIR/pg"
  rm -rf "$BENCH_DIR"
}

# Seconds elapsed running "$@" (its standard output discarded), to the millisecond.
bench_time() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.3f\n'
}
