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
#   BENCH_MONTHS=N      add N past months to outbound_messages, as a deployment keeping N
#                       months of history has: what retention costs the hot path. Each
#                       month holds BENCH_MONTH_ROWS sent messages (20000) to people the
#                       benchmark never writes as, so lookups descend real indexes
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
  bench_add_months tocsin
}

# bench_add_months DB: BENCH_MONTHS past months of outbound_messages in database DB.
bench_add_months() {
  [ "${BENCH_MONTHS:-0}" -gt 0 ] || return 0
  "$PGBIN/psql" -qAtX -d "$1" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT outbound_partitions_ensure(tocsin_month(now() - interval '${BENCH_MONTHS} months'),
                                  tocsin_month(now()));
SET session_replication_role = replica; -- history, not new messages: no triggers
INSERT INTO outbound_messages (channel, recipient, subject, body, status, kind, dedupe_key,
                               created_at, sent_at, month)
SELECT CASE WHEN n % 3 = 0 THEN 'sms' ELSE 'email' END,
       CASE WHEN n % 3 = 0 THEN '+3369' || lpad((n % 500000)::text, 7, '0')
            ELSE 'history' || (n % 500000) || '@example.com' END,
       'Lettre', 'Bonjour, voici les nouvelles de la campagne.', 'sent', 'campaign',
       'history:' || m || ':' || n, t, t, tocsin_month(t)
  FROM generate_series(1, ${BENCH_MONTHS}) m,
       generate_series(1, ${BENCH_MONTH_ROWS:-20000}) n,
       LATERAL (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC')
                        - make_interval(months => m)) AT TIME ZONE 'UTC'
                       + make_interval(secs => 3600 + n * 2400000.0 / ${BENCH_MONTH_ROWS:-20000})
                  AS t) at;
RESET session_replication_role;
-- The past months only, as autovacuum would have: the current month is filled by the
-- benchmark itself (analyzed empty, its plans would read it whole until replanned).
SELECT format('ANALYZE %I', outbound_partition_name((tocsin_month(now()) - make_interval(months => m))::date))
  FROM generate_series(1, ${BENCH_MONTHS}) m \\gexec
SQL
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
