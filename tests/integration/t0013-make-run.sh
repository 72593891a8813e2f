#!/usr/bin/env bash
# `make run` (scripts/run-local): its private PostgreSQL stops with it, every time, and a
# cluster left running by an earlier run is reused with a word saying so.
. "$SRC/tests/integration/lib.sh"

RUN_DIR=$TEST_DIR/var
RUN_PID=
# Start run-local in a session of its own (as a terminal would run it in its own process
# group) and wait until the daemon answers.
start_run() {
  PORT=$(free_port)
  (unset TOCSIN_DATABASE_URL PGDATABASE
   TOCSIN_RUN_DIR="$RUN_DIR" TOCSIN_HTTP_LISTEN="127.0.0.1:$PORT" exec setsid "$SRC/scripts/run-local") \
    >"$TEST_DIR/run.log" 2>&1 &
  RUN_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$RUN_PID" 2>/dev/null || { cat "$TEST_DIR/run.log"; return 1; }
    sleep 0.1
  done
  echo "make run did not answer"; cat "$TEST_DIR/run.log"; return 1
}
# Signal the whole process group, as Ctrl-C in a terminal does, and wait for the end.
signal_run() {
  kill -"$1" -- -"$RUN_PID" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$RUN_PID" 2>/dev/null
}
cluster_running() { "$SRC/scripts/pg" status "$RUN_DIR/pg"; }
trap '[ -n "$RUN_PID" ] && kill -TERM -- -"$RUN_PID" 2>/dev/null; "$SRC/scripts/pg" stop "$RUN_DIR/pg"' EXIT

test_case 'Ctrl-C stops the daemon and the private PostgreSQL, three times in a row' '
  for i in 1 2 3; do
    start_run
    cluster_running
    signal_run INT
    if cluster_running; then echo "run $i left PostgreSQL running"; cat "$TEST_DIR/run.log"; false; fi
    grep -q "stopped the daemon and the private PostgreSQL" "$TEST_DIR/run.log"
    ! grep -q "reusing" "$TEST_DIR/run.log"
  done
'

test_case 'SIGTERM and SIGHUP stop both too' '
  for sig in TERM HUP; do
    start_run
    signal_run $sig
    if cluster_running; then echo "$sig left PostgreSQL running"; false; fi
  done
'

test_case 'a cluster left running is reused, and the start says so' '
  "$SRC/scripts/pg" start "$RUN_DIR/pg" "$RUN_DIR/run"
  start_run
  grep -q "reusing the PostgreSQL already running in $RUN_DIR/pg" "$TEST_DIR/run.log"
  signal_run INT
  ! cluster_running
'

test_case 'a command run in another directory says where it looked for the database' '
  mkdir -p elsewhere
  rc=0; (cd elsewhere && env -u TOCSIN_DATABASE_URL "$TOCSIN" team list) 2> err || rc=$?
  expect_eq "$rc" 69
  grep -F "no [database] url in the defaults and environment" err
  grep -F "the \`make run\` cluster of the current directory: host=$TEST_DIR/elsewhere/var/run" err
  rc=0; (cd elsewhere && TOCSIN_DATABASE_URL="host=$TEST_DIR/nowhere dbname=x" "$TOCSIN" team list) 2> err || rc=$?
  expect_eq "$rc" 69
  grep -F "(url from environment TOCSIN_DATABASE_URL)" err
'
