#!/usr/bin/env bash
# Real mail through `tocsin inject` against PostgreSQL: every tests/fixtures/mail/NAME.eml
# whose NAME.expect has "db_" keys is injected into a seeded world and the database is
# checked afterwards. Adding a case is adding two files.
#
# The world: team t18-paris-10 and its event porte-a-porte. Before each mail, the person
# it concerns — db_address, else the From address — has an email contact whose consent is
# opt_in, an RSVP to the event (db_seed_rsvp: yes|no|maybe|none, default yes) and a
# reminder about it (the context a bare OUI answers). The placeholder token
# 1z-k3x9q2m7p4v8d6wa in the mail becomes a real one: after bounce+ the reminder's bounce
# token, after unsubscribe+ the contact's unsub token, elsewhere the reminder's reply token.
#
# Keys checked (absent: not checked):
#   db_case           the behaviour, as the TAP line says it
#   db_locale         the person's locale (fr by default)
#   db_rsvp           the person's RSVP afterwards: yes, no, maybe, waitlist or none
#   db_guests         its guests
#   db_consent        the newest global email consent of the contact: opt_in or opt_out
#   db_consent_source its source (email_command, list_unsubscribe, bounce …)
#   db_status         inbound_messages.status of the mail (its first command line)
#   db_reply          kinds of the messages queued in answer, comma-separated, or none
#   db_reply_contains text the answer contains
#   db_suppressed     yes or no: does the address still receive mail?
#   db_outbound_status the reminder's status afterwards (a bounce marks it bounced)
#   db_log            text inject's log lines must contain
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/dovecot.sh"
FIX=$SRC/tests/fixtures/mail
PLACEHOLDER=1z-k3x9q2m7p4v8d6wa
IMAP_TOOL="/usr/bin/python3 $SRC/tests/integration/imap_tool.py"
trap 'stop_daemon; dovecot_stop' EXIT

# Signed tokens as token.c makes them, from the engine secret: one line "PURPOSE ID" each
# on stdin, one token each on stdout.
tokens() {
  /usr/bin/python3 -c '
import base64, hashlib, hmac, sys
key = sys.argv[1]
for line in sys.stdin:
    purpose, n = line.split()
    n, id36, digits = int(n), "", "0123456789abcdefghijklmnopqrstuvwxyz"
    while True:
        id36 = digits[n % 36] + id36
        n //= 36
        if n == 0:
            break
    mac = hmac.new(key.encode(), f"{purpose}:{id36}".encode(), hashlib.sha256).digest()
    print(f"{id36}-{base64.b32encode(mac[:10]).decode().lower()}")
' "$(sql "SELECT value FROM settings WHERE name = 'engine_secret'")"
}
token() { echo "$1 $2" | tokens; }

# The value of KEY in an .expect file (the lines before "commands:").
expect_get() { sed -n '/^commands:$/q; s/^'"$1"': //p' "$2" | head -n 1; }

# "FROM-ADDRESS MESSAGE-ID" of a mail.
mail_fields() {
  /usr/bin/python3 - "$1" <<'PY'
import email, email.policy, email.utils, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
print(email.utils.parseaddr(str(m["From"] or ""))[1].lower(), str(m["Message-ID"] or "").strip().strip("<>"))
PY
}

"$TOCSIN" team add t18-paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" event add --team t18-paris-10 --slug porte-a-porte --title "Porte-à-porte au marché" \
  --starts "2030-03-16 10:00" >/dev/null
EVENT=$(sql "SELECT id FROM events WHERE slug = 'porte-a-porte'")

# seed ADDRESS LOCALE RSVP NAME: sets PERSON, CONTACT and REMINDER (an outbound reminder
# about the event, the mail the fixture answers or bounces). One statement list, one psql.
seed() {
  local address=$1 locale=$2 rsvp=$3 name=$4 ids
  ids=$(sql "
    INSERT INTO people (name, locale) SELECT '$name', '$locale'
      WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE kind = 'email' AND address = '$address');
    INSERT INTO contacts (person_id, kind, address) SELECT max(id), 'email', '$address' FROM people
      WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE kind = 'email' AND address = '$address');
    UPDATE people SET locale = '$locale'
      WHERE id = (SELECT person_id FROM contacts WHERE kind = 'email' AND address = '$address');
    -- The ledger is append-only: a fresh opt_in is what makes the address subscribed again.
    INSERT INTO consent (contact_id, channel, action, source, evidence)
      SELECT id, 'email', 'opt_in', 'import', 't0018 seed' FROM contacts
      WHERE kind = 'email' AND address = '$address';
    DELETE FROM rsvps WHERE person_id = (SELECT person_id FROM contacts WHERE kind = 'email' AND address = '$address');
    DELETE FROM bounce_scores WHERE contact_id = (SELECT id FROM contacts WHERE kind = 'email' AND address = '$address');
    DELETE FROM outbound_messages WHERE recipient = '$address';
    INSERT INTO rsvps (event_id, person_id, status)
      SELECT $EVENT, person_id, '$rsvp' FROM contacts
      WHERE kind = 'email' AND address = '$address' AND '$rsvp' <> 'none';
    INSERT INTO outbound_messages (channel, recipient, subject, status, kind, dedupe_key, context,
        person_id, contact_id)
      SELECT 'email', address, 'Porte-à-porte samedi', 'sent', 'reminder', 't18-' || gen_random_uuid(),
        jsonb_build_object('event_id', $EVENT, 'prompt', 'rsvp'), person_id, id
      FROM contacts WHERE kind = 'email' AND address = '$address'
      RETURNING person_id || ' ' || contact_id || ' ' || id")
  read -r PERSON CONTACT REMINDER <<<"$ids"
}

# check NAME KEY WANT GOT: one comparison, said with the fixture's name.
check() {
  if [ "$3" != "$4" ]; then
    echo "$1: $2: expected \"$3\", got \"$4\""
    return 1
  fi
}

# What the checks read, in one query: one value a line, in the order of `keys` below.
facts() { # address message-id
  sql "
    WITH replies AS (SELECT o.kind, o.body FROM outbound_messages o
                     JOIN inbound_messages i ON i.id = o.inbound_id
                     WHERE i.channel = 'email' AND (i.provider_id = '$2' OR i.provider_id LIKE '$2#%')),
         ledger AS (SELECT action, source FROM consent WHERE contact_id = $CONTACT AND channel = 'email'
                    AND scope IS NULL ORDER BY id DESC LIMIT 1)
    SELECT x FROM unnest(ARRAY[
      coalesce((SELECT status FROM rsvps WHERE event_id = $EVENT AND person_id = $PERSON), 'none'),
      coalesce((SELECT guests::text FROM rsvps WHERE event_id = $EVENT AND person_id = $PERSON), ''),
      (SELECT action FROM ledger),
      (SELECT source FROM ledger),
      coalesce((SELECT status FROM inbound_messages WHERE channel = 'email' AND provider_id = '$2'), ''),
      coalesce((SELECT string_agg(kind, ',' ORDER BY kind) FROM replies), 'none'),
      CASE WHEN consent_allows('email', '$1', NULL) THEN 'no' ELSE 'yes' END,
      (SELECT status FROM outbound_messages WHERE id = $REMINDER),
      coalesce((SELECT string_agg(replace(body, E'\n', ' '), ' ') FROM replies), '')
    ]) WITH ORDINALITY AS t(x, n) ORDER BY n"
}

run_fixture() { # NAME
  local name=$1 eml="$FIX/$1.eml" exp="$FIX/$1.expect" from msgid address locale rsvp rc=0 fails=0
  read -r from msgid <<<"$(mail_fields "$eml")"
  address=$(expect_get db_address "$exp"); address=${address:-$from}
  locale=$(expect_get db_locale "$exp"); locale=${locale:-fr}
  rsvp=$(expect_get db_seed_rsvp "$exp"); rsvp=${rsvp:-yes}
  seed "$address" "$locale" "$rsvp" "$name"
  local toks rtok btok utok
  toks=$(printf 'reply %s\nbounce %s\nunsub %s\n' "$REMINDER" "$REMINDER" "$CONTACT" | tokens)
  { read -r rtok; read -r btok; read -r utok; } <<<"$toks"
  sed -e "s/bounce+$PLACEHOLDER/bounce+$btok/g" -e "s/unsubscribe+$PLACEHOLDER/unsubscribe+$utok/g" \
    -e "s/$PLACEHOLDER/$rtok/g" "$eml" > "$name.eml"
  "$TOCSIN" inject < "$name.eml" > "$name.out" 2> "$name.log" || rc=$?
  check "$name" "inject exit status" 0 "$rc" || { cat "$name.log"; return 1; }

  local keys=(db_rsvp db_guests db_consent db_consent_source db_status db_reply db_suppressed
              db_outbound_status) got=() i want
  mapfile -t got < <(facts "$address" "$msgid")
  for i in "${!keys[@]}"; do
    want=$(expect_get "${keys[$i]}" "$exp")
    [ -z "$want" ] || check "$name" "${keys[$i]}" "$want" "${got[$i]}" || fails=$((fails + 1))
  done
  want=$(expect_get db_reply_contains "$exp")
  if [ -n "$want" ] && [[ "${got[8]}" != *"$want"* ]]; then
    echo "$name: db_reply_contains: \"$want\" not in \"${got[8]}\""; fails=$((fails + 1))
  fi
  want=$(expect_get db_log "$exp")
  if [ -n "$want" ] && ! grep -q "$want" "$name.log"; then
    echo "$name: db_log: \"$want\" not in the log:"; cat "$name.log"; fails=$((fails + 1))
  fi
  [ "$fails" -eq 0 ]
}

cases=0
for exp in "$FIX"/*.expect; do
  grep -q '^db_' "$exp" || continue
  name=$(basename "$exp" .expect)
  cases=$((cases + 1))
  test_case "$name: $(expect_get db_case "$exp")" "run_fixture $name"
done

test_case 'at least 60 real-shaped mails are checked against the database' '
  expect_eq "$([ "$cases" -ge 60 ] && echo enough || echo "only $cases")" enough
'

# A reply to one of our mails, with In-Reply-To our Message-ID for outbound row $2.
reply_to() { # from outbound-id body
  printf 'From: %s\nTo: reply@lists.example.org\nSubject: Re: Porte-a-porte\nMessage-ID: <t18-%s@example.net>\nIn-Reply-To: <tocsin.%s@lists.example.org>\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
    "$1" "$RANDOM$RANDOM" "$(token reply "$2")" "$3"
}
rsvp_of() { # person
  sql "SELECT coalesce((SELECT status FROM rsvps WHERE event_id = $EVENT AND person_id = $1), 'none')"
}
person_of() { # address
  sql "SELECT person_id FROM contacts WHERE address = '$1'"
}

answer_the_question() {
  local person ask
  person=$(person_of paul.mercier@laposte.net)
  expect_eq "$(rsvp_of "$person")" no
  ask=$(sql "SELECT o.id FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id
             WHERE i.status = 'asked' AND o.recipient = 'paul.mercier@laposte.net'")
  reply_to "Paul Mercier <paul.mercier@laposte.net>" "$ask" "OUI" | "$TOCSIN" inject
  expect_eq "$(rsvp_of "$person")" yes
}
test_case 'the bare OUI that answers "Did you mean OUI?" is applied' answer_the_question

sms_unsure() {
  local number=+33612340018 person out
  person=$(sql "WITH p AS (INSERT INTO people (name, locale) VALUES ('Texto', 'fr') RETURNING id)
                INSERT INTO contacts (person_id, kind, address) SELECT id, 'phone', '$number' FROM p
                RETURNING person_id" | head -n 1)
  sql "INSERT INTO rsvps (event_id, person_id, status) VALUES ($EVENT, $person, 'yes')" >/dev/null
  sql "INSERT INTO outbound_messages (channel, recipient, status, kind, dedupe_key, context)
       VALUES ('sms', '$number', 'sent', 'reminder', 't18-sms',
               jsonb_build_object('event_id', $EVENT, 'prompt', 'rsvp'))" >/dev/null
  out=$("$TOCSIN" sms-inject --from "$number" --to 36173 --text "Non, à samedi")
  case "$out" in *"Vouliez-vous dire NON"*) ;; *) echo "no question: $out"; return 1 ;; esac
  expect_eq "$(rsvp_of "$person")" yes
  "$TOCSIN" sms-inject --from "$number" --to 36173 --text "Y a-t-il un parking ?" >/dev/null
  expect_eq "$(rsvp_of "$person")" yes
  "$TOCSIN" sms-inject --from "$number" --to 36173 --text "NON" >/dev/null
  expect_eq "$(rsvp_of "$person")" no
}
test_case 'SMS too: an unsure answer is asked about, and the RSVP waits for the answer' sms_unsure

unsubscribe_twice() {
  local contact before
  contact=$(sql "SELECT id FROM contacts WHERE address = 'pierre.caron@gmail.com'")
  before=$(sql "SELECT count(*) FROM consent WHERE contact_id = $contact")
  "$TOCSIN" inject < list-unsubscribe-mailto-gmail.eml > again.out
  expect_eq "$(cat again.out)" duplicate
  expect_eq "$(sql "SELECT count(*) FROM consent WHERE contact_id = $contact")" "$before"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages
                    WHERE contact_id = $contact AND kind = 'stop_confirmation'")" 1
}
test_case 'the same unsubscribe mail twice: one opt-out, one confirmation' unsubscribe_twice

queue_status_line() {
  "$TOCSIN" queue status > status.txt
  grep -q "^policy rejections in the last 7 days: [1-9]" status.txt
  grep -q "diagnostic=" status.txt
  "$TOCSIN" queue status --json > status.json
  /usr/bin/python3 -c 'import json; rows = json.load(open("status.json")); assert isinstance(rows, list) and all("channel" in r for r in rows), rows'
}
test_case 'tocsin queue status tells the operator about policy rejections; --json stays rows' queue_status_line

policy_over_imap() {
  local mark
  dovecot_start "$TEST_DIR/dovecot"
  seed policy-imap@example.net fr none IMAP
  sed -e "s/bounce+$PLACEHOLDER/bounce+$(token bounce "$REMINDER")/g" \
      -e "s/helene.dumas@asso-quartier.fr/policy-imap@example.net/g" \
      -e "s/20240309091512.9C2F3A4B5D/20240309091599.IMAPPOLICY/" \
      "$FIX/postfix-dsn-spamhaus-blocked.eml" > imap-policy.eml
  $IMAP_TOOL "$DOVECOT_PORT" append imap-policy.eml
  mark=$(cat "$TEST_DIR/daemon.log" 2>/dev/null | wc -l)
  start_daemon TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT="$DOVECOT_PORT" TOCSIN_IMAP_TLS=off \
    TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret TOCSIN_HTTP_METRICS_TOKEN=policy-scrape
  trap 'stop_daemon; dovecot_stop' EXIT
  for _ in $(seq 1 200); do
    [ "$(sql "SELECT count(*) FROM inbound_messages WHERE provider = 'imap'")" -ge 1 ] && break
    sleep 0.05
  done
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE provider = 'imap'")" bounce_policy
  curl -s -H "Authorization: Bearer policy-scrape" "$HTTP/metrics" | grep -q '^tocsin_mail_bounces_total{outcome="policy"} 1$'
  tail -n +$((mark + 1)) "$TEST_DIR/daemon.log" | grep -q "event=mail_bounce_policy"
  expect_eq "$(sql "SELECT consent_allows('email', 'policy-imap@example.net', NULL)")" t
}
test_case 'a policy bounce read over IMAP is counted in /metrics and logged, the address kept' policy_over_imap
