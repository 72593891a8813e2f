#!/usr/bin/env bash
# Trust (issue 12), point 3: a From: header proves nothing. START, JOIN and CONFIRM by mail
# act only with proof — the signed reply address of a mail tocsin sent to that very address,
# or the trusted receiving server's DMARC pass — else the address gets a confirmation for
# exactly that request (single use, 7 days). STOP and LEAVE still apply without proof, and
# their confirmation lets the address's owner undo them. Mail goes in through `tocsin inject`
# (the MTA pipe, the same pipeline as the IMAP reader) and out through the queue to the spool.
. "$SRC/tests/integration/lib.sh"
export TOCSIN_ENGINE_QUIET_HOURS=off TOCSIN_SMTP_RETURN_PATH_DOMAIN=lists.example.org

# "table=rows …" for every table of the schema.
counts() {
  sql "SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/n/text()',
         query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]),
         ' ' ORDER BY c.relname)
       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE s.nspname = 'public' AND c.relkind = 'r'"
}
# mail FROM BODY [TO] [EXTRA HEADER LINES]: one mail through `tocsin inject`.
mail() {
  printf "%bFrom: %s\nTo: %s\nSubject: hello\nMessage-ID: <%s@example.net>\nContent-Type: text/plain; charset=utf-8\n\n%s\n" \
    "${4:-}" "$1" "${3:-equipe@example.org}" "$RANDOM$RANDOM$RANDOM" "$2" | "$TOCSIN" inject 2>>"$TEST_DIR/inject.log"
}
# The newest mail queued for ADDRESS (the spool names files by outbound id), once a daemon
# has written it to the spool.
sent_to() {
  start_daemon
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient = '$1' AND status IN ('queued', 'sending')")" = 0 ] && break
    sleep 0.1
  done
  stop_daemon
  grep -l "^To: .*$1" spool/mail/*.eml | sort -V | tail -n 1
}
# The text of a spooled mail, quoted-printable undone.
text_of() {
  /usr/bin/python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(m.get_payload(decode=True).decode())' "$1"
}
reply_address() { grep -h "^Reply-To:" "$(sent_to "$1")" | sed "s/^Reply-To: *//; s/[<>\r]//g"; }
# The link of the newest mail to ADDRESS that has one.
confirm_link() {
  local f
  sent_to "$1" >/dev/null
  for f in $(grep -l "^To: .*$1" spool/mail/*.eml | sort -rV); do
    text_of "$f" | grep -o "/c/[0-9a-z]*-[a-z2-7]*" | head -n 1 | grep . && return 0
  done
  return 1
}
status_of() { # ADDRESS TEAM
  sql "SELECT coalesce((SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id
       JOIN teams t ON t.id = m.team_id WHERE c.address = '$1' AND t.slug = '$2'), 'none')"
}
last_word() { sql "SELECT k.action FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '$1' AND k.channel = 'email' AND k.scope IS NULL ORDER BY k.id DESC LIMIT 1"; }
post() { curl -s -o /dev/null -w "%{http_code}" -X POST "$HTTP$1"; }

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
printf "email,name,locale\nalice@example.org,Alice,en\nbruno@example.org,Bruno,fr\nchloe@example.org,Chloé,fr\n" > people.csv
"$TOCSIN" import people people.csv >/dev/null

test_case 'a forged mail "JOIN paris-10" then "CONFIRM" from a known address joins nobody: it waits for its owner' '
  mail "alice@example.org" "JOIN paris-10
CONFIRM"
  expect_eq "$(status_of alice@example.org paris-10)" pending
  expect_eq "$(sql "SELECT string_agg(command || '"'"':'"'"'|| status, '"'"' '"'"' ORDER BY id) FROM inbound_messages WHERE sender = '"'"'alice@example.org'"'"'")" "join:unproven confirm:refused"
  expect_eq "$(sql "SELECT count(*) FROM confirmation_requests")" 1
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient = '"'"'alice@example.org'"'"' AND kind = '"'"'confirmation'"'"'")" 1
  "$TOCSIN" campaign create --channel email --segment team:paris-10 --template /dev/stdin <<T | grep -qx "recipients: 0"
subject: News
--- text
hello
T
'

test_case 'the owner confirms with the link: that one membership, once; a GET changes nothing' '
  link=$(confirm_link alice@example.org)
  [ -n "$link" ]
  start_daemon
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP$link")" 200
  expect_eq "$(status_of alice@example.org paris-10)" pending
  expect_eq "$(post "$link")" 200
  expect_eq "$(post "$link")" 410
  expect_eq "$(post "/c/${link#/c/}x")" 403
  stop_daemon
  expect_eq "$(status_of alice@example.org paris-10)" active
  expect_eq "$(sql "SELECT used_by FROM confirmation_requests")" link
'

test_case 'a confirmation link is for one request: confirming lyon-1 does not confirm another pending team' '
  mail "bruno@example.org" "REJOINDRE paris-10"
  confirm_link bruno@example.org > link_paris
  mail "bruno@example.org" "REJOINDRE lyon-1"
  link_lyon=$(confirm_link bruno@example.org)
  [ "$(cat link_paris)" != "$link_lyon" ]
  start_daemon
  expect_eq "$(post "$link_lyon")" 200
  stop_daemon
  expect_eq "$(status_of bruno@example.org lyon-1) $(status_of bruno@example.org paris-10)" "active pending"
'

test_case 'a confirmation expires after 7 days and then changes nothing' '
  sql "INSERT INTO settings (name, value) VALUES ('"'"'test_clock_offset'"'"', '"'"'7 days 1 hour'"'"')" >/dev/null
  start_daemon
  code=$(post "$(cat link_paris)")
  stop_daemon
  sql "DELETE FROM settings WHERE name = '"'"'test_clock_offset'"'"'" >/dev/null
  expect_eq "$code" 410
  expect_eq "$(status_of bruno@example.org paris-10)" pending
'

test_case 'answering the confirmation mail itself (its signed reply address) with CONFIRM proves the address' '
  mail "bruno@example.org" "REJOINDRE paris-10"
  to=$(reply_address bruno@example.org)
  echo "$to" | grep -q "^reply+[0-9a-z]*-[a-z2-7]*@lists.example.org$"
  mail "bruno@example.org" "CONFIRMER" "$to"
  expect_eq "$(status_of bruno@example.org paris-10)" active
  expect_eq "$(sql "SELECT proof FROM inbound_messages WHERE sender = '"'"'bruno@example.org'"'"' ORDER BY id DESC LIMIT 1")" reply_token
'

test_case 'a forged START after a one-click unsubscribe leaves the ledger'"'"'s last word opt_out' '
  # A newsletter, and its unsubscribe link (its token names the contact).
  link=$("$TOCSIN" campaign create --channel email --segment all --template /dev/stdin <<T | tail -n 1
subject: News
--- text
{{unsubscribe_url}}
T
)
  "$TOCSIN" campaign send "$link" >/dev/null
  "$TOCSIN" campaign tick >/dev/null
  u=$(text_of "$(sent_to chloe@example.org)" | grep -o "/u/[0-9a-z]*-[a-z2-7]*" | head -n 1)
  [ -n "$u" ]
  start_daemon
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -X POST -d List-Unsubscribe=One-Click "$HTTP$u")" 200
  stop_daemon
  expect_eq "$(last_word chloe@example.org)" opt_out
  before=$(sql "SELECT count(*) FROM consent")
  mail "chloe@example.org" "REPRENDRE"
  mail "chloe@example.org" "START"
  expect_eq "$(last_word chloe@example.org)" opt_out
  expect_eq "$(sql "SELECT count(*) FROM consent")" "$before"
  # One confirmation reaches the address, though it opted out; the second START the same
  # day gets none (a forger cannot mail-bomb it).
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient = '"'"'chloe@example.org'"'"' AND kind = '"'"'consent_request'"'"'")" 1
  expect_eq "$(sql "SELECT reply_withheld FROM inbound_messages WHERE sender = '"'"'chloe@example.org'"'"' ORDER BY id DESC LIMIT 1")" request_after_stop
  text_of "$(sent_to chloe@example.org)" | grep -q "^Quelqu.un (vous, nous l.espérons) a demandé à recevoir à nouveau nos messages"
'

test_case 'its owner takes it back with the confirmation'"'"'s link: opt_in, once' '
  link=$(confirm_link chloe@example.org)
  start_daemon
  expect_eq "$(post "$link")" 200
  expect_eq "$(post "$link")" 410
  stop_daemon
  expect_eq "$(last_word chloe@example.org)" opt_in
  expect_eq "$(sql "SELECT k.source FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '"'"'chloe@example.org'"'"' ORDER BY k.id DESC LIMIT 1")" confirm_link
'

test_case 'a signed reply address proves only the address its mail was sent to' '
  # Bruno answers with the reply address of a mail sent to Bruno, but writes Alice'"'"'s From:.
  to=$(reply_address bruno@example.org)
  mail "alice@example.org" "REJOINDRE lyon-1" "$to"
  expect_eq "$(status_of alice@example.org lyon-1)" pending
  expect_eq "$(sql "SELECT coalesce(proof, '"'"'none'"'"') FROM inbound_messages WHERE sender = '"'"'alice@example.org'"'"' ORDER BY id DESC LIMIT 1")" none
  # A made-up token proves nothing either.
  mail "alice@example.org" "START" "reply+5-abcdefghijklmnop@lists.example.org"
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE sender = '"'"'alice@example.org'"'"' ORDER BY id DESC LIMIT 1")" unproven
'

test_case 'STOP by mail applies without proof, and its confirmation carries a link that undoes it' '
  mail "alice@example.org" "STOP"
  expect_eq "$(last_word alice@example.org)" opt_out
  text_of "$(sent_to alice@example.org)" > stop.txt
  grep -q "^Nothing proves this request came from you: if it did not, this link undoes it" stop.txt
  link=$(grep -o "/c/[0-9a-z]*-[a-z2-7]*" stop.txt | head -n 1)
  start_daemon
  expect_eq "$(post "$link")" 200
  stop_daemon
  expect_eq "$(last_word alice@example.org)" opt_in
'

test_case 'LEAVE by mail applies without proof, and its answer carries a link that undoes it' '
  mail "alice@example.org" "LEAVE paris-10"
  expect_eq "$(status_of alice@example.org paris-10)" none
  link=$(confirm_link alice@example.org)
  start_daemon
  expect_eq "$(post "$link")" 200
  stop_daemon
  expect_eq "$(status_of alice@example.org paris-10)" active
'

test_case 'with [imap] trusted_authserv_id, the receiving server'"'"'s dmarc=pass proves the From:' '
  export TOCSIN_IMAP_TRUSTED_AUTHSERV_ID=mx.tocsin.example
  pass="Authentication-Results: mx.tocsin.example; spf=pass smtp.mailfrom=example.org; dmarc=pass (p=none) header.from=example.org
"
  mail "bruno@example.org" "JOIN lyon-1" "" "$pass"
  expect_eq "$(status_of bruno@example.org lyon-1)" active
  expect_eq "$(sql "SELECT proof FROM inbound_messages WHERE sender = '"'"'bruno@example.org'"'"' ORDER BY id DESC LIMIT 1")" dmarc
'

test_case 'another server'"'"'s verdict, a fail, or a forged pass below the trusted server'"'"'s own proves nothing' '
  export TOCSIN_IMAP_TRUSTED_AUTHSERV_ID=mx.tocsin.example
  mail "chloe@example.org" "REJOINDRE lyon-1" "" "Authentication-Results: mx.elsewhere.example; dmarc=pass header.from=example.org
"
  expect_eq "$(status_of chloe@example.org lyon-1)" pending
  mail "chloe@example.org" "REJOINDRE lyon-1" "" "Authentication-Results: mx.tocsin.example; dmarc=fail header.from=example.org
Authentication-Results: mx.tocsin.example; dmarc=pass header.from=example.org
"
  expect_eq "$(status_of chloe@example.org lyon-1)" pending
  unset TOCSIN_IMAP_TRUSTED_AUTHSERV_ID
  mail "chloe@example.org" "REJOINDRE lyon-1" "" "Authentication-Results: mx.tocsin.example; dmarc=pass header.from=example.org
"
  expect_eq "$(status_of chloe@example.org lyon-1)" pending
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE sender = '"'"'chloe@example.org'"'"' AND proof IS NOT NULL")" 0
'

test_case 'the mailto: unsubscribe address acts on the contact its token names, not on the From:' '
  # The List-Unsubscribe header of the newsletter Alice received above.
  news=$(grep -l "^Subject: News" $(grep -l "^To: alice@example.org" spool/mail/*.eml) | head -n 1)
  to=$(grep -o "mailto:unsubscribe+[0-9a-z]*-[a-z2-7]*@lists.example.org" "$news" | head -n 1 | sed "s/^mailto://")
  [ -n "$to" ]
  expect_eq "$(last_word alice@example.org)" opt_in
  expect_eq "$(last_word bruno@example.org)" opt_in
  # Sent by Bruno (a forwarded newsletter, a shared mailbox): Alice is unsubscribed, Bruno is not.
  mail "bruno@example.org" "Please take me off" "$to"
  expect_eq "$(last_word alice@example.org)" opt_out
  expect_eq "$(last_word bruno@example.org)" opt_in
  # A token that does not verify unsubscribes nobody through it.
  before=$(sql "SELECT count(*) FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address <> '"'"'bruno@example.org'"'"'")
  mail "bruno@example.org" "hello" "unsubscribe+2-aaaaaaaaaaaaaaaa@lists.example.org"
  expect_eq "$(sql "SELECT count(*) FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address <> '"'"'bruno@example.org'"'"'")" "$before"
'

test_case 'by SMS a JOIN acts at once: the signed gateway vouches for the number' '
  "$TOCSIN" sms-inject --from +33612345699 --to 36173 --text "JOIN lyon-1" >/dev/null
  expect_eq "$(status_of +33612345699 lyon-1)" active
'
