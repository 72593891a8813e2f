#!/usr/bin/env bash
# Issue 13, item 11 — importing a French spreadsheet: header aliases (nom, prénom,
# e-mail/courriel, téléphone/portable, équipe(s)/groupe, étiquettes); first and last name
# columns ("Prénom Nom", the first name kept as such); nine-digit numbers whose leading 0
# the spreadsheet dropped; identical repeated rows are a note, not an error; an email and a
# phone of two different people are a conflict, never merged; --dry-run; --overwrite;
# "cannot open" says why.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
person() { sql "SELECT p.name || '|' || coalesce(p.first_name, '-') || '|' || array_to_string(p.tags, ',') FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '$1'"; }
teams_of() { sql "SELECT string_agg(t.slug, ' ' ORDER BY t.slug) FROM memberships m JOIN teams t ON t.id = m.team_id JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '$1'"; }
# What a French spreadsheet exports: ';', French headers in any case and accent.
cat > adherents.csv <<'CSV'
Prénom;NOM;Adresse e-mail;Téléphone portable;Équipe(s);Étiquettes
Marie-Claire;Dupont;MC.Dupont@example.org;612345601;paris-10;tractage
Jean Pierre;Martin;jp@example.org;06 12 34 56 02;paris-10 lyon-1;
Zoé;Petit;zoe@example.org;0612345603;lyon-1;porte-a-porte
Zoé;Petit;zoe@example.org;0612345603;lyon-1;porte-a-porte
CSV

test_case '--dry-run reads the French file, says what would happen, changes nothing' '
  "$TOCSIN" import people adherents.csv --dry-run > out 2> err
  cat out err
  grep -qx "3 would be imported (3 new), 0 rejected, 1 repeated row skipped (dry run: nothing changed)" out
  expect_eq "$(sql "SELECT count(*) FROM people")" 0
'

test_case 'aliases, "Prénom Nom", the first name kept, a dropped leading 0, a repeated row' '
  "$TOCSIN" import people adherents.csv > out 2> err
  rc=$?
  cat out err
  expect_eq "$rc" 0
  grep -q "adherents.csv:2: phone 612345601: read as 0612345601 (a spreadsheet had dropped its leading 0)" err
  grep -q "adherents.csv:5: same row as line 4: skipped" err
  expect_eq "$(person mc.dupont@example.org)" "Marie-Claire Dupont|Marie-Claire|tractage"
  expect_eq "$(person jp@example.org)" "Jean Pierre Martin|Jean Pierre|"
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address = '"'"'+33612345601'"'"'")" 1
  expect_eq "$(teams_of jp@example.org)" "lyon-1 paris-10"
'

test_case 'the first name as imported is what {{first_name}} says' '
  printf -- "subject: Bonjour\n--- text\nBonjour {{first_name}} !\n" > t.tmpl
  id=$("$TOCSIN" campaign create --channel email --segment team:lyon-1 --template t.tmpl | tail -n 1)
  "$TOCSIN" campaign preview $id --to jp@example.org | grep -qx "Bonjour Jean Pierre !"
'

test_case 'the same email with other data is still an error' '
  printf "courriel;nom\na@example.org;A\na@example.org;Autre\n" > dup.csv
  rc=0; "$TOCSIN" import people dup.csv > out 2> err || rc=$?
  cat out err
  expect_eq "$rc" 65
  grep -q "dup.csv:3: email a@example.org already on line 2" err
'

test_case 'an email of one person with the phone of another is a conflict, never merged' '
  printf "e-mail;portable;nom\nzoe@example.org;06 12 34 56 02;Zoé Petit\n" > conflict.csv
  "$TOCSIN" import people conflict.csv > out 2> err
  cat out err
  grep -q "conflict.csv:2: phone +33612345602 belongs to another person: left with them" err
  grep -q "1 conflict left as they were" out
  expect_eq "$(sql "SELECT count(DISTINCT person_id) FROM contacts WHERE address IN ('"'"'zoe@example.org'"'"', '"'"'+33612345602'"'"')")" 2
'

test_case 'without --overwrite an import fills what is empty; with it, it replaces' '
  printf "email;first_name;last_name;langue\nmc.dupont@example.org;Marie;Durand;en\n" > again.csv
  "$TOCSIN" import people again.csv > /dev/null
  expect_eq "$(person mc.dupont@example.org)" "Marie-Claire Dupont|Marie-Claire|tractage"
  expect_eq "$(sql "SELECT locale FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'mc.dupont@example.org'"'"'")" fr
  "$TOCSIN" import people again.csv --overwrite > /dev/null
  expect_eq "$(person mc.dupont@example.org)" "Marie Durand|Marie|tractage"
  expect_eq "$(sql "SELECT locale FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'mc.dupont@example.org'"'"'")" en
'

test_case 'an unknown column names the ones known; a file that cannot be opened says why' '
  printf "email;ville\na@example.org;Paris\n" > ville.csv
  rc=0; "$TOCSIN" import people ville.csv 2> err || rc=$?
  expect_eq "$rc" 65
  grep -q "ville.csv:1: unknown column ville (known: email/e-mail/courriel" err
  rc=0; "$TOCSIN" import people nowhere.csv 2> err || rc=$?
  expect_eq "$rc" 66
  grep -q "nowhere.csv: cannot open: No such file or directory" err
  touch locked.csv; chmod 000 locked.csv
  rc=0; runuser -u nobody -- "$TOCSIN" import people "$TEST_DIR/locked.csv" 2> err || rc=$?
  grep -q "locked.csv: cannot open: Permission denied" err
'
