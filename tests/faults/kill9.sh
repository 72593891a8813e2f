# Scenario: kill -9 of the daemon during a newsletter, with the default configuration
# (a lease of 300 s).
# Proves: every recipient receives it within 60 s of the last restart: the rows a killed
# daemon held are taken over at once, because its claims name its presence lock, which
# PostgreSQL drops with its session; a kill costs at most the batches in flight as
# duplicates (at-least-once, like Postfix); no row is left 'sending'.
k9_n=$(scale 500 5000)
k9_kills=$(scale 1 3)
k9_workers=2 k9_batch=50

fault_case "kill -9 of the daemon $k9_kills time(s) during a $k9_n-recipient newsletter, default lease: everyone receives it within 60 s of the last restart, duplicates at most the in-flight batches" '
  start_sink k9
  newsletter k9 $k9_n
  env=(TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_ENGINE_WORKERS=$k9_workers
       TOCSIN_ENGINE_BATCH=$k9_batch TOCSIN_ENGINE_RETRY_BASE=1)
  inflight_total=0
  t0=$(now_s)
  for k in $(seq 1 $k9_kills); do
    daemon_bg k9-daemon.log "${env[@]}"
    wait_until "[ \$(count_status k9 sent) -ge $((k9_n * k / (k9_kills + 1))) ]" 120
    kill9 $BG_PID
    # In flight = the rows the killed daemon held.
    inflight=$(sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '\''k9-%'\'' AND status = '\''sending'\'' AND claimed_by LIKE '\''%:$BG_PID:%'\''")
    echo "kill $k: $inflight rows were sending"
    inflight_total=$((inflight_total + inflight))
  done
  t_restart=$(now_s)
  daemon_bg k9-daemon.log "${env[@]}"
  wait_until "[ \$(count_status k9 sent) -eq $k9_n ]" 60
  t1=$(now_s)
  stop $BG_PID
  expect_eq "$(count_status k9 sending)" 0
  read total distinct < <(received k9)
  expect_eq "$distinct" "$k9_n"
  # What arrived is the campaign as rendered for each reader.
  f=$(grep -l "^Delivered-To: k9-7@example.org" k9/new/* | head -n 1)
  grep -q "Subject: Des nouvelles de Newsletter k9" "$f"
  grep -q "voici les nouvelles de la semaine" "$f"
  dups=$((total - k9_n))
  figure "kill -9 x$k9_kills, $k9_n recipients, lease_seconds 300 (default): $distinct/$k9_n received, everything sent $(elapsed $t_restart $t1) s after the last restart ($(elapsed $t0 $t1) s in all); $dups duplicate(s) (bound $((k9_kills * k9_workers * k9_batch)) = kills x workers x batch; rows the killed daemons held: $inflight_total)"
  [ "$dups" -le "$inflight_total" ]
  [ "$inflight_total" -le $((k9_kills * k9_workers * k9_batch)) ]
  # The rows of the killed daemons were taken over (a second attempt), long before any lease.
  [ "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient LIKE '\''k9-%'\'' AND attempts > 1")" -ge 1 ]
'
