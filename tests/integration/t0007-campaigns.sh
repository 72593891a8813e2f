#!/usr/bin/env bash
# Campaigns and the scheduler: newsletters to segments, consent, quiet hours, pause/resume/
# cancel, scheduled campaigns, reminders (once, even with two schedulers), event changes,
# digests.
. "$SRC/tests/integration/lib.sh"

# Most cases are about who gets what, not the time of day the suite runs at.
export TOCSIN_ENGINE_QUIET_HOURS=off
clock() { # move tocsin_now() to the given Europe/Paris local time, or back with "reset"
  sql "DELETE FROM settings WHERE name = 'test_clock_offset'"
  [ "$1" = reset ] && return 0
  sql "INSERT INTO settings (name, value) VALUES ('test_clock_offset',
       (('$1'::timestamp AT TIME ZONE 'Europe/Paris') - now())::text)"
}
paris_in() { # local Paris time N (SQL interval) from now, as 'YYYY-MM-DD HH:MM'
  sql "SELECT to_char((now() + interval '$1') AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD HH24:MI')"
}
outbound() { sql "SELECT count(*) FROM outbound_messages WHERE $1"; }
must_fail() { if "$@"; then echo "unexpected success: $*"; return 1; fi; }

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
cat > people.csv <<CSV
email,phone,name,locale,timezone,teams,tags
camille@example.org,0612345601,Camille Martin,fr,Europe/Paris,paris-10,tractage
louis@example.org,0612345602,Louis Bernard,fr,Europe/Paris,paris-10 lyon-1,
ana@example.org,0612345603,Ana Lopes,en,Europe/Paris,paris-10,tractage
zoe@example.org,0612345604,Zoé Petit,fr,Europe/Paris,paris-10 lyon-1,
yann@example.org,0612345605,Yann Le Gall,fr,America/Montreal,lyon-1,
CSV
"$TOCSIN" import people people.csv >/dev/null
# Digests are looked at in their own case; until then the scheduler's ticks send none.
sql "UPDATE people SET digest = 'never'"
cat > news.tmpl <<'T'
subject: Des nouvelles de {{team.name}}
--- text
Bonjour {{first_name}} ({{email}}),
Samedi au marché. {{nickname}}
Se désinscrire : {{unsubscribe_url}}
--- html
<p>Bonjour {{name}}</p>
--- sms
Bonjour {{first_name}}, samedi au marché ! {{stop_keyword}} pour ne plus recevoir.
T
# Louis leaves email for good; Zoé only for paris-10.
sql "INSERT INTO consent (contact_id, channel, action, source)
     SELECT id, 'email', 'opt_out', 'test' FROM contacts WHERE address = 'louis@example.org'"
sql "INSERT INTO consent (contact_id, channel, scope, action, source)
     SELECT c.id, 'email', t.id, 'opt_out', 'test' FROM contacts c, teams t
     WHERE c.address = 'zoe@example.org' AND t.slug = 'paris-10'"

test_case 'campaign create reports recipients and unknown variables, id on the last line' '
  "$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl > out
  cat out
  grep -qx "recipients: 2" out
  grep -q "unknown variables, they will render empty: nickname" out
  id=$(tail -n 1 out)
  expect_eq "$(sql "SELECT status || '"'"' '"'"'|| segment FROM campaigns WHERE id = $id")" "draft team:paris-10"
  expect_eq "$(outbound "true")" 0
'

test_case 'a team newsletter is enqueued once per member, opted-out people skipped' '
  "$TOCSIN" campaign send 1 | grep -q "campaign 1: 2 enqueued"
  expect_eq "$(sql "SELECT string_agg(recipient, '"'"' '"'"' ORDER BY recipient) FROM outbound_messages WHERE campaign_id = 1")" "ana@example.org camille@example.org"
  expect_eq "$(sql "SELECT count(DISTINCT dedupe_key) FROM outbound_messages WHERE campaign_id = 1 AND dedupe_key LIKE '"'"'campaign:1:%'"'"' AND body = '"'"''"'"' AND kind = '"'"'campaign'"'"'")" 2
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN teams t ON t.id = o.scope WHERE o.campaign_id = 1 AND t.slug = '"'"'paris-10'"'"'")" 2
'

test_case 'a second send enqueues nothing' '
  "$TOCSIN" campaign send 1 | grep -q "campaign 1: 0 enqueued"
  expect_eq "$(outbound "campaign_id = 1")" 2
'

test_case 'the fan-out skips exactly whom consent_allows() refuses (team-scoped opt-out too)' '
  id=$("$TOCSIN" campaign create --channel email --segment "team:paris-10,team:lyon-1" --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  want=$(sql "SELECT string_agg(c.address, '"'"' '"'"' ORDER BY c.address) FROM people p JOIN contacts c ON c.person_id = p.id AND c.kind = '"'"'email'"'"'
              WHERE consent_allows('"'"'email'"'"', c.address, (SELECT min(team_id) FROM memberships m WHERE m.person_id = p.id))")
  got=$(sql "SELECT string_agg(recipient, '"'"' '"'"' ORDER BY recipient) FROM outbound_messages WHERE campaign_id = $id")
  expect_eq "$got" "$want"
  # Zoé opted out of paris-10 only: a lyon-1 newsletter reaches her.
  id=$("$TOCSIN" campaign create --channel email --segment team:lyon-1 --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  expect_eq "$(sql "SELECT string_agg(recipient, '"'"' '"'"' ORDER BY recipient) FROM outbound_messages WHERE campaign_id = $id")" "yann@example.org zoe@example.org"
'

test_case 'each message is personalised at render time (name, email, unsubscribe link, HTML escaped)' '
  sql "UPDATE people SET name = '"'"'Ana <b>Lopes</b>'"'"' WHERE name = '"'"'Ana Lopes'"'"'"
  "$TOCSIN" campaign preview 1 --to ana@example.org > ana.txt
  cat ana.txt
  grep -q "^Subject: Des nouvelles de Paris 10e" ana.txt
  grep -q "Bonjour Ana (ana@example.org)," ana.txt
  grep -q "Se désinscrire : http://127.0.0.1:8025/u/[0-9a-z]*-[a-z2-7]\{16\}$" ana.txt
  grep -q "<p>Bonjour Ana &lt;b&gt;Lopes&lt;/b&gt;</p>" ana.txt
  sql "UPDATE people SET name = '"'"'Ana Lopes'"'"' WHERE name LIKE '"'"'Ana%'"'"'"
'

test_case 'segments: tag, intersection, event RSVPs; pending members get nothing' '
  "$TOCSIN" campaign create --channel email --segment tag:tractage --template news.tmpl | grep -qx "recipients: 2"
  "$TOCSIN" campaign create --channel email --segment "team:paris-10+tag:tractage" --template news.tmpl | grep -qx "recipients: 2"
  "$TOCSIN" campaign create --channel email --segment "team:lyon-1+tag:tractage" --template news.tmpl | grep -qx "recipients: 0"
  "$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "$(paris_in "10 days")" >/dev/null
  sql "INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, c.person_id, '"'"'yes'"'"' FROM events e, contacts c WHERE e.slug = '"'"'marche'"'"' AND c.address IN ('"'"'camille@example.org'"'"', '"'"'ana@example.org'"'"')"
  "$TOCSIN" campaign create --channel email --segment event:marche --template news.tmpl | grep -qx "recipients: 2"
  sql "UPDATE memberships SET status = '"'"'pending'"'"' WHERE person_id = (SELECT person_id FROM contacts WHERE address = '"'"'ana@example.org'"'"')"
  # all = Camille, Zoé (her opt-out is for paris-10 only), Yann; not Louis (opted out), not Ana.
  "$TOCSIN" campaign create --channel email --segment all --template news.tmpl | grep -qx "recipients: 3"
  sql "UPDATE memberships SET status = '"'"'active'"'"'"
'

test_case 'bad segments, templates and files are refused with a reason and no campaign row' '
  before=$(sql "SELECT count(*) FROM campaigns")
  set +e
  "$TOCSIN" campaign create --channel email --segment "team:Bad Slug!" --template news.tmpl 2> e1; r1=$?
  "$TOCSIN" campaign create --channel email --segment "team:nowhere" --template news.tmpl 2> e2; r2=$?
  "$TOCSIN" campaign create --channel email --segment "region:x" --template news.tmpl 2> e3; r3=$?
  printf "subject: x\n--- text\n{{#open}}never closed\n" > broken.tmpl
  "$TOCSIN" campaign create --channel email --segment all --template broken.tmpl 2> e4; r4=$?
  printf -- "--- text\nno subject\n" > nosubject.tmpl
  "$TOCSIN" campaign create --channel email --segment all --template nosubject.tmpl 2> e5; r5=$?
  "$TOCSIN" campaign create --channel email --segment all --template missing.tmpl 2> e6; r6=$?
  "$TOCSIN" campaign create --channel fax --segment all --template news.tmpl 2> e7; r7=$?
  set -e
  cat e1 e2 e3 e4 e5 e6 e7
  expect_eq "$r1 $r2 $r3 $r4 $r5 $r6 $r7" "65 65 65 65 65 66 65"
  grep -q "lower-case letters" e1; grep -q "no team nowhere" e2; grep -q "expected team:, tag: or event:" e3
  grep -q "line 1: section open is not closed" e4; grep -q "needs --subject" e5; grep -q "cannot read" e6
  expect_eq "$(sql "SELECT count(*) FROM campaigns")" "$before"
'

test_case 'hostile segment values are data, never SQL' '
  "$TOCSIN" campaign create --channel email --segment "tag:x'"'"'); DROP TABLE people;--" --template news.tmpl > out
  grep -qx "recipients: 0" out
  expect_eq "$(sql "SELECT count(*) FROM people")" 5
'

test_case 'an SMS campaign announces encoding and segments before sending' '
  "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template news.tmpl > out
  cat out
  grep -q "^sms: GSM-7, 1 segment per message, 4 segments in total$" out
  printf -- "--- text\nПривет {{first_name}}! %s\n" "$(printf "x%.0s" $(seq 1 80))" > long.tmpl
  "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template long.tmpl | grep -q "^sms: UCS-2, 2 segments per message, 8 segments in total$"
'

test_case 'quiet hours hold a newsletter until 09:00 in each person'"'"'s zone; --urgent ignores them' '
  clock reset
  tomorrow=$(sql "SELECT to_char((now() AT TIME ZONE '"'"'Europe/Paris'"'"')::date + 1, '"'"'YYYY-MM-DD'"'"')")
  clock "$tomorrow 22:30"
  id=$("$TOCSIN" campaign create --channel email --segment team:lyon-1 --template news.tmpl | tail -n 1)
  TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00 "$TOCSIN" campaign send $id >/dev/null
  # Zoé in Paris waits for 09:00 Paris; Yann in Montréal (16:30 there) is not in quiet hours.
  expect_eq "$(sql "SELECT to_char(next_attempt_at AT TIME ZONE '"'"'Europe/Paris'"'"', '"'"'YYYY-MM-DD HH24:MI'"'"') FROM outbound_messages WHERE campaign_id = $id AND recipient = '"'"'zoe@example.org'"'"'")" \
    "$(sql "SELECT to_char('"'"'$tomorrow'"'"'::date + 1, '"'"'YYYY-MM-DD'"'"')") 09:00"
  expect_eq "$(sql "SELECT next_attempt_at <= tocsin_now() FROM outbound_messages WHERE campaign_id = $id AND recipient = '"'"'yann@example.org'"'"'")" t
  id=$("$TOCSIN" campaign create --channel email --segment team:lyon-1 --template news.tmpl --urgent | tail -n 1)
  TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00 "$TOCSIN" campaign send $id >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND next_attempt_at <= tocsin_now()")" 2
  clock reset
'

test_case 'pause holds queued messages, resume releases them, cancel withdraws them' '
  id=$("$TOCSIN" campaign create --channel sms --segment all --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  "$TOCSIN" campaign pause $id | grep -q "paused: 5 messages held"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND next_attempt_at = '"'"'infinity'"'"'")" 5
  must_fail "$TOCSIN" campaign send $id 2> err
  grep -q "is paused" err
  "$TOCSIN" campaign resume $id | grep -q "resumed (sending): 5 messages released"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND next_attempt_at <= now()")" 5
  "$TOCSIN" campaign cancel $id | grep -q "cancelled: 5 queued messages withdrawn"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND status = '"'"'cancelled'"'"'")" 5
  must_fail "$TOCSIN" campaign cancel $id 2> err
  grep -q "already sent or cancelled" err
  "$TOCSIN" campaign status $id --json | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)[0]; assert s[\"status\"]==\"cancelled\" and s[\"cancelled\"]==5 and s[\"queued\"]==0, s"
'

test_case 'a scheduled campaign goes out when its time comes, not before' '
  clock reset
  at=$(paris_in "1 day")
  id=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl --at "$at" --timezone Europe/Paris | tail -n 1)
  expect_eq "$(sql "SELECT status FROM campaigns WHERE id = $id")" scheduled
  "$TOCSIN" campaign tick >/dev/null
  expect_eq "$(outbound "campaign_id = $id")" 0
  clock "$(paris_in "1 day 1 minute")"
  "$TOCSIN" campaign tick | grep -q "campaigns 1,"
  expect_eq "$(outbound "campaign_id = $id")" 2
  expect_eq "$(sql "SELECT status FROM campaigns WHERE id = $id")" sending
  clock reset
  must_fail "$TOCSIN" campaign create --channel email --segment all --template news.tmpl --at "tomorrow" 2> err
  grep -q "YYYY-MM-DD HH:MM" err
'

test_case 'reminders: only those still ahead for a late event, once even with two schedulers at once' '
  clock reset
  "$TOCSIN" event add --team paris-10 --slug reunion --title "Réunion" --starts "$(paris_in "3 hours")" --location "Café" >/dev/null
  sql "INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, c.person_id, '"'"'yes'"'"' FROM events e, contacts c WHERE e.slug = '"'"'reunion'"'"' AND c.kind = '"'"'email'"'"' AND c.address IN ('"'"'camille@example.org'"'"', '"'"'ana@example.org'"'"')"
  "$TOCSIN" campaign tick >/dev/null
  expect_eq "$(outbound "kind = '"'"'reminder'"'"'")" 0
  clock "$(paris_in "1 hour 30 minutes")"
  "$TOCSIN" campaign tick > a.out & a=$!
  "$TOCSIN" campaign tick > b.out & b=$!
  wait $a; wait $b
  expect_eq "$(outbound "kind = '"'"'reminder'"'"'")" 2
  expect_eq "$(sql "SELECT string_agg(dedupe_key, '"'"' '"'"' ORDER BY dedupe_key) FROM outbound_messages WHERE kind = '"'"'reminder'"'"'")" \
    "$(sql "SELECT string_agg('"'"'reminder:'"'"' || e.id || '"'"':'"'"' || r.person_id || '"'"':7200'"'"', '"'"' '"'"' ORDER BY '"'"'reminder:'"'"' || e.id || '"'"':'"'"' || r.person_id || '"'"':7200'"'"') FROM events e JOIN rsvps r ON r.event_id = e.id WHERE e.slug = '"'"'reunion'"'"'")"
  expect_eq "$(sql "SELECT context->>'"'"'prompt'"'"' || '"'"' '"'"' || (context->>'"'"'event_id'"'"' = (SELECT id::text FROM events WHERE slug = '"'"'reunion'"'"')) FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND recipient = '"'"'ana@example.org'"'"'")" "rsvp true"
  # In the recipient'"'"'s language, the time in the event'"'"'s zone.
  sql "SELECT body FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND recipient = '"'"'ana@example.org'"'"'" | grep -q "A reminder: Réunion is on [A-Z][a-z]*day [0-9]* [A-Z][a-z]* at [0-9][0-9]:[0-9][0-9], Café."
  sql "SELECT body FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND recipient = '"'"'camille@example.org'"'"'" | grep -q "Petit rappel : Réunion a lieu [a-z]* [0-9]* [a-zéû]* à [0-9]*h[0-9]*, Café."
  "$TOCSIN" campaign tick | grep -q "reminders 0"
'

test_case 'reminders: the 24h one for an event created long before, then the 2h one, never again after a restart' '
  "$TOCSIN" event add --team paris-10 --slug demain --title "Demain" --starts "$(paris_in "20 hours")" >/dev/null
  sql "UPDATE events SET created_at = now() - interval '"'"'2 days'"'"' WHERE slug = '"'"'demain'"'"'"
  sql "INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, c.person_id, '"'"'yes'"'"' FROM events e, contacts c WHERE e.slug = '"'"'demain'"'"' AND c.address = '"'"'camille@example.org'"'"'"
  clock reset
  start_daemon TOCSIN_ENGINE_SCHEDULER_INTERVAL=1
  for _ in $(seq 1 50); do [ "$(outbound "dedupe_key LIKE '"'"'reminder:%:86400'"'"'")" = 1 ] && break; sleep 0.1; done
  expect_eq "$(outbound "dedupe_key LIKE '"'"'reminder:%:86400'"'"'")" 1
  stop_daemon
  start_daemon TOCSIN_ENGINE_SCHEDULER_INTERVAL=1
  sleep 1.5
  stop_daemon
  expect_eq "$(outbound "dedupe_key LIKE '"'"'reminder:%:86400'"'"'")" 1
  clock "$(paris_in "19 hours")"
  "$TOCSIN" campaign tick | grep -q "reminders 1"
  expect_eq "$(outbound "dedupe_key LIKE '"'"'reminder:%:7200'"'"' AND recipient = '"'"'camille@example.org'"'"'")" 2
  clock reset
'

test_case 'a bare WHERE mailed in reply to a reminder answers with that event'"'"'s place and time' '
  id=$(sql "SELECT id FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND recipient = '"'"'ana@example.org'"'"'")
  # It was queued under the moved clock: due now, so the daemon delivers it to the spool.
  sql "UPDATE outbound_messages SET next_attempt_at = now() WHERE id = $id AND status = '"'"'queued'"'"'"
  start_daemon
  for _ in $(seq 1 100); do [ "$(sql "SELECT status FROM outbound_messages WHERE id = $id")" = sent ] && break; sleep 0.1; done
  stop_daemon
  reply_to=$(sed -n "s/^Reply-To: *//p" "spool/mail/$id.eml" | tr -d "\r")
  echo "reply to: $reply_to"
  case "$reply_to" in reply+*@*) ;; *) exit 1 ;; esac
  printf "From: Ana Lopes <ana@example.org>\r\nTo: %s\r\nSubject: Re: Reminder: Réunion\r\nMessage-ID: <where-%s@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWHERE\r\n\r\nOn Mon, 1 Jun 2026 at 09:00, Tocsin <equipe@example.org> wrote:\r\n> A reminder: Réunion\r\n" \
    "$reply_to" "$RANDOM$RANDOM" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT command || '"'"' '"'"' || status FROM inbound_messages WHERE sender = '"'"'ana@example.org'"'"' ORDER BY id DESC LIMIT 1")" "where applied"
  when=$(sql "SELECT to_char(starts_at AT TIME ZONE timezone, '"'"'YYYY-MM-DD HH24:MI'"'"') FROM events WHERE slug = '"'"'reunion'"'"'")
  expect_eq "$(sql "SELECT body FROM outbound_messages WHERE recipient = '"'"'ana@example.org'"'"' AND kind = '"'"'reply'"'"' ORDER BY id DESC LIMIT 1")" "Réunion: $when (Europe/Paris time), Café."
'

test_case 'two daemons on one database: one scheduler is active, the other stands by' '
  : > daemon.log
  start_daemon TOCSIN_ENGINE_SCHEDULER_INTERVAL=1; first=$DAEMON_PID
  start_daemon TOCSIN_ENGINE_SCHEDULER_INTERVAL=1; second=$DAEMON_PID
  sleep 2
  kill -TERM $first $second; wait $first $second 2>/dev/null || true
  DAEMON_PID=
  expect_eq "$(grep -c "event=scheduler_active" daemon.log)" 1
  grep -q "event=scheduler_standby" daemon.log || expect_eq "$(grep -c scheduler_active daemon.log)" 1
'

test_case 'tocsin run refuses bad quiet hours or reminder offsets with the key named' '
  set +e
  TOCSIN_ENGINE_QUIET_HOURS=late TOCSIN_HTTP_LISTEN=127.0.0.1:$(free_port) "$TOCSIN" run 2> err1; r1=$?
  TOCSIN_ENGINE_REMINDERS=soon TOCSIN_HTTP_LISTEN=127.0.0.1:$(free_port) "$TOCSIN" run 2> err2; r2=$?
  set -e
  cat err1 err2
  expect_eq "$r1 $r2" "78 78"
  grep -q "quiet_hours = late: expected HH:MM-HH:MM or off" err1
  grep -q "reminders = soon: expected offsets like 24h,2h,90m" err2
'

test_case 'moving or cancelling an event tells everyone who said yes, once' '
  "$TOCSIN" event move marche --starts "$(paris_in "12 days")" | grep -q "event marche moved: 2 people notified"
  expect_eq "$(outbound "kind = '"'"'event_moved'"'"'")" 2
  sql "SELECT subject FROM outbound_messages WHERE kind = '"'"'event_moved'"'"' AND recipient = '"'"'ana@example.org'"'"'" | grep -q "New time: Marché"
  "$TOCSIN" event cancel marche | grep -q "event marche cancelled: 2 people notified"
  must_fail "$TOCSIN" event cancel marche 2> err
  grep -q "no scheduled event marche" err
  expect_eq "$(outbound "kind = '"'"'event_cancelled'"'"'")" 2
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind IN ('"'"'event_moved'"'"', '"'"'event_cancelled'"'"')")" 2
  must_fail "$TOCSIN" event move reunion --starts "soon" 2> err
  grep -q "YYYY-MM-DD HH:MM" err
'

test_case 'digests: numbered items with the event ids in the context; nothing when nothing is new' '
  clock reset
  sql "UPDATE people SET digest = '"'"'never'"'"'"
  sql "UPDATE people SET digest = '"'"'daily'"'"', created_at = now() - interval '"'"'8 days'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'yann@example.org'"'"')"
  # Someone who arrived less than a period ago gets no digest yet.
  sql "UPDATE people SET digest = '"'"'daily'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'zoe@example.org'"'"')"
  "$TOCSIN" event add --team lyon-1 --slug b-event --title "Second" --starts "$(paris_in "6 days")" >/dev/null
  "$TOCSIN" event add --team lyon-1 --slug a-event --title "First" --starts "$(paris_in "5 days")" >/dev/null
  "$TOCSIN" campaign tick | grep -q "digests 1"
  body=$(sql "SELECT body FROM outbound_messages WHERE kind = '"'"'digest'"'"'")
  echo "$body"
  echo "$body" | grep -q "^1. First (Lyon 1er), "
  echo "$body" | grep -q "^2. Second (Lyon 1er), "
  expect_eq "$(sql "SELECT context->'"'"'digest_items'"'"' = jsonb_build_array((SELECT id FROM events WHERE slug = '"'"'a-event'"'"'), (SELECT id FROM events WHERE slug = '"'"'b-event'"'"'), null) FROM outbound_messages WHERE kind = '"'"'digest'"'"'")" t
  clock "$(paris_in "1 day 1 hour")"
  "$TOCSIN" campaign tick | grep -q "digests 0"
  expect_eq "$(outbound "kind = '"'"'digest'"'"'")" 1
  clock reset
  sql "UPDATE people SET digest = '"'"'never'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'zoe@example.org'"'"')"
'

test_case 'campaign status and list speak JSON' '
  "$TOCSIN" campaign status 1 --json | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)[0]; assert s[\"enqueued\"]==2 and s[\"queued\"]+s[\"sent\"]==2 and s[\"segment\"]==\"team:paris-10\", s"
  "$TOCSIN" campaign list --json | /usr/bin/python3 -c "import json,sys; l=json.load(sys.stdin); assert l[0][\"id\"]==1 and l[0][\"enqueued\"]==2, l"
  must_fail "$TOCSIN" campaign status 999 2> err
  grep -q "no campaign 999" err
'

test_case 'a forged confirmation link is refused and changes nothing; GET never confirms' '
  sql "UPDATE memberships SET status = '"'"'pending'"'"' WHERE person_id = (SELECT person_id FROM contacts WHERE address = '"'"'yann@example.org'"'"')"
  start_daemon
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$HTTP/c/5-aaaaaaaaaaaaaaaa")" 403
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/c/nonsense")" 403
  stop_daemon
  expect_eq "$(sql "SELECT count(*) FROM memberships WHERE status = '"'"'pending'"'"'")" 1
  sql "UPDATE memberships SET status = '"'"'active'"'"'"
'

# ---- by SMS: organiser commands and digest answers (the command engine) ----
CAMILLE=+33612345601 LOUIS=+33612345602 YANN=+33612345605
inject() {
  "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" ${3:+--id "$3"} 2>>"$TEST_DIR/inject.log" ||
    { local rc=$?; echo "exit $rc"; return $rc; }
}
"$TOCSIN" team organiser paris-10 camille@example.org >/dev/null

test_case 'an organiser texts MSG, gets a code and the count, CONFIRM sends it as a campaign' '
  clock reset
  out=$(inject $CAMILLE "MSG paris-10 Rendez-vous samedi 10h au marché, venez nombreux !")
  echo "$out"
  code=$(echo "$out" | grep -o "[0-9]\{6\}" | head -n 1)
  [ -n "$code" ]
  echo "$out" | grep -q "touchera 4 personnes"
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '"'"'organiser_draft'"'"'")" 1
  expect_eq "$(sql "SELECT count(*) FROM campaigns WHERE source = '"'"'sms'"'"'")" 0
  out=$(inject $CAMILLE "CONFIRMER $code")
  echo "$out"
  echo "$out" | grep -q "part vers 4 personnes de Paris 10e"
  id=$(sql "SELECT id FROM campaigns WHERE source = '"'"'sms'"'"'")
  expect_eq "$(sql "SELECT channel || '"'"' '"'"' || segment || '"'"' '"'"' || status FROM campaigns WHERE id = $id")" "sms team:paris-10 scheduled"
  "$TOCSIN" campaign tick | grep -q "campaigns 1"
  expect_eq "$(outbound "campaign_id = $id")" 4
  "$TOCSIN" campaign preview $id --to +33612345603 | grep -qx "Rendez-vous samedi 10h au marché, venez nombreux !"
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind IN ('"'"'organiser_confirmed'"'"', '"'"'organiser_message'"'"')")" 2
  # The same code again sends nothing more.
  inject $CAMILLE "CONFIRMER $code" | grep -q "Aucun message n'"'"'attend le code $code"
  expect_eq "$(sql "SELECT count(*) FROM campaigns WHERE source = '"'"'sms'"'"'")" 1
'

test_case 'a reminder by SMS in the chosen channel; a bare NON answers it' '
  clock reset
  "$TOCSIN" event add --team lyon-1 --slug soiree --title "Soirée" --starts "$(paris_in "3 hours")" >/dev/null
  sql "UPDATE people SET channel = '"'"'sms'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'$LOUIS'"'"')"
  sql "INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, c.person_id, '"'"'yes'"'"' FROM events e, contacts c WHERE e.slug = '"'"'soiree'"'"' AND c.address = '"'"'$LOUIS'"'"'"
  clock "$(paris_in "1 hour 30 minutes")"
  "$TOCSIN" campaign tick | grep -q "reminders 1"
  clock reset
  sql "SELECT body FROM outbound_messages WHERE kind = '"'"'reminder'"'"' AND recipient = '"'"'$LOUIS'"'"'" | grep -q "^Rappel : Soirée, "
  inject $LOUIS "NON" > out; cat out
  expect_eq "$(sql "SELECT r.status FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE e.slug = '"'"'soiree'"'"' AND c.address = '"'"'$LOUIS'"'"'")" no
'

test_case 'a code older than 15 minutes sends nothing; a non-organiser is refused politely' '
  clock reset
  code=$(inject $CAMILLE "MSG paris-10 Trop tard" | grep -o "[0-9]\{6\}" | head -n 1)
  clock "$(paris_in "16 minutes")"
  inject $CAMILLE "CONFIRMER $code" | grep -q "a expiré"
  clock reset
  expect_eq "$(sql "SELECT count(*) FROM campaigns WHERE source = '"'"'sms'"'"'")" 1
  out=$(inject $LOUIS "MSG paris-10 Coucou tout le monde")
  echo "$out"
  echo "$out" | grep -q "seuls les organisateurs de Paris 10e"
  expect_eq "$(sql "SELECT count(*) FROM organiser_drafts d JOIN contacts c ON c.person_id = d.person_id WHERE c.address = '"'"'$LOUIS'"'"'")" 0
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '"'"'organiser_refused'"'"'")" 2
  inject $CAMILLE "MSG nowhere hello" | grep -q "pas d'"'"'équipe nowhere"
'

test_case 'digest numbering round-trips: "2 OUI" by SMS answers the second item'"'"'s event' '
  clock reset
  sql "UPDATE people SET channel = '"'"'sms'"'"', digest = '"'"'daily'"'"' WHERE id = (SELECT person_id FROM contacts WHERE address = '"'"'$YANN'"'"')"
  "$TOCSIN" event add --team lyon-1 --slug c-event --title "Third" --starts "$(paris_in "7 days")" >/dev/null
  "$TOCSIN" event add --team lyon-1 --slug d-event --title "Fourth" --starts "$(paris_in "8 days")" >/dev/null
  clock "$(paris_in "1 day 1 hour")"
  # A day later (a new digest), covering the last two days: every lyon-1 event so far.
  sql "UPDATE digest_state SET last_at = now() - interval '"'"'2 days'"'"'"
  "$TOCSIN" campaign tick | grep -q "digests 1"
  clock reset
  sql "SELECT body FROM outbound_messages WHERE kind = '"'"'digest'"'"' AND recipient = '"'"'$YANN'"'"'"
  second=$(sql "SELECT context->'"'"'digest_items'"'"'->>1 FROM outbound_messages WHERE kind = '"'"'digest'"'"' AND recipient = '"'"'$YANN'"'"'")
  expect_eq "$second" "$(sql "SELECT id FROM events WHERE slug = '"'"'b-event'"'"'")"
  out=$(inject $YANN "2 OUI")
  echo "$out"
  expect_eq "$(sql "SELECT r.status FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '"'"'$YANN'"'"' AND r.event_id = $second")" yes
  expect_eq "$(sql "SELECT count(*) FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '"'"'$YANN'"'"'")" 1
  inject $YANN "9 OUI" | grep -q "9"
  expect_eq "$(sql "SELECT count(*) FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '"'"'$YANN'"'"'")" 1
'

test_case 'CONFIRM alone activates a pending membership (double opt-in) and only then do campaigns reach it' '
  sql "UPDATE memberships SET status = '"'"'pending'"'"' WHERE person_id = (SELECT person_id FROM contacts WHERE address = '"'"'$YANN'"'"')"
  "$TOCSIN" campaign create --channel sms --segment team:lyon-1 --template news.tmpl | grep -qx "recipients: 2"
  inject $YANN "CONFIRMER" | grep -q "confirmé"
  expect_eq "$(sql "SELECT count(*) FROM memberships WHERE status = '"'"'pending'"'"'")" 0
  "$TOCSIN" campaign create --channel sms --segment team:lyon-1 --template news.tmpl | grep -qx "recipients: 3"
  inject $YANN "CONFIRMER" | grep -q "rien à confirmer"
'

# ---- through the queue to a real SMTP server (aiosmtpd, tests/integration/smtp_sink.py) ----
SINK_PORT=$(free_port)
/usr/bin/python3 "$SRC/tests/integration/smtp_sink.py" "$SINK_PORT" "$TEST_DIR/mx" > "$TEST_DIR/mx.out" 2>&1 &
SINK_PID=$!
trap 'stop_daemon; kill $SINK_PID 2>/dev/null' EXIT
for _ in $(seq 1 50); do grep -q ready "$TEST_DIR/mx.out" 2>/dev/null && break; sleep 0.1; done
export TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$SINK_PORT TOCSIN_ENGINE_POLL_INTERVAL=1
wait_until() { # 'condition' [seconds]
  for _ in $(seq 1 $((${2:-20} * 10))); do eval "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for: $1"; return 1
}
delivered_to() { grep -l "^To: $1" "$TEST_DIR"/mx/new/* 2>/dev/null | wc -l; }
"$TOCSIN" team add nl --name "Newsletter" >/dev/null
cat > nl.csv <<CSV
email,name,locale,timezone,teams
alice@example.net,Alice Martin,fr,Europe/Paris,nl
bruno@example.net,Bruno Petit,en,Europe/Paris,nl
chloe@example.net,Chloe Roux,fr,Europe/Paris,nl
CSV
"$TOCSIN" import people nl.csv >/dev/null
sql "UPDATE people SET digest = 'never'"
sql "INSERT INTO consent (contact_id, channel, action, source)
     SELECT id, 'email', 'opt_out', 'test' FROM contacts WHERE address = 'chloe@example.net'"

test_case 'a team newsletter reaches each member exactly once over SMTP, personalised, with List-Unsubscribe' '
  clock reset
  id=$("$TOCSIN" campaign create --channel email --segment team:nl --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id | grep -q "2 enqueued"
  start_daemon
  # status --follow returns once everything went out.
  timeout 20 "$TOCSIN" campaign status $id --follow --json > follow.json
  tail -n 25 follow.json | /usr/bin/python3 -c "import json,sys; t=sys.stdin.read(); s=json.loads(t[t.rindex(\"[\"):])[0]; assert s[\"sent\"]==2 and s[\"queued\"]==0, s"
  wait_until "[ \"\$(sql \"SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND status = '"'"'sent'"'"'\")\" = 2 ]"
  "$TOCSIN" campaign send $id | grep -q "0 enqueued"
  sleep 1.5
  stop_daemon
  expect_eq "$(delivered_to alice@example.net) $(delivered_to bruno@example.net) $(delivered_to chloe@example.net)" "1 1 0"
  f=$(grep -l "^To: alice@example.net" "$TEST_DIR"/mx/new/*)
  grep -q "^Subject: " "$f"
  grep -q "Bonjour Alice (alice@example.net)," "$f"
  grep -q "^List-Unsubscribe: <http" "$f"
  grep -q "Bonjour Bruno (bruno@example.net)," "$(grep -l "^To: bruno@example.net" "$TEST_DIR"/mx/new/*)"
  "$TOCSIN" campaign tick >/dev/null
  expect_eq "$(sql "SELECT status FROM campaigns WHERE id = $id")" sent
'

test_case 'quiet hours hold a newsletter over SMTP and release it at 09:00' '
  tomorrow=$(sql "SELECT to_char((now() AT TIME ZONE '"'"'Europe/Paris'"'"')::date + 1, '"'"'YYYY-MM-DD'"'"')")
  clock "$tomorrow 22:30"
  id=$("$TOCSIN" campaign create --channel email --segment team:nl --subject "Held {{first_name}}" --template news.tmpl | tail -n 1)
  TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00 "$TOCSIN" campaign send $id | grep -q "2 enqueued"
  start_daemon TOCSIN_ENGINE_QUIET_HOURS=21:00-09:00
  sleep 2.5
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND status = '"'"'queued'"'"'")" 2
  expect_eq "$(grep -l "^Subject: Held" "$TEST_DIR"/mx/new/* | wc -l)" 0
  clock "$(sql "SELECT to_char('"'"'$tomorrow'"'"'::date + 1, '"'"'YYYY-MM-DD'"'"')") 09:01"
  wait_until "[ \"\$(sql \"SELECT count(*) FROM outbound_messages WHERE campaign_id = $id AND status = '"'"'sent'"'"'\")\" = 2 ]"
  stop_daemon
  clock reset
  expect_eq "$(grep -l "^Subject: Held Alice" "$TEST_DIR"/mx/new/* | wc -l)" 1
'

# ---- by email: double opt-in and an organiser's MSG (tocsin inject) ----
mail_in() { # FROM SUBJECT BODY [MESSAGE-ID]
  printf "From: %s\r\nTo: equipe@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" \
    "$1" "$2" "${4:-$RANDOM$RANDOM}" "$3" | "$TOCSIN" inject 2>>"$TEST_DIR/inject.log"
}

test_case 'JOIN by email from an unknown address is pending; GET on the link changes nothing, POST confirms' '
  clock reset
  before=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl | grep "^recipients:")
  mail_in "Nadia <nadia@example.com>" "inscription" "JOIN paris-10"
  expect_eq "$(sql "SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'nadia@example.com'"'"'")" pending
  body=$(sql "SELECT body FROM outbound_messages WHERE kind = '"'"'confirmation'"'"' AND recipient = '"'"'nadia@example.com'"'"'")
  echo "$body"
  token=$(echo "$body" | grep -o "/c/[0-9a-z]*-[a-z2-7]*" | head -n 1)
  [ -n "$token" ]
  expect_eq "$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl | grep "^recipients:")" "$before"
  start_daemon
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP$token")" 200
  expect_eq "$(sql "SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'nadia@example.com'"'"'")" pending
  curl -s -X POST "$HTTP$token" | grep -q "bienvenue"
  curl -s -X POST "$HTTP$token" | grep -q "Déjà confirmé"
  stop_daemon
  expect_eq "$(sql "SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'nadia@example.com'"'"'")" active
  expect_eq "$(sql "SELECT count(*) FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '"'"'nadia@example.com'"'"' AND k.action = '"'"'opt_in'"'"' AND k.source = '"'"'confirm_link'"'"'")" 1
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '"'"'member_confirmed'"'"'")" 2
'

test_case 'replying CONFIRM by email confirms a pending membership too' '
  mail_in "omar@example.com" "hello" "REJOINDRE paris-10"
  expect_eq "$(sql "SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'omar@example.com'"'"'")" pending
  mail_in "omar@example.com" "Re: confirmation" "CONFIRMER"
  expect_eq "$(sql "SELECT m.status FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'omar@example.com'"'"'")" active
'

test_case 'an organiser mails Subject: MSG <team>; the body is the message, CONFIRM sends it' '
  mail_in "camille@example.org" "MSG paris-10" "Oui, on se retrouve jeudi à 19h, salle des fêtes."
  reply=$(sql "SELECT body FROM outbound_messages WHERE recipient = '"'"'camille@example.org'"'"' AND body LIKE '"'"'%CONFIRMER%'"'"' ORDER BY id DESC LIMIT 1")
  echo "$reply"
  code=$(echo "$reply" | grep -o "[0-9]\{6\}" | head -n 1)
  [ -n "$code" ]
  mail_in "camille@example.org" "Re: code" "CONFIRMER $code"
  id=$(sql "SELECT id FROM campaigns WHERE source = '"'"'email'"'"'")
  expect_eq "$(sql "SELECT channel || '"'"' '"'"' || segment FROM campaigns WHERE id = $id")" "email team:paris-10"
  "$TOCSIN" campaign preview $id --to ana@example.org | grep -qx "Oui, on se retrouve jeudi à 19h, salle des fêtes."
  # "Oui, …" in the body is the message, not an RSVP.
  expect_eq "$(sql "SELECT string_agg(command, '"'"' '"'"' ORDER BY id) FROM inbound_messages WHERE channel = '"'"'email'"'"' AND sender = '"'"'camille@example.org'"'"'")" "msg confirm"
'
