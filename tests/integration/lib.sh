# Shared by the integration scripts: TAP output, database helpers, the daemon.
#
#   test_case "what a user sees" 'shell commands'   one TAP line; the commands run with
#                                                    `set -e` and their output is shown
#                                                    only when they fail
#   sql "SELECT …"                                   one value per line, no headers
#   free_port                                        a free TCP port on 127.0.0.1
#   start_daemon [ENV=VALUE …]                       `tocsin run` in the background on a
#                                                    free port; sets $HTTP and $DAEMON_PID
#   stop_daemon                                      SIGTERM and wait
# The runner provides TOCSIN, TOCSIN_DATABASE_URL, PGHOST, PGDATABASE, TEST_DIR, SRC.

set -u
: "${TOCSIN:?run through scripts/run-tests}"
cd "$TEST_DIR"
export TOCSIN_ENGINE_SPOOL_DIR=${TOCSIN_ENGINE_SPOOL_DIR:-$TEST_DIR/spool}
_tap_n=0

test_case() {
  local name=$1 body=$2 log
  _tap_n=$((_tap_n + 1))
  log="$TEST_DIR/case-$_tap_n.log"
  # The subshell must be a statement of its own: as an `if` condition or before `||`,
  # bash ignores its set -e and only the body's last command would count.
  local rc
  (set -e; eval "$body") >"$log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok $_tap_n - $name"
  else
    echo "not ok $_tap_n - $name"
    sed 's/^/# /' "$log" | tail -n 40
  fi
}

sql() {
  "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Fail (from inside a test_case) with a message unless "$1" = "$2".
expect_eq() {
  if [ "$1" != "$2" ]; then
    echo "expected: $2"
    echo "     got: $1"
    return 1
  fi
}

DAEMON_PID=
start_daemon() {
  local port
  port=$(free_port)
  HTTP="http://127.0.0.1:$port"
  env TOCSIN_HTTP_LISTEN="127.0.0.1:$port" TOCSIN_HTTP_PUBLIC_URL="$HTTP" "$@" \
    "$TOCSIN" run >>"$TEST_DIR/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "$HTTP/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n 20 "$TEST_DIR/daemon.log" >&2; return 1; }
    sleep 0.1
  done
  echo "daemon did not answer /healthz" >&2
  return 1
}

stop_daemon() {
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null
  wait "$DAEMON_PID" 2>/dev/null
  local rc=$?
  DAEMON_PID=
  return $rc
}

trap 'stop_daemon' EXIT
