# Scenario: the same Twilio webhook delivered three times at once (Twilio retries a
# request that timed out while the first is still being processed).
# Proves: whether applied at once or stored first, one inbound row, one effect (one membership), one reply queued and sent (to a fake
# Twilio REST API: Twilio's webhooks are served only when Twilio is the provider); every copy
# is answered 200 so Twilio stops retrying.
tw_rounds=$(scale 20 100)
tw_token=twilio-auth-token-faults

fault_case "the same signed Twilio webhook delivered 3 times concurrently, $tw_rounds times over: one effect and one reply each" '
  sql "INSERT INTO teams (slug, name) VALUES ('\''paris-10'\'', '\''Paris 10e'\'') ON CONFLICT DO NOTHING" > /dev/null
  port=$(free_port)
  start_sms_api tw-api unused $tw_token
  daemon_bg tw-daemon.log TOCSIN_HTTP_LISTEN=127.0.0.1:$port TOCSIN_HTTP_PUBLIC_URL=http://127.0.0.1:$port \
    TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_API_URL=$SMS_API TOCSIN_SMS_ACCOUNT=AC123 TOCSIN_SMS_FROM=+33700000000 \
    TOCSIN_SMS_TOKEN=$tw_token TOCSIN_SMS_RATE=0
  d=$BG_PID
  wait_until "curl -fs http://127.0.0.1:$port/healthz > /dev/null" 20
  $PY "$SRC/tests/faults/twilio_burst.py" "http://127.0.0.1:$port/sms/twilio" $tw_token $tw_rounds 3 > burst.out
  cat burst.out
  expect_eq "$(cat burst.out)" "200 $((tw_rounds * 3))"
  # Copies that met a busy daemon were stored and answered at once (docs/sms.md, Bursts).
  wait_until "[ \$(sql \"SELECT count(*) FROM sms_backlog\") = 0 ]" 30
  q="FROM inbound_messages WHERE provider = '\''twilio'\'' AND provider_id LIKE '\''SMburst%'\''"
  expect_eq "$(sql "SELECT count(*) $q")" $tw_rounds
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address LIKE '\''+3361300%'\''")" $tw_rounds
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE inbound_id IN (SELECT id $q)")" $tw_rounds
  wait_until "[ \$(sql \"SELECT count(*) FROM outbound_messages WHERE inbound_id IN (SELECT id $q) AND status = '\''sent'\''\") = $tw_rounds ]" 30
  stop $d
  expect_eq "$(grep -c "\"To\": \"+3361300" tw-api.log)" $tw_rounds
  expect_eq "$(grep -o "\"To\": \"+3361300[0-9]*\"" tw-api.log | sort -u | wc -l)" $tw_rounds
  figure "Twilio burst: $tw_rounds messages x 3 concurrent copies = $((tw_rounds * 3)) requests, all 200 ($(grep -c "outcome=stored" "$TEST_DIR/tw-daemon.log" || true) stored first); $tw_rounds inbound rows, $tw_rounds memberships, $tw_rounds replies sent to the Twilio API"
'
