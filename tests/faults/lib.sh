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
#   daemon_bg LOG [ENV=VALUE …]    one more `tocsin run` (HTTP on a port the kernel picks); sets BG_PID
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

# pg_auto_failover (Debian's postgresql-15-auto-failover): a monitor, a primary and a
# secondary, each a private cluster on a free loopback port, run as the postgres user
# (initdb refuses root). Their configuration and state live under $TEST_DIR/pgaf
# (XDG_* point there, not at ~postgres), so runs never share anything.
#   pgaf_start          the formation, settled; sets PGAF_URL: a libpq conninfo naming
#                       both nodes with target_session_attrs=read-write, as tocsin uses it
#   pgaf_states         "PORT:STATE PORT:STATE" as the monitor reports them
#   pgaf_primary_port   the port of the node the monitor has as primary ("" if none)
#   pgaf_failover       `pg_autoctl perform failover`, then waits until the formation is
#                       primary + secondary again (the old primary rejoined)
#   pgaf_stop           keepers and clusters, also when the script ends
PGAF=$TEST_DIR/pgaf
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg_autoctl reads PGHOST, PGPORT, PGDATABASE like any libpq program: the test's point at
# the shared cluster and must not leak into the formation.
pgaf() {
  as_postgres env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGTARGETSESSIONATTRS XDG_CONFIG_HOME="$PGAF/config" XDG_DATA_HOME="$PGAF/data" \
    XDG_RUNTIME_DIR="$PGAF/run" PG_CONFIG="$PGBIN/pg_config" PATH="$PGBIN:$PATH" "$@"
}
autoctl() { pgaf pg_autoctl "$@"; }
# The keeper of a node (or the monitor) in the background, in a session of its own:
# pgaf_stop stops it.
pgaf_run() { (pgaf setsid pg_autoctl run --pgdata "$PGAF/$1" >> "$PGAF/$1.log" 2>&1 &); }

pgaf_states() {
  autoctl show state --pgdata "$PGAF/monitor" --json 2>/dev/null | "$PY" -c '
import json, sys
print(" ".join("%d:%s" % (n["nodeport"], n["current_group_state"])
               for n in sorted(json.load(sys.stdin), key=lambda n: n["node_id"])))'
}
pgaf_primary_port() { pgaf_states | tr " " "\n" | sed -n "s/:primary\$//p"; }
pgaf_settled() { [ "$(pgaf_states | tr " " "\n" | cut -d: -f2 | sort | tr "\n" " ")" = "primary secondary " ]; }

# A node: created (initdb, registered), tuned for tests, then its keeper started.
pgaf_node() {
  local name=$1 port=$2 monitor=$3
  autoctl create postgres --pgdata "$PGAF/$name" --pgport "$port" --pghost 127.0.0.1 \
    --listen 127.0.0.1 --hostname 127.0.0.1 --name "$name" --auth trust --no-ssl \
    --dbname tocsin --monitor "$monitor" > "$PGAF/create-$name.log" 2>&1 &
  local create=$!
  # A standby starts from pg_basebackup, which waits for a checkpoint on the primary: a
  # spread one takes minutes, an explicit CHECKPOINT finishes it at once.
  while kill -0 "$create" 2>/dev/null; do
    [ -z "${PGAF_PORT1:-}" ] || "$PGBIN/psql" -h 127.0.0.1 -p "$PGAF_PORT1" -U postgres -d tocsin -qXc CHECKPOINT >/dev/null 2>&1 || true
    sleep 0.5
  done
  wait "$create" || { tail -n 20 "$PGAF/create-$name.log"; return 1; }
  # fsync off as in every test cluster; the replication stays synchronous (what the monitor
  # set), so a commit acknowledged by the primary is on the standby.
  printf "fsync = off\nunix_socket_directories = '%s'\n" "$PGAF/sock" | as_postgres tee -a "$PGAF/$name/postgresql.conf" >/dev/null
  pgaf_run "$name"
}

pgaf_start() {
  mkdir -p "$PGAF/run" "$PGAF/sock"
  [ "$(id -u)" -ne 0 ] || chown -R postgres "$PGAF"
  echo "$PGAF" >> "$TEST_DIR/pgaf.started"
  local mport p2 monitor
  mport=$(free_port) PGAF_PORT1=$(free_port) p2=$(free_port)
  monitor="postgres://autoctl_node@127.0.0.1:$mport/pg_auto_failover?sslmode=disable"
  autoctl create monitor --pgdata "$PGAF/monitor" --pgport "$mport" --hostname 127.0.0.1 \
    --auth trust --no-ssl > "$PGAF/create-monitor.log" 2>&1 || { tail -n 20 "$PGAF/create-monitor.log"; return 1; }
  autoctl config set --pgdata "$PGAF/monitor" postgresql.listen_addresses 127.0.0.1 > /dev/null
  pgaf_run monitor
  wait_until "\"$PGBIN/psql\" -h 127.0.0.1 -p $mport -U autoctl_node -d pg_auto_failover -qXtAc \"SELECT 1\" >/dev/null 2>&1" 60
  local first=$PGAF_PORT1
  PGAF_PORT1=
  pgaf_node node1 "$first" "$monitor"
  PGAF_PORT1=$first
  wait_until "[ \"\$(pgaf_states)\" = \"$first:single\" ]" 60
  pgaf_node node2 "$p2" "$monitor"
  wait_until pgaf_settled 120
  PGAF_URL="host=127.0.0.1,127.0.0.1 port=$first,$p2 dbname=tocsin user=postgres target_session_attrs=read-write connect_timeout=5"
}

pgaf_failover() {
  autoctl perform failover --pgdata "$PGAF/monitor" > "$PGAF/failover.log" 2>&1 || { tail -n 20 "$PGAF/failover.log"; return 1; }
  wait_until pgaf_settled 120
}

pgaf_stop() {
  [ -f "$TEST_DIR/pgaf.started" ] || return 0
  local node
  for node in node2 node1 monitor; do
    [ -d "$PGAF/$node" ] || continue
    autoctl stop --pgdata "$PGAF/$node" >/dev/null 2>&1 || true
  done
  for node in node2 node1 monitor; do
    for _ in $(seq 1 100); do [ -f "$PGAF/$node/postmaster.pid" ] || break; sleep 0.2; done
    # A keeper that did not stop its cluster: stop the cluster ourselves.
    [ ! -f "$PGAF/$node/postmaster.pid" ] || as_postgres "$PGBIN/pg_ctl" -D "$PGAF/$node" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -f "$TEST_DIR/pgaf.started"
}

# PgBouncer (Debian's, 1.18) in transaction pooling mode in front of the test cluster, on a
# free loopback port, run as the postgres user (it refuses root); stopped at exit.
#   pgbouncer_start POOL_SIZE DBNAME   sets POOL_URL (through the pool), POOL_PORT
#   pgbouncer_show WHAT                the admin console's SHOW WHAT (pools, servers, ...)
PGB=$TEST_DIR/pgbouncer
pgbouncer_start() {
  local size=$1 db=$2
  mkdir -p "$PGB"
  POOL_PORT=$(free_port)
  cat > "$PGB/pgbouncer.ini" <<INI
[databases]
$db = host=$PGHOST dbname=$db user=postgres pool_size=$size
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOL_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB/users.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 2000
max_db_connections = $size
logfile = $PGB/pgbouncer.log
pidfile = $PGB/pgbouncer.pid
INI
  echo '"postgres" ""' > "$PGB/users.txt"
  [ "$(id -u)" -ne 0 ] || chown -R postgres "$PGB"
  as_postgres pgbouncer -d "$PGB/pgbouncer.ini"
  echo "$PGB" >> "$TEST_DIR/pgbouncer.started"
  wait_until "\"$PGBIN/psql\" -h 127.0.0.1 -p $POOL_PORT -U postgres -d $db -qXtAc \"SELECT 1\" >/dev/null 2>&1" 20
  POOL_URL="host=127.0.0.1 port=$POOL_PORT dbname=$db user=postgres"
}
pgbouncer_show() { "$PGBIN/psql" -h 127.0.0.1 -p "$POOL_PORT" -U postgres -d pgbouncer -qXAF"|" -c "SHOW $1"; }
pgbouncer_stop() {
  [ -f "$TEST_DIR/pgbouncer.started" ] || return 0
  local pid
  pid=$(cat "$PGB/pgbouncer.pid" 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do [ -f "$PGB/pgbouncer.pid" ] || break; sleep 0.1; done
  rm -f "$TEST_DIR/pgbouncer.started"
}

trap 'stop_daemon; stop_tracked; unmount_all; stop_clusters; pgaf_stop; pgbouncer_stop' EXIT

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

# A daemon whose HTTP port nobody calls listens where the kernel says (port 0): ports picked
# in advance for eight daemons started at once could meet, and one daemon then failed to
# listen. A caller that needs the port passes its own TOCSIN_HTTP_LISTEN (the later wins).
daemon_bg() {
  local log=$1; shift
  env TOCSIN_HTTP_LISTEN=127.0.0.1:0 "$@" "$TOCSIN" run >> "$TEST_DIR/$log" 2>&1 &
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
