# Scenario: one, two and three daemons on one database during a newsletter.
# Proves: SKIP LOCKED claims never hand a row to two daemons in normal operation; shows
# what more daemons bring (the sink and PostgreSQL share the same two cores).
md_n=$(scale 600 3000)

for md_d in 1 2 3; do
fault_case "$md_d daemon(s) on one database send a $md_n-recipient newsletter: every row once, none twice" '
  start_sink md$md_d
  newsletter md$md_d $md_n
  started=()
  t0=$(now_s)
  for i in $(seq 1 $md_d); do
    daemon_bg md-daemon.log TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT
    started+=($BG_PID)
  done
  wait_until "[ \$(count_status md$md_d sent) -eq $md_n ]" 120
  span=$(sql "SELECT extract(epoch FROM max(sent_at)) FROM outbound_messages WHERE recipient LIKE '\''md$md_d-%'\''")
  stop "${started[@]}"
  read total distinct < <(received md$md_d)
  expect_eq "$total $distinct" "$md_n $md_n"
  expect_eq "$(sql "SELECT max(attempts) FROM outbound_messages WHERE recipient LIKE '\''md$md_d-%'\''")" 1
  rate=$(echo "scale=0; $md_n / ($span - $t0)" | bc)
  figure "$md_d daemon(s): $md_n messages in $(echo "scale=2; ($span - $t0) / 1" | bc) s = $rate msg/s into one aiosmtpd sink"
'
done
