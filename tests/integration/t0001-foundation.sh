#!/usr/bin/env bash
# Foundation: migrations, schema contract, configuration, import, teams, events, /healthz.
. "$SRC/tests/integration/lib.sh"

test_case 'migrate on an up-to-date database applies nothing' '
  out=$("$TOCSIN" migrate)
  expect_eq "$out" "0 migrations applied"
'

test_case 'migrate on an empty database applies everything, twice is a no-op' '
  "$PGBIN/createdb" fresh_db
  TOCSIN_DATABASE_URL="host=$PGHOST dbname=fresh_db user=postgres" "$TOCSIN" migrate | grep -E "^[1-9][0-9]* migrations? applied"
  out=$(TOCSIN_DATABASE_URL="host=$PGHOST dbname=fresh_db user=postgres" "$TOCSIN" migrate)
  expect_eq "$out" "0 migrations applied"
'

test_case 'two migrate runs at once both succeed' '
  "$PGBIN/createdb" race_db
  url="host=$PGHOST dbname=race_db user=postgres"
  TOCSIN_DATABASE_URL="$url" "$TOCSIN" migrate > a.out 2>&1 & a=$!
  TOCSIN_DATABASE_URL="$url" "$TOCSIN" migrate > b.out 2>&1 & b=$!
  wait $a; wait $b
  n=$(PGDATABASE=race_db sql "SELECT count(*) FROM schema_migrations")
  m=$(ls "$SRC"/migrations/*.sql | wc -l)
  expect_eq "$n" "$m"
'

test_case 'every contract table and column exists' '
  while read -r table columns; do
    for c in ${columns//,/ }; do
      n=$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = '\''$table'\'' AND column_name = '\''$c'\''")
      expect_eq "$table.$c:$n" "$table.$c:1"
    done
  done <<TABLES
people id,name,locale,timezone,created_at
contacts id,person_id,kind,address
teams id,slug,name
memberships person_id,team_id,role,status,created_at
events id,slug,team_id,title,starts_at,timezone,capacity
rsvps event_id,person_id,status,guests
consent id,contact_id,channel,scope,action,source,evidence,created_at
inbound_messages id,channel,provider,provider_id,sender,recipient,body,raw,status,received_at
outbound_messages id,channel,recipient,subject,body,status,attempts,next_attempt_at,provider_id,campaign_id,dedupe_key,last_error
campaigns id,channel,segment,subject,template,status,scheduled_at
activity id,team_id,kind,payload,created_at
schema_migrations version,applied_at
TABLES
'

test_case 'times are timestamptz' '
  n=$(sql "SELECT count(*) FROM information_schema.columns WHERE table_schema = '\''public'\'' AND column_name LIKE '\''%_at'\'' AND data_type <> '\''timestamp with time zone'\''")
  expect_eq "$n" 0
'

test_case 'team add, list --json is valid JSON, show' '
  "$TOCSIN" team add paris-10 --name "Paris 10e" --region "Île-de-France"
  "$TOCSIN" team add lyon-1 --name "Lyon 1er"
  "$TOCSIN" team list --json > teams.json
  /usr/bin/python3 -c "import json,sys; t=json.load(open(\"teams.json\")); assert [x[\"slug\"] for x in t]==[\"lyon-1\",\"paris-10\"], t; assert t[1][\"region\"]==\"Île-de-France\""
  "$TOCSIN" team show paris-10 | grep -q "Paris 10e"
'

test_case 'team add refuses a duplicate and a bad slug with a clear reason' '
  ! "$TOCSIN" team add paris-10 --name again 2> err && grep -q "already exists" err
  ! "$TOCSIN" team add "Bad Slug!" --name x 2> err && grep -q "lower-case letters" err
'

test_case 'import keeps valid rows, reports the bad row on line 3, phones in E.164' '
  cat > people.csv <<CSV
email,phone,name,locale,timezone,teams,tags
camille@example.org,06 12 34 56 79,Camille,fr,Europe/Paris,paris-10,porte-a-porte
not-an-email,0612345680,Bad Row,fr,,,
LOUIS@Example.org,+33 6 12 34 56 81,Louis,en,America/Montreal,paris-10 lyon-1,
,0692 12 34 56,Réunion,fr,Indian/Reunion,,
CSV
  set +e; "$TOCSIN" import people people.csv > out 2> err; rc=$?; set -e
  cat out err
  expect_eq "$rc" 65
  grep -q "people.csv:3: email not-an-email" err
  grep -q "3 imported (3 new), 1 rejected" out
  expect_eq "$(sql "SELECT address FROM contacts WHERE kind = '\''phone'\'' ORDER BY address" | tr "\n" " ")" "+262692123456 +33612345679 +33612345681 "
  expect_eq "$(sql "SELECT count(*) FROM contacts WHERE address = '\''louis@example.org'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM memberships")" 3
  expect_eq "$(sql "SELECT count(*) FROM consent WHERE action = '\''opt_in'\'' AND source = '\''import'\''")" 5
'

test_case 'import again updates instead of duplicating; unknown teams are reported' '
  cat > again.csv <<CSV
email;name;teams;tags
camille@example.org;Camille Martin;nowhere;tractage
CSV
  "$TOCSIN" import people again.csv > out 2> err
  grep -q "again.csv:2: unknown team nowhere" err
  expect_eq "$(sql "SELECT count(*) FROM people")" 3
  expect_eq "$(sql "SELECT name || '\'' '\'' || array_to_string(tags, '\'','\'') FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '\''camille@example.org'\''")" "Camille Martin porte-a-porte,tractage"
'

test_case 'import reports a quoted field left open and a duplicate email' '
  printf "email,name\na@example.org,A\na@example.org,again\nb@example.org,\"never closed\n" > dup.csv
  ! "$TOCSIN" import people dup.csv 2> err
  grep -q "dup.csv:3: email a@example.org already on line 2" err
  grep -q "dup.csv:4: unterminated quoted field" err
'

test_case 'hostile text is stored verbatim' '
  printf "email,name\nx@example.org,\"Robert\x27); DROP TABLE people;--\"\n" > evil.csv
  "$TOCSIN" import people evil.csv
  expect_eq "$(sql "SELECT name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '\''x@example.org'\''")" "Robert'\''); DROP TABLE people;--"
'

test_case 'event add reads the start in its time zone' '
  "$TOCSIN" event add --team paris-10 --slug porte-a-porte --title "Porte-à-porte" --starts "2030-03-14 18:30" --timezone Europe/Paris --capacity 12
  expect_eq "$(sql "SELECT to_char(starts_at AT TIME ZONE '\''UTC'\'', '\''YYYY-MM-DD HH24:MI'\'') FROM events WHERE slug = '\''porte-a-porte'\''")" "2030-03-14 17:30"
  "$TOCSIN" event list --json | /usr/bin/python3 -c "import json,sys; e=json.load(sys.stdin); assert e[0][\"starts\"]==\"2030-03-14 18:30\" and e[0][\"capacity\"]==12, e"
  "$TOCSIN" event show porte-a-porte --json | grep -q "\"attending\": 0"
'

test_case 'event add refuses an unknown team, zone or date' '
  ! "$TOCSIN" event add --team nowhere --slug x --title x --starts "2030-01-01 10:00" 2> err && grep -q "no team nowhere" err
  ! "$TOCSIN" event add --team paris-10 --slug y --title y --starts "2030-01-01 10:00" --timezone Mars/Olympus 2> err && grep -q "unknown time zone" err
  ! "$TOCSIN" event add --team paris-10 --slug z --title z --starts "tomorrow-ish" 2> err && grep -q "YYYY-MM-DD HH:MM" err
'

test_case 'consent is append-only' '
  ! sql "UPDATE consent SET action = '\''opt_out'\''" 2> err && grep -q "append-only" err
  ! sql "DELETE FROM consent" 2> err && grep -q "append-only" err
'

test_case 'config errors name the file, the line and the key' '
  printf "[http]\nlisten = 127.0.0.1:1\n\n[smtp]\nport = many\n" > bad.conf
  set +e; "$TOCSIN" -c bad.conf team list 2> err; rc=$?; set -e
  expect_eq "$rc" 78
  grep -q "bad.conf:5: key port: expected a whole number" err
  printf "[sms]\nproviderr = twilio\n" > bad2.conf
  ! "$TOCSIN" -c bad2.conf team list 2> err && grep -q "bad2.conf:2: unknown key providerr in \[sms\]" err
'

test_case 'environment overrides the file; unknown command exits 64' '
  printf "[engine]\nlog_level = debug\n" > ok.conf
  TOCSIN_ENGINE_LOG_LEVEL=loud "$TOCSIN" -c ok.conf team list 2> err && false || grep -q "TOCSIN_ENGINE_LOG_LEVEL" err
  set +e; "$TOCSIN" frobnicate 2>/dev/null; rc=$?; set -e
  expect_eq "$rc" 64
'

test_case 'the example config documents every key and is current' '
  "$TOCSIN" config example > example.conf
  diff -u "$SRC/tocsin.conf.example" example.conf
  "$TOCSIN" -c "$SRC/tocsin.conf.example" config check
'

test_case 'config check: the same checks as tocsin run, errors with file, line and key (exit 78), warnings that do not fail' '
  printf "[http]\npublic_url = ftp://example.org\n[engine]\ndefault_timezone = Europe/Atlantis\nquiet_hours = 22h-8h\n" > bad.conf
  rc=0; "$TOCSIN" -c bad.conf config check 2> err || rc=$?
  cat err
  expect_eq "$rc" 78
  grep -F "bad.conf:2: [http] public_url = ftp://example.org: expected http://HOST[:PORT] or https://HOST" err
  grep -F "bad.conf:4: [engine] default_timezone = Europe/Atlantis: expected an IANA time zone name" err
  grep -F "bad.conf:5: [engine] quiet_hours = 22h-8h: expected HH:MM-HH:MM or off" err
  grep -F "tocsin: config: 3 errors in bad.conf" err
  rc=0; TOCSIN_HTTP_LISTEN=127.0.0.1:$(free_port) "$TOCSIN" -c bad.conf run 2> err || rc=$?
  expect_eq "$rc" 78
  grep -F "bad.conf:4: [engine] default_timezone" err
  printf "[http]\npublic_url = http://localhost:8025\n[smtp]\nhost = relay.example.org\nuser = u\npassword = p\nfrom = Team <team@localhost>\n" > warn.conf
  env -u TOCSIN_SMTP_FROM "$TOCSIN" -c warn.conf config check > out 2> err
  cat err
  grep -F "ok: warn.conf" out
  grep -F "warning: warn.conf:2: [http] public_url = http://localhost:8025: a loopback address" err
  grep -F "warning: warn.conf:7: [smtp] from = Team <team@localhost>: the sender is @localhost" err
  grep -F "warning: default: [smtp] tls = off: AUTH without TLS" err
  ! grep -F "p:" err | grep -F "password"
'

test_case 'tocsin run serves /healthz and /metrics, and stops on SIGTERM with status 0' '
  start_daemon
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/healthz")" 200
  curl -s "$HTTP/metrics" > metrics.txt
  grep -q "^# TYPE tocsin_http_request_duration_seconds histogram" metrics.txt
  grep -q "^tocsin_http_responses_total{route=\"/healthz\",code=\"200\"} [1-9]" metrics.txt
  grep -q "^tocsin_database_up 1" metrics.txt
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/nowhere")" 404
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$HTTP/healthz")" 405
  stop_daemon
'

test_case 'tocsin run refuses to start with pending migrations' '
  "$PGBIN/createdb" empty_db
  set +e; TOCSIN_DATABASE_URL="host=$PGHOST dbname=empty_db user=postgres" "$TOCSIN" run 2> err; rc=$?; set -e
  expect_eq "$rc" 78
  grep -q "tocsin migrate" err
'

test_case 'the demo loads once' '
  "$PGBIN/createdb" demo_db
  export TOCSIN_DATABASE_URL="host=$PGHOST dbname=demo_db user=postgres"
  "$TOCSIN" migrate >/dev/null
  "$TOCSIN" demo | grep -q "demo loaded"
  "$TOCSIN" demo | grep -q "already loaded"
  expect_eq "$(PGDATABASE=demo_db sql "SELECT count(*) FROM people")" 3
'
