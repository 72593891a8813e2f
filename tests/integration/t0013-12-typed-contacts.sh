#!/usr/bin/env bash
# Issue 13, item 12 — one normalisation of typed contacts everywhere (team organiser,
# campaign preview --to, sms-test --to, people show, people forget): "06 12 34 56 78"
# works, errors say which argument is wrong; team organiser says when it added a member,
# and --remove takes the role away.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
email,phone,name,teams
camille@example.org,06 12 34 56 01,Camille Martin,paris-10
louis@example.org,06 12 34 56 02,Louis Bernard,
CSV
"$TOCSIN" import people people.csv >/dev/null
role_of() { sql "SELECT coalesce((SELECT m.role || '/' || m.status FROM memberships m JOIN teams t ON t.id = m.team_id JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '$1' AND t.slug = 'paris-10'), '-')"; }
fails() { # expected exit code, command…: run it, keep stderr in err
  local want=$1 rc=0; shift
  "$@" > out 2> err || rc=$?
  cat out err
  expect_eq "$rc" "$want"
}

test_case 'team organiser takes a number as people type it, and says it made a member of them' '
  "$TOCSIN" team organiser paris-10 "06 12 34 56 01" > out; cat out
  grep -qx "+33612345601 is now an organiser of paris-10" out
  expect_eq "$(role_of camille@example.org)" "organiser/active"
  "$TOCSIN" team organiser paris-10 "Louis@Example.org" > out; cat out
  grep -qx "louis@example.org is now an organiser of paris-10: added as a member, they were not one" out
  expect_eq "$(role_of louis@example.org)" "organiser/active"
'

test_case 'team organiser --remove takes the role away and leaves the member' '
  "$TOCSIN" team organiser paris-10 "+33 6 12 34 56 02" --remove > out; cat out
  grep -qx "+33612345602 is no longer an organiser of paris-10 (still a member)" out
  expect_eq "$(role_of louis@example.org)" "member/active"
  fails 65 "$TOCSIN" team organiser paris-10 "+33 6 12 34 56 02" --remove
  grep -q "not an organiser of paris-10" err
'

test_case 'a contact that is not one is refused naming the argument; nothing changes' '
  fails 65 "$TOCSIN" team organiser paris-10 "06 12"
  grep -q "tocsin: team organiser: CONTACT 06 12: wrong number of digits for the country" err
  fails 65 "$TOCSIN" team organiser paris-10 "nobody@example.org"
  grep -q "no contact nobody@example.org" err
  expect_eq "$(sql "SELECT count(*) FROM memberships")" 2
'

test_case 'campaign preview --to and sms-test --to read numbers the same way' '
  cat > t.tmpl <<T
--- text
Bonjour {{first_name}}
T
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template t.tmpl | tail -n 1)
  "$TOCSIN" campaign preview $id --to "06 12 34 56 01" | grep -q "^Bonjour Camille"
  fails 65 "$TOCSIN" campaign preview $id --to "06 12 34"
  grep -q "campaign preview: --to 06 12 34: wrong number of digits" err
  fails 65 "$TOCSIN" campaign preview $id --to "06 99 99 99 99"
  grep -q -- "--to +33699999999: no such contact" err
  fails 65 "$TOCSIN" campaign preview 999 --to "06 12 34 56 01"
  grep -q "no campaign 999" err
  TOCSIN_SMS_FROM=+33700000000 "$TOCSIN" sms-test --provider spool --to "06 12 34 56 01" "essai" | grep -q "^ok"
  grep -l "^To: +33612345601$" "$TOCSIN_ENGINE_SPOOL_DIR"/sms/*.txt | xargs grep -q essai
  fails 65 "$TOCSIN" sms-test --to "camille@example.org" "essai"
  grep -q -- "--to camille@example.org: expected a phone number" err
'

test_case 'people show and people forget read the same forms' '
  "$TOCSIN" people show "06.12.34.56.01" --json | grep -q "Camille Martin"
  "$TOCSIN" people forget "0033 6 12 34 56 02" --dry-run | grep -q "would be forgotten"
'
