#!/usr/bin/env bash
# Email inbound: `tocsin inject`, bounces and the ledger, and the IMAP reader against a real
# Dovecot (exactly once across restarts, IDLE, cut connections, size limit, UIDVALIDITY).
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/dovecot.sh"
FIX=$SRC/tests/fixtures/mail
IMAP_TOOL="/usr/bin/python3 $SRC/tests/integration/imap_tool.py"
PROXY_PID=
trap 'stop_daemon; dovecot_stop; kill_ours TERM "$PROXY_PID"' EXIT

# A signed token as token.c makes it, from the engine secret in the database.
token() { # purpose id
  local secret
  secret=$(sql "SELECT value FROM settings WHERE name = 'engine_secret'")
  /usr/bin/python3 - "$secret" "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys
key, purpose, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
digits = "0123456789abcdefghijklmnopqrstuvwxyz"
id36 = ""
while True:
    id36 = digits[n % 36] + id36
    n //= 36
    if n == 0:
        break
mac = hmac.new(key.encode(), f"{purpose}:{id36}".encode(), hashlib.sha256).digest()
print(f"{id36}-{base64.b32encode(mac[:10]).decode().lower()}")
PY
}

# A DSN for outbound message $2 with status $1, the VERP token in its envelope.
dsn() { # status token
  sed -e "s/1z-k3x9q2m7p4v8d6wa/$2/g" -e "s/5\.1\.1/$1/g" -e "s/Message-Id: <.*>/Message-Id: <dsn-$RANDOM-$RANDOM@mx.example.org>/" \
    "$FIX/postfix-dsn-hard.eml"
}

# A daemon for one test case: the case runs in a subshell, so it is stopped when the case
# ends, also when an assertion fails half-way.
# The daemon log since `mark=$(wc -l < "$TEST_DIR/daemon.log")` was taken.
new_log() { tail -n +$((mark + 1)) "$TEST_DIR/daemon.log"; }
start_reader() { start_daemon "$@" && trap 'stop_daemon; kill_ours TERM "$PROXY_PID"' EXIT; }

inbound_count() { sql "SELECT count(*) FROM inbound_messages WHERE channel = 'email'"; }

test_case 'inject accepts a reply once; the same mail again is a duplicate' '
  out=$("$TOCSIN" inject < "$FIX/gmail-plain-join.eml")
  expect_eq "$(inbound_count)" 1
  out=$("$TOCSIN" inject < "$FIX/gmail-plain-join.eml")
  expect_eq "$out" duplicate
  expect_eq "$(inbound_count)" 1
  expect_eq "$(sql "SELECT provider || '"'"' '"'"' || provider_id || '"'"' '"'"' || sender FROM inbound_messages")" \
    "inject CAF=abc123+def@mail.gmail.com alice.martin@gmail.com"
'

test_case 'inject stores the new words, not the quoted text' '
  "$TOCSIN" inject < "$FIX/multiple-commands.eml"
  body=$(sql "SELECT body FROM inbound_messages WHERE provider_id = '"'"'multi-1@example.net'"'"' ORDER BY id LIMIT 1")
  expect_eq "$body" "JOIN paris-10"
  n=$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '"'"'multi-1@example.net%'"'"'")
  expect_eq "$n" 2
'

test_case 'inject of garbage exits 65 (EX_DATAERR) and records nothing' '
  before=$(inbound_count)
  rc=0; printf "not a mail\njust words\n" | "$TOCSIN" inject 2>err.txt || rc=$?
  expect_eq "$rc" 65
  grep -q "not a mail" err.txt
  expect_eq "$(inbound_count)" "$before"
'

test_case 'inject exits 75 (EX_TEMPFAIL) when the database is unreachable' '
  port=$(free_port)
  rc=0; TOCSIN_DATABASE_URL="host=127.0.0.1 port=$port dbname=x user=x connect_timeout=2" \
    "$TOCSIN" inject < "$FIX/apple-mail-en.eml" 2>err.txt || rc=$?
  expect_eq "$rc" 75
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '"'"'A1B2C3D4%'"'"'")" 0
'

test_case 'an out-of-office reply is recorded as automatic, never as a command' '
  out=$("$TOCSIN" inject < "$FIX/ooo-auto-submitted-fr.eml")
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE provider_id = '"'"'ooo-1@example.fr'"'"'")" automatic
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE inbound_id IS NOT NULL AND recipient = '"'"'helene@example.fr'"'"'")" 0
'

setup_outbound() { # email → prints outbound id
  sql "INSERT INTO people (name) VALUES ('Gone')" >/dev/null
  sql "INSERT INTO contacts (person_id, kind, address) SELECT max(id), 'email', '$1' FROM people" >/dev/null
  sql "INSERT INTO outbound_messages (channel, recipient, subject, status, dedupe_key, contact_id)
       SELECT 'email', '$1', 'News', 'sent', 't5-$1', id FROM contacts WHERE address = '$1' RETURNING id" | head -n 1
}

test_case 'a hard bounce (5.1.1) suppresses the address with the DSN as evidence' '
  id=$(setup_outbound gone@example.net)
  tok=$(token bounce "$id")
  dsn 5.1.1 "$tok" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" bounced
  expect_eq "$(sql "SELECT action || '"'"' '"'"' || source FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '"'"'gone@example.net'"'"'")" "opt_out bounce"
  sql "SELECT evidence FROM consent ORDER BY id DESC LIMIT 1" | grep -q "Status: 5.1.1"
  expect_eq "$(sql "SELECT consent_allows('"'"'email'"'"', '"'"'gone@example.net'"'"', NULL)")" f
'

test_case 'a forged bounce token changes nothing' '
  id=$(setup_outbound forged@example.net)
  tok=$(token bounce "$id")
  bad="${tok%?}x"; [ "$bad" != "$tok" ] || bad="${tok%?}y"
  dsn 5.1.1 "$bad" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" sent
  expect_eq "$(sql "SELECT count(*) FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '"'"'forged@example.net'"'"'")" 0
  wrong_purpose=$(token reply "$id")
  dsn 5.1.1 "$wrong_purpose" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" sent
'

test_case 'soft bounces count once a day and suppress at the third day' '
  id=$(setup_outbound soft@example.net)
  tok=$(token bounce "$id")
  for i in 1 2 3; do dsn 4.2.2 "$tok" | "$TOCSIN" inject >/dev/null; done
  expect_eq "$(sql "SELECT score FROM bounce_scores b JOIN contacts c ON c.id = b.contact_id WHERE c.address = '"'"'soft@example.net'"'"'")" 1
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" sent
  sql "UPDATE bounce_scores SET last_bounce_on = current_date - 1"
  dsn 4.2.2 "$tok" | "$TOCSIN" inject >/dev/null
  sql "UPDATE bounce_scores SET last_bounce_on = current_date - 1"
  dsn 4.2.2 "$tok" | "$TOCSIN" inject >/dev/null
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" bounced
  expect_eq "$(sql "SELECT consent_allows('"'"'email'"'"', '"'"'soft@example.net'"'"', NULL)")" f
'

test_case 'a soft-bounce score older than a week starts again' '
  sql "UPDATE bounce_scores SET score = 2, last_bounce_on = current_date - 8"
  id=$(setup_outbound soft2@example.net)
  tok=$(token bounce "$id")
  sql "INSERT INTO bounce_scores (contact_id, score, last_bounce_on) SELECT id, 2, current_date - 8 FROM contacts WHERE address = '"'"'soft2@example.net'"'"'"
  dsn 4.2.2 "$tok" | "$TOCSIN" inject >/dev/null
  expect_eq "$(sql "SELECT score FROM bounce_scores b JOIN contacts c ON c.id = b.contact_id WHERE c.address = '"'"'soft2@example.net'"'"'")" 1
'

reply_mail() { # from to extra-header body
  printf 'From: %s\nTo: %s\n%sSubject: Re: Rappel\nMessage-ID: <%s@example.net>\nContent-Type: text/plain; charset=utf-8\n\n%s\n\nLe 24 nov. 2026 à 09:00, Tocsin a écrit :\n> Répondez OUI ou NON.\n> STOP\n' \
    "$1" "$2" "$3" "ctx-$RANDOM-$RANDOM" "$4"
}

test_case 'a bare OUI answers the event of the mail it replies to (reply+TOKEN address)' '
  "$TOCSIN" team add paris-11 --name "Paris 11e" >/dev/null
  "$TOCSIN" event add --team paris-11 --slug ctx-a --title "Réunion A" --starts "2030-03-14 18:30" >/dev/null
  "$TOCSIN" event add --team paris-11 --slug ctx-b --title "Réunion B" --starts "2030-03-20 18:30" >/dev/null
  printf "email,name,locale,teams\nalice@example.net,Alice,fr,paris-11\nbob@example.net,Bob,fr,paris-11\n" > ctx.csv
  "$TOCSIN" import people ctx.csv >/dev/null
  for who in alice bob; do
    for ev in ctx-a ctx-b; do
      sql "INSERT INTO outbound_messages (channel, recipient, subject, status, dedupe_key, kind, context)
           SELECT '"'"'email'"'"', '"'"'$who@example.net'"'"', '"'"'Rappel'"'"', '"'"'sent'"'"', '"'"'ctx-$who-$ev'"'"', '"'"'reminder'"'"',
                  jsonb_build_object('"'"'event_id'"'"', id) FROM events WHERE slug = '"'"'$ev'"'"'" >/dev/null
    done
  done
  first=$(sql "SELECT id FROM outbound_messages WHERE dedupe_key = '"'"'ctx-alice-ctx-a'"'"'")
  reply_mail "Alice <alice@example.net>" "reply+$(token reply "$first")@lists.example.org" "" "OUI" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT e.slug || '"'"' '"'"'|| r.status FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '"'"'alice@example.net'"'"'")" "ctx-a yes"
'

test_case 'a bare Oui finds its event through an In-Reply-To token' '
  first=$(sql "SELECT id FROM outbound_messages WHERE dedupe_key = '"'"'ctx-bob-ctx-a'"'"'")
  reply_mail "Bob <bob@example.net>" "reply@lists.example.org" "In-Reply-To: <$(token reply "$first")@lists.example.org>
" "Oui" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT e.slug || '"'"' '"'"'|| r.status FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '"'"'bob@example.net'"'"'")" "ctx-a yes"
'

# ---- IMAP against a real Dovecot
if ! dovecot_start "$TEST_DIR/dovecot"; then
  echo "not ok - dovecot did not start"; exit 1
fi
IMAP_ENV=(TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$DOVECOT_PORT TOCSIN_IMAP_TLS=off
          TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret)
imap_rows() { sql "SELECT count(*) FROM inbound_messages WHERE provider = 'imap'"; }
wait_rows() { # n [seconds]
  for _ in $(seq 1 $((${2:-10} * 20))); do [ "$(imap_rows)" -ge "$1" ] && return 0; sleep 0.05; done
  echo "waited for $1 imap rows, have $(imap_rows)"; return 1
}

# Each case starts and stops its own daemon: a test_case body runs in a subshell, so a
# daemon started in one case could not be stopped by the next.
test_case 'mail appended over IMAP is applied once and flagged \Seen after commit' '
  $IMAP_TOOL $DOVECOT_PORT append "$FIX/apple-mail-fr-iphone.eml" "$FIX/thunderbird-fr.eml" "$FIX/k9-android.eml"
  start_reader "${IMAP_ENV[@]}"
  wait_rows 3
  sleep 0.3
  stop_daemon
  expect_eq "$(imap_rows)" 3
  expect_eq "$($IMAP_TOOL $DOVECOT_PORT count UNSEEN)" 0
  # The natural key is user@host:port/MAILBOX:UIDVALIDITY:UID. (Mails of different senders
  # may be applied in any order by the reader'"'"'s connections; one sender'"'"'s keep their
  # UID order, t0017.)
  account="tocsin@example.org@127.0.0.1:$DOVECOT_PORT/INBOX"
  expect_eq "$(sql "SELECT string_agg(regexp_replace(provider_id, '"'"':[0-9]+:([0-9]+)$'"'"', '"'"':\1'"'"'), '"'"' '"'"' ORDER BY substring(provider_id from '"'"':([0-9]+)$'"'"')::int) FROM inbound_messages WHERE provider = '"'"'imap'"'"'")" "$account:1 $account:2 $account:3"
  expect_eq "$(sql "SELECT last_uid FROM imap_mailboxes")" 3
'

# Whether IDLE is used, not how fast: with polling pushed out to 10 minutes, only IDLE
# can bring the mail in before the wait ends (speed is for bench/run-imap).
test_case 'IDLE picks up a new mail without waiting for a poll' '
  mark=$(wc -l < "$TEST_DIR/daemon.log")
  start_reader "${IMAP_ENV[@]}" TOCSIN_IMAP_POLL_INTERVAL=600
  for _ in $(seq 1 100); do new_log | grep -q "event=imap_connected" && break; sleep 0.1; done
  new_log | grep -q "event=imap_connected.*idle=yes"
  sleep 0.5
  $IMAP_TOOL $DOVECOT_PORT append "$FIX/outlook-original-message.eml"
  wait_rows 4 30
  stop_daemon
'

test_case 'a daemon restart re-applies nothing' '
  before=$(sql "SELECT count(*) FROM inbound_messages")
  start_reader "${IMAP_ENV[@]}"
  sleep 1.5
  stop_daemon
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages")" "$before"
'

test_case 'SIGTERM stops the reader at once, even mid-IDLE' '
  start_reader "${IMAP_ENV[@]}"
  sleep 0.5
  t0=$(date +%s%N)
  stop_daemon
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "stopped in ${ms} ms"
  [ "$ms" -lt 2000 ]
'

test_case 'mail over [imap] max_size is skipped with a log line, never fetched' '
  { cat "$FIX/apple-mail-en.eml" | sed "s/Message-Id: <.*>/Message-Id: <big-1@me.com>/"; head -c 6000 /dev/zero | tr "\\0" "x"; echo; } > big.eml
  sed "s/Message-Id: <.*>/Message-Id: <small-after-big@me.com>/" "$FIX/apple-mail-en.eml" > small.eml
  $IMAP_TOOL $DOVECOT_PORT append big.eml small.eml
  before=$(imap_rows)
  start_reader "${IMAP_ENV[@]}" TOCSIN_IMAP_MAX_SIZE=4096
  wait_rows $((before + 1))
  sleep 0.3
  expect_eq "$(imap_rows)" $((before + 1))
  grep -q "event=imap_too_large.*size=" "$TEST_DIR/daemon.log"
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '"'"'%big-1%'"'"' OR raw LIKE '"'"'%big-1@me.com%'"'"'")" 0
  stop_daemon
'

test_case 'a connection cut mid-fetch loses and doubles nothing' '
  $IMAP_TOOL $DOVECOT_PORT append-many 40
  before=$(imap_rows)
  pport=$(free_port)
  /usr/bin/python3 "$SRC/tests/integration/cut_proxy.py" $pport $DOVECOT_PORT 6000 3 & PROXY_PID=$!
  sleep 0.3
  start_reader TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$pport TOCSIN_IMAP_TLS=off \
    TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret
  # Through the proxy the server is another host:port, so the reader starts from UID 1:
  # the mail read before is skipped by Message-ID.
  wait_rows $((before + 40)) 30
  sleep 0.5
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider = '"'"'imap'"'"' AND sender LIKE '"'"'person%@example.net'"'"'")" 40
  expect_eq "$(sql "SELECT count(*) - count(DISTINCT provider_id) FROM inbound_messages WHERE provider = '"'"'imap'"'"'")" 0
  expect_eq "$($IMAP_TOOL $DOVECOT_PORT count UNSEEN)" 0
  grep -q "event=imap_error" "$TEST_DIR/daemon.log"
  stop_daemon
'

test_case 'a new UIDVALIDITY does not re-apply old mail (Message-ID dedupe)' '
  before=$(sql "SELECT count(*) FROM inbound_messages")
  sql "UPDATE imap_mailboxes SET uidvalidity = uidvalidity + 1"
  start_reader "${IMAP_ENV[@]}"
  for _ in $(seq 1 40); do grep -q "imap_uidvalidity_changed" "$TEST_DIR/daemon.log" && break; sleep 0.1; done
  sleep 1.5
  grep -q "event=imap_uidvalidity_changed" "$TEST_DIR/daemon.log"
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages")" "$before"
  stop_daemon
'

test_case 'done_mailbox: processed mail is moved there' '
  $IMAP_TOOL $DOVECOT_PORT append "$FIX/thunderbird-en-flowed.eml"
  /usr/bin/python3 -c "
import imaplib; m = imaplib.IMAP4(\"127.0.0.1\", $DOVECOT_PORT); m.login(\"tocsin@example.org\", \"secret\"); m.create(\"Done\"); m.logout()"
  before=$(imap_rows)
  start_reader "${IMAP_ENV[@]}" TOCSIN_IMAP_DONE_MAILBOX=Done
  wait_rows $((before + 1))
  sleep 0.5
  expect_eq "$($IMAP_TOOL $DOVECOT_PORT count-box INBOX)" 0
  [ "$($IMAP_TOOL $DOVECOT_PORT count-box Done)" -ge 1 ]
  stop_daemon
'

test_case 'two daemons: only one reads the mailbox (advisory lock)' '
  start_reader "${IMAP_ENV[@]}"
  first=$DAEMON_PID
  port=$(free_port)
  env TOCSIN_HTTP_LISTEN="127.0.0.1:$port" "${IMAP_ENV[@]}" "$TOCSIN" run > second.log 2>&1 & second=$!
  for _ in $(seq 1 50); do grep -q imap_standby second.log && break; sleep 0.1; done
  grep -q "event=imap_standby" second.log
  kill -TERM $second; wait $second
  stop_daemon
'

# A trigger that makes the engine refuse one sender's mail for good (a stand-in for any
# permanent error inside inbound_process()).
poison_trigger() {
  if [ "$1" = on ]; then
    sql "CREATE FUNCTION t5_poison() RETURNS trigger LANGUAGE plpgsql AS \$\$
         BEGIN IF NEW.sender = 'poison@example.net' THEN
           RAISE EXCEPTION 'poisoned' USING ERRCODE = 'check_violation'; END IF;
         RETURN NEW; END \$\$"
    sql "CREATE TRIGGER t5_poison BEFORE INSERT ON inbound_messages FOR EACH ROW EXECUTE FUNCTION t5_poison()"
  else
    sql "DROP TRIGGER t5_poison ON inbound_messages"
  fi
}

test_case 'a mail the engine refuses for good is left unseen; the mails around it are applied' '
  poison_trigger on
  for who in ok1 poison ok2; do
    sed -e "s/^From: .*/From: <$who@example.net>/" -e "s/^Message-I[dD]: .*/Message-ID: <$who-poison@example.net>/" \
      "$FIX/apple-mail-en.eml" > $who.eml
  done
  mark=$(wc -l < "$TEST_DIR/daemon.log")
  $IMAP_TOOL $DOVECOT_PORT append ok1.eml poison.eml ok2.eml
  start_reader "${IMAP_ENV[@]}"
  for _ in $(seq 1 100); do new_log | grep -q "sender=\"ok2@example.net\"" && break; sleep 0.1; done
  sleep 0.3
  stop_daemon
  poison_trigger off
  expect_eq "$(sql "SELECT string_agg(sender, '"'"' '"'"' ORDER BY sender) FROM inbound_messages WHERE sender LIKE '"'"'%@example.net'"'"' AND sender ~ '"'"'^(ok|poison)'"'"'")" "ok1@example.net ok2@example.net"
  new_log | grep -q "event=imap_group_failed"
  new_log | grep -q "event=imap_message_failed.*action=left_unseen"
  expect_eq "$($IMAP_TOOL $DOVECOT_PORT count UNSEEN)" 1
'

# The mails of one group (one transaction) have their replies and outcomes written together
# at its end (decide/process.h): a sender who writes three times in that group must still be
# answered as if the mails came one by one, each seeing the replies before it.
test_case 'three mails of one sender in one group: answered once, as one by one' '
  for who in g-a:1 g-b:1 g-a:2 g-c:1 g-a:3; do
    sed -e "s/^From: .*/From: <${who%%:*}@example.net>/" -e "s/^Message-I[dD]: .*/Message-ID: <$who-group@example.net>/" \
      "$FIX/apple-mail-en.eml" > $who.eml
  done
  before=$(imap_rows)
  $IMAP_TOOL $DOVECOT_PORT append g-a:1.eml g-b:1.eml g-a:2.eml g-c:1.eml g-a:3.eml
  start_reader "${IMAP_ENV[@]}"
  wait_rows $((before + 5))
  sleep 0.3
  stop_daemon
  expect_eq "$(sql "SELECT string_agg(recipient || '"'"'='"'"'|| n, '"'"' '"'"' ORDER BY recipient) FROM (SELECT recipient, count(*) n FROM outbound_messages WHERE recipient LIKE '"'"'g-_@example.net'"'"' GROUP BY 1) r")" "g-a@example.net=1 g-b@example.net=1 g-c@example.net=1"
  # Every outcome was written, on its own row; each reply names its own mail.
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE sender LIKE '"'"'g-_@example.net'"'"' AND status <> '"'"'received'"'"' AND command IS NOT NULL")" 5
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id AND i.sender = o.recipient AND o.dedupe_key = '"'"'reply:'"'"' || i.id WHERE o.recipient LIKE '"'"'g-_@example.net'"'"'")" 3
  # The first of the three was answered; the two after it saw that answer.
  expect_eq "$(sql "SELECT string_agg(coalesce(reply_withheld, status), '"'"' '"'"' ORDER BY id) FROM inbound_messages WHERE sender = '"'"'g-a@example.net'"'"'")" "applied repeat repeat"
'

# ---- TLS: a second Dovecot with a certificate from a private CA
mkdir -p tls && (
  cd tls
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=tocsin test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
  printf "subjectAltName=IP:127.0.0.1\n" > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
  chmod 644 server.key
)
PLAIN_DOVECOT_DIR=$DOVECOT_DIR PLAIN_DOVECOT_PORT=$DOVECOT_PORT
if DOVECOT_CERT=$TEST_DIR/tls/server.pem DOVECOT_KEY=$TEST_DIR/tls/server.key dovecot_start "$TEST_DIR/dovecot-tls"; then
  TLS_ENV=(TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret)
  $IMAP_TOOL $DOVECOT_PORT append "$FIX/apple-mail-en.eml"

  test_case 'implicit TLS: an untrusted certificate is refused, nothing is read' '
    mark=$(wc -l < "$TEST_DIR/daemon.log")
    before=$(imap_rows)
    start_reader "${TLS_ENV[@]}" TOCSIN_IMAP_PORT=$DOVECOT_TLS_PORT TOCSIN_IMAP_TLS=on
    for _ in $(seq 1 40); do new_log | grep -q "event=imap_error" && break; sleep 0.1; done
    new_log | grep -q "certificate not trusted"
    expect_eq "$(imap_rows)" "$before"
    stop_daemon
  '

  test_case 'implicit TLS with the CA trusted (SSL_CERT_FILE) verifies and reads' '
    mark=$(wc -l < "$TEST_DIR/daemon.log")
    sql "DELETE FROM mail_message_ids WHERE message_id = '"'"'A1B2C3D4-1111-2222-3333-444455556666@me.com'"'"'"
    sql "DELETE FROM inbound_messages WHERE provider_id = '"'"'A1B2C3D4-1111-2222-3333-444455556666@me.com'"'"'"
    before=$(imap_rows)
    start_reader "${TLS_ENV[@]}" TOCSIN_IMAP_PORT=$DOVECOT_TLS_PORT TOCSIN_IMAP_TLS=on SSL_CERT_FILE=$TEST_DIR/tls/ca.pem
    wait_rows $((before + 1))
    ! new_log | grep -q "event=imap_error"
    stop_daemon
  '

  test_case 'STARTTLS with tls_verify = off reads the mailbox' '
    mark=$(wc -l < "$TEST_DIR/daemon.log")
    $IMAP_TOOL $DOVECOT_PORT append "$FIX/thunderbird-fr.eml"
    sql "DELETE FROM mail_message_ids WHERE message_id = '"'"'aa11bb22-cc33@free.fr'"'"'"
    before=$(imap_rows)
    start_reader "${TLS_ENV[@]}" TOCSIN_IMAP_PORT=$DOVECOT_PORT TOCSIN_IMAP_TLS=starttls TOCSIN_IMAP_TLS_VERIFY=off
    wait_rows $((before + 1))
    new_log | grep -q "event=imap_connected"
    stop_daemon
  '
  dovecot_stop
else
  echo "not ok - dovecot with TLS did not start"
fi
DOVECOT_DIR=$PLAIN_DOVECOT_DIR DOVECOT_PORT=$PLAIN_DOVECOT_PORT

# ---- A server without IDLE: the reader polls every [imap] poll_interval
if DOVECOT_EXTRA="imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE NAMESPACE UIDPLUS MOVE" \
   dovecot_start "$TEST_DIR/dovecot-noidle"; then
  test_case 'without IDLE the reader polls every poll_interval' '
    mark=$(wc -l < "$TEST_DIR/daemon.log")
    sed -e "s/^Message-I[dD]: .*/Message-ID: <noidle-1@example.net>/" -e "s/^From: .*/From: <noidle@example.net>/" "$FIX/apple-mail-en.eml" > noidle.eml
    start_reader TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$DOVECOT_PORT TOCSIN_IMAP_TLS=off \
      TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret TOCSIN_IMAP_POLL_INTERVAL=1
    for _ in $(seq 1 50); do new_log | grep -q "event=imap_connected" && break; sleep 0.1; done
    new_log | grep -q "event=imap_connected.*idle=no"
    $IMAP_TOOL $DOVECOT_PORT append noidle.eml
    for _ in $(seq 1 60); do [ "$(sql "SELECT count(*) FROM inbound_messages WHERE sender = '"'"'noidle@example.net'"'"'")" = 1 ] && break; sleep 0.1; done
    stop_daemon
    expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE sender = '"'"'noidle@example.net'"'"'")" 1
  '
  dovecot_stop
else
  echo "not ok - dovecot without IDLE did not start"
fi
DOVECOT_DIR=$PLAIN_DOVECOT_DIR DOVECOT_PORT=$PLAIN_DOVECOT_PORT

test_case 'the daemon and Dovecot logged no error' '
  ! grep -E "level=error" "$TEST_DIR/daemon.log" | grep -v "event=imap_message_failed"
  ! grep -iE "panic|fatal" "$DOVECOT_DIR/dovecot.log"
'
