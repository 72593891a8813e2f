#!/usr/bin/env bash
# Issue 13, item 10 — natural replies: "Je viens ! OUI", "Count me in! YES", a team's name
# instead of its slug, a slug typed with spaces; a reply that is not understood suggests
# the closest team or event. An ambiguous line changes no RSVP and joins no team.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" team add paris-1 --name "Paris Centre" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon" >/dev/null
"$TOCSIN" team add lyon-2 --name "Lyon" >/dev/null
when=$(sql "SELECT to_char(now() + interval '10 days', 'YYYY-MM-DD HH24:MI')")
"$TOCSIN" event add --team paris-10 --slug porte-a-porte --title "Porte-à-porte" --starts "$when" >/dev/null
"$TOCSIN" event add --team paris-10 --slug reunion --title "Réunion publique" --starts "$when" >/dev/null

CAMILLE=+33612345601 ANA=+33612345603
say() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2" 2>/dev/null; }
member_of() { sql "SELECT coalesce(string_agg(t.slug, ' ' ORDER BY t.slug), '-') FROM memberships m JOIN teams t ON t.id = m.team_id JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '$1'"; }
rsvp_of() { sql "SELECT coalesce((SELECT r.status || ' ' || r.guests FROM rsvps r JOIN events e ON e.id = r.event_id JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '$1' AND e.slug = '$2'), '-')"; }

test_case 'rejoindre Paris 10 (the slug typed as words) and REJOINDRE Paris Centre (the name) join those teams' '
  out=$(say $CAMILLE "rejoindre Paris 10"); echo "$out"
  echo "$out" | grep -q "Bienvenue dans Paris 10e ! QUITTER paris-10"
  out=$(say $CAMILLE "REJOINDRE Paris Centre"); echo "$out"
  echo "$out" | grep -q "Bienvenue dans Paris Centre ! QUITTER paris-1 "
  expect_eq "$(member_of $CAMILLE)" "paris-1 paris-10"
'

test_case 'a name two teams share joins neither; the answer says so' '
  out=$(say $CAMILLE "rejoindre Lyon"); echo "$out"
  echo "$out" | grep -q "Pas d.équipe\|n.y a pas d.équipe"
  expect_eq "$(member_of $CAMILLE)" "paris-1 paris-10"
'

test_case 'RSVP porte a porte (a slug typed with spaces), and the title with accents, answer that event' '
  out=$(say $CAMILLE "RSVP porte a porte"); echo "$out"
  echo "$out" | grep -q "noté pour Porte-à-porte"
  expect_eq "$(rsvp_of $CAMILLE porte-a-porte)" "yes 0"
  say $ANA "RSVP Réunion publique YES +1" | grep -q "Réunion publique"
  expect_eq "$(rsvp_of $ANA reunion)" "yes 1"
'

test_case '"Je viens ! OUI" and "Count me in! YES" answer the event of the last prompt' '
  say $CAMILLE "RSVP porte-a-porte NON" >/dev/null
  expect_eq "$(rsvp_of $CAMILLE porte-a-porte)" "no 0"
  out=$(say $CAMILLE "Je viens ! OUI"); echo "$out"
  expect_eq "$(rsvp_of $CAMILLE porte-a-porte)" "yes 0"
  say $ANA "RSVP reunion NO" >/dev/null
  out=$(say $ANA "Count me in! YES +2"); echo "$out"
  expect_eq "$(rsvp_of $ANA reunion)" "yes 2"
'

test_case 'a phrase and an answer that disagree change nothing: "Je viens ! NON" is not understood' '
  out=$(say $CAMILLE "Je viens ! NON"); echo "$out"
  expect_eq "$(rsvp_of $CAMILLE porte-a-porte)" "yes 0"
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE body = '"'"'Je viens ! NON'"'"'")" unknown
'

test_case 'not understood: the answer suggests the closest team or event, with its command' '
  out=$(say +33612345609 "rejoindre pari 10"); echo "$out"
  echo "$out" | grep -q "Vouliez-vous dire paris-10"
  expect_eq "$(member_of +33612345609)" "-"
  out=$(say +33612345610 "Je voudrais venir au porte a porte"); echo "$out"
  echo "$out" | grep -q "Vouliez-vous dire RSVP porte-a-porte"
  out=$(say +33612345611 "I want to come to the reunion publik"); echo "$out"
  echo "$out" | grep -q "RSVP reunion ?"
'
