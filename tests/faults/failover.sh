# Scenario: a real PostgreSQL failover (pg_auto_failover: a monitor, a primary, a
# synchronous secondary) in the middle of a newsletter and of a stream of signed webhooks.
# tocsin is given both nodes in one libpq conninfo (target_session_attrs=read-write), as
# `pg_autoctl show uri` prints it; nothing tells it that a failover happened.
# Proves: the daemon reconnects to the new primary by itself; while no node takes writes
# the webhooks are answered 503 (the gateway retries) and each is applied exactly once; the
# newsletter reaches everyone, duplicates within the batches that were in flight.
fo_n=$(scale 300 5000)
fo_m=$(scale 20 200)

fault_case "pg_auto_failover: perform failover mid-newsletter ($fo_n) and mid-webhooks ($fo_m): tocsin follows the new primary alone, each webhook applied once, everyone served" '
  pgaf_start
  primary_before=$(pgaf_primary_port)
  # psql follows the primary too: libpq reads the same multi-host settings from the
  # environment.
  export PGHOST=127.0.0.1,127.0.0.1 PGPORT=$(echo "$PGAF_URL" | sed -n "s/.*port=\([0-9,]*\).*/\1/p")
  export PGTARGETSESSIONATTRS=read-write PGDATABASE=tocsin TOCSIN_DATABASE_URL="$PGAF_URL"
  "$TOCSIN" migrate > /dev/null
  sql "INSERT INTO teams (slug, name) VALUES ('\''paris-10'\'', '\''Paris 10e'\'')" > /dev/null
  start_sink fomx
  newsletter fo $fo_n
  hport=$(free_port)
  start_sms_api fo-api fo-secret
  daemon_bg fo-daemon.log TOCSIN_HTTP_LISTEN=127.0.0.1:$hport TOCSIN_HTTP_PUBLIC_URL=http://127.0.0.1:$hport \
    TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_RATE=$(scale 60 400) \
    TOCSIN_ENGINE_WORKERS=2 TOCSIN_ENGINE_BATCH=25 TOCSIN_ENGINE_RETRY_BASE=1 \
    TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_GENERIC_SECRET=fo-secret TOCSIN_SMS_API_URL=$SMS_API/generic
  d=$BG_PID
  health() { curl -s -o /dev/null -w "%{http_code}" --max-time 5 "http://127.0.0.1:$hport/healthz"; }
  wait_until "[ \"\$(health)\" = 200 ]" 30
  wait_until "[ \$(count_status fo sent) -ge $((fo_n / 5)) ]" 60

  # A gateway posting signed webhooks, each retried on 503 until accepted (as Twilio or a
  # Kannel box would), for the whole scenario.
  trap "touch $TEST_DIR/fo.stop" EXIT
  (trap - EXIT; for i in $(seq 1 $fo_m); do
     for try in $(seq 1 300); do
       [ ! -e "$TEST_DIR/fo.stop" ] || exit 0
       out=$($PY "$SRC/tests/integration/sms_helper.py" post-json "http://127.0.0.1:$hport/sms/generic" fo-secret \
             "{\"id\":\"fo-$i\",\"from\":\"+336300$(printf %05d $i)\",\"to\":\"+33700000000\",\"text\":\"JOIN paris-10\"}")
       echo "${out%% *}" >> fo-webhook.codes
       [ "${out%% *}" = 200 ] && break
       [ "${out%% *}" = 503 ] || { echo "webhook: $out" >> fo.err; break; }
       sleep 0.2
     done
   done) &
  gateway=$!
  wait_until "[ \$(wc -l < fo-webhook.codes) -ge $((fo_m / 4)) ]" 60

  inflight=$(sql "SELECT count(*) FROM outbound_messages WHERE status = '\''sending'\''")
  t0=$(now_s)
  pgaf_failover
  t1=$(now_s)
  primary_after=$(pgaf_primary_port)
  [ "$primary_after" != "$primary_before" ]
  wait_until "[ \"\$(health)\" = 200 ]" 60
  t2=$(now_s)
  wait $gateway
  [ ! -s fo.err ] || { cat fo.err; false; }
  wait_until "[ \$(count_status fo sent) -eq $fo_n ]" 180
  wait_until "[ \$(sql \"SELECT count(*) FROM outbound_messages WHERE status IN ('\''queued'\'', '\''sending'\'')\") = 0 ]" 60
  # The same process throughout: it reconnected, it was not restarted.
  kill -0 $d
  stop $d

  expect_eq "$(sql "SELECT inet_server_port()")" "$primary_after"
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''fo-%'\''")" $fo_m
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address LIKE '\''+336300%'\''")" $fo_m
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id WHERE i.provider_id LIKE '\''fo-%'\''")" $fo_m
  read total distinct < <(received fomx)
  expect_eq "$distinct" $fo_n
  dups=$((total - fo_n))
  refused=$(grep -c "^503$" fo-webhook.codes || true)
  figure "failover $primary_before -> $primary_after in $(elapsed $t0 $t1) s (pg_autoctl perform failover, until settled); /healthz 200 again $(elapsed $t0 $t2) s after it began; $fo_m signed webhooks ($refused answered 503 and retried): each applied once; newsletter $distinct/$fo_n received, $dups duplicate(s) ($inflight rows were sending when it began)"
  [ "$dups" -le "$inflight" ]
  pgaf_stop
'

# A primary fenced without a restart (what some HA tools do: default_transaction_read_only
# and a reload) keeps its sessions open; only a refused write tells. Two private clusters
# stand for the old and the new primary.
fault_case "a primary fenced read-only without a restart: the first refused write drops the connection, the next request lands on the writable host" '
  for c in fa fb; do
    echo "$TEST_DIR/$c" >> "$CLUSTERS"
    "$SRC/scripts/pg" start "$TEST_DIR/$c" "$TEST_DIR/$c-run" fast
    TOCSIN_DATABASE_URL="host=$TEST_DIR/$c-run dbname=tocsin user=postgres" "$TOCSIN" migrate > /dev/null
  done
  at() { "$PGBIN/psql" -X -q -t -A -h "$TEST_DIR/$1-run" -d tocsin -c "$2"; }
  hport=$(free_port)
  start_sms_api fence-api fence-secret
  daemon_bg fence.log TOCSIN_DATABASE_URL="host=$TEST_DIR/fa-run,$TEST_DIR/fb-run dbname=tocsin user=postgres target_session_attrs=read-write" \
    TOCSIN_HTTP_LISTEN=127.0.0.1:$hport TOCSIN_ENGINE_WORKERS=0 \
    TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_GENERIC_SECRET=fence-secret TOCSIN_SMS_API_URL=$SMS_API/generic
  d=$BG_PID
  post() { $PY "$SRC/tests/integration/sms_helper.py" post-json "http://127.0.0.1:$hport/sms/generic" fence-secret \
             "{\"id\":\"$1\",\"from\":\"+33640000001\",\"to\":\"+33700000000\",\"text\":\"HELP\"}"; }
  wait_until "curl -fs http://127.0.0.1:$hport/healthz > /dev/null" 20
  post fence-1 | grep -q "^200 "
  expect_eq "$(at fa "SELECT count(*) FROM inbound_messages")" 1
  at fa "ALTER SYSTEM SET default_transaction_read_only = on" > /dev/null
  at fa "SELECT pg_reload_conf()" > /dev/null
  sleep 0.5
  # One 503 at most per HTTP thread (two): each drops its read-only connection once.
  refused=0
  for i in $(seq 2 6); do
    for try in 1 2 3; do
      code=$(post fence-$i | cut -d" " -f1)
      [ "$code" = 200 ] && break
      [ "$code" = 503 ] || { echo "fence-$i: $code"; false; }
      refused=$((refused + 1))
    done
    [ "$code" = 200 ]
  done
  stop $d
  [ "$refused" -le 2 ]
  expect_eq "$(at fa "SELECT count(*) FROM inbound_messages")" 1
  expect_eq "$(at fb "SELECT string_agg(provider_id, '\'' '\'' ORDER BY provider_id) FROM inbound_messages")" "fence-2 fence-3 fence-4 fence-5 fence-6"
  figure "fenced primary: $refused webhook(s) answered 503 (one per HTTP connection at most), then every one applied once on the writable host"
'
