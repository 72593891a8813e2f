#!/usr/bin/env bash
# Command engine: SMS words become changes in PostgreSQL and one queued reply, in one
# transaction, idempotently; consent is a ledger; the grammar speaks English and French.
. "$SRC/tests/integration/lib.sh"

# inject FROM TEXT [ID] — the reply text on stdout (nothing when none was queued). A
# failing sms-inject prints "exit N" instead, so an expected empty reply cannot hide a crash.
inject() {
  "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" ${3:+--id "$3"} 2>>"$TEST_DIR/inject.log" ||
    { local rc=$?; echo "exit $rc"; return $rc; }
}
# allows ADDRESS [TEAM] — consent_allows() for SMS, as the queue will ask it.
allows() {
  if [ -n "${2:-}" ]; then
    sql "SELECT consent_allows('sms', '$1', (SELECT id FROM teams WHERE slug = '$2'))"
  else
    sql "SELECT consent_allows('sms', '$1', NULL)"
  fi
}
queued_to() { sql "SELECT count(*) FROM outbound_messages WHERE recipient = '$1'"; }

CAMILLE=+33612345601 LOUIS=+33612345602 ANA=+33612345603 BEA=+33612345604

test_case 'setup: teams, an event with 2 seats, four people' '
  "$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
  "$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
  "$TOCSIN" event add --team paris-10 --slug reunion --title "Réunion" --starts "2030-03-14 18:30" --capacity 2 >/dev/null
  "$TOCSIN" event add --team lyon-1 --slug tractage --title "Tractage" --starts "2030-04-01 10:00" >/dev/null
  cat > people.csv <<CSV
phone,name,locale,teams
$CAMILLE,Camille Martin,fr,paris-10
$LOUIS,Louis Bernard,en,paris-10
$ANA,Ana Lopes,en,
$BEA,Béa Roy,fr,paris-10
CSV
  "$TOCSIN" import people people.csv >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM contacts")" 4
'

test_case 'JOIN from a known number adds the membership and replies in their language' '
  out=$(inject $CAMILLE "REJOINDRE lyon-1")
  echo "$out" | grep -q "Bienvenue dans Lyon 1er"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN teams t ON t.id = m.team_id JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '\''$CAMILLE'\'' AND t.slug = '\''lyon-1'\'' AND m.status = '\''active'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''join'\''")" 1
  expect_eq "$(sql "SELECT kind || '\'' '\'' || dedupe_key FROM outbound_messages WHERE recipient = '\''$CAMILLE'\''" | sed "s/[0-9]*$//")" "reply reply:"
'

test_case 'JOIN twice says so and adds nothing' '
  out=$(inject $CAMILLE "join LYON-1 !")
  echo "$out" | grep -q "déjà partie"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN teams t ON t.id = m.team_id WHERE t.slug = '\''lyon-1'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''join'\''")" 1
'

test_case 'JOIN of an unknown team suggests the closest slug and changes nothing' '
  out=$(inject $LOUIS "JOIN pari-10")
  echo "$out" | grep -q "There is no team called pari-10. Did you mean paris-10?"
  expect_eq "$(sql "SELECT count(*) FROM memberships")" 4
'

test_case 'LEAVE removes the membership; LEAVE again says I am not a member' '
  out=$(inject $CAMILLE "QUITTER lyon-1")
  echo "$out" | grep -q "Vous avez quitté Lyon 1er"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN teams t ON t.id = m.team_id WHERE t.slug = '\''lyon-1'\''")" 0
  out=$(inject $CAMILLE "quitter lyon-1")
  echo "$out" | grep -q "ne faites pas partie"
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''leave'\''")" 1
'

test_case 'EVENTS lists the upcoming events of my teams' '
  out=$(inject $LOUIS "events")
  echo "$out" | grep -q "Réunion: RSVP reunion"
  ! echo "$out" | grep -q tractage
'

test_case 'RSVP with guests takes 1 + N seats' '
  out=$(inject $CAMILLE "RSVP reunion OUI +1")
  echo "$out" | grep -q "C.est noté pour Réunion, le 14/03/2030 18h30 (+1)"
  expect_eq "$(sql "SELECT status || '\'' '\'' || guests FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''$CAMILLE'\''")" "yes 1"
'

test_case 'a full event puts the next answer on the waitlist and the reply says so' '
  out=$(inject $LOUIS "rsvp reunion yes")
  echo "$out" | grep -q "Réunion is full: you are #1 on the waitlist"
  expect_eq "$(sql "SELECT status FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''$LOUIS'\''")" waitlist
  out=$(inject $ANA "RSVP reunion YES")
  echo "$out" | grep -q "#2 on the waitlist"
  expect_eq "$(sql "SELECT coalesce(sum(1 + guests), 0) FROM rsvps WHERE status = '\''yes'\''")" 2
'

test_case 'CANCEL frees the seats and offers them to the first waitlisted person by a message' '
  out=$(inject $CAMILLE "ANNULER reunion")
  echo "$out" | grep -q "Votre participation à Réunion est annulée"
  expect_eq "$(sql "SELECT status FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''$CAMILLE'\''")" no
  expect_eq "$(sql "SELECT kind || '\'' '\'' || (context->>'\''prompt'\'') FROM outbound_messages WHERE recipient = '\''$LOUIS'\'' AND kind = '\''waitlist_offer'\''")" "waitlist_offer rsvp"
  sql "SELECT body FROM outbound_messages WHERE kind = '\''waitlist_offer'\''" | grep -q "A seat freed up for Réunion"
  # Two seats were freed: Ana (next in line) is offered the second one.
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '\''waitlist_offer'\''")" 2
'

test_case 'the offered person answers a bare YES and gets the seat' '
  out=$(inject $LOUIS "Yes!")
  echo "$out" | grep -q "See you at Réunion"
  expect_eq "$(sql "SELECT status FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''$LOUIS'\''")" yes
'

test_case 'a held seat cannot be taken by someone else while the offer is open' '
  expect_eq "$(inject $BEA "RSVP reunion oui" | grep -c "liste d.attente")" 1
  out=$(inject $ANA "oui")
  echo "$out" | grep -q "See you at Réunion"
  expect_eq "$(sql "SELECT string_agg(status, '\'','\'' ORDER BY status) FROM rsvps")" "no,waitlist,yes,yes"
'

test_case 'a waitlisted person who said STOP is skipped: the seat goes to the next in line' '
  "$TOCSIN" event add --team paris-10 --slug petit --title "Petit comité" --starts "2030-06-01 10:00" --capacity 1 >/dev/null
  inject +33612345611 "RSVP petit OUI" >/dev/null
  inject +33612345612 "RSVP petit OUI" | grep -q "liste d.attente"
  inject +33612345612 "STOP" >/dev/null
  inject +33612345613 "RSVP petit OUI" | grep -q "en position 2 sur la liste"
  inject +33612345611 "CANCEL petit" >/dev/null
  expect_eq "$(sql "SELECT recipient FROM outbound_messages WHERE kind = '\''waitlist_offer'\'' AND context->>'\''event_id'\'' = (SELECT id::text FROM events WHERE slug = '\''petit'\'')")" +33612345613
  expect_eq "$(sql "SELECT c.address FROM rsvps r JOIN contacts c ON c.person_id = r.person_id JOIN events e ON e.id = r.event_id WHERE e.slug = '\''petit'\'' AND r.offered_at IS NOT NULL")" +33612345613
'

test_case 'a bare OUI without any prompt asks which event' '
  expect_eq "$(queued_to +33699999999)" 0
  "$TOCSIN" sms-inject --from +33612345605 --to 36173 --text "JOIN lyon-1" >/dev/null 2>&1
  out=$(inject +33612345605 "OUI")
  echo "$out" | grep -q "Which event? RSVP tractage YES"
'

test_case 'the RSVP confirmation is a prompt: a later bare ANNULER or NON is about that event' '
  inject $CAMILLE "OUI tractage" | grep -q "Tractage"
  inject $CAMILLE "annuler" | grep -q "Votre participation à Tractage est annulée"
  inject $CAMILLE "oui" | grep -q "Tractage"
  inject $CAMILLE "Non, désolée" | grep -q "vous ne viendrez pas à Tractage"
  expect_eq "$(sql "SELECT r.status FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE e.slug = '\''tractage'\'' AND c.address = '\''$CAMILLE'\''")" no
'

test_case 'an event can be named by its number, as reminders print it' '
  id=$(sql "SELECT id FROM events WHERE slug = '\''tractage'\''")
  inject +33612345605 "RSVP $id maybe" | grep -q "maybe for Tractage"
  inject +33612345605 "RSVP 999999 yes" | grep -q "There is no event 999999"
'

test_case 'RSVP with too many guests is refused with a reason and changes nothing' '
  before=$(sql "SELECT count(*) FROM rsvps")
  out=$(inject $CAMILLE "RSVP tractage OUI +25")
  echo "$out" | grep -q "20 invités au plus"
  expect_eq "$(sql "SELECT count(*) FROM rsvps")" "$before"
'

test_case 'a replay of the same message id has no second effect and no second reply' '
  first=$(inject +33612345606 "JOIN paris-10" gw-42)
  echo "$first" | grep -q "Welcome to Paris 10e"
  second=$("$TOCSIN" sms-inject --from +33612345606 --to 36173 --text "JOIN paris-10" --id gw-42 --json)
  echo "$second" | /usr/bin/python3 -c "import json,sys; o=json.load(sys.stdin); assert o[\"status\"]==\"duplicate\" and o[\"reply\"].startswith(\"Welcome to Paris 10e\"), o"
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '\''gw-42'\''")" 1
  expect_eq "$(queued_to +33612345606)" 1
  expect_eq "$(sql "SELECT count(*) FROM people WHERE source = '\''sms:join'\''")" 2
'

test_case 'the same message delivered three times at once is applied once' '
  for i in 1 2 3; do
    "$TOCSIN" sms-inject --from +33612345630 --to 36173 --text "RSVP tractage OUI" --id race-1 --json > race.$i 2>/dev/null &
  done
  wait
  expect_eq "$(cat race.1 race.2 race.3 | grep -c "\"status\": *\"applied\"")" 1
  expect_eq "$(cat race.1 race.2 race.3 | grep -c "\"status\": *\"duplicate\"")" 2
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '\''race-1'\''")" 1
  expect_eq "$(queued_to +33612345630)" 1
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''rsvp'\'' AND payload->>'\''inbound_id'\'' = (SELECT id::text FROM inbound_messages WHERE provider_id = '\''race-1'\'')")" 1
'

test_case 'STOP records an opt-out with evidence and queues only its confirmation' '
  out=$(inject $BEA "Arrêt" stop-1)
  echo "$out" | grep -q "vous ne recevrez plus de messages"
  expect_eq "$(sql "SELECT action || '\'' '\'' || source || '\'' '\'' || evidence FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '\''$BEA'\'' ORDER BY k.id DESC LIMIT 1")" "opt_out sms_keyword stop-1"
  expect_eq "$(sql "SELECT kind FROM outbound_messages WHERE recipient = '\''$BEA'\'' ORDER BY id DESC LIMIT 1")" stop_confirmation
  expect_eq "$(allows $BEA)" f
'

test_case 'after STOP, any command sends nothing (but still takes effect); HELP is answered' '
  n=$(queued_to $BEA)
  expect_eq "$(inject $BEA "EVENTS")" ""
  expect_eq "$(inject $BEA "JOIN lyon-1")" ""
  expect_eq "$(inject $BEA "blah blah")" ""
  expect_eq "$(inject $BEA "YES")" ""
  expect_eq "$(inject $BEA "STOP")" ""
  expect_eq "$(queued_to $BEA)" "$n"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id JOIN teams t ON t.id = m.team_id WHERE c.address = '\''$BEA'\'' AND t.slug = '\''lyon-1'\''")" 1
  inject $BEA "AIDE" | grep -q "Commandes"
  expect_eq "$(sql "SELECT kind FROM outbound_messages WHERE recipient = '\''$BEA'\'' ORDER BY id DESC LIMIT 1")" help
  expect_eq "$(allows $BEA)" f
'

test_case 'START re-enables the channel' '
  out=$(inject $BEA "REPRENDRE")
  echo "$out" | grep -q "messages réactivés"
  expect_eq "$(allows $BEA)" t
  inject $BEA "agenda" | grep -q "Réunion"
'

test_case 'STOP paris-10 opts out of that team only' '
  out=$(inject $LOUIS "STOP paris-10")
  echo "$out" | grep -q "no more messages about paris-10"
  expect_eq "$(allows $LOUIS paris-10)" f
  expect_eq "$(allows $LOUIS lyon-1)" t
  expect_eq "$(allows $LOUIS)" t
  out=$(inject $LOUIS "START paris-10")
  expect_eq "$(allows $LOUIS paris-10)" t
'

test_case 'STOP followed by words that are not a team is a global opt-out' '
  inject +33612345606 "please stop texting me" | grep -q "no more messages from us"
  expect_eq "$(allows +33612345606)" f
  expect_eq "$(allows +33612345606 paris-10)" f
'

test_case 'unknown senders: JOIN and RSVP create a person (source recorded), others get help' '
  out=$(inject +33699999901 "EVENTS")
  echo "$out" | grep -q "Commands:"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address = '\''+33699999901'\''")" 0
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE sender = '\''+33699999901'\''")" unknown_sender
  expect_eq "$(inject +33699999901 "INFO")" ""
  expect_eq "$(sql "SELECT string_agg(status, '\'','\'' ORDER BY id) FROM inbound_messages WHERE sender = '\''+33699999901'\''")" "unknown_sender,rate_limited"
  out=$(inject +33699999902 "OUI tractage +2")
  echo "$out" | grep -q "C.est noté pour Tractage"
  expect_eq "$(sql "SELECT p.source || '\'' '\'' || p.locale FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '\''+33699999902'\''")" "sms:rsvp fr"
  out=$(inject +33699999903 "JOIN lyon-1")
  expect_eq "$(sql "SELECT k.action || '\'' '\'' || k.source FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '\''+33699999903'\''")" "opt_in sms_keyword"
  out=$(inject +33699999904 "JOIN nowhere")
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address = '\''+33699999904'\''")" 0
  out=$(inject +33699999906 "hello there")
  echo "$out" | grep -q "pas compris"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address IN ('\''+33699999904'\'', '\''+33699999906'\'')")" 0
'

test_case 'STOP from an unknown number is remembered' '
  inject +33699999905 "STOP" | grep -q "vous ne recevrez plus de messages"
  expect_eq "$(allows +33699999905)" f
'

test_case 'unknown text gets one helpful reply per sender per hour, then silence' '
  out=$(inject $ANA "jion lyon-1")
  echo "$out" | grep -q "Did you mean JOIN lyon-1?"
  expect_eq "$(inject $ANA "jion lyon-1")" ""
  "$TOCSIN" sms-inject --from $ANA --to 36173 --text "hello?" --json | grep -q "\"status\": \"ignored\"\|\"status\":\"ignored\""
  expect_eq "$(sql "SELECT string_agg(status, '\'','\'' ORDER BY id) FROM inbound_messages WHERE sender = '\''$ANA'\'' AND command IS NULL")" "unknown,rate_limited,rate_limited"
  sql "UPDATE outbound_messages SET created_at = now() - interval '\''61 minutes'\'' WHERE recipient = '\''$ANA'\'' AND kind = '\''unknown'\''"
  inject $ANA "hello?" | grep -q "did not understand"
'

test_case 'hostile SQL-looking text is stored verbatim and changes nothing' '
  text="Robert'\''); DROP TABLE people;-- \\x00 %s \$(id)"
  inject +33612345607 "$text" >/dev/null
  expect_eq "$(sql "SELECT body FROM inbound_messages WHERE sender = '\''+33612345607'\''")" "$text"
  expect_eq "$(sql "SELECT count(*) > 0 FROM people")" t
'

test_case 'invalid UTF-8 is stored with U+FFFD and the command still runs' '
  out=$(inject +33612345609 "$(printf "\\377\\376JOIN paris-10")")
  echo "$out" | grep -q "Welcome to Paris 10e"
  expect_eq "$(sql "SELECT body FROM inbound_messages WHERE sender = '\''+33612345609'\''")" "$(printf "\\357\\277\\275\\357\\277\\275JOIN paris-10")"
'

test_case 'overlong text is recorded and ignored, with no reply' '
  long=$(head -c 5000 /dev/zero | tr "\0" a)
  "$TOCSIN" sms-inject --from +33612345608 --to 36173 --text "$long" --json | grep -q "\"status\": \"ignored\"\|\"status\":\"ignored\""
  expect_eq "$(sql "SELECT status || '\'' '\'' || length(body) FROM inbound_messages WHERE sender = '\''+33612345608'\''")" "too_long 5000"
  expect_eq "$(queued_to +33612345608)" 0
'

test_case 'two RSVPs racing for the last seat cannot overbook' '
  "$TOCSIN" event add --team paris-10 --slug dernier --title "Dernier" --starts "2030-05-01 10:00" --capacity 1 >/dev/null
  for i in 1 2 3 4; do
    "$TOCSIN" sms-inject --from +3361234570$i --to 36173 --text "RSVP dernier OUI" >/dev/null 2>&1 &
  done
  wait
  expect_eq "$(sql "SELECT string_agg(r.status, '\'','\'' ORDER BY r.status) FROM rsvps r JOIN events e ON e.id = r.event_id WHERE e.slug = '\''dernier'\''")" "waitlist,waitlist,waitlist,yes"
'

test_case 'a failure after the effect rolls everything back: no message, membership or reply' '
  mkdir -p broken/fr broken/en
  printf "subject: x\n--- text\n{{#never}}closed\n" > broken/fr/join_ok.tmpl
  cp broken/fr/join_ok.tmpl broken/en/join_ok.tmpl
  before=$(sql "SELECT (SELECT count(*) FROM inbound_messages) || '\'' '\'' || (SELECT count(*) FROM memberships) || '\'' '\'' || (SELECT count(*) FROM outbound_messages) || '\'' '\'' || (SELECT count(*) FROM people)")
  set +e
  TOCSIN_ENGINE_TEMPLATES_DIR=$TEST_DIR/broken "$TOCSIN" sms-inject --from +33612345620 --to 1 --text "JOIN paris-10" --id fail-1 2>err; rc=$?
  set -e
  expect_eq "$rc" 70
  grep -q "unclosed\|never" err
  after=$(sql "SELECT (SELECT count(*) FROM inbound_messages) || '\'' '\'' || (SELECT count(*) FROM memberships) || '\'' '\'' || (SELECT count(*) FROM outbound_messages) || '\'' '\'' || (SELECT count(*) FROM people)")
  expect_eq "$after" "$before"
  # The same message id, retried once the template is fixed, is processed normally.
  inject +33612345620 "JOIN paris-10" fail-1 | grep -q "Welcome to Paris 10e"
'

test_case 'sms-inject: bad number is 65, no database is 75, missing text is 64' '
  set +e
  "$TOCSIN" sms-inject --from "not a number" --to 1 --text x 2>err; rc=$?
  expect_eq "$rc" 65
  TOCSIN_DATABASE_URL="host=$TEST_DIR/nowhere dbname=x connect_timeout=2" "$TOCSIN" sms-inject --from $ANA --to 1 --text STOP 2>err; rc=$?
  expect_eq "$rc" 75
  grep -q "database" err
  "$TOCSIN" sms-inject --from $ANA --to 1 2>/dev/null; rc=$?
  expect_eq "$rc" 64
  set -e
'

test_case 'OÙ <event> by SMS: title, place and start in the event'\''s time zone, in my language; nothing changes' '
  "$TOCSIN" event add --team paris-10 --slug porte-a-porte --title "Porte-à-porte" --starts "2030-03-16 10:00" --timezone America/Martinique --location "Marché de Sainte-Anne" >/dev/null
  before=$(sql "SELECT (SELECT count(*) FROM rsvps) || '\'' '\'' || (SELECT count(*) FROM memberships) || '\'' '\'' || (SELECT count(*) FROM consent)")
  expect_eq "$(inject $CAMILLE "OÙ porte-a-porte")" "Porte-à-porte : le 16/03/2030 10h00 (America/Martinique), Marché de Sainte-Anne."
  expect_eq "$(inject $LOUIS "where porte-a-porte")" "Porte-à-porte: 2030-03-16 10:00 (America/Martinique), Marché de Sainte-Anne."
  expect_eq "$(sql "SELECT command || '\'' '\'' || status FROM inbound_messages WHERE sender = '\''$LOUIS'\'' ORDER BY id DESC LIMIT 1")" "where applied"
  expect_eq "$(sql "SELECT (SELECT count(*) FROM rsvps) || '\'' '\'' || (SELECT count(*) FROM memberships) || '\'' '\'' || (SELECT count(*) FROM consent)")" "$before"
  inject $CAMILLE "OU porte-a-port" | grep -q "pas d.événement porte-a-port. Vouliez-vous dire porte-a-porte ?"
'

test_case 'a bare OÙ is about the event of the last prompt, and a bare OUI after it still answers that event' '
  inject $CAMILLE "OUI tractage" | grep -q "C.est noté pour Tractage"
  inject $CAMILLE "Où ?" | grep -q "^Tractage : le 01/04/2030 10h00 (Europe/Paris), lieu à préciser.$"
  inject $CAMILLE "Oui +1" | grep -q "C.est noté pour Tractage, le 01/04/2030 10h00 (+1)"
  expect_eq "$(sql "SELECT r.status || '\'' '\'' || r.guests FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE e.slug = '\''tractage'\'' AND c.address = '\''$CAMILLE'\''")" "yes 1"
  inject +33612345631 "JOIN lyon-1" >/dev/null
  inject +33612345631 "WHERE" | grep -q "^Which event? WHERE tractage;"
'
