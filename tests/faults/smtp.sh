# Scenario: a relay answering 451 to 30% of messages, then gone for a while.
# Proves: transient failures and an unreachable relay only delay mail; every message is
# delivered exactly once, after retries with backoff.
fl_n=$(scale 300 2000)
fl_outage=$(scale 5 20)

fault_case "an SMTP relay answering 451 to 30% of messages, then away for $fl_outage s: all $fl_n delivered exactly once, after retries" '
  start_sink flaky --tempfail-rate 0.3
  port=$SINK_PORT
  newsletter fl $fl_n
  # Backoff capped at 4 s so the test waits seconds, not the production minutes; enough
  # attempts that a message unlucky with the 30% and the outage is never given up.
  daemon_bg fl-daemon.log TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$port TOCSIN_ENGINE_RETRY_BASE=1 \
    TOCSIN_ENGINE_RETRY_MAX=4 TOCSIN_ENGINE_MAX_ATTEMPTS=30 TOCSIN_ENGINE_BATCH=20 TOCSIN_SMTP_RATE=$(scale 150 400)
  d=$BG_PID
  wait_until "[ \$(count_status fl sent) -ge $((fl_n / 3)) ]" 60
  stop $SINK_PID || true
  # Results of a session the sink finished just before stopping may still be written.
  sleep 1
  down_at=$(count_status fl sent)
  sleep $fl_outage
  during=$(count_status fl sent)
  restart_sink flaky $port --tempfail-rate 0.3
  wait_until "[ \$(count_status fl sent) -eq $fl_n ]" 120
  stop $d
  expect_eq "$during" "$down_at"
  read total distinct < <(received flaky)
  expect_eq "$total $distinct" "$fl_n $fl_n"
  retried=$(sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '\''fl-%'\'' AND attempts > 1")
  e451=$(sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '\''fl-%'\'' AND last_error LIKE '\''%451 4.3.0%'\''")
  down=$(sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '\''fl-%'\'' AND last_error NOT LIKE '\''%451 4.3.0%'\''")
  maxa=$(sql "SELECT max(attempts) FROM outbound_messages WHERE recipient LIKE '\''fl-%'\''")
  figure "flaky relay: $fl_n/$fl_n delivered once; $retried needed a retry ($e451 last failed on a 451, $down on the outage), at most $maxa attempts"
  [ "$e451" -gt 0 ]
  [ "$down" -gt 0 ]
  grep -q "queue_send_result.*result=transient" fl-daemon.log
'
