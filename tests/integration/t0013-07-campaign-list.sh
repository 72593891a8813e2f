#!/usr/bin/env bash
# Issue 13, item 7 — campaigns have a title; `campaign list` shows it and the subject (the
# subject line of the template file too), local times and readable booleans; --json keeps
# the types.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
printf "email,name,teams\ncamille@example.org,Camille Martin,paris-10\n" > people.csv
"$TOCSIN" import people people.csv >/dev/null
cat > news.tmpl <<'T'
# a comment first
subject: Des nouvelles de {{team.name}}
--- text
Bonjour {{first_name}},
Samedi au marché.
T
cat > sms.tmpl <<'T'
--- text

Rendez-vous samedi 10h au marché Saint-Quentin, venez nombreux avec vos voisins et amis !
T

test_case 'the title: --title, else the subject line of the file, else the first line of the text' '
  a=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl --title "Marché de samedi" | tail -n 1)
  b=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl | tail -n 1)
  c=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template sms.tmpl --urgent | tail -n 1)
  expect_eq "$(sql "SELECT title FROM campaigns WHERE id = $a")" "Marché de samedi"
  expect_eq "$(sql "SELECT title || '"'"' | '"'"' || subject FROM campaigns WHERE id = $b")" "Des nouvelles de {{team.name}} | Des nouvelles de {{team.name}}"
  expect_eq "$(sql "SELECT title FROM campaigns WHERE id = $c")" "Rendez-vous samedi 10h au marché Saint-Quentin, venez…"
'

test_case 'the stored subject renders as the file'"'"'s line did' '
  "$TOCSIN" campaign preview 2 --to camille@example.org | head -n 1 | grep -qx "Subject: Des nouvelles de Paris 10e"
'

test_case 'campaign list: title, subject, local times with their zone, yes/no' '
  "$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl \
    --at "2031-06-07 10:00" --timezone America/Montreal --title "Montréal" > /dev/null
  "$TOCSIN" campaign list > out
  cat out
  head -n 1 out | grep -q "title.*subject.*scheduled.*created.*urgent"
  grep -q "^1 *Marché de samedi *Des nouvelles de {{team.name}} *email" out
  grep -q "2031-06-07 10:00 America/Montreal *[0-9-]* [0-9:]* Europe/Paris" out
  grep -qE "^3 .* yes +0 +0$" out
  grep -qE "^1 .* no +1 +0$" out
  ! grep -qE " (t|f) " out
'

test_case 'campaign list --json keeps timestamps and booleans typed' '
  "$TOCSIN" campaign list --json | /usr/bin/python3 -c "
import json, sys
l = json.load(sys.stdin)
assert l[2][\"urgent\"] is True and l[0][\"urgent\"] is False, l
assert l[0][\"title\"] == \"Marché de samedi\" and l[1][\"subject\"] == \"Des nouvelles de {{team.name}}\", l
assert l[3][\"timezone\"] == \"America/Montreal\" and l[3][\"scheduled_at\"].startswith(\"2031-06-07\"), l
"
'
