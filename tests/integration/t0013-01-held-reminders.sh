#!/usr/bin/env bash
# Issue 13, item 1 — a reminder already queued (held by quiet hours) is not sent to someone
# who answered NON or ANNULER meanwhile: at claim time, a message tied to an RSVP whose
# RSVP is no longer yes becomes cancelled.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00 TOCSIN_SMS_FROM=+33700000000
clock() { # move tocsin_now() to a Europe/Paris local time, or back with "reset"
  sql "DELETE FROM settings WHERE name = 'test_clock_offset'" >/dev/null
  [ "$1" = reset ] && return 0
  sql "INSERT INTO settings (name, value) VALUES ('test_clock_offset',
       (('$1'::timestamp AT TIME ZONE 'Europe/Paris') - now())::text)" >/dev/null
}
paris_day() { sql "SELECT to_char((now() AT TIME ZONE 'Europe/Paris')::date + $1, 'YYYY-MM-DD')"; }
inject() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" >/dev/null; }
reminder_of() { # status and last_error of the reminder to a number
  sql "SELECT status || ' ' || coalesce(last_error, '-') FROM outbound_messages WHERE kind = 'reminder' AND recipient = '$1'"
}
CAMILLE=+33612345601 LOUIS=+33612345602 ANA=+33612345603 ZOE=+33612345604

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
phone,name,locale,teams
$CAMILLE,Camille Martin,fr,paris-10
$LOUIS,Louis Bernard,fr,paris-10
$ANA,Ana Lopes,en,paris-10
$ZOE,Zoé Petit,fr,paris-10
CSV
"$TOCSIN" import people people.csv >/dev/null
"$TOCSIN" event add --team paris-10 --slug soiree --title "Soirée" --starts "$(paris_day 1) 20:00" >/dev/null
# Announced days ago: an event created after a reminder's moment gets no such reminder, and
# run after 20:00 Paris time this one would have been (the clock below moves the scheduler,
# not the time the event was created).
sql "UPDATE events SET created_at = now() - interval '3 days' WHERE slug = 'soiree'" >/dev/null
for who in $CAMILLE $LOUIS $ANA $ZOE; do inject $who "OUI soiree"; done

test_case 'at 22:00 the 24h reminders are queued, held until 09:00 by quiet hours' '
  clock "$(paris_day 0) 22:00"
  "$TOCSIN" campaign tick | grep -q "reminders 4"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND status = '"'"'queued'"'"'
                    AND next_attempt_at = ('"'"'$(paris_day 1) 09:00'"'"'::timestamp AT TIME ZONE '"'"'Europe/Paris'"'"')")" 4
'

test_case 'NON, ANNULER and PEUT-ETRE during the night: their reminders are cancelled at 09:00, the others leave' '
  inject $CAMILLE "NON soiree"
  inject $LOUIS "ANNULER soiree"
  inject $ZOE "PEUT-ETRE soiree"
  inject $ZOE "OUI soiree"
  inject $ANA "PEUT-ETRE soiree"
  clock "$(paris_day 1) 09:01"
  start_daemon
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND status IN ('"'"'queued'"'"', '"'"'sending'"'"')")" = 0 ] && break
    sleep 0.1
  done
  stop_daemon
  expect_eq "$(reminder_of $CAMILLE)" "cancelled the RSVP is no longer yes"
  expect_eq "$(reminder_of $LOUIS)" "cancelled the RSVP is no longer yes"
  expect_eq "$(reminder_of $ANA)" "cancelled the RSVP is no longer yes"
  expect_eq "$(reminder_of $ZOE)" "sent -"
  expect_eq "$(grep -l "^To: $CAMILLE\$\|^To: $LOUIS\$\|^To: $ANA\$" "$TOCSIN_ENGINE_SPOOL_DIR"/sms/*.txt 2>/dev/null | xargs -r grep -l "Rappel\|Reminder" | wc -l)" 0
  grep -l "^To: $ZOE\$" "$TOCSIN_ENGINE_SPOOL_DIR"/sms/*.txt | xargs grep -q "Rappel : Soirée"
'

test_case 'a "the event moved" notice held overnight is cancelled the same way' '
  clock "$(paris_day 0) 23:00"
  "$TOCSIN" event move soiree --starts "$(paris_day 2) 20:00" > out
  cat out
  grep -q "1 person notified" out
  inject $ZOE "NON soiree"
  clock "$(paris_day 1) 09:05"
  start_daemon
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '"'"'event_moved'"'"' AND status = '"'"'queued'"'"'")" = 0 ] && break
    sleep 0.1
  done
  stop_daemon
  expect_eq "$(sql "SELECT status || '"'"' '"'"' || last_error FROM outbound_messages WHERE kind = '"'"'event_moved'"'"'")" "cancelled the RSVP is no longer yes"
'
