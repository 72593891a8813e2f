# Scenario: eight daemons of four workers each through PgBouncer in transaction pooling
# mode, with a pool of ten server connections, send one newsletter.
# Proves: nothing of tocsin needs a session on a pooled connection (statements are sent
# unnamed; LISTEN and the advisory locks of the presence, the scheduler and migrations go
# to [database] direct_url); claims stay disjoint through the pool: every recipient once,
# no row attempted twice; the pool never opens more than its ten server connections.
pb_n=$(scale 1000 5000)
pb_daemons=8 pb_workers=4 pb_pool=10

fault_case "$pb_daemons daemons x $pb_workers workers through PgBouncer (transaction mode, $pb_pool server connections) send a $pb_n-recipient newsletter: everyone once, none twice" '
  pgbouncer_start $pb_pool "$TEST_DB"
  direct=$TOCSIN_DATABASE_URL
  start_sink pb
  newsletter pb $pb_n
  # How many server connections the pool has open, sampled while the daemons work.
  (trap - EXIT; while [ ! -e "$TEST_DIR/pb.stop" ]; do
     pgbouncer_show servers | grep -c "^S|" >> pb-servers.txt || true
     sleep 0.3
   done) &
  sampler=$!
  trap "touch $TEST_DIR/pb.stop" EXIT
  started=()
  t0=$(now_s)
  for i in $(seq 1 $pb_daemons); do
    daemon_bg pb-daemon.log TOCSIN_DATABASE_URL="$POOL_URL" TOCSIN_DATABASE_DIRECT_URL="$direct" \
      TOCSIN_ENGINE_WORKERS=$pb_workers TOCSIN_ENGINE_BATCH=50 \
      TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT
    started+=($BG_PID)
  done
  wait_until "[ \$(count_status pb sent) -eq $pb_n ]" 180
  t1=$(now_s)
  touch "$TEST_DIR/pb.stop"
  wait $sampler
  stop "${started[@]}"
  read total distinct < <(received pb)
  expect_eq "$total $distinct" "$pb_n $pb_n"
  expect_eq "$(sql "SELECT max(attempts) FROM outbound_messages WHERE recipient LIKE '\''pb-%'\''")" 1
  most=$(sort -n pb-servers.txt | tail -n 1)
  [ "$most" -le $pb_pool ]
  ! grep -q "prepared statement\|level=error" pb-daemon.log
  figure "$pb_daemons daemons x $pb_workers workers through PgBouncer (pool of $pb_pool): $distinct/$pb_n received once each in $(elapsed $t0 $t1) s; at most $most server connections open"
'
