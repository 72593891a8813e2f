#!/usr/bin/env bash
# Issue 13, item 18 — digests are not sent to imported people unless the organisers turn
# them on ([engine] digest_default, a team's own setting); supporters choose with
# DIGEST ON|OFF / RÉSUMÉ OUI|NON, and their choice wins.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
cat > people.csv <<CSV
email,phone,name,locale,teams
camille@example.org,0612345601,Camille Martin,fr,paris-10
ana@example.org,0612345603,Ana Lopes,en,paris-10
yann@example.org,0612345605,Yann Le Gall,fr,lyon-1
CSV
"$TOCSIN" import people people.csv >/dev/null
# Everyone arrived two weeks ago; an event is new since: a digest would have news.
sql "UPDATE people SET created_at = now() - interval '14 days'" >/dev/null
when=$(sql "SELECT to_char(now() + interval '10 days', 'YYYY-MM-DD HH24:MI')")
"$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "$when" >/dev/null
"$TOCSIN" event add --team lyon-1 --slug tractage --title "Tractage" --starts "$when" >/dev/null

digests_to() { sql "SELECT count(*) FROM outbound_messages WHERE kind = 'digest' AND recipient = '$1'"; }
fresh_round() { # forget past digests, run one scheduler round with the given environment
  sql "DELETE FROM digest_state" >/dev/null
  sql "DELETE FROM outbound_messages WHERE kind = 'digest'" >/dev/null
  env "$@" "$TOCSIN" campaign tick >/dev/null
}
inject() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2"; }

test_case 'imported people get no digest by default, although there is news' '
  expect_eq "$(sql "SELECT count(*) FROM people WHERE digest IS NOT NULL")" 0
  fresh_round
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '"'"'digest'"'"'")" 0
'

test_case 'digest_default = weekly turns them on for everyone who did not choose' '
  fresh_round TOCSIN_ENGINE_DIGEST_DEFAULT=weekly
  expect_eq "$(digests_to camille@example.org)" 1
  expect_eq "$(digests_to ana@example.org)" 1
  expect_eq "$(digests_to yann@example.org)" 1
'

test_case 'RÉSUMÉ NON by SMS is recorded and wins over digest_default; DIGEST alone says what one gets' '
  out=$(inject +33612345601 "Résumé non")
  echo "$out"
  echo "$out" | grep -q "plus de résumé"
  expect_eq "$(sql "SELECT digest FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'camille@example.org'"'"'")" never
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '"'"'digest_choice'"'"'")" 1
  fresh_round TOCSIN_ENGINE_DIGEST_DEFAULT=weekly
  expect_eq "$(digests_to camille@example.org)" 0
  expect_eq "$(digests_to ana@example.org)" 1
  out=$(TOCSIN_ENGINE_DIGEST_DEFAULT=weekly inject +33612345603 "DIGEST")
  echo "$out"
  echo "$out" | grep -q "You get a digest of your teams. news every week"
'

test_case 'DIGEST ON by one person gets them a digest while the default stays never; OFF again stops it' '
  out=$(inject +33612345603 "digest on")
  echo "$out" | grep -q "a digest of your teams. news every week"
  fresh_round
  expect_eq "$(digests_to ana@example.org)" 1
  expect_eq "$(digests_to yann@example.org)" 0
  inject +33612345603 "DIGEST OFF" | grep -q "no more digest"
  fresh_round
  expect_eq "$(digests_to ana@example.org)" 0
'

test_case 'DIGEST STOP is an opt-out (a stop word anywhere wins), not a digest setting' '
  inject +33612345605 "DIGEST STOP" >/dev/null
  expect_eq "$(sql "SELECT consent_allows('"'"'sms'"'"', '"'"'+33612345605'"'"', NULL)")" f
  expect_eq "$(sql "SELECT digest IS NULL FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'yann@example.org'"'"'")" t
'

test_case 'a team turns digests on for its members who chose none; default gives it back' '
  sql "UPDATE people SET digest = NULL" >/dev/null
  "$TOCSIN" team digest lyon-1 weekly | grep -q "team lyon-1: digest weekly for members who chose none"
  "$TOCSIN" team show lyon-1 | grep -q "^digest *weekly"
  fresh_round
  expect_eq "$(digests_to yann@example.org)" 1
  expect_eq "$(digests_to camille@example.org)" 0
  "$TOCSIN" team digest lyon-1 default >/dev/null
  fresh_round
  expect_eq "$(digests_to yann@example.org)" 0
  rc=0; "$TOCSIN" team digest lyon-1 hourly 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "expected daily, weekly, never or default" err
'

test_case 'a person'"'"'s own choice wins over their team'"'"'s' '
  "$TOCSIN" team digest paris-10 daily >/dev/null
  inject +33612345601 "RÉSUMÉ NON" >/dev/null
  fresh_round
  expect_eq "$(digests_to camille@example.org)" 0
  expect_eq "$(digests_to ana@example.org)" 1
'
