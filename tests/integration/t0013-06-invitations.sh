#!/usr/bin/env bash
# Issue 13, item 6 — `campaign create --event SLUG` makes a newsletter an invitation:
# every message carries the RSVP context, so a bare `OUI +1` answers it. A bare OUI to a
# plain newsletter asks which event, without a dangling separator.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off TOCSIN_SMS_FROM=+33700000000
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
phone,name,locale,teams
06 12 34 56 01,Camille Martin,fr,paris-10
06 12 34 56 03,Ana Lopes,en,paris-10
CSV
"$TOCSIN" import people people.csv >/dev/null
when=$(sql "SELECT to_char(now() + interval '10 days', 'YYYY-MM-DD') || ' 10:00'")
"$TOCSIN" event add --team paris-10 --slug porte-a-porte --title "Porte-à-porte" --starts "$when" \
  --location "Métro Château-Landon" >/dev/null
"$TOCSIN" event add --team paris-10 --slug reunion --title "Réunion" --starts "$when" >/dev/null
cat > invite.tmpl <<'T'
--- text
{{event.title}}, {{event.when}}, {{event.location}} : venez ! Répondez OUI, ou OUI +1 avec un ami.
T
say() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2"; }
rsvp_of() { sql "SELECT coalesce((SELECT r.status || ' ' || r.guests FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '$1' AND e.slug = '$2'), '-')"; }

test_case 'an invitation: each message carries the RSVP context and shows the event in the reader'"'"'s words' '
  "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template invite.tmpl --event porte-a-porte > out
  cat out
  grep -q "^campaign: sms to team:paris-10 (draft), an invitation to porte-a-porte$" out
  ! grep -q "unknown variables" out
  id=$(tail -n 1 out)
  "$TOCSIN" campaign send $id >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND context->>'"'"'prompt'"'"' = '"'"'rsvp'"'"' AND (context->>'"'"'event_id'"'"')::bigint = (SELECT id FROM events WHERE slug = '"'"'porte-a-porte'"'"')")" 2
  "$TOCSIN" campaign preview $id --to "06 12 34 56 01" | grep -q "^Porte-à-porte, [a-z]* [0-9]* [a-zéû]* à 10h, Métro Château-Landon : venez"
  "$TOCSIN" campaign preview $id --to "06 12 34 56 03" | grep -q "^Porte-à-porte, [A-Z][a-z]*day [0-9]* [A-Z][a-z]* at 10:00, Métro"
'

test_case 'a bare OUI +1 to the invitation answers that event' '
  say +33612345601 "OUI +1" > out; cat out
  expect_eq "$(rsvp_of +33612345601 porte-a-porte)" "yes 1"
  say +33612345603 "yes" > /dev/null
  expect_eq "$(rsvp_of +33612345603 porte-a-porte)" "yes 0"
'

test_case 'a bare OUI to a plain newsletter asks which event, and the list ends cleanly' '
  cat > plain.tmpl <<'"'"'T'"'"'
--- text
Des nouvelles de l équipe.
T
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  sql "DELETE FROM outbound_messages WHERE campaign_id <> $id" >/dev/null
  say +33612345609 "REJOINDRE paris-10" >/dev/null
  sql "DELETE FROM outbound_messages WHERE recipient = '"'"'+33612345609'"'"'" >/dev/null
  say +33612345609 "OUI" > out; cat out
  grep -qx "Pour quel événement ? OUI porte-a-porte ; OUI reunion." out
'

test_case '--event must name an event ahead; nothing is stored otherwise' '
  before=$(sql "SELECT count(*) FROM campaigns")
  rc=0; "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template invite.tmpl --event nope 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q -- "--event nope: no such event" err
  "$TOCSIN" event cancel reunion >/dev/null
  rc=0; "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template invite.tmpl --event reunion 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q -- "--event reunion: the event is over or cancelled" err
  expect_eq "$(sql "SELECT count(*) FROM campaigns")" "$before"
'
