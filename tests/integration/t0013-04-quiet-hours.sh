#!/usr/bin/env bash
# Issue 13, item 4 — quiet hours said aloud: `campaign send`, `status`, `resume` and an
# organiser's MSG confirmation say how many messages are held and until when (local time),
# and how to send now (`campaign send ID --now`); `status --follow` keeps following held
# messages instead of exiting.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00 TOCSIN_SMS_FROM=+33700000000
clock() {
  sql "DELETE FROM settings WHERE name = 'test_clock_offset'" >/dev/null
  [ "$1" = reset ] && return 0
  sql "INSERT INTO settings (name, value) VALUES ('test_clock_offset',
       (('$1'::timestamp AT TIME ZONE 'Europe/Paris') - now())::text)" >/dev/null
}
day() { sql "SELECT to_char((now() AT TIME ZONE 'Europe/Paris')::date + $1, 'YYYY-MM-DD')"; }
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
phone,name,locale,timezone,teams
06 12 34 56 01,Camille Martin,fr,Europe/Paris,paris-10
06 12 34 56 02,Louis Bernard,fr,Europe/Paris,paris-10
06 12 34 56 03,Ana Lopes,en,Europe/Paris,paris-10
CSV
"$TOCSIN" import people people.csv >/dev/null
printf -- "--- text\nSamedi au marché ! STOP pour ne plus recevoir\n" > news.tmpl
clock "$(day 0) 22:00"
held() { sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $1 AND status = 'queued' AND next_attempt_at > tocsin_now()"; }

test_case 'campaign send at 22:00 says 3 messages are held until 09:00 and how to send now' '
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id > out; cat out
  grep -qx "3 messages held by quiet hours until $(day 1) 09:00 (Europe/Paris); \`tocsin campaign send $id --now\` sends them now" out
  expect_eq "$(held $id)" 3
'

test_case 'campaign status says it too' '
  "$TOCSIN" campaign status 1 > out; cat out
  grep -q "^held_until *$(day 1) 09:00$" out
  grep -qx "quiet hours hold messages until $(day 1) 09:00 (Europe/Paris): \`tocsin campaign send 1 --now\` sends them now" out
'

test_case 'status --follow keeps following held messages, and ends once they are sent' '
  start_daemon
  "$TOCSIN" campaign status 1 --follow > follow.out 2>&1 & follower=$!
  sleep 3
  kill -0 $follower
  clock "$(day 1) 09:01"
  for _ in $(seq 1 200); do kill -0 $follower 2>/dev/null || break; sleep 0.1; done
  ! kill -0 $follower 2>/dev/null
  wait $follower
  stop_daemon
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = 1 AND status = '"'"'sent'"'"'")" 3
  clock "$(day 0) 22:00"
'

test_case 'pause then resume at night: resume says what stays held' '
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  "$TOCSIN" campaign pause $id >/dev/null
  "$TOCSIN" campaign resume $id > out; cat out
  grep -q "^3 messages held by quiet hours until $(day 1) 09:00 (Europe/Paris); \`tocsin campaign send $id --now\`" out
'

test_case 'campaign send --now releases what is held and holds nothing more' '
  "$TOCSIN" campaign send 2 --now > out; cat out
  grep -q "^3 held messages released" out
  expect_eq "$(held 2)" 0
  expect_eq "$(sql "SELECT urgent FROM campaigns WHERE id = 2")" t
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id --now > out; cat out
  grep -q "^campaign $id: 3 enqueued" out
  ! grep -q "held by quiet hours" out
  expect_eq "$(held $id)" 0
'

test_case 'an organiser'"'"'s CONFIRM at night says how many will get it at 09:00' '
  "$TOCSIN" team organiser paris-10 "06 12 34 56 01" >/dev/null
  code=$("$TOCSIN" sms-inject --from +33612345601 --to 36173 --text "MSG paris-10 Samedi au marché !" | grep -o "[0-9]\{6\}" | head -n 1)
  out=$("$TOCSIN" sms-inject --from +33612345601 --to 36173 --text "CONFIRMER $code"); echo "$out"
  echo "$out" | grep -q "part vers 3 personnes de Paris 10e. 3 le recevront à 09:00, à la fin des heures calmes."
  clock "$(day 1) 12:00"
  code=$("$TOCSIN" sms-inject --from +33612345601 --to 36173 --text "MSG paris-10 Midi !" | grep -o "[0-9]\{6\}" | head -n 1)
  out=$("$TOCSIN" sms-inject --from +33612345601 --to 36173 --text "CONFIRMER $code"); echo "$out"
  ! echo "$out" | grep -q "heures calmes"
'
