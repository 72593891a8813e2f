#!/usr/bin/env bash
# Issue 13, item 13 (the part left): `config check --connect` tries the database, the
# SMTP relay (EHLO, STARTTLS, AUTH) and the SMS gateway's credentials without sending
# anything, says what it saw, prints no secret, and exits 0, 78 (refused: fix the
# configuration) or 69 (no answer).
. "$SRC/tests/integration/lib.sh"

PY=/usr/bin/python3
# The servers this script starts, stopped when it ends. The sinks start inside the cases'
# subshells, where a variable set is lost to this script's EXIT trap: the PIDs go in a file
# (the three sinks were left running after every run).
STARTED=$TEST_DIR/started.pids
: > "$STARTED"
trap 'kill_ours TERM $(cat "$STARTED")' EXIT
connect() { # run `config check --connect` with extra environment; sets rc, output in out
  rc=0
  env "$@" "$TOCSIN" config check --connect > out 2> err || rc=$?
  cat out err
}
start_sink() { # NAME ARGS…: the aiosmtpd sink of the other tests; sets SINK_PORT
  local name=$1; shift
  SINK_PORT=$(free_port)
  "$PY" "$SRC/tests/integration/smtp_sink.py" "$SINK_PORT" "$TEST_DIR/$name" "$@" > "$TEST_DIR/$name.out" 2>&1 &
  echo $! >> "$STARTED"
  for _ in $(seq 1 50); do grep -q ready "$TEST_DIR/$name.out" 2>/dev/null && return 0; sleep 0.1; done
  cat "$TEST_DIR/$name.out"; return 1
}

test_case 'the database: ok with the server version and pending migrations' '
  connect
  expect_eq "$rc" 0
  grep -qE "^database: ok: dbname $PGDATABASE on .* PostgreSQL [0-9]+\.[0-9]+, 0 migrations pending$" out
  ! grep -q "^relay:\|^sms:" out
'

test_case 'a database that refuses (no such database) exits 78; one that does not answer exits 69' '
  connect TOCSIN_DATABASE_URL="host=$PGHOST dbname=no_such_db user=postgres"
  expect_eq "$rc" 78
  grep -q "^database: refused: \[database\] url from environment TOCSIN_DATABASE_URL" out
  grep -q "no_such_db\" does not exist" out
  port=$(free_port)
  connect TOCSIN_DATABASE_URL="host=127.0.0.1 port=$port dbname=x user=postgres password=hunter2 connect_timeout=2"
  expect_eq "$rc" 69
  grep -q "^database: unreachable:" out
  ! grep -q hunter2 out err
'

test_case 'the relay: EHLO and AUTH accepted, a wrong password refused (78), no password or its base64 printed' '
  start_sink authmx --auth "relay:s3cret"
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_USER=relay TOCSIN_SMTP_PASSWORD=s3cret
  expect_eq "$rc" 0
  grep -q "^relay: ok: relay 127.0.0.1:$SINK_PORT (tls off, AUTH as \[smtp\] user)" out
  grep -q "^  > EHLO" out
  grep -q "^  > AUTH" out
  grep -q "^  < 235" out
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_USER=relay TOCSIN_SMTP_PASSWORD=wrong
  expect_eq "$rc" 78
  grep -q "^relay: refused:" out
  grep -q "AUTH refused: check \[smtp\] user and password" out
  for secret in s3cret wrong "$(printf "\0relay\0wrong" | base64)" "$(printf "\0relay\0s3cret" | base64)" "$(printf wrong | base64)"; do
    ! grep -qF "$secret" out err
  done
  expect_eq "$(ls authmx/new | wc -l)" 0
'

test_case 'the relay: STARTTLS is done, an untrusted certificate is refused, tls_verify = off accepts it' '
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example.org -days 1 -keyout tls.key -out tls.crt 2>/dev/null
  cat tls.crt tls.key > tls.pem
  start_sink tlsmx --tls tls.pem
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_TLS=starttls
  expect_eq "$rc" 78
  grep -q "^relay: refused:" out
  grep -q "^  > STARTTLS" out
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_TLS=starttls TOCSIN_SMTP_TLS_VERIFY=off
  expect_eq "$rc" 0
  grep -q "^relay: ok:" out
  grep -q "^  < 220.*TLS" out
'

test_case 'a relay that offers no STARTTLS is refused when the configuration requires it; a closed port is unreachable (69)' '
  start_sink plainmx
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_SMTP_TLS=starttls
  expect_eq "$rc" 78
  grep -q "the relay does not offer STARTTLS" out
  connect TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$(free_port) TOCSIN_SMTP_TIMEOUT=3
  expect_eq "$rc" 69
  grep -q "^relay: unreachable:" out
'

# ---- SMS gateways, against the fake provider's documented account endpoints ----------------
"$PY" "$SRC/tests/integration/fake_sms_api.py" "$TEST_DIR/api.port" "$TEST_DIR/api.log" sekrit &
echo $! >> "$STARTED"
for _ in $(seq 1 50); do [ -f "$TEST_DIR/api.port" ] && break; sleep 0.1; done
API="http://127.0.0.1:$(cat "$TEST_DIR/api.port")"
SMS=(TOCSIN_SMS_API_URL=$API TOCSIN_SMS_ACCOUNT=AC123 TOCSIN_SMS_FROM=+33700000000
     TOCSIN_SMS_KANNEL_SECRET=sekrit TOCSIN_SMS_GENERIC_SECRET=sekrit)
sent_texts() { grep -c "\"to\"\|\"To\"" "$TEST_DIR/api.log" || true; }

test_case 'Twilio: the account resource proves the SID and token; a wrong token or a suspended account exits 78' '
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_TOKEN=tok
  expect_eq "$rc" 0
  grep -q "^sms: ok: sms gateway twilio at $API" out
  grep -q "account AC123 (Paris 10e) is active" out
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_TOKEN=nope
  expect_eq "$rc" 78
  grep -q "Twilio refused \[sms\] account and token (HTTP 401: Authenticate)" out
  ! grep -q nope out err
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_ACCOUNT=AC999 TOCSIN_SMS_TOKEN=tok
  expect_eq "$rc" 78
  grep -q "account AC999 is suspended" out
  grep -q "\"method\": \"GET\", \"path\": \"/2010-04-01/Accounts/AC123.json\"" api.log
'

test_case 'Vonage: the balance proves the key and secret; Kannel: smsbox checks the sendsms user' '
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=vonage TOCSIN_SMS_TOKEN=tok
  expect_eq "$rc" 0
  grep -q "accepted; balance 12.50" out
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=vonage TOCSIN_SMS_TOKEN=nope
  expect_eq "$rc" 78
  grep -q "Vonage refused" out
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=kannel TOCSIN_SMS_TOKEN=tok
  expect_eq "$rc" 0
  grep -q "sendsms user accepted (smsbox: HTTP 400 Missing receiver number)" out
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=kannel TOCSIN_SMS_TOKEN=nope
  expect_eq "$rc" 78
  grep -q "smsbox refused the sendsms user" out
'

test_case 'generic: reachability only, said plainly; a gateway that is down exits 69; nothing was ever sent' '
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_API_URL=$API/generic TOCSIN_SMS_TOKEN=tok
  expect_eq "$rc" 0
  grep -q "no way to check the secret without sending" out
  connect "${SMS[@]}" TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_TOKEN=tok TOCSIN_SMS_API_URL=http://127.0.0.1:$(free_port) TOCSIN_SMS_TIMEOUT=2
  expect_eq "$rc" 69
  grep -q "^sms: unreachable:" out
  expect_eq "$(grep -c "\"params\": {\"To\"\|\"text\":" api.log || true)" 0
'

test_case 'Kannel for real: bearerbox and smsbox answer the probe as the fake does, and nothing is sent' '
  K="$TEST_DIR/kannel"; mkdir -p "$K"
  read -r ADMIN BOXES SMSC SENDSMS < <(listen_ports 4)
  cat > "$K/kannel.conf" <<CONF
group = core
admin-port = $ADMIN
admin-password = admin-secret
admin-allow-ip = 127.0.0.1
smsbox-port = $BOXES
box-allow-ip = 127.0.0.1
log-file = "$K/bearerbox.log"

group = smsc
smsc = fake
smsc-id = fake
port = $SMSC
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $SENDSMS
log-file = "$K/smsbox.log"

group = sendsms-user
username = tocsin
password = sendsms-password
CONF
  bearerbox "$K/kannel.conf" > "$K/bearerbox.out" 2>&1 & bb=$!
  trap "kill_ours TERM \$sb $bb" EXIT
  for _ in $(seq 1 300); do curl -s "http://127.0.0.1:$ADMIN/status?password=admin-secret" >/dev/null 2>&1 && break; sleep 0.1; done
  # Another test may still take the sendsms port between its choice and smsbox'"'"'s bind: then
  # smsbox exits at once, and starts again on another port.
  for try in 1 2 3; do
    smsbox "$K/kannel.conf" > "$K/smsbox.out" 2>&1 & sb=$!
    for _ in $(seq 1 300); do
      curl -s "http://127.0.0.1:$SENDSMS/" >/dev/null 2>&1 && break 2
      kill -0 $sb 2>/dev/null || break
      sleep 0.1
    done
    echo "smsbox did not listen on $SENDSMS (try $try):"; tail -n 3 "$K/smsbox.log"
    kill_ours TERM $sb; wait $sb 2>/dev/null || true
    SENDSMS=$(listen_ports 1)
    sed -i "s/^sendsms-port = .*/sendsms-port = $SENDSMS/" "$K/kannel.conf"
  done
  KANNEL=(TOCSIN_SMS_PROVIDER=kannel TOCSIN_SMS_API_URL=http://127.0.0.1:$SENDSMS TOCSIN_SMS_ACCOUNT=tocsin
          TOCSIN_SMS_FROM=+33700000000 TOCSIN_SMS_KANNEL_SECRET=sekrit)
  connect "${KANNEL[@]}" TOCSIN_SMS_TOKEN=sendsms-password
  expect_eq "$rc" 0
  grep -q "^  sendsms user accepted (smsbox: HTTP" out
  connect "${KANNEL[@]}" TOCSIN_SMS_TOKEN=wrong-password
  expect_eq "$rc" 78
  grep -q "smsbox refused the sendsms user \[sms\] account and token (HTTP 403: Authorization failed for sendsms)" out
  expect_eq "$(curl -s "http://127.0.0.1:$ADMIN/status.txt?password=admin-secret" | grep -o "SMS: received [0-9]* ([0-9]* queued), sent [0-9]*" | grep -o "sent [0-9]*")" "sent 0"
'
