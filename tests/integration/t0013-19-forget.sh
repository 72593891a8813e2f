#!/usr/bin/env bash
# Issue 13, item 19 — `tocsin people forget CONTACT` erases a person (name, contacts,
# message bodies) and keeps the consent ledger as pseudonymised evidence (a keyed hash of
# the address), which `people forgotten CONTACT` finds again.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
email,phone,name,locale,teams,tags
zoe@example.org,06 12 34 56 04,Zoé Petit,fr,paris-10,tractage
ana@example.org,06 12 34 56 03,Ana Lopes,en,paris-10,
leo@example.org,06 12 34 56 05,Léo Roux,fr,paris-10,
CSV
"$TOCSIN" import people people.csv >/dev/null
when=$(sql "SELECT to_char(now() + interval '10 days', 'YYYY-MM-DD HH24:MI')")
"$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "$when" --capacity 2 >/dev/null
say() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" >/dev/null; }
say +33612345604 "RSVP marche OUI +1"
say +33612345604 "STOP"
say +33612345604 "START"
# A hard bounce's evidence quotes the address.
sql "SELECT consent_append(ARRAY[ROW(c.id, 'email', NULL, 'opt_out', 'bounce',
       '550 5.1.1 <ZOE@example.org>: no such user')::consent_entry])
     FROM contacts c WHERE c.address = 'zoe@example.org'" >/dev/null
# A campaign queued for her, held by quiet hours.
sql "INSERT INTO outbound_messages (channel, recipient, body, kind, dedupe_key, person_id, next_attempt_at)
     SELECT 'sms', '+33612345604', 'Samedi au marché', 'campaign', 'held-zoe', person_id, now() + interval '8 hours'
     FROM contacts WHERE address = '+33612345604'" >/dev/null
# Two texts a busy daemon stored and had not applied yet (docs/sms.md, Bursts), one given up.
sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, raw, attempts)
     VALUES ('twilio', 'SMwaiting', '+33612345604', '+33700000000', 'OUI', 'Body=OUI', 0),
            ('twilio', 'SMgivenup', '+33612345604', '+33700000000', 'OUI', 'Body=OUI', 10),
            ('twilio', 'SMother', '+33612345605', '+33700000000', 'OUI', 'Body=OUI', 0)" >/dev/null
person=$(sql "SELECT person_id FROM contacts WHERE address = 'zoe@example.org'")
ledger_before=$(sql "SELECT string_agg(id || ':' || contact_id || ':' || channel || ':' || action || ':' || source || ':' || created_at, ' ' ORDER BY id) FROM consent WHERE contact_id IN (SELECT id FROM contacts WHERE person_id = $person)")

test_case '--dry-run says what would be erased and changes nothing' '
  "$TOCSIN" people forget "06 12 34 56 04" --dry-run > out
  cat out
  grep -q "^person $person would be forgotten (dry run, nothing changed): 2 contacts pseudonymised, " out
  grep -q "1 membership and 1 RSVP removed; 5 consent rows kept as evidence" out
  expect_eq "$(sql "SELECT name FROM people WHERE id = $person")" "Zoé Petit"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE person_id = $person AND address IS NOT NULL")" 2
'

test_case 'forget erases the name, the addresses, the messages and the ties, in one go' '
  "$TOCSIN" people forget "06 12 34 56 04" > out
  cat out
  grep -q "^person $person forgotten: 2 contacts pseudonymised" out
  expect_eq "$(sql "SELECT name || '"'"'|'"'"' || tags::text || '"'"'|'"'"' || (forgotten_at IS NOT NULL) FROM people WHERE id = $person")" "|{}|true"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE person_id = $person AND address IS NULL AND length(address_hash) = 64")" 2
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE person_id = $person AND (body <> '"'"''"'"' OR raw IS NOT NULL OR sender <> '"'"'[forgotten]'"'"')")" 0
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE person_id = $person AND (body <> '"'"''"'"' OR recipient <> '"'"'[forgotten]'"'"')")" 0
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || last_error FROM outbound_messages WHERE dedupe_key = '"'"'held-zoe'"'"'")" "cancelled the recipient was forgotten (people forget)"
  expect_eq "$(sql "SELECT count(*) FROM memberships WHERE person_id = $person") $(sql "SELECT count(*) FROM rsvps WHERE person_id = $person")" "0 0"
  expect_eq "$(sql "SELECT string_agg(provider_id, '"'"' '"'"') FROM sms_backlog")" SMother
  for needle in zoe@example.org 612345604 "Zoé" "ZOE@"; do
    expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE sender ILIKE '"'"'%$needle%'"'"' OR body ILIKE '"'"'%$needle%'"'"' OR raw ILIKE '"'"'%$needle%'"'"'")" 0
    expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient ILIKE '"'"'%$needle%'"'"' OR body ILIKE '"'"'%$needle%'"'"' OR subject ILIKE '"'"'%$needle%'"'"'")" 0
    expect_eq "$(sql "SELECT count(*) FROM consent WHERE evidence ILIKE '"'"'%$needle%'"'"'")" 0
    expect_eq "$(sql "SELECT count(*) FROM people WHERE name ILIKE '"'"'%$needle%'"'"'")" 0
  done
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '"'"'person_forgotten'"'"' AND (payload->>'"'"'person_id'"'"')::bigint = $person")" 1
'

test_case 'an organiser forgotten loses the account: roles, sessions, tokens' '
  "$TOCSIN" user add ana@example.org --role admin >/dev/null
  "$TOCSIN" token add --user ana@example.org --name "Ana laptop" >/dev/null
  ana=$(sql "SELECT person_id FROM contacts WHERE address = '"'"'ana@example.org'"'"'")
  expect_eq "$(sql "SELECT count(*) FROM accounts WHERE person_id = $ana")" 1
  "$TOCSIN" people forget ana@example.org >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM accounts WHERE person_id = $ana")" 0
  expect_eq "$(sql "SELECT count(*) FROM api_tokens WHERE person_id = $ana AND (revoked_at IS NULL OR name <> '"'"'forgotten'"'"')")" 0
'

test_case 'the ledger stays row for row; only the address quoted in an evidence is gone' '
  expect_eq "$(sql "SELECT string_agg(id || '"'"':'"'"' || contact_id || '"'"':'"'"' || channel || '"'"':'"'"' || action || '"'"':'"'"' || source || '"'"':'"'"' || created_at, '"'"' '"'"' ORDER BY id) FROM consent WHERE contact_id IN (SELECT id FROM contacts WHERE person_id = $person)")" "$ledger_before"
  expect_eq "$(sql "SELECT evidence FROM consent WHERE source = '"'"'bounce'"'"'")" "550 5.1.1 <[forgotten]>: no such user"
  ! sql "UPDATE consent SET action = '"'"'opt_in'"'"' WHERE source = '"'"'bounce'"'"'" 2>err
  grep -q "append-only" err
  ! sql "DELETE FROM consent WHERE source = '"'"'bounce'"'"'" 2>err
'

test_case 'people forgotten finds the history again by the address; forget again says when it was done' '
  "$TOCSIN" people forgotten zoe@example.org > out
  cat out
  grep -q "opt_out" out && grep -q "bounce" out
  "$TOCSIN" people forgotten "+33 6 12 34 56 04" --json | /usr/bin/python3 -c "import json,sys; rows=json.load(sys.stdin); assert [r[\"action\"] for r in rows] == [\"opt_in\", \"opt_out\", \"opt_in\"], rows"
  "$TOCSIN" people forget zoe@example.org > out
  grep -q "^person $person: zoe@example.org was already forgotten, on " out
  rc=0; "$TOCSIN" people forgotten leo@example.org 2> err || rc=$?
  expect_eq "$rc" 65
'

test_case 'the hash is keyed: another engine secret gives another hash' '
  hash=$(sql "SELECT address_hash FROM contacts WHERE person_id = $person AND kind = '"'"'email'"'"'")
  plain=$(printf "forget:email:zoe@example.org" | sha256sum | cut -d" " -f1)
  [ "$hash" != "$plain" ]
  rc=0; TOCSIN_ENGINE_SECRET=another-secret "$TOCSIN" people forgotten zoe@example.org 2>err || rc=$?
  expect_eq "$rc" 65
'

test_case 'bad input is refused with the argument named; nothing changes for someone else' '
  rc=0; "$TOCSIN" people forget "06 12" 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "CONTACT 06 12: wrong number of digits" err
  rc=0; "$TOCSIN" people forget nobody@example.org 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "no one has the email nobody@example.org" err
  expect_eq "$(sql "SELECT name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'leo@example.org'"'"'")" "Léo Roux"
'

test_case 'the old spreadsheet imported again does not bring the forgotten back' '
  people_before=$(sql "SELECT count(*) FROM people")
  "$TOCSIN" import people people.csv > out 2> err
  cat out err
  grep -q "people.csv:2: email zoe@example.org was forgotten on request (people forget): not imported again" err
  grep -q "1 imported (0 new), 0 rejected, 2 forgotten addresses skipped" out
  expect_eq "$(sql "SELECT count(*) FROM people")" "$people_before"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address IN ('"'"'zoe@example.org'"'"', '"'"'+33612345604'"'"')")" 0
'

test_case 'the same number texting JOIN later is a new person, with a ledger of its own' '
  say +33612345604 "JOIN paris-10"
  new=$(sql "SELECT person_id FROM contacts WHERE address = '"'"'+33612345604'"'"'")
  [ "$new" != "$person" ]
  expect_eq "$(sql "SELECT count(*) FROM consent WHERE contact_id IN (SELECT id FROM contacts WHERE person_id = $new)")" 1
'

test_case 'a newsletter to everyone skips the forgotten; people list no longer shows them' '
  cat > all.tmpl <<T
--- text
Bonjour {{first_name}}
T
  id=$("$TOCSIN" campaign create --channel sms --segment all --template all.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id > out
  cat out
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND person_id = $person")" 0
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND recipient = '"'"'+33612345605'"'"'")" 1
  "$TOCSIN" people list --json > list.json
  /usr/bin/python3 -c "import json; ids=[p[\"id\"] for p in json.load(open(\"list.json\"))[\"items\"]]; assert $person not in ids, ids"
'

