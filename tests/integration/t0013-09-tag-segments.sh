#!/usr/bin/env bash
# Issue 13, item 9 — a tag segment naming a tag nobody has is refused, like a team typo,
# and nothing is stored; the tags in use are named.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
email,name,teams,tags
camille@example.org,Camille Martin,paris-10,tractage
louis@example.org,Louis Bernard,paris-10,porte-a-porte tractage
CSV
"$TOCSIN" import people people.csv >/dev/null
cat > news.tmpl <<'T'
subject: Nouvelles
--- text
Bonjour {{first_name}}
T
create() { "$TOCSIN" campaign create --channel email --segment "$1" --template news.tmpl; }

test_case 'a tag someone has is a segment' '
  create tag:tractage | grep -qx "recipients: 2"
  create "team:paris-10+tag:porte-a-porte" | grep -qx "recipients: 1"
'

test_case 'a tag nobody has is refused (65), naming the tags in use; no campaign is stored' '
  before=$(sql "SELECT count(*) FROM campaigns")
  rc=0; create tag:tractge > out 2> err || rc=$?
  cat out err
  expect_eq "$rc" 65
  grep -q "no one has the tag tractge (tags in use: porte-a-porte, tractage)" err
  rc=0; create "team:paris-10+tag:Tractage" 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "no one has the tag Tractage" err
  expect_eq "$(sql "SELECT count(*) FROM campaigns")" "$before"
'

test_case 'a team typo in a union with a good tag is still refused' '
  rc=0; create tag:tractage,team:pari-10 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "no team pari-10" err
'
