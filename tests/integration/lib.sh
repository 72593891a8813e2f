# Shared by the integration scripts: TAP output, database helpers, the daemon.
#
#   test_case "what a user sees" 'shell commands'   one TAP line; the commands run with
#                                                    `set -e` and their output is shown
#                                                    only when they fail
#   sql "SELECT …"                                   one value per line, no headers
#   free_port                                        a free TCP port on 127.0.0.1, below
#                                                    the ephemeral range
#   listen_ports N                                   N distinct free ports below the
#                                                    ephemeral range, for servers
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
  local rc outer=${DAEMON_PID:-}
  # A daemon the case started (start_daemon) is stopped when the case ends, however it
  # ends: its PID lives in the case's subshell, where the script's EXIT trap cannot see it.
  (set -e; trap '[ "${DAEMON_PID:-}" = "'"$outer"'" ] || stop_daemon || true' EXIT; eval "$body") >"$log" 2>&1
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

# Below the ephemeral range too: a port the kernel hands out for a bind to port 0 is one it
# may give next as the local port of any outgoing connection, before the server binds it
# (make check: a daemon of t0008's spool case could not listen, and the case failed).
free_port() {
  listen_ports 1
}

# listen_ports N: N distinct ports, free now, below the ephemeral range (32768 and up):
# an ephemeral port can be held by a connection another test made (in TIME_WAIT, which
# fails the bind of a server without SO_REUSEADDR such as Kannel) or taken by a new one.
listen_ports() {
  /usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
ports = []
while len(ports) < int(sys.argv[1]):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    if p not in ports:
        ports.append(p)
print(*ports)
PY
}

# Fail (from inside a test_case) with a message unless "$1" = "$2".
expect_eq() {
  if [ "$1" != "$2" ]; then
    echo "expected: $2"
    echo "     got: $1"
    return 1
  fi
}

# kill_ours SIGNAL PID…: signal only processes that are still ours (a child of this script,
# a tocsin binary, or a helper from this source tree or test directory). A pid whose process ended may already belong to another
# process (pid_max is 32768 here): killing it blindly has ended unrelated test runs.
kill_ours() {
  local sig=$1 p cmd; shift
  for p in "$@"; do
    [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null || continue
    # Braced, so that a process already gone is skipped without a word on stderr.
    cmd=$({ tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null) || continue
    if [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$$" ]; then
      kill -"$sig" "$p" 2>/dev/null
      continue
    fi
    case "$cmd" in
      *"$TOCSIN"*|*"$SRC"*|*"$TEST_DIR"*) kill -"$sig" "$p" 2>/dev/null ;;
    esac
  done
  return 0
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
  kill_ours TERM "$DAEMON_PID"
  wait "$DAEMON_PID" 2>/dev/null
  local rc=$?
  DAEMON_PID=
  return $rc
}

trap 'stop_daemon' EXIT
