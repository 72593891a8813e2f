# Scenario: PostgreSQL stopped and restarted (pg_ctl -m fast) mid-newsletter and while
# supporters' messages keep arriving. The shared test cluster serves other scripts, so
# this scenario runs its own private cluster (scripts/pg) in $TEST_DIR.
# Proves: the daemon stays up and reconnects with backoff; while the database is down an
# inbound message is refused with "try later" (webhooks 503, sms-inject exit 75, /healthz
# 503); the senders' retries land exactly once after; the newsletter completes.
pg_n=$(scale 500 5000)
pg_m=$(scale 20 100)
pg_outage=$(scale 3 10)

fault_case "PostgreSQL stopped for $pg_outage s then restarted (-m fast) mid-newsletter and mid-inbound load: daemon reconnects, inbound refused with try-later meanwhile, each retried message applied once" '
  P=$TEST_DIR/pgp-run
  echo "$TEST_DIR/pgp" >> "$CLUSTERS"
  "$SRC/scripts/pg" start "$TEST_DIR/pgp" "$P" fast
  export PGHOST=$P PGDATABASE=tocsin TOCSIN_DATABASE_URL="host=$P dbname=tocsin user=postgres"
  "$TOCSIN" migrate > /dev/null
  sql "INSERT INTO teams (slug, name) VALUES ('\''paris-10'\'', '\''Paris 10e'\'')" > /dev/null
  start_sink pgmx
  newsletter pg $pg_n
  hport=$(free_port)
  start_sms_api pg-api pg-secret
  daemon_bg pg-daemon.log TOCSIN_HTTP_LISTEN=127.0.0.1:$hport TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT \
    TOCSIN_SMTP_RATE=$(scale 100 400) TOCSIN_ENGINE_BATCH=25 TOCSIN_ENGINE_LEASE_SECONDS=30 TOCSIN_ENGINE_RETRY_BASE=1 \
    TOCSIN_HTTP_PUBLIC_URL=http://127.0.0.1:$hport TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_GENERIC_SECRET=pg-secret \
    TOCSIN_SMS_API_URL=$SMS_API/generic
  d=$BG_PID
  health() { curl -s -o /dev/null -w "%{http_code}" --max-time 5 "http://127.0.0.1:$hport/healthz"; }
  wait_until "[ \"\$(health)\" = 200 ]" 20
  wait_until "[ \$(count_status pg sent) -ge $((pg_n / 5)) ]" 60

  # The senders below stop when this case ends, passed or failed (they would otherwise
  # retry against a stopped cluster), and give up a message after 30 s of refusals.
  trap "touch $TEST_DIR/pg.stop" EXIT
  # The sender: each message retried until accepted, as a gateway or an MTA would.
  (trap - EXIT; for i in $(seq 1 $pg_m); do
     for try in $(seq 1 150); do
       [ ! -e "$TEST_DIR/pg.stop" ] || exit 0
       rc=0; "$TOCSIN" sms-inject --from "+336100$(printf %05d $i)" --to +33700000000 --text "JOIN paris-10" --id "pg-$i" > /dev/null 2>>inject.log || rc=$?
       echo "$rc" >> inject.rc
       [ "$rc" = 0 ] && break
       [ "$rc" = 75 ] || { echo "sms-inject exit $rc" >> inject.err; break; }
       sleep 0.2
     done
     sleep 0.2
   done) &
  sender=$!
  # A gateway: signed /sms/generic webhooks, each retried on 503 until accepted.
  (trap - EXIT; for i in $(seq 1 $pg_m); do
     for try in $(seq 1 150); do
       [ ! -e "$TEST_DIR/pg.stop" ] || exit 0
       out=$($PY "$SRC/tests/integration/sms_helper.py" post-json "http://127.0.0.1:$hport/sms/generic" pg-secret \
             "{\"id\":\"gw-$i\",\"from\":\"+336200$(printf %05d $i)\",\"to\":\"+33700000000\",\"text\":\"JOIN paris-10\"}")
       echo "${out%% *}" >> webhook.codes
       [ "${out%% *}" = 200 ] && break
       [ "${out%% *}" = 503 ] || { echo "webhook: $out" >> inject.err; break; }
       sleep 0.2
     done
     sleep 0.2
   done) &
  gateway=$!
  sleep 0.3
  "$SRC/scripts/pg" stop "$TEST_DIR/pgp"
  expect_eq "$(health)" 503
  down="{\"id\":\"gw-down\",\"from\":\"+33610088888\",\"to\":\"+33700000000\",\"text\":\"JOIN paris-10\"}"
  out=$($PY "$SRC/tests/integration/sms_helper.py" post-json "http://127.0.0.1:$hport/sms/generic" pg-secret "$down")
  expect_eq "${out%% *}" 503
  rc=0; "$TOCSIN" sms-inject --from +33610099999 --to +33700000000 --text "JOIN paris-10" --id pg-down > /dev/null 2>&1 || rc=$?
  expect_eq "$rc" 75
  frozen=$(date +%s)
  sleep $pg_outage
  "$SRC/scripts/pg" start "$TEST_DIR/pgp" "$P" fast
  wait_until "[ \"\$(health)\" = 200 ]" 30
  back_s=$(( $(date +%s) - frozen - pg_outage ))
  sleep 1
  "$SRC/scripts/pg" restart "$TEST_DIR/pgp"
  # Right after a restart the idle connections of the daemon are dead; the first request on
  # each must notice it and reconnect, not fail (db.c reads the goodbye of the server first).
  for _ in 1 2 3 4; do expect_eq "$(health)" 200; done
  "$TOCSIN" sms-inject --from +33610099999 --to +33700000000 --text "JOIN paris-10" --id pg-down > /dev/null
  $PY "$SRC/tests/integration/sms_helper.py" post-json "http://127.0.0.1:$hport/sms/generic" pg-secret "$down" | grep -q "^200 "
  wait $sender
  wait $gateway
  [ ! -s inject.err ] || { cat inject.err; false; }
  wait_until "[ \$(count_status pg sent) -eq $pg_n ]" 120
  wait_until "[ \$(sql \"SELECT count(*) FROM outbound_messages WHERE status IN ('\''queued'\'', '\''sending'\'')\") = 0 ]" 60
  kill -0 $d
  stop $d

  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''pg-%'\''")" $((pg_m + 1))
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider = '\''generic'\'' AND provider_id LIKE '\''gw-%'\''")" $((pg_m + 1))
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN teams t ON t.id = m.team_id WHERE t.slug = '\''paris-10'\''")" $((2 * pg_m + 2))
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE inbound_id IS NOT NULL")" $((2 * pg_m + 2))
  expect_eq "$(count_status pg sending)" 0
  read total distinct < <(received pgmx)
  expect_eq "$distinct" $pg_n
  # The outage is shorter than the lease: no batch is taken over, so nothing is sent twice.
  dups=$((total - pg_n))
  expect_eq "$dups" 0
  refused=$(grep -c "^75$" inject.rc || true)
  [ "$refused" -ge 1 ]
  refused_http=$(grep -c "^503$" webhook.codes || true)
  [ "$refused_http" -ge 1 ]
  failures=$(grep -c "queue_claim_failed\|queue_record_failed" pg-daemon.log || true)
  figure "PostgreSQL down ${pg_outage} s + a restart: $pg_m signed webhooks ($refused_http answered 503 and retried), $pg_m+1 sms-inject ($refused exit 75 retried) and one more webhook (503, then 200): each applied once, newsletter $distinct/$pg_n received, $dups duplicate(s); daemon healthy $back_s s after the server came back; $failures claim/record failures logged while down (backoff 2, 4, 8 … s per worker)"
'
