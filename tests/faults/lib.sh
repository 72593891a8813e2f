# The fault suite's helpers, sourced after tests/integration/lib.sh by
# tests/integration/t0008-faults.sh (reduced sizes, part of `make test`) and, through it,
# by `make test-faults` (FAULT_SCALE=full: the sizes of issue 8).
#
#   scale SMALL FULL          echoes SMALL or FULL after $FAULT_SCALE
#   track PID                 stopped (TERM, then waited for) when the script ends
#   start_sink NAME [ARGS…]   aiosmtpd sink (tests/integration/smtp_sink.py) delivering into
#                             $TEST_DIR/NAME on a free port; sets SINK_PORT and SINK_PID;
#                             restart_sink NAME PORT [ARGS…] starts it again on that port
#   start_sms_api NAME SECRET [TWILIO_TOKEN]   the fake SMS REST API
#                             (tests/integration/fake_sms_api.py) logging each request as a
#                             JSON line into $TEST_DIR/NAME.log; sets SMS_API (its base URL)
#   newsletter PREFIX N       N people PREFIX-1@example.org … in a team PREFIX, and a
#                             campaign to that team (tocsin campaign create + send)
#   count_status PREFIX [STATUS]   rows to PREFIX-…@example.org (in that status)
#   received NAME             "TOTAL DISTINCT" messages in the Maildir, by Delivered-To
#   wait_until 'condition' [SECONDS]
#   daemon_bg LOG [ENV=VALUE …]    one more `tocsin run` on a free port; sets BG_PID
#   kill9 PID                 kill -9 and reap
#   stop PID…                 SIGTERM and wait (the exit status of the last)
FAULT_SCALE=${FAULT_SCALE:-small}
PY=/usr/bin/python3
PIDS=$TEST_DIR/background.pids
MOUNTS=$TEST_DIR/mounts

scale() { if [ "$FAULT_SCALE" = full ]; then echo "$2"; else echo "$1"; fi; }

track() { echo "$1" >> "$PIDS"; }
# A process stopped and reaped by a case is forgotten at once: its pid may be reused.
untrack() { [ -f "$PIDS" ] && sed -i "/^$1\$/d" "$PIDS"; return 0; }

stop_tracked() {
  local p
  [ -f "$PIDS" ] || return 0
  # kill_ours (lib.sh): a pid whose process ended may belong to someone else by now.
  while read -r p; do kill_ours TERM "$p"; done < "$PIDS"
  while read -r p; do
    for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill_ours KILL "$p"
  done < "$PIDS"
  rm -f "$PIDS"
}

unmount_all() {
  local m
  [ -f "$MOUNTS" ] || return 0
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < "$MOUNTS"
  rm -f "$MOUNTS"
}

# Private clusters a scenario started (scripts/pg), stopped at the end whatever happens.
CLUSTERS=$TEST_DIR/clusters
stop_clusters() {
  local d
  [ -f "$CLUSTERS" ] || return 0
  while read -r d; do "$SRC/scripts/pg" stop "$d" >/dev/null 2>&1 || true; done < "$CLUSTERS"
  rm -f "$CLUSTERS"
}

trap 'stop_daemon; stop_tracked; unmount_all; stop_clusters' EXIT

start_sink() {
  local name=$1; shift
  restart_sink "$name" "$(free_port)" "$@"
}

restart_sink() {
  local name=$1 port=$2; shift 2
  SINK_PORT=$port
  : > "$TEST_DIR/$name.out"
  "$PY" "$SRC/tests/integration/smtp_sink.py" "$port" "$TEST_DIR/$name" "$@" >> "$TEST_DIR/$name.out" 2>&1 &
  SINK_PID=$!
  track "$SINK_PID"
  for _ in $(seq 1 100); do grep -q ready "$TEST_DIR/$name.out" 2>/dev/null && return 0; sleep 0.1; done
  cat "$TEST_DIR/$name.out"; return 1
}

start_sms_api() {
  local name=$1 secret=$2 token=${3:-tok}
  rm -f "$TEST_DIR/$name.port"
  "$PY" "$SRC/tests/integration/fake_sms_api.py" "$TEST_DIR/$name.port" "$TEST_DIR/$name.log" "$secret" "$token" &
  track $!
  for _ in $(seq 1 100); do [ -f "$TEST_DIR/$name.port" ] && break; sleep 0.1; done
  SMS_API="http://127.0.0.1:$(cat "$TEST_DIR/$name.port")"
}

newsletter() {
  sql "INSERT INTO teams (slug, name) VALUES ('$1', 'Newsletter $1');
       INSERT INTO people (name) SELECT '$1 reader ' || g FROM generate_series(1, $2) g;
       INSERT INTO contacts (person_id, kind, address)
         SELECT id, 'email', '$1-' || split_part(name, ' ', 3) || '@example.org'
         FROM people WHERE name LIKE '$1 reader %';
       INSERT INTO memberships (person_id, team_id)
         SELECT p.id, t.id FROM people p JOIN teams t ON t.slug = '$1'
         WHERE p.name LIKE '$1 reader %'" > /dev/null
  cat > "$TEST_DIR/$1.tmpl" <<'T'
subject: Des nouvelles de {{team.name}}
--- text
Bonjour {{first_name}},
voici les nouvelles de la semaine : samedi, tractage au marché.
Se désinscrire : {{unsubscribe_url}}
T
  local id
  id=$("$TOCSIN" campaign create --channel email --segment "team:$1" --template "$TEST_DIR/$1.tmpl" | tail -n 1)
  "$TOCSIN" campaign send "$id" > /dev/null
}

count_status() {
  if [ $# -gt 1 ]; then
    sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '$1-%' AND status = '$2'"
  else
    sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '$1-%'"
  fi
}

received() {
  "$PY" - "$TEST_DIR/$1" <<'PY'
import os, sys
new = os.path.join(sys.argv[1], "new")
total, seen = 0, set()
for name in os.listdir(new) if os.path.isdir(new) else []:
    with open(os.path.join(new, name), "rb") as f:
        for line in f:
            if line.startswith(b"Delivered-To:"):
                seen.add(line.split(b":", 1)[1].strip().lower())
                break
            if not line.strip():
                break
    total += 1
print(total, len(seen))
PY
}

wait_until() {
  local cond=$1 limit=${2:-30}
  for _ in $(seq 1 $((limit * 10))); do eval "$cond" && return 0; sleep 0.1; done
  echo "timed out after ${limit}s waiting for: $cond"; return 1
}

daemon_bg() {
  local log=$1; shift
  env TOCSIN_HTTP_LISTEN="127.0.0.1:$(free_port)" "$@" "$TOCSIN" run >> "$TEST_DIR/$log" 2>&1 &
  BG_PID=$!
  track "$BG_PID"
}

kill9() {
  kill_ours KILL "$1"
  wait "$1" 2>/dev/null || true
  untrack "$1"
}

stop() {
  local p rc=0
  for p in "$@"; do kill_ours TERM "$p"; done
  for p in "$@"; do wait "$p" || rc=$?; untrack "$p"; done
  return $rc
}

now_s() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

export TOCSIN_SMTP_RETURN_PATH_DOMAIN=lists.example.org
export TOCSIN_SMTP_FROM=equipe@example.org
export TOCSIN_ENGINE_POLL_INTERVAL=1
# The suite runs at any hour: campaigns are not held for quiet hours.
export TOCSIN_ENGINE_QUIET_HOURS=off
