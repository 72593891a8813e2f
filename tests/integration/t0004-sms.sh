#!/usr/bin/env bash
# SMS gateways: signed webhooks in (Twilio, Vonage, Kannel, generic), delivery reports,
# concatenated parts, refusals with no effect, GSM-7/UCS-2 costs. A gateway's routes are
# served only while it is the configured provider, so each section runs its own daemon
# (without outbound workers: the replies it queues stay queued).
. "$SRC/tests/integration/lib.sh"
H="/usr/bin/python3 $SRC/tests/integration/sms_helper.py"
TOKEN=twilio-auth-token-0123456789abcdef
VSECRET=vonage-signature-secret
KSECRET=kannel-shared-secret
GSECRET=generic-hmac-secret
MTOKEN=metrics-bearer-token

gateway() { # PROVIDER [ENV=VALUE ...]: a daemon serving that gateway's webhooks
  local provider=$1; shift
  stop_daemon
  start_daemon TOCSIN_SMS_PROVIDER=$provider TOCSIN_ENGINE_WORKERS=0 TOCSIN_SMS_API_URL=http://127.0.0.1:9 \
    TOCSIN_SMS_ACCOUNT=AC-test TOCSIN_SMS_TOKEN=api-secret TOCSIN_HTTP_METRICS_TOKEN=$MTOKEN "$@"
}
metrics() { curl -s -H "Authorization: Bearer $MTOKEN" "$HTTP/metrics"; }
inbound() { sql "SELECT count(*) FROM inbound_messages WHERE provider = '$1'"; }
# "BODY CODE" of a request, the body on one line.
hit() { curl -s -w " %{http_code}" "$@" | tr -d "\n"; }
# The database refuses the daemon (new connections, existing ones terminated), and back.
db_cut() {
  PGDATABASE=postgres sql "ALTER DATABASE \"$TEST_DB\" ALLOW_CONNECTIONS false" >/dev/null
  PGDATABASE=postgres sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$TEST_DB'" >/dev/null
}
db_back() { PGDATABASE=postgres sql "ALTER DATABASE \"$TEST_DB\" ALLOW_CONNECTIONS true" >/dev/null; }

gateway twilio TOCSIN_SMS_TOKEN=$TOKEN

# ---- Twilio ----------------------------------------------------------------------------
test_case 'Twilio: a signed text is recorded once and answered with empty TwiML' '
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0001 From=+33611111111 To=+33700000000 "Body=JOIN paris-10")
  expect_eq "$out" "200 text/xml <?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
  expect_eq "$(sql "SELECT sender || '"'"' '"'"' || recipient || '"'"' '"'"' || body FROM inbound_messages WHERE provider_id = '"'"'SM0001'"'"'")" "+33611111111 +33700000000 JOIN paris-10"
'

test_case 'Twilio: the same request replayed has no second effect' '
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0001 From=+33611111111 To=+33700000000 "Body=JOIN paris-10")
  expect_eq "${out%% *}" 200
  expect_eq "$(inbound twilio)" 1
'

test_case 'Twilio: forged, altered, mis-addressed and unsigned requests get 403 and change nothing' '
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --sign-token wrong-token MessageSid=SM0002 From=+33611111111 Body=STOP)
  expect_eq "${out%% *}" 403
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --tamper Body=STOPALL MessageSid=SM0003 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 403
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --sign-url "$HTTP/sms/twilio?x=1" MessageSid=SM0004 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 403
  code=$(curl -s -o /dev/null -w "%{http_code}" -d "MessageSid=SM0005&From=%2B33611111111&Body=HELP" "$HTTP/sms/twilio")
  expect_eq "$code" 403
  expect_eq "$(inbound twilio)" 1
  grep -q "event=sms_signature_refused provider=twilio" "$TEST_DIR/daemon.log"
  metrics | grep -q "^tocsin_sms_webhooks_total{provider=\"twilio\",result=\"forbidden\"} 4$"
'

test_case 'Twilio: a query string is part of what is signed' '
  out=$($H twilio "$HTTP/sms/twilio?campaign=7" $TOKEN MessageSid=SM0006 From=0611111112 Body=HELP)
  expect_eq "${out%% *}" 200
  expect_eq "$(sql "SELECT sender FROM inbound_messages WHERE provider_id = '"'"'SM0006'"'"'")" "+33611111112"
'

test_case 'Twilio: malformed or incomplete requests get 400 with a reason and change nothing' '
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0007 Body=HELP)
  expect_eq "$out" "400 text/plain; charset=utf-8 missing sender number"
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0008 From=hello Body=HELP)
  expect_eq "$out" "400 text/plain; charset=utf-8 bad sender number"
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN From=+33611111111 Body=HELP)
  expect_eq "$out" "400 text/plain; charset=utf-8 missing MessageSid"
  body=$(hit -H "X-Twilio-Signature: x" -d "Body=%ZZ" "$HTTP/sms/twilio")
  expect_eq "$body" "bad percent escape 400"
  expect_eq "$(inbound twilio)" 2
'

sql "INSERT INTO people (name) VALUES ('Camille');
     INSERT INTO contacts (person_id, kind, address) VALUES (1, 'phone', '+33622222222');
     INSERT INTO outbound_messages (channel, recipient, body, status, provider_id, dedupe_key, kind, sms_provider)
     VALUES ('sms', '+33611111111', 'Bienvenue', 'sent', 'SMout1', 'k1', 'reply', 'twilio'),
            ('sms', '+33611111111', 'Rappel', 'sent', 'SMout2', 'k2', 'reminder', 'twilio'),
            ('sms', '+33622222222', 'Manif', 'sent', 'SMout3', 'k3', 'campaign', 'twilio'),
            ('sms', '+33611111111', 'Tard', 'sending', NULL, 'k4', 'reply', NULL),
            ('sms', '+33611111111', 'Autre', 'sent', 'SMkannel1', 'k5', 'reply', 'kannel')" >/dev/null

test_case 'Twilio status callbacks: delivered, then a late "sent" does not undo it' '
  out=$($H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMout1 MessageStatus=delivered To=+33611111111)
  expect_eq "${out%% *}" 204
  out=$($H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMout1 MessageStatus=sent To=+33611111111)
  expect_eq "${out%% *}" 204
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || delivery_status || '"'"' '"'"' || (delivered_at IS NOT NULL) FROM outbound_messages WHERE provider_id = '"'"'SMout1'"'"'")" "delivered delivered true"
'

test_case 'Twilio status callbacks: undelivered keeps the ErrorCode' '
  $H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMout2 MessageStatus=undelivered ErrorCode=30005 To=+33611111111
  expect_eq "$(sql "SELECT status || '"'"' / '"'"' || last_error FROM outbound_messages WHERE provider_id = '"'"'SMout2'"'"'")" "failed / twilio 30005: undelivered"
'

test_case 'Twilio 21610 (opted out at the carrier) is appended to the consent ledger once' '
  for i in 1 2; do
    $H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMout3 MessageStatus=failed ErrorCode=21610 To=+33622222222
  done
  expect_eq "$(sql "SELECT action || '"'"' '"'"' || source || '"'"' '"'"' || channel FROM consent")" "opt_out carrier sms"
  expect_eq "$(sql "SELECT consent_allows('"'"'sms'"'"', '"'"'+33622222222'"'"', NULL)")" f
'

test_case 'a report that arrives before the provider id is stored is applied when it is' '
  $H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMlate MessageStatus=delivered
  expect_eq "$(sql "SELECT count(*) FROM sms_delivery_reports WHERE provider_id = '"'"'SMlate'"'"' AND outbound_id IS NULL")" 1
  sql "UPDATE outbound_messages SET provider_id = '"'"'SMlate'"'"', sms_provider = '"'"'twilio'"'"', status = '"'"'sent'"'"' WHERE dedupe_key = '"'"'k4'"'"'"
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE dedupe_key = '"'"'k4'"'"'")" delivered
'

test_case 'a Twilio status callback leaves a message another gateway sent alone, whatever id it names' '
  out=$($H twilio "$HTTP/sms/twilio/status" $TOKEN MessageSid=SMkannel1 MessageStatus=failed ErrorCode=30005)
  expect_eq "${out%% *}" 204
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || coalesce(delivery_status, '"'"'-'"'"') FROM outbound_messages WHERE dedupe_key = '"'"'k5'"'"'")" "sent -"
  expect_eq "$(sql "SELECT outbound_id IS NULL FROM sms_delivery_reports WHERE provider_id = '"'"'SMkannel1'"'"'")" t
'

test_case 'Twilio status callbacks are signed too' '
  out=$($H twilio "$HTTP/sms/twilio/status" $TOKEN --sign-token nope MessageSid=SMout2 MessageStatus=delivered)
  expect_eq "${out%% *}" 403
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE provider_id = '"'"'SMout2'"'"'")" failed
'

test_case 'Twilio: 503 while the database is unreachable, then the retry goes through once' '
  db_cut
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0503 From=+33611111111 Body=HELP)
  db_back
  expect_eq "${out%% *}" 503
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/twilio")" 405
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SM0503 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 200
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '"'"'SM0503'"'"'")" 1
'

# ---- Vonage ----------------------------------------------------------------------------
gateway vonage TOCSIN_SMS_VONAGE_SIGNATURE_SECRET=$VSECRET
vonage_get() { # name=value ... → "BODY CODE", signed with $VSECRET, stamped now unless given
  local sig q args=("$@")
  printf "%s\n" "${args[@]}" | grep -q "^timestamp=" || args+=("timestamp=$(date +%s)")
  set -- "${args[@]}"
  sig=$($H vonage-sig $VSECRET "$@")
  q=$(/usr/bin/python3 -c 'import sys,urllib.parse; print(urllib.parse.urlencode([tuple(a.split("=",1)) for a in sys.argv[1:]]))' "$@" "sig=$sig")
  hit "$HTTP/sms/vonage${PATH_SUFFIX:-}?$q"
}

test_case 'Vonage: a text in three parts arriving 3, 1, 2 is read once, in order' '
  C="concat=true concat-ref=0A7F concat-total=3 msisdn=33633333333 to=33700000000 type=text"
  out=$(vonage_get $C concat-part=3 messageId=P3 "text=s au local.")
  expect_eq "$out" "part stored 200"
  out=$(vonage_get $C concat-part=1 messageId=P1 "text=JOIN paris-10 et rendez-vou")
  expect_eq "$out" "part stored 200"
  expect_eq "$(inbound vonage)" 0
  out=$(vonage_get $C concat-part=2 messageId=P2 "text=s ce soir, tou")
  expect_eq "$out" "ok 200"
  expect_eq "$(sql "SELECT provider_id || '"'"'|'"'"' || sender || '"'"'|'"'"' || body FROM inbound_messages WHERE provider = '"'"'vonage'"'"'")" "P1|+33633333333|JOIN paris-10 et rendez-vous ce soir, tous au local."
'

test_case 'Vonage: a part replayed after completion has no second effect' '
  out=$(vonage_get concat=true concat-ref=0A7F concat-total=3 msisdn=33633333333 to=33700000000 concat-part=2 messageId=P2 "text=s ce soir, tou")
  expect_eq "$out" "ok 200"
  expect_eq "$(inbound vonage)" 1
  expect_eq "$(sql "SELECT count(*) FROM sms_parts")" 3
'

test_case 'Vonage: JSON POST with a signature, and a bad or missing sig is refused' '
  now=$(date +%s)
  sig=$($H vonage-sig $VSECRET msisdn=33644444444 to=33700000000 messageId=J1 text=HELP timestamp=$now)
  code=$(curl -s -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" \
    -d "{\"msisdn\":\"33644444444\",\"to\":\"33700000000\",\"messageId\":\"J1\",\"text\":\"HELP\",\"timestamp\":$now,\"sig\":\"$sig\"}" "$HTTP/sms/vonage")
  expect_eq "$code" 200
  code=$(curl -s -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" \
    -d "{\"msisdn\":\"33644444444\",\"to\":\"33700000000\",\"messageId\":\"J2\",\"text\":\"STOP\",\"timestamp\":$now,\"sig\":\"$sig\"}" "$HTTP/sms/vonage")
  expect_eq "$code" 403
  code=$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/vonage?msisdn=33644444444&messageId=J3&text=STOP")
  expect_eq "$code" 403
  sig=$($H vonage-sig $VSECRET msisdn=33644444444 to=33700000000 messageId=F1 "text=RSVP a&b=c" timestamp=$now)
  code=$(curl -s -o /dev/null -w "%{http_code}" --data-urlencode msisdn=33644444444 --data-urlencode to=33700000000 \
    --data-urlencode messageId=F1 --data-urlencode "text=RSVP a&b=c" --data-urlencode timestamp=$now --data-urlencode sig=$sig "$HTTP/sms/vonage")
  expect_eq "$code" 200
  expect_eq "$(sql "SELECT body FROM inbound_messages WHERE provider_id = '"'"'F1'"'"'")" "RSVP a&b=c"
  expect_eq "$(inbound vonage)" 3
'

test_case 'Vonage: bad concat fields and malformed JSON get 400' '
  out=$(vonage_get concat=true concat-ref=Z concat-total=3 concat-part=4 msisdn=33633333333 messageId=X1 text=a)
  expect_eq "$out" "bad concat-ref, concat-total or concat-part 400"
  out=$(hit -H "Content-Type: application/json" -d "{\"msisdn\":" "$HTTP/sms/vonage")
  expect_eq "$out" "body is not valid JSON 400"
  expect_eq "$(inbound vonage)" 3
'

sql "INSERT INTO outbound_messages (channel, recipient, body, status, provider_id, dedupe_key, sms_provider)
     VALUES ('sms', '+33633333333', 'Long', 'sent', 'V-part1', 'v1', 'vonage')" >/dev/null
test_case 'Vonage DLR: every part names the row through client-ref' '
  id=$(sql "SELECT id FROM outbound_messages WHERE dedupe_key = '"'"'v1'"'"'")
  out=$(PATH_SUFFIX=/dlr vonage_get messageId=V-part2 status=delivered err-code=0 client-ref=$id msisdn=33633333333)
  expect_eq "$out" "ok 200"
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" delivered
  out=$(PATH_SUFFIX=/dlr vonage_get messageId=V-part9 status=rejected err-code=6 msisdn=33633333333)
  expect_eq "$out" "ok 200"
  expect_eq "$(sql "SELECT outbound_id IS NULL FROM sms_delivery_reports WHERE provider_id = '"'"'V-part9'"'"'")" t
'

test_case 'Vonage: 503 while the database is unreachable' '
  db_cut
  out=$(vonage_get concat=true concat-ref=DOWN concat-total=2 concat-part=1 msisdn=33633333333 messageId=D1 text=a)
  db_back
  expect_eq "${out##* }" 503
  expect_eq "$(sql "SELECT count(*) FROM sms_parts WHERE ref = '"'"'DOWN'"'"'")" 0
'

# ---- Kannel ----------------------------------------------------------------------------
gateway kannel TOCSIN_SMS_KANNEL_SECRET=$KSECRET
SECRET=$KSECRET
test_case 'Kannel: get-url with the shared secret is recorded once; a wrong secret is refused' '
  q="from=%2B33655555555&to=36173&text=AIDE&id=6d1c7a52-2b1c-4f5e-9a51-0c3f1a2b3c4d"
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel?$q&secret=$SECRET")" 200
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel?$q&secret=$SECRET")" 200
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel?${q/6d1c/7d1c}&secret=nope")" 403
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel?${q/6d1c/8d1c}")" 403
  expect_eq "$(inbound kannel)" 1
  expect_eq "$(sql "SELECT recipient FROM inbound_messages WHERE provider = '"'"'kannel'"'"'")" 36173
  out=$(hit "$HTTP/sms/kannel?from=%2B33655555555&text=x&secret=$SECRET")
  expect_eq "$out" "missing id (use %I in the get-url) 400"
'

sql "INSERT INTO outbound_messages (channel, recipient, body, status, provider_id, dedupe_key, sms_provider)
     VALUES ('sms', '+33655555555', 'Salut', 'sent', 'tocsin-' || currval('outbound_messages_id_seq') + 1, 'kn1', 'kannel')" >/dev/null
test_case 'Kannel DLR: 8 (SMSC accepted) then 1 (delivered); 16 is a failure; bad type is 400' '
  id=$(sql "SELECT id FROM outbound_messages WHERE dedupe_key = '"'"'kn1'"'"'")
  expect_eq "$(curl -s "$HTTP/sms/kannel/dlr?id=$id&type=8&secret=$SECRET")" ok
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || delivery_status FROM outbound_messages WHERE id = $id")" "sent submitted"
  expect_eq "$(curl -s "$HTTP/sms/kannel/dlr?id=$id&type=1&secret=$SECRET")" ok
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" delivered
  expect_eq "$(hit "$HTTP/sms/kannel/dlr?id=$id&type=3&secret=$SECRET")" "unknown type (expected 1, 2, 4, 8 or 16) 400"
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel/dlr?id=$id&type=16")" 403
'

test_case 'Kannel: 503 while the database is unreachable' '
  db_cut
  code=$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/sms/kannel?from=%2B33655555555&text=x&id=u503&secret=$SECRET")
  db_back
  expect_eq "$code" 503
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '"'"'u503'"'"'")" 0
'

# ---- generic ---------------------------------------------------------------------------
gateway generic TOCSIN_SMS_GENERIC_SECRET=$GSECRET
SECRET=$GSECRET
test_case 'generic: signed JSON is recorded once; bad or missing signatures are refused' '
  body="{\"id\":\"g-1\",\"from\":\"+33666666666\",\"to\":\"+33700000000\",\"text\":\"EVENTS\"}"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "$body")" "200 {\"status\":\"ok\"}"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "$body")" "200 {\"status\":\"ok\"}"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "${body/g-1/g-2}" --bad-sig)" "403 bad signature"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "${body/g-1/g-3}" --no-sig)" "403 signature required"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "[1,2]")" "400 JSON body is not an object"
  expect_eq "$($H post-json "$HTTP/sms/generic" $SECRET "{\"id\":\"g-4\",\"text\":\"x\"}")" "400 missing sender number"
  expect_eq "$(inbound generic)" 1
'

test_case 'generic: 503 while the database is unreachable, then the retry goes through once' '
  db_cut
  out=$($H post-json "$HTTP/sms/generic" $SECRET "{\"id\":\"g-503\",\"from\":\"+33666666666\",\"text\":\"x\"}")
  db_back
  expect_eq "${out%% *}" 503
  out=$($H post-json "$HTTP/sms/generic" $SECRET "{\"id\":\"g-503\",\"from\":\"+33666666666\",\"text\":\"x\"}")
  expect_eq "${out%% *}" 200
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '"'"'g-503'"'"'")" 1
'

# ---- GSM-7 / UCS-2 ---------------------------------------------------------------------
test_case 'the cost stored on SMS rows agrees with tocsin sms-estimate on edge cases' '
  while IFS= read -r text; do
    want=$("$TOCSIN" sms-estimate --format "%e %s" -- "$text")
    sql "INSERT INTO outbound_messages (channel, recipient, body, dedupe_key) VALUES ('"'"'sms'"'"', '"'"'+33611111111'"'"', \$t\$$text\$t\$, md5(\$t\$$text\$t\$))" >/dev/null
    got=$(sql "SELECT sms_encoding || '"'"' '"'"' || sms_segments FROM outbound_messages WHERE dedupe_key = md5(\$t\$$text\$t\$)")
    expect_eq "$got" "$want"
  done <<TEXTS
Rendez-vous à 19h au local, café offert !
Prix : 10€ [entrée libre] {membres} ~ | ^ \\
« Rendez-vous » – c’est parti…
$(printf "a%.0s" $(seq 1 160))
$(printf "a%.0s" $(seq 1 161))
$(printf "€%.0s" $(seq 1 77))
$(printf "é%.0s" $(seq 1 153))x€
$(printf "ç%.0s" $(seq 1 70))
$(printf "ç%.0s" $(seq 1 71))
$(printf "😀%.0s" $(seq 1 67))
TEXTS
'

test_case 'sms-estimate: a campaign text gets the STOP mention and costs segments x recipients' '
  out=$(TOCSIN_SMS_STOP_MENTION="STOP au 36173" TOCSIN_SMS_TRANSLITERATE=on "$TOCSIN" sms-estimate --recipients 1000 -- "« Manif » samedi – venez nombreux…")
  echo "$out" | grep -qx "text: \" Manif \" samedi - venez nombreux... STOP au 36173"
  echo "$out" | grep -qx "encoding: gsm7"
  echo "$out" | grep -qx "segments: 1"
  echo "$out" | grep -qx "total: 1000 SMS for 1000 recipients"
'

# ---- outbound transports against a fake REST endpoint -----------------------------------
SECRET=fake-api-secret
/usr/bin/python3 "$SRC/tests/integration/fake_sms_api.py" "$TEST_DIR/api.port" "$TEST_DIR/api.log" $SECRET &
API_PID=$!
trap 'stop_daemon; kill_ours TERM "$API_PID"' EXIT
for _ in $(seq 1 50); do [ -f "$TEST_DIR/api.port" ] && break; sleep 0.1; done
API="http://127.0.0.1:$(cat "$TEST_DIR/api.port")"
export TOCSIN_SMS_ACCOUNT=AC123 TOCSIN_SMS_TOKEN=tok TOCSIN_SMS_FROM=+33700000000 \
  TOCSIN_SMS_KANNEL_SECRET=$SECRET TOCSIN_SMS_GENERIC_SECRET=$SECRET TOCSIN_SMS_TIMEOUT=1 \
  TOCSIN_HTTP_PUBLIC_URL=https://sms.example.org/
last_request() { tail -n 1 "$TEST_DIR/api.log"; }
field() { /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); v=r; [v:=v[k] for k in sys.argv[1:]]; print(v)' "$@"; }

test_case 'Twilio transport: form, Basic auth and StatusCallback as documented; sid kept' '
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --to +33611110001 "Rendez-vous à 19h")
  expect_eq "$out" "ok provider_id=SMfake0001 retry_after=0 error=-"
  expect_eq "$(last_request | field params StatusCallback)" "https://sms.example.org/sms/twilio/status"
  expect_eq "$(last_request | field params Body)" "Rendez-vous à 19h"
  expect_eq "$(last_request | field params From)" "+33700000000"
'

test_case 'Twilio transport: 400 is permanent with the provider error; 429 and 503 are transient' '
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --to +33611110400 "x") && exit 1
  expect_eq "$out" "permanent provider_id=- retry_after=0 error=twilio 21211: The '"'"'To'"'"' number is not a valid phone number."
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --to +33611110429 "x") && exit 1
  expect_eq "$out" "transient provider_id=- retry_after=7 error=twilio: HTTP 429 {\"code\": 20429, \"message\": \"Too Many Requests\"}"
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --to +33611110503 "x") && exit 1
  expect_eq "${out%% *}" transient
'

test_case 'a timeout after the request was sent is ambiguous; a refused connection is transient' '
  set +e
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --to +33611110999 "x"); rc=$?
  set -e
  expect_eq "$rc" 69
  echo "$out" | grep -q "^ambiguous .*after the request was sent"
  port=$(free_port)
  set +e
  out=$(TOCSIN_SMS_API_URL=http://127.0.0.1:$port "$TOCSIN" sms-test --provider twilio --to +33611110001 "x"); rc=$?
  set -e
  expect_eq "$rc" 75
  echo "$out" | grep -q "^transient .*Couldn"
'

test_case 'Vonage transport: no + in numbers, unicode type for UCS-2, client-ref, callback' '
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider vonage --id 42 --to +33611110002 "Prochaine réunion : jeudi, apportez vos idées ✊")
  echo "$out" | grep -Eqx "ok provider_id=V[0-9]{4} retry_after=0 error=-"
  expect_eq "$(last_request | field params to)" 33611110002
  expect_eq "$(last_request | field params type)" unicode
  expect_eq "$(last_request | field params client-ref)" 42
  expect_eq "$(last_request | field params callback)" "https://sms.example.org/sms/vonage/dlr"
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider vonage --to +33611110400 "x") && exit 1
  expect_eq "$out" "permanent provider_id=- retry_after=0 error=vonage 3: Invalid to number"
'

test_case 'Kannel transport: sendsms GET with coding, dlr-mask 31 and a dlr-url carrying id and secret' '
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider kannel --id 77 --to +33611110003 "Prix : 5€")
  expect_eq "$out" "ok provider_id=tocsin-77 retry_after=0 error=-"
  expect_eq "$(last_request | field params coding)" 0
  expect_eq "$(last_request | field params dlr-mask)" 31
  expect_eq "$(last_request | field params dlr-url)" "https://sms.example.org/sms/kannel/dlr?id=77&type=%d&reply=%A&secret=$SECRET"
  out=$(TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider kannel --to +33611110003 "Bientôt")
  expect_eq "$(last_request | field params coding)" 2
'

test_case 'generic transport: signed JSON with the cost; a 4xx is permanent' '
  out=$(TOCSIN_SMS_API_URL=$API/generic "$TOCSIN" sms-test --provider generic --id 9 --to +33611110004 "JOIN")
  echo "$out" | grep -Eqx "ok provider_id=G[0-9]{4} retry_after=0 error=-"
  expect_eq "$(last_request | field params encoding) $(last_request | field params segments)" "gsm7 1"
  out=$(TOCSIN_SMS_API_URL=$API/generic "$TOCSIN" sms-test --provider generic --to +33611110400 "x") && exit 1
  expect_eq "${out%% *}" permanent
'

test_case 'campaign texts get the STOP mention, replies never do' '
  TOCSIN_SMS_STOP_MENTION="STOP au 36173" TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --kind campaign --to +33611110005 "Manif samedi"
  expect_eq "$(last_request | field params Body)" "Manif samedi STOP au 36173"
  TOCSIN_SMS_STOP_MENTION="STOP au 36173" TOCSIN_SMS_API_URL=$API "$TOCSIN" sms-test --provider twilio --kind reply --to +33611110005 "Bienvenue"
  expect_eq "$(last_request | field params Body)" "Bienvenue"
'

# ---- behind a proxy: public_url is the outside URL --------------------------------------
gateway twilio TOCSIN_SMS_TOKEN=$TOKEN TOCSIN_HTTP_PUBLIC_URL=https://sms.example.org
test_case 'behind a proxy, Twilio signs the public URL, with or without the default port' '
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --sign-url https://sms.example.org/sms/twilio MessageSid=SMproxy1 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 200
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --sign-url https://sms.example.org:443/sms/twilio MessageSid=SMproxy2 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 200
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN --sign-url https://sms.example.org:8443/sms/twilio MessageSid=SMproxy3 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 403
  out=$($H twilio "$HTTP/sms/twilio" $TOKEN MessageSid=SMproxy4 From=+33611111111 Body=HELP)
  expect_eq "${out%% *}" 403
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '"'"'SMproxy%'"'"'")" 2
'
