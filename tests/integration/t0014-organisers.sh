#!/usr/bin/env bash
# Organisers (issue 14): accounts and roles, sign-in by link and by code, sessions and API
# tokens, the questions organisers ask (CLI and /api/v1), the role matrix over every
# route, campaigns, events and import through the API, every write in activity.
# The HTTP stories are in organisers_api.py (one TAP line each); this script seeds the
# database, tells the CLI stories and starts the daemon.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
must_fail() { if "$@"; then echo "unexpected success: $*"; return 1; fi; }
mkdir -p "$TEST_DIR/tokens"

test_case 'setup: two teams, events, people, answers, an inbox, opt-outs' '
  "$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
  "$TOCSIN" team add lyon-1 --name "Lyon 1er" >/dev/null
  cat > people.csv <<CSV
email,phone,name,locale,teams,tags
camille@example.org,0612345601,Camille Martin,fr,paris-10,
louis@example.org,0612345602,Louis Bernard,fr,paris-10,tractage
ana@example.org,0612345603,Ana Lopes,en,paris-10 lyon-1,
zoe@example.org,0612345604,Zoé Petit,fr,lyon-1,
yann@example.org,0612345605,Yann Le Gall,fr,lyon-1,
hugo@example.org,0612345606,Hugo Porte,fr,paris-10,
broken-address,0612345607,Bad Row,fr,paris-10,
CSV
  # The last row is refused (its email is not one), the rest are kept: exit 65.
  "$TOCSIN" import people people.csv 2> import.err >/dev/null || test $? = 65
  grep -q "people.csv:8: email" import.err
  "$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "2030-03-14 10:00" --capacity 30 >/dev/null
  "$TOCSIN" event add --team lyon-1 --slug soiree --title "Soirée" --starts "2030-03-20 19:00" >/dev/null
  sql "INSERT INTO rsvps (event_id, person_id, status, guests)
       SELECT e.id, c.person_id, v.status, v.guests FROM (VALUES
         ('\''marche'\'', '\''louis@example.org'\'', '\''yes'\'', 1),
         ('\''marche'\'', '\''ana@example.org'\'', '\''maybe'\'', 0),
         ('\''soiree'\'', '\''zoe@example.org'\'', '\''yes'\'', 0)) v(event, address, status, guests)
       JOIN events e ON e.slug = v.event JOIN contacts c ON c.address = v.address"
  "$TOCSIN" sms-inject --from 0612345602 --to 36173 --text "Bonjour, je peux venir avec mon chien ?" --id in-louis >/dev/null
  "$TOCSIN" sms-inject --from 0612345604 --to 36173 --text "salut, c est quand la soiree" --id in-zoe >/dev/null
  "$TOCSIN" sms-inject --from 0611112222 --to 36173 --text "qui etes-vous ?" --id in-stranger >/dev/null
  printf "From: Ana Lopes <ana@example.org>\r\nTo: tocsin@localhost\r\nSubject: Question sur le marche\r\nMessage-ID: <q1@example.org>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\n\r\nA quelle heure commence le marche ?\r\n" > ana.eml
  "$TOCSIN" inject < ana.eml >/dev/null
  "$TOCSIN" sms-inject --from 0612345605 --to 36173 --text STOP --id in-yann-stop >/dev/null
  sql "INSERT INTO consent (contact_id, channel, scope, action, source)
       SELECT c.id, '\''email'\'', t.id, '\''opt_out'\'', '\''test'\'' FROM contacts c, teams t
       WHERE c.address = '\''zoe@example.org'\'' AND t.slug = '\''lyon-1'\''"
  expect_eq "$(sql "SELECT count(*) FROM inbox WHERE handled_at IS NULL")" 4
'

test_case 'user add: roles from contacts typed as people type them; the list shows them' '
  "$TOCSIN" user add boss@example.org --role admin --name "La Boss"
  "$TOCSIN" user add "06 12 34 56 01" --role organiser --team paris-10
  "$TOCSIN" user add yann@example.org --role organiser --team lyon-1
  "$TOCSIN" user add HUGO@example.org --role host --event marche
  "$TOCSIN" user add hugo@example.org --role host --event marche
  "$TOCSIN" user list > users.txt
  cat users.txt
  grep -q "La Boss .*admin" users.txt
  grep -q "Camille Martin .*organiser:paris-10" users.txt
  grep -q "Hugo Porte .*host:marche" users.txt
  expect_eq "$(sql "SELECT count(*) FROM account_roles WHERE role = '\''host'\''")" 1
  "$TOCSIN" user list --json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); assert len(d[\"items\"]) == 4, d"
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''user_added'\'' AND via = '\''cli'\''")" 5
'

test_case 'user add refuses a bad role, a missing team, an unknown event, a bad contact' '
  must_fail "$TOCSIN" user add louis@example.org --role king 2> e1
  grep -q "role king" e1
  must_fail "$TOCSIN" user add louis@example.org --role organiser 2> e2
  grep -q "organiser of a team" e2
  must_fail "$TOCSIN" user add louis@example.org --role host --event nowhere 2> e3
  grep -q "no event nowhere" e3
  must_fail "$TOCSIN" user add "not a phone" --role admin 2> e4
  expect_eq "$(sql "SELECT count(*) FROM account_roles")" 2
'

test_case 'token add prints the token once, stores only its hash; list and revoke' '
  for who in boss:boss@example.org orgA:camille@example.org orgB:yann@example.org host:hugo@example.org; do
    "$TOCSIN" token add --user "${who#*:}" --name "test ${who%%:*}" > "$TEST_DIR/tokens/${who%%:*}" 2> add.err
    grep -q "shown once" add.err
  done
  grep -q "^tocsin_[A-Za-z0-9_-]\{43\}$" "$TEST_DIR/tokens/boss"
  t=$(cat "$TEST_DIR/tokens/boss")
  expect_eq "$(sql "SELECT count(*) FROM api_tokens WHERE token_hash = sha256('\''$t'\''::bytea)")" 1
  expect_eq "$(sql "SELECT count(*) FROM api_tokens WHERE position('\''$t'\'' IN prefix) > 0 OR prefix = '\''$t'\''")" 0
  "$TOCSIN" token add --user louis@example.org --name x 2> e && exit 1
  grep -q "has no role" e
  "$TOCSIN" token add --user boss@example.org --name spare > spare.tok 2>/dev/null
  "$TOCSIN" token list | grep -q "spare"
  id=$(sql "SELECT id FROM api_tokens WHERE name = '\''spare'\''")
  "$TOCSIN" token revoke $id | grep -q "revoked"
  expect_eq "$(sql "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE id = $id")" t
'

test_case 'people list filters by team, tag, search (a phone typed nationally) and opt-out' '
  "$TOCSIN" people list --team lyon-1 --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin); names=sorted(p[\"name\"] for p in d[\"items\"])
assert names == [\"Ana Lopes\", \"Yann Le Gall\", \"Zoé Petit\"], names"
  "$TOCSIN" people list --tag tractage | grep -q "Louis Bernard"
  expect_eq "$("$TOCSIN" people list --search "06 12 34 56 04" --json | /usr/bin/python3 -c "import json,sys; print([p[\"name\"] for p in json.load(sys.stdin)[\"items\"]])")" "['"'"'Zoé Petit'"'"']"
  expect_eq "$("$TOCSIN" people list --search bern --json | /usr/bin/python3 -c "import json,sys; print([p[\"name\"] for p in json.load(sys.stdin)[\"items\"]])")" "['"'"'Louis Bernard'"'"']"
  expect_eq "$("$TOCSIN" people list --opted-out sms --json | /usr/bin/python3 -c "import json,sys; print([p[\"name\"] for p in json.load(sys.stdin)[\"items\"]])")" "['"'"'Yann Le Gall'"'"']"
  expect_eq "$("$TOCSIN" people list --opted-out email --team lyon-1 --json | /usr/bin/python3 -c "import json,sys; print([p[\"name\"] for p in json.load(sys.stdin)[\"items\"]])")" "['"'"'Zoé Petit'"'"']"
  expect_eq "$("$TOCSIN" people list --opted-out email --json | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"items\"]))")" 0
  must_fail "$TOCSIN" people list --team nowhere 2> e
  grep -q "no team nowhere" e
'

test_case 'people list pages by id: --limit and --after, the next page named on stderr' '
  "$TOCSIN" people list --limit 2 --json > p1 2> p1.err
  grep -q "more: --after" p1.err
  after=$(/usr/bin/python3 -c "import json; print(json.load(open(\"p1\"))[\"next\"])")
  "$TOCSIN" people list --after $after --json > p2
  /usr/bin/python3 -c "
import json; a=json.load(open(\"p1\"))[\"items\"]; b=json.load(open(\"p2\"))[\"items\"]
ids=[p[\"id\"] for p in a+b]; assert ids == sorted(set(ids)) and len(ids) == 7, ids"
'

test_case 'people show: contacts, memberships, RSVPs, the ledger as it is, messages both ways' '
  "$TOCSIN" people show "06 12 34 56 05" --json > yann.json
  /usr/bin/python3 - <<PY
import json
d = json.load(open("yann.json"))
assert d["name"] == "Yann Le Gall"
assert {c["kind"]: c["consent"] for c in d["contacts"]} == {"email": "allowed", "phone": "opted_out"}, d["contacts"]
assert [m["team"] for m in d["memberships"]] == ["lyon-1"]
assert [k["action"] for k in d["consent"]][:1] == ["opt_out"] and d["consent"][0]["channel"] == "sms"
assert [(m["direction"], m["body"]) for m in d["messages"] if m["direction"] == "in"] == [("in", "STOP")]
assert any(m["direction"] == "out" and m["kind"] == "stop_confirmation" for m in d["messages"])
PY
  "$TOCSIN" people show --id 2 | grep -q "Louis Bernard"
  must_fail "$TOCSIN" people show nobody@example.org 2> e
  grep -q "no such contact" e
'

test_case 'people export is CSV that Python reads back; formulas in names are defused' '
  "$TOCSIN" people export --team paris-10 > paris.csv
  /usr/bin/python3 - <<PY
import csv
rows = list(csv.DictReader(open("paris.csv", newline="")))
names = sorted(r["name"] for r in rows)
assert names == ["Ana Lopes", "Camille Martin", "Hugo Porte", "Louis Bernard"], names
ana = [r for r in rows if r["name"] == "Ana Lopes"][0]
assert ana["teams"] == "lyon-1 paris-10" and ana["phone"] == "+33612345603", ana
PY
  sql "UPDATE people SET name = '\''=HYPERLINK(\"x\")'\'' WHERE id = 2"
  "$TOCSIN" people export --search "06 12 34 56 02" > evil.csv
  /usr/bin/python3 - <<PY
import csv
r = list(csv.DictReader(open("evil.csv", newline="")))[0]
assert r["name"].startswith(chr(39) + "="), r
PY
  sql "UPDATE people SET name = '\''Louis Bernard'\'' WHERE id = 2"
'

test_case 'team members: everyone, since a date, only pending; team activity shows who did what' '
  "$TOCSIN" team members paris-10 | grep -c "@example.org" | grep -qx 4
  sql "UPDATE memberships SET status = '\''pending'\'', created_at = now() - interval '\''40 days'\''
       WHERE person_id = (SELECT person_id FROM contacts WHERE address = '\''hugo@example.org'\'')"
  "$TOCSIN" team members paris-10 --pending --json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); assert [p[\"name\"] for p in d[\"items\"]] == [\"Hugo Porte\"], d"
  since=$(sql "SELECT to_char(now() - interval '\''10 days'\'', '\''YYYY-MM-DD'\'')")
  "$TOCSIN" team members paris-10 --since $since --json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); assert \"Hugo Porte\" not in [p[\"name\"] for p in d[\"items\"]] and len(d[\"items\"]) == 3, d"
  sql "UPDATE memberships SET status = '\''active'\'' WHERE status = '\''pending'\''"
  must_fail "$TOCSIN" team members paris-10 --since yesterday 2> e
  grep -q "since yesterday" e
  "$TOCSIN" team activity paris-10 --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin); kinds=[a[\"kind\"] for a in d[\"items\"]]
assert \"event_created\" in kinds and \"user_added\" in kinds, kinds
assert all(a[\"via\"] == \"cli\" for a in d[\"items\"] if a[\"kind\"] == \"user_added\")"
'

test_case 'event attendees: the door list in order, counts, and a CSV read back' '
  "$TOCSIN" event attendees marche > door.txt
  cat door.txt
  head -n 1 door.txt | grep -q "1 yes (2 with guests), 1 maybe, 0 waitlist, 0 no; 0 checked in"
  "$TOCSIN" event attendees marche --csv > door.csv
  /usr/bin/python3 - <<PY
import csv
rows = list(csv.DictReader(open("door.csv", newline="")))
assert [(r["status"], r["name"], r["guests"]) for r in rows] == [("yes", "Louis Bernard", "1"), ("maybe", "Ana Lopes", "0")], rows
assert rows[0]["phone"] == "+33612345602"
PY
'

test_case 'event checkin: a contact, again (kept), a walk-in reusing a known phone, a new walk-in' '
  "$TOCSIN" event checkin marche "06 12 34 56 02" | grep -q "Louis Bernard checked in at"
  first=$(sql "SELECT checked_in_at FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''+33612345602'\''")
  "$TOCSIN" event checkin marche louis@example.org | grep -q "was already checked in"
  expect_eq "$(sql "SELECT checked_in_at FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '\''+33612345602'\''")" "$first"
  "$TOCSIN" event checkin marche --name "Zoé P" --phone "06 12 34 56 04" | grep -q "Zoé Petit checked in at"
  "$TOCSIN" event checkin marche --name "Nouvelle Venue" --phone "07 00 00 00 01" | grep -q "as a walk-in"
  expect_eq "$(sql "SELECT count(*) FROM people WHERE name = '\''Nouvelle Venue'\'' AND source = '\''walk_in'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address = '\''+33612345604'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM rsvps r JOIN events e ON e.id = r.event_id WHERE e.slug = '\''marche'\'' AND r.checked_in_at IS NOT NULL")" 3
  expect_eq "$(sql "SELECT count(*) FROM activity WHERE kind = '\''checkin'\''")" 3
  must_fail "$TOCSIN" event checkin marche nobody@example.org 2> e
  grep -q "walk-in" e
'

test_case 'optouts: current ones only, newest first, with scope and source' '
  "$TOCSIN" optouts --json > o.json
  /usr/bin/python3 -c "
import json; d=json.load(open(\"o.json\"))[\"items\"]
assert [(o[\"name\"], o[\"channel\"], o[\"team\"], o[\"source\"]) for o in d] == [(\"Zoé Petit\", \"email\", \"lyon-1\", \"test\"), (\"Yann Le Gall\", \"sms\", None, \"sms_keyword\")], d"
  "$TOCSIN" optouts --channel sms | grep -q "Yann Le Gall"
  "$TOCSIN" sms-inject --from 0612345605 --to 36173 --text START --id in-yann-start >/dev/null
  "$TOCSIN" optouts --channel sms --json | /usr/bin/python3 -c "import json,sys; assert json.load(sys.stdin)[\"items\"] == []"
  must_fail "$TOCSIN" optouts --channel fax 2> e
  grep -q "email or sms" e
'

test_case 'inbox: what needs a human, newest first; reply on the sender channel; done' '
  "$TOCSIN" inbox > inbox.txt
  cat inbox.txt
  head -n 1 inbox.txt | grep -qx "4 open"
  id=$(sql "SELECT id FROM inbound_messages WHERE provider_id = '\''in-louis'\''")
  "$TOCSIN" inbox reply $id "Oui, avec plaisir !" | grep -q "queued to +33612345602: sms"
  "$TOCSIN" inbox reply $id "Oui, avec plaisir !" | grep -q "already queued"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE kind = '\''inbox_reply'\'' AND inbound_id = $id AND body = '\''Oui, avec plaisir !'\''")" 1
  "$TOCSIN" inbox done $id | grep -q "done"
  "$TOCSIN" inbox --json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"open\"] == 3 and $id not in [i[\"id\"] for i in d[\"items\"]]"
  "$TOCSIN" inbox --all --json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); assert len(d[\"items\"]) == 4"
  must_fail "$TOCSIN" inbox reply 999999 "x" 2> e
  grep -q "no inbox message" e
'

test_case 'an email in the inbox is answered in its thread: Re: subject, In-Reply-To' '
  id=$(sql "SELECT id FROM inbound_messages WHERE channel = '\''email'\'' AND sender = '\''ana@example.org'\''")
  "$TOCSIN" inbox reply $id "A 10h, devant la mairie." >/dev/null
  expect_eq "$(sql "SELECT subject FROM outbound_messages WHERE kind = '\''inbox_reply'\'' AND inbound_id = $id")" "Re: Question sur le marche"
  start_daemon
  for _ in $(seq 1 50); do ls spool/mail/*.eml >/dev/null 2>&1 && grep -l "A 10h" spool/mail/*.eml >/dev/null 2>&1 && break; sleep 0.2; done
  f=$(grep -l "A 10h" spool/mail/*.eml)
  grep -q "^In-Reply-To: <q1@example.org>" "$f"
  grep -q "^Subject: Re: Question sur le marche" "$f"
  stop_daemon
'

start_daemon TOCSIN_ENGINE_SCHEDULER_INTERVAL=1
export HTTP
/usr/bin/python3 "$SRC/tests/integration/organisers_api.py"
stop_daemon

test_case 'a session cookie is Secure when public_url is https' '
  start_daemon TOCSIN_HTTP_PUBLIC_URL=https://tocsin.example.org TOCSIN_ENGINE_WORKERS=0
  link=$("$TOCSIN" user login-link hugo@example.org)
  token=${link##*/}
  curl -s -D headers -o /dev/null -X POST "$HTTP/login/$token"
  cat headers
  grep -qi "^Set-Cookie: tocsin_session=[A-Za-z0-9_-]\{43\}; Path=/; HttpOnly; SameSite=Lax; Max-Age=[0-9]*; Secure" headers
  stop_daemon
'

test_case 'user remove takes a role away; without any left, sessions and tokens end' '
  "$TOCSIN" user remove hugo@example.org --role host --event marche | grep -q "1 role removed"
  expect_eq "$(sql "SELECT count(*) FROM sessions s JOIN contacts c ON c.person_id = s.person_id WHERE c.address = '\''hugo@example.org'\''")" 0
  expect_eq "$(sql "SELECT count(*) FROM api_tokens k JOIN contacts c ON c.person_id = k.person_id WHERE c.address = '\''hugo@example.org'\'' AND revoked_at IS NULL")" 0
  must_fail "$TOCSIN" user remove hugo@example.org 2> e
  grep -q "no such role" e
  must_fail "$TOCSIN" user login-link hugo@example.org 2> e2
  grep -q "not an organiser" e2
'
