#!/usr/bin/env bash
# Issue 13, item 20 — a stranger who joins by email is named as their mail names them; a
# reminder goes on the channel the person answered on (or chose) and falls back to the
# other channel when that one is opted out.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null

mail() { # From-header body [message-id]
  printf 'From: %s\nTo: tocsin@example.org\nSubject: hello\nMessage-ID: <%s@example.net>\nDate: Mon, 3 Mar 2031 10:00:00 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
    "$1" "${3:-$RANDOM$RANDOM}" "$2" | "$TOCSIN" inject
}
name_of() { sql "SELECT p.name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '$1'"; }

test_case 'a stranger who joins by email gets the display name of their From:' '
  mail "=?utf-8?Q?Zo=C3=A9_Petit?= <zoe@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of zoe@example.org)" "Zoé Petit"
  mail "\"Dupont, Marc\" <marc@example.org>" "REJOINDRE paris-10" >/dev/null
  expect_eq "$(name_of marc@example.org)" "Dupont, Marc"
'

test_case 'a From: without a name, or whose name is an address, leaves the name empty' '
  mail "lea@example.org" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of lea@example.org)" ""
  mail "\"hugo@example.org\" <hugo@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of hugo@example.org)" ""
'

test_case 'a known person keeps the name they have: a mail never renames anyone' '
  mail "Zozo la Terreur <zoe@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of zoe@example.org)" "Zoé Petit"
'

# ---- reminders: where the person answered, else the other channel ----------------------
clock() {
  sql "DELETE FROM settings WHERE name = 'test_clock_offset'" >/dev/null
  [ "$1" = reset ] && return 0
  sql "INSERT INTO settings (name, value) VALUES ('test_clock_offset',
       (('$1'::timestamp AT TIME ZONE 'Europe/Paris') - now())::text)" >/dev/null
}
day() { sql "SELECT to_char((now() AT TIME ZONE 'Europe/Paris')::date + $1, 'YYYY-MM-DD')"; }
cat > people.csv <<CSV
email,phone,name,locale,teams
camille@example.org,+33612345601,Camille Martin,fr,paris-10
louis@example.org,+33612345602,Louis Bernard,fr,paris-10
ana@example.org,+33612345603,Ana Lopes,en,paris-10
zoe.b@example.org,+33612345604,Zoé Bernard,fr,paris-10
CSV
"$TOCSIN" import people people.csv >/dev/null
"$TOCSIN" event add --team paris-10 --slug soiree --title "Soirée" --starts "$(day 2) 20:00" >/dev/null
sms() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" >/dev/null; }
reminder_to() { # the channel and address a person's reminder went to
  sql "SELECT o.channel || ' ' || o.recipient FROM outbound_messages o JOIN contacts c ON c.person_id = o.person_id
       WHERE o.kind = 'reminder' AND c.address = '$1'"
}

test_case 'a reminder goes on the channel the person answered on, or on their stated one' '
  sms +33612345601 "OUI soiree"
  mail "Louis Bernard <louis@example.org>" "RSVP soiree OUI" >/dev/null
  sms +33612345603 "YES soiree"
  sql "UPDATE people SET channel = '"'"'email'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'ana@example.org'"'"')" >/dev/null
  clock "$(day 1) 21:00"
  TOCSIN_ENGINE_QUIET_HOURS=off "$TOCSIN" campaign tick | grep -q "reminders 3"
  expect_eq "$(reminder_to camille@example.org)" "sms +33612345601"
  expect_eq "$(reminder_to louis@example.org)" "email louis@example.org"
  expect_eq "$(reminder_to ana@example.org)" "email ana@example.org"
'

test_case 'the channel answered on was opted out: the reminder falls back to the other one' '
  clock reset
  sms +33612345604 "OUI soiree"
  sms +33612345604 "STOP"
  clock "$(day 1) 21:00"
  TOCSIN_ENGINE_QUIET_HOURS=off "$TOCSIN" campaign tick | grep -q "reminders 1"
  expect_eq "$(reminder_to zoe.b@example.org)" "email zoe.b@example.org"
'
