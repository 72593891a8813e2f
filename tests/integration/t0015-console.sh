#!/usr/bin/env bash
# The organisers' console (issue 15) in a real browser: Debian's Chromium driven by
# playwright-core, the stories of tests/browser/*.test.mjs run by Node's test runner,
# whose TAP lines this script passes on. It seeds the database (tests/browser/seed.sh),
# starts an SMTP sink (campaigns and test copies are delivered to it) and the daemon
# (SMS go to its spool: the sign-in code is read there). Screenshots of every page at
# 360 and 1280 px go to build/screenshots/.
. "$SRC/tests/integration/lib.sh"

if [ ! -x /usr/bin/chromium ] || [ ! -d "$SRC/web/node_modules/playwright-core" ]; then
  echo "not ok 1 - the browser tests need /usr/bin/chromium and web/node_modules (scripts/install-deps)"
  exit 0
fi

test_case 'seed: two teams, people (one with a hostile name), events, an inbox, four accounts' '
  TOCSIN="$TOCSIN" "$SRC/tests/browser/seed.sh" "$TEST_DIR" >/dev/null
'

SINK_PORT=$(free_port)
/usr/bin/python3 "$SRC/tests/integration/smtp_sink.py" "$SINK_PORT" "$TEST_DIR/mx" > "$TEST_DIR/mx.out" 2>&1 &
SINK_PID=$!
trap 'stop_daemon; kill_ours TERM $SINK_PID' EXIT
for _ in $(seq 1 50); do grep -q ready "$TEST_DIR/mx.out" 2>/dev/null && break; sleep 0.1; done

if ! start_daemon TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT="$SINK_PORT" TOCSIN_ENGINE_QUIET_HOURS=off \
     TOCSIN_ENGINE_SCHEDULER_INTERVAL=1 TOCSIN_ENGINE_POLL_INTERVAL=1; then
  echo "not ok 2 - the daemon did not start"
  exit 0
fi

mkdir -p "$SRC/build/screenshots"
BASE=$HTTP TEST_DIR=$TEST_DIR MAILDIR="$TEST_DIR/mx" SPOOL="$TOCSIN_ENGINE_SPOOL_DIR" \
  SCREENSHOTS="$SRC/build/screenshots" PGBIN="$PGBIN" TOCSIN_HTTP_PUBLIC_URL="$HTTP" \
  node --test --test-reporter=tap --test-concurrency=1 "$SRC"/tests/browser/*.test.mjs \
  > "$TEST_DIR/browser.tap" 2> "$TEST_DIR/browser.err"
# Node's TAP numbers the top-level tests; the runner counts the "ok"/"not ok" lines.
grep -E '^(ok|not ok) |^# ' "$TEST_DIR/browser.tap" | grep -vE '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) '
grep -A12 -E '^not ok' "$TEST_DIR/browser.tap" | sed 's/^/# /' | head -n 80

test_case 'the daemon logged no error while the browser used the console' '
  ! grep -E "level=error" "$TEST_DIR/daemon.log"
'
