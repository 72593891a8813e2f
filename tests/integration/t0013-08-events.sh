#!/usr/bin/env bash
# Issue 13, item 8 — `event edit SLUG [--title] [--location] [--capacity]`; `event move`
# may change the place and takes --note, sent with the notice; a start in the past is
# refused unless --past; date errors say exactly what format is expected.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
printf "phone,name,locale,teams\n06 12 34 56 01,Camille Martin,fr,paris-10\n" > people.csv
"$TOCSIN" import people people.csv >/dev/null
later=$(sql "SELECT to_char(now() + interval '10 days', 'YYYY-MM-DD') || ' 10:00'")
later2=$(sql "SELECT to_char(now() + interval '12 days', 'YYYY-MM-DD') || ' 18:30'")
yesterday=$(sql "SELECT to_char(now() - interval '1 day', 'YYYY-MM-DD') || ' 10:00'")
fails() { local want=$1 rc=0; shift; "$@" > out 2> err || rc=$?; cat out err; expect_eq "$rc" "$want"; }

test_case 'a start in the past is refused unless --past, saying so' '
  fails 65 "$TOCSIN" event add --team paris-10 --slug hier --title Hier --starts "$yesterday"
  grep -q "starts $yesterday is in the past (Europe/Paris): nobody could answer it; --past" err
  expect_eq "$(sql "SELECT count(*) FROM events")" 0
  "$TOCSIN" event add --team paris-10 --slug hier --title Hier --starts "$yesterday" --past >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM events WHERE slug = '"'"'hier'"'"'")" 1
'

test_case 'date errors say the format expected, with an example' '
  fails 65 "$TOCSIN" event add --team paris-10 --slug a --title A --starts "07/06/2031 10h"
  grep -q "starts 07/06/2031 10h: expected .YYYY-MM-DD HH:MM. in the event.s time zone, e.g. .2031-06-07 10:00." err
  fails 65 "$TOCSIN" event add --team paris-10 --slug a --title A --starts "2031-02-30 10:00"
  grep -q "starts 2031-02-30 10:00: not a date and time; expected .YYYY-MM-DD HH:MM." err
  fails 65 "$TOCSIN" event add --team paris-10 --slug a --title A --starts "2031-06-07 25:00"
  grep -q "not a date and time" err
'

test_case 'event edit changes title, place and capacity; none lifts the limit; nobody is notified' '
  "$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "$later" --capacity 10 >/dev/null
  "$TOCSIN" sms-inject --from +33612345601 --to 36173 --text "RSVP marche OUI" >/dev/null
  before=$(sql "SELECT count(*) FROM outbound_messages")
  "$TOCSIN" event edit marche --title "Marché du samedi" --location "Place des Fêtes" --capacity 20 | grep -qx "event marche edited"
  expect_eq "$(sql "SELECT title || '"'"'|'"'"' || location || '"'"'|'"'"' || capacity FROM events WHERE slug = '"'"'marche'"'"'")" "Marché du samedi|Place des Fêtes|20"
  "$TOCSIN" event edit marche --capacity none >/dev/null
  expect_eq "$(sql "SELECT capacity IS NULL FROM events WHERE slug = '"'"'marche'"'"'")" t
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages")" "$before"
  fails 65 "$TOCSIN" event edit nope --title X
  grep -q "no event nope" err
  fails 65 "$TOCSIN" event edit marche --capacity beaucoup
  grep -q "capacity must be a whole number" err
  fails 64 "$TOCSIN" event edit marche
'

test_case 'event move to a new place with a note: the notice tells both' '
  "$TOCSIN" event move marche --starts "$later2" --location "Métro Jaurès" --note "La place est en travaux." > out
  cat out
  grep -qx "event marche moved: 1 person notified" out
  expect_eq "$(sql "SELECT location FROM events WHERE slug = '"'"'marche'"'"'")" "Métro Jaurès"
  body=$(sql "SELECT body FROM outbound_messages WHERE kind = '"'"'event_moved'"'"'")
  echo "$body"
  echo "$body" | grep -q "La place est en travaux."
  echo "$body" | grep -q "18h30, Métro Jaurès."
'

test_case 'moving into the past is refused unless --past; nothing is sent then' '
  fails 65 "$TOCSIN" event move marche --starts "$yesterday"
  grep -q "is in the past" err
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '"'"'event_moved'"'"'")" 1
  fails 65 "$TOCSIN" event move marche --starts "2031-13-01 10:00"
  grep -q "not a date and time" err
'
