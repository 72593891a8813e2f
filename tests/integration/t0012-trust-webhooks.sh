#!/usr/bin/env bash
# Trust (issue 12), point 1: every webhook fails closed. Only the configured gateway's routes
# exist; each refuses (403, nothing written) without its own credential, and no key serves two
# integrations; secrets never reach the database or the log; Vonage signatures older or newer
# than 5 minutes are refused; parts of a text that never completed are purged after 24 hours.
# A forged request must change nothing: the row count of every table is compared before and
# after.
. "$SRC/tests/integration/lib.sh"
H="/usr/bin/python3 $SRC/tests/integration/sms_helper.py"
TOKEN=twilio-auth-token-trust
KSECRET=kannel-secret-trust
VSECRET=vonage-secret-trust
GSECRET=generic-secret-trust

# "table=rows …" for every table of the schema.
counts() {
  sql "SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/n/text()',
         query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]),
         ' ' ORDER BY c.relname)
       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE s.nspname = 'public' AND c.relkind = 'r'"
}
code() { curl -s -o /dev/null -w "%{http_code}" "$@"; }
gateway() { # PROVIDER [ENV=VALUE ...]: a daemon for that gateway, no outbound workers
  local provider=$1; shift
  stop_daemon
  start_daemon TOCSIN_SMS_PROVIDER=$provider TOCSIN_ENGINE_WORKERS=0 TOCSIN_SMS_API_URL=http://127.0.0.1:9 \
    TOCSIN_SMS_ACCOUNT=AC-trust TOCSIN_SMS_TOKEN=api-secret TOCSIN_ENGINE_LOG_LEVEL=debug "$@"
}
vonage_query() { # SECRET name=value ...: the query string Vonage would send, signed
  local secret=$1 sig; shift
  sig=$($H vonage-sig "$secret" "$@")
  /usr/bin/python3 -c 'import sys,urllib.parse; print(urllib.parse.urlencode([tuple(a.split("=",1)) for a in sys.argv[1:]]))' "$@" "sig=$sig"
}

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
sql "INSERT INTO people (name) VALUES ('Camille');
     INSERT INTO contacts (person_id, kind, address) VALUES (1, 'phone', '+33611111111');
     INSERT INTO outbound_messages (channel, recipient, body, status, provider_id, dedupe_key, kind, contact_id, sms_provider)
     VALUES ('sms', '+33611111111', 'Bienvenue', 'sent', 'SMtrust1', 'trust-1', 'reply', 1, 'twilio')" >/dev/null
sent_id=$(sql "SELECT id FROM outbound_messages WHERE dedupe_key = 'trust-1'")
kannel_id=$(sql "INSERT INTO outbound_messages (channel, recipient, body, status, dedupe_key, kind, contact_id)
                 VALUES ('sms', '+33611111111', 'Salut', 'sent', 'trust-2', 'reply', 1) RETURNING id")
sql "UPDATE outbound_messages SET provider_id = 'tocsin-' || id, sms_provider = 'kannel' WHERE id = $kannel_id" >/dev/null

gateway twilio TOCSIN_SMS_TOKEN=$TOKEN
test_case 'a Twilio deployment serves no other gateway: Kannel, Vonage and generic requests get 404 and change nothing' '
  before=$(counts)
  expect_eq "$(code "$HTTP/sms/kannel?from=%2B33611111111&text=STOP&id=x")" 404
  expect_eq "$(code -d "msisdn=33611111111&to=33700000000&messageId=v1&text=STOP" "$HTTP/sms/vonage")" 404
  expect_eq "$(code -H "Content-Type: application/json" -d "{\"id\":\"g1\",\"from\":\"+33611111111\",\"text\":\"JOIN paris-10\"}" "$HTTP/sms/generic")" 404
  expect_eq "$(code "$HTTP/sms/kannel/dlr?id=$sent_id&type=16")" 404
  expect_eq "$(code "$HTTP/sms/vonage/dlr?messageId=SMtrust1&status=failed&client-ref=$sent_id")" 404
  expect_eq "$(counts)" "$before"
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $sent_id")" sent
  expect_eq "$(sql "SELECT consent_allows('"'"'sms'"'"', '"'"'+33611111111'"'"', NULL)")" t
'

test_case 'Twilio refuses unsigned and wrongly signed requests' '
  before=$(counts)
  expect_eq "$(code -d "MessageSid=SMf1&From=%2B33611111111&Body=STOP" "$HTTP/sms/twilio")" 403
  out=$($H twilio "$HTTP/sms/twilio" $KSECRET MessageSid=SMf2 From=+33611111111 Body=STOP)
  expect_eq "${out%% *}" 403
  out=$($H twilio "$HTTP/sms/twilio/status" $KSECRET MessageSid=SMtrust1 MessageStatus=failed)
  expect_eq "${out%% *}" 403
  expect_eq "$(counts)" "$before"
'

stop_daemon
test_case 'Twilio, Kannel and generic will not start without their secret: their routes would accept anyone' '
  for provider in twilio kannel generic; do
    set +e
    env TOCSIN_SMS_PROVIDER=$provider TOCSIN_SMS_ACCOUNT=AC-trust TOCSIN_SMS_API_URL=http://127.0.0.1:9 \
      TOCSIN_SMS_VONAGE_SIGNATURE_SECRET=$VSECRET TOCSIN_HTTP_LISTEN=127.0.0.1:$(free_port) "$TOCSIN" run 2>err
    rc=$?
    set -e
    [ "$rc" -ne 0 ]
    cat err
    case $provider in
      twilio) grep -q "twilio needs \[sms\] account (Account SID) and token" err ;;
      kannel) grep -q "kannel needs \[sms\] kannel_secret" err ;;
      generic) grep -q "generic needs \[sms\] generic_secret" err ;;
    esac
  done
'

gateway vonage TOCSIN_SMS_KANNEL_SECRET=$KSECRET TOCSIN_SMS_GENERIC_SECRET=$GSECRET
test_case 'Vonage refuses every request without [sms] vonage_signature_secret' '
  before=$(counts)
  now=$(date +%s)
  expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query "" msisdn=33611111111 to=33700000000 messageId=v2 text=STOP timestamp=$now)")" 403
  expect_eq "$(code "$HTTP/sms/vonage/dlr?$(vonage_query "" messageId=SMtrust1 status=failed timestamp=$now)")" 403
  grep -q "provider=vonage path=\"/sms/vonage\" reason=\[sms\] vonage_signature_secret unset" "$TEST_DIR/daemon.log"
  expect_eq "$(counts)" "$before"
'

gateway vonage TOCSIN_SMS_VONAGE_SIGNATURE_SECRET=$VSECRET TOCSIN_SMS_KANNEL_SECRET=$KSECRET TOCSIN_SMS_GENERIC_SECRET=$GSECRET
test_case 'Vonage takes only its own key: a signature made with another integration'"'"'s is refused' '
  before=$(counts)
  now=$(date +%s)
  for key in $KSECRET $GSECRET $TOKEN; do
    expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query $key msisdn=33611111111 to=33700000000 messageId=v3 text=STOP timestamp=$now)")" 403
  done
  expect_eq "$(code "$HTTP/sms/vonage?msisdn=33611111111&to=33700000000&messageId=v4&text=STOP&timestamp=$now")" 403
  expect_eq "$(counts)" "$before"
  expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query $VSECRET msisdn=33611111112 to=33700000000 messageId=v5 text=HELP timestamp=$now)")" 200
'

test_case 'Vonage: a signature stamped more than 5 minutes before or after now is refused' '
  before=$(counts)
  now=$(date +%s)
  for stamp in $((now - 400)) $((now + 400)) 0 nonsense; do
    expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query $VSECRET msisdn=33611111111 to=33700000000 messageId=v6 text=STOP timestamp=$stamp)")" 403
  done
  expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query $VSECRET msisdn=33611111111 to=33700000000 messageId=v7 text=STOP)")" 403
  expect_eq "$(code "$HTTP/sms/vonage/dlr?$(vonage_query $VSECRET messageId=SMtrust1 status=failed client-ref=$sent_id timestamp=$((now - 400)))")" 403
  expect_eq "$(counts)" "$before"
  grep -q "provider=vonage path=\"/sms/vonage\" reason=timestamp outside 5 minutes" "$TEST_DIR/daemon.log"
  grep -q "provider=vonage path=\"/sms/vonage\" reason=no timestamp" "$TEST_DIR/daemon.log"
  expect_eq "$(code "$HTTP/sms/vonage?$(vonage_query $VSECRET msisdn=33611111113 to=33700000000 messageId=v8 text=HELP timestamp=$((now - 240)))")" 200
'

test_case 'Vonage: parts of a text that never completed are purged after 24 hours' '
  now=$(date +%s)
  C="concat=true concat-total=2 msisdn=33611111114 to=33700000000"
  expect_eq "$(curl -s "$HTTP/sms/vonage?$(vonage_query $VSECRET $C concat-ref=OLD concat-part=1 messageId=p1 text=JOIN timestamp=$now)")" "part stored"
  sql "UPDATE sms_parts SET received_at = now() - interval '"'"'25 hours'"'"' WHERE ref = '"'"'OLD'"'"'" >/dev/null
  expect_eq "$(curl -s "$HTTP/sms/vonage?$(vonage_query $VSECRET $C concat-ref=NEW concat-part=1 messageId=p2 text=JOIN timestamp=$now)")" "part stored"
  expect_eq "$(sql "SELECT string_agg(ref, '"'"','"'"') FROM sms_parts")" NEW
  grep -q "event=sms_parts_purged provider=vonage parts=1" "$TEST_DIR/daemon.log"
'

gateway kannel TOCSIN_SMS_KANNEL_SECRET=$KSECRET TOCSIN_SMS_VONAGE_SIGNATURE_SECRET=$VSECRET TOCSIN_SMS_GENERIC_SECRET=$GSECRET
test_case 'Kannel takes only its own secret: the generic, Vonage or Twilio key is refused' '
  before=$(counts)
  for key in $GSECRET $VSECRET $TOKEN ""; do
    expect_eq "$(code "$HTTP/sms/kannel?from=%2B33611111111&text=STOP&id=k1&secret=$key")" 403
    expect_eq "$(code "$HTTP/sms/kannel/dlr?id=$sent_id&type=16&secret=$key")" 403
  done
  expect_eq "$(code "$HTTP/sms/kannel?from=%2B33611111111&text=STOP&id=k1")" 403
  expect_eq "$(counts)" "$before"
'

test_case 'a Kannel delivery report, even rightly signed, cannot touch a message Twilio sent' '
  before=$(sql "SELECT status || '"'"' '"'"' || coalesce(delivery_status, '"'"'-'"'"') FROM outbound_messages WHERE id = $sent_id")
  expect_eq "$(code "$HTTP/sms/kannel/dlr?id=$sent_id&type=16&reply=forged&secret=$KSECRET")" 200
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || coalesce(delivery_status, '"'"'-'"'"') FROM outbound_messages WHERE id = $sent_id")" "$before"
  expect_eq "$before" "sent -"
  expect_eq "$(sql "SELECT count(*) FROM sms_delivery_reports WHERE outbound_id IS NOT NULL")" 0
'

test_case 'the Kannel secret is in no stored request and in no log line' '
  expect_eq "$(code "$HTTP/sms/kannel?from=%2B33611111115&to=36173&text=AIDE&id=k2&secret=$KSECRET")" 200
  expect_eq "$(code -d "from=%2B33611111115&to=36173&text=EVENTS&id=k3&secret=$KSECRET" "$HTTP/sms/kannel")" 200
  expect_eq "$(code "$HTTP/sms/kannel/dlr?id=$kannel_id&type=8&reply=ok&secret=$KSECRET")" 200
  expect_eq "$(sql "SELECT raw FROM inbound_messages WHERE provider_id = '"'"'k2'"'"'")" "/sms/kannel?from=%2B33611111115&to=36173&text=AIDE&id=k2"
  expect_eq "$(sql "SELECT raw FROM inbound_messages WHERE provider_id = '"'"'k3'"'"'")" "/sms/kannel
from=%2B33611111115&to=36173&text=EVENTS&id=k3"
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || delivery_status FROM outbound_messages WHERE id = $kannel_id")" "sent submitted"
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE raw LIKE '"'"'%$KSECRET%'"'"'")" 0
  expect_eq "$(sql "SELECT count(*) FROM sms_delivery_reports WHERE raw LIKE '"'"'%$KSECRET%'"'"' OR raw LIKE '"'"'%secret=%'"'"'")" 0
  # The same secret inside a request that names it otherwise is redacted too.
  expect_eq "$(code "$HTTP/sms/kannel?from=%2B33611111115&to=36173&text=x$KSECRET&id=k4&secret=$KSECRET")" 200
  expect_eq "$(sql "SELECT raw FROM inbound_messages WHERE provider_id = '"'"'k4'"'"'")" "/sms/kannel?from=%2B33611111115&to=36173&text=x[redacted]&id=k4"
'
stop_daemon
test_case 'no secret appears in the daemon'"'"'s log, at debug level' '
  grep -q "level=debug" "$TEST_DIR/daemon.log"
  ! grep -F -e "$KSECRET" -e "$TOKEN" -e "$VSECRET" -e "$GSECRET" "$TEST_DIR/daemon.log"
'

gateway generic TOCSIN_SMS_KANNEL_SECRET=$KSECRET TOCSIN_SMS_GENERIC_SECRET=$GSECRET
test_case 'the generic gateway takes only its own key' '
  before=$(counts)
  body="{\"id\":\"g2\",\"from\":\"+33611111111\",\"text\":\"STOP\"}"
  expect_eq "$($H post-json "$HTTP/sms/generic" $KSECRET "$body")" "403 bad signature"
  expect_eq "$($H post-json "$HTTP/sms/generic" "" "$body")" "403 bad signature"
  expect_eq "$($H post-json "$HTTP/sms/generic" $GSECRET "$body" --no-sig)" "403 signature required"
  expect_eq "$(counts)" "$before"
'
