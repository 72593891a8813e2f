# Shared by the benchmarks: a private PostgreSQL tuned like a real one (fsync ON: a
# benchmark that claims durability must pay for it), in a temporary directory.
#   bench_pg_start    sets PGHOST, PGUSER, PGDATABASE=tocsin, TOCSIN_DATABASE_URL; migrated
#   bench_pg_stop
set -u
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
BENCH_DIR=$(mktemp -d /tmp/tocsin-bench.XXXXXX)
chmod 755 "$BENCH_DIR"

bench_pg_start() {
  "$SRC/scripts/pg" start "$BENCH_DIR/pg" "$BENCH_DIR/run"
  export PGHOST=$BENCH_DIR/run PGUSER=postgres PGDATABASE=tocsin
  export TOCSIN_DATABASE_URL="host=$PGHOST dbname=tocsin user=postgres"
  "$TOCSIN" migrate >/dev/null
}

bench_pg_stop() {
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
