#!/usr/bin/env bash
# Kannel end to end, with Debian's kannel and kannel-extras: fakesmsc → bearerbox → smsbox
# → tocsin /sms/kannel for inbound; tocsin → smsbox sendsms → bearerbox → fakesmsc for
# outbound, with the delivery report coming back to /sms/kannel/dlr.
. "$SRC/tests/integration/lib.sh"
SECRET=kannel-shared-secret
K="$TEST_DIR/kannel"
mkdir -p "$K"
read -r ADMIN BOXES SMSC SENDSMS WEB < <(listen_ports 5)
BB_PID= SB_PID= FAKE_PID=
stop_kannel() {
  kill_ours TERM $FAKE_PID $SB_PID $BB_PID
  for p in $FAKE_PID $SB_PID $BB_PID; do wait "$p" 2>/dev/null; done
  FAKE_PID= SB_PID= BB_PID=
}
trap 'stop_daemon; stop_kannel' EXIT

# The sms-service block is the one docs/sms.md tells operators to paste.
cat > "$K/kannel.conf" <<CONF
group = core
admin-port = $ADMIN
admin-password = admin-secret
admin-allow-ip = 127.0.0.1
smsbox-port = $BOXES
box-allow-ip = 127.0.0.1
store-type = file
store-location = "$K/kannel.store"
dlr-storage = internal
log-file = "$K/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = $SMSC
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $SENDSMS
log-file = "$K/smsbox.log"
log-level = 1

group = sendsms-user
username = tocsin
password = sendsms-password

group = sms-service
keyword = default
catch-all = true
get-url = "http://127.0.0.1:$WEB/sms/kannel?from=%p&to=%P&text=%a&id=%I&secret=$SECRET"
max-messages = 0
concatenation = true
CONF

# tocsin on the port the sms-service calls, sending through the smsbox.
HTTP="http://127.0.0.1:$WEB"
export TOCSIN_HTTP_LISTEN="127.0.0.1:$WEB" TOCSIN_HTTP_PUBLIC_URL="$HTTP" \
  TOCSIN_SMS_PROVIDER=kannel TOCSIN_SMS_API_URL="http://127.0.0.1:$SENDSMS" \
  TOCSIN_SMS_ACCOUNT=tocsin TOCSIN_SMS_TOKEN=sendsms-password TOCSIN_SMS_FROM=+33700000000 \
  TOCSIN_SMS_KANNEL_SECRET=$SECRET
"$TOCSIN" run >>"$TEST_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do curl -fs "$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

bearerbox "$K/kannel.conf" >"$K/bearerbox.out" 2>&1 & BB_PID=$!
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$ADMIN/status?password=admin-secret" >/dev/null 2>&1 && break; sleep 0.1; done
smsbox "$K/kannel.conf" >"$K/smsbox.out" 2>&1 & SB_PID=$!
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$SENDSMS/" >/dev/null 2>&1 && break; sleep 0.1; done

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null

wait_for() { # seconds, shell condition
  local i
  for i in $(seq 1 $(($1 * 10))); do eval "$2" && return 0; sleep 0.1; done
  eval "$2"
}

test_case 'a text from the phone reaches tocsin through bearerbox and smsbox, once' '
  /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r $SMSC -i 0.1 -m 1 "+33611111111 +33700000000 text JOIN paris-10" >"$K/fakesmsc.out" 2>&1 &
  FAKE_PID=$!
  wait_for 30 "[ \"\$(sql \"SELECT count(*) FROM inbound_messages WHERE provider = '"'"'kannel'"'"'\")\" = 1 ]"
  expect_eq "$(sql "SELECT sender || '"'"' '"'"' || recipient || '"'"' '"'"' || body FROM inbound_messages WHERE provider = '"'"'kannel'"'"'")" "+33611111111 +33700000000 JOIN paris-10"
  sql "SELECT provider_id FROM inbound_messages WHERE provider = '"'"'kannel'"'"'" | grep -Eq "^[0-9a-f-]{36}$"
'

test_case 'the reply leaves through the queue and sendsms, reaches the phone, and is reported delivered' '
  in_id=$(sql "SELECT id FROM inbound_messages WHERE provider = '"'"'kannel'"'"'")
  wait_for 30 "[ \"\$(sql \"SELECT status FROM outbound_messages WHERE inbound_id = $in_id\")\" = delivered ]"
  reply=$(sql "SELECT body FROM outbound_messages WHERE inbound_id = $in_id")
  expect_eq "$(sql "SELECT provider_id = '"'"'tocsin-'"'"' || id FROM outbound_messages WHERE inbound_id = $in_id")" t
  first_line=$(printf "%s" "$reply" | head -n 1)
  grep -F "Got message" "$K/fakesmsc.out" | grep -qF "+33700000000 +33611111111 text ${first_line%% *}"
  expect_eq "$(sql "SELECT sms_encoding IS NOT NULL AND sms_segments >= 1 FROM outbound_messages WHERE inbound_id = $in_id")" t
'

test_case 'a text from tocsin reaches the phone through smsbox and bearerbox, and its report comes back' '
  id=$(sql "INSERT INTO outbound_messages (channel, recipient, body, status, dedupe_key, sms_provider) VALUES ('"'"'sms'"'"', '"'"'+33611111111'"'"', '"'"'Bienvenue dans paris-10'"'"', '"'"'sending'"'"', '"'"'e2e-1'"'"', '"'"'kannel'"'"') RETURNING id")
  out=$("$TOCSIN" sms-test --provider kannel --id "$id" --to +33611111111 "Bienvenue dans paris-10")
  expect_eq "$out" "ok provider_id=tocsin-$id retry_after=0 error=-"
  # The row is claimed as the queue claims it (its gateway named before the send), and the
  # send recorded as the queue does: only a row still sending, since Kannel'"'"'s reports can
  # arrive before this line and must not be overwritten.
  sql "UPDATE outbound_messages SET provider_id = '"'"'tocsin-$id'"'"', sms_provider = '"'"'kannel'"'"', status = '"'"'sent'"'"' WHERE id = $id AND status = '"'"'sending'"'"'"
  wait_for 30 "grep -q \"Got message .*+33700000000 +33611111111 text Bienvenue dans paris-10\" \"$K/fakesmsc.out\""
  wait_for 30 "[ \"\$(sql \"SELECT status FROM outbound_messages WHERE id = $id\")\" = delivered ]"
  expect_eq "$(sql "SELECT string_agg(detail, '"'"','"'"' ORDER BY detail) FROM sms_delivery_reports WHERE outbound_id = $id")" "delivered,submitted"
'

test_case 'Kannel logs show no error and the sendsms user was accepted' '
  # A first start has no store file yet: Kannel says so, and that is all it may say.
  ! grep -E "ERROR|PANIC" "$K/bearerbox.log" "$K/smsbox.log" | grep -Ev "fopen failed: couldn.t open .*kannel.store|System error 2"
  grep -q "sendsms used by <tocsin>" "$K/smsbox.log"
'
