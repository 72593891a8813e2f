#!/usr/bin/env bash
# Years of data (issue 16): outbound_messages in monthly partitions, counters instead of
# GROUP BY, retention by whole months ([engine] keep_messages, `tocsin upkeep`), dedupe
# keys unique across months, statistics refreshed after an import and a fan-out.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
PY=/usr/bin/python3
month_ago() { sql "SELECT tocsin_month(now() - interval '$1 months')"; }
must_fail() { if "$@"; then echo "unexpected success: $*"; return 1; fi; }

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
printf 'email,name,teams\n' > people.csv
for i in $(seq 1 300); do echo "reader$i@example.org,Reader $i,paris-10"; done >> people.csv
cat > news.tmpl <<'T'
subject: Nouvelles
--- text
Bonjour {{first_name}}
T

test_case 'an import analyses the tables it wrote, so a campaign to the new people is planned on fresh statistics' '
  "$TOCSIN" import people people.csv 2> import.err
  grep -q "event=import_analyzed imported=300" import.err
  expect_eq "$(sql "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('"'"'people'"'"', '"'"'contacts'"'"', '"'"'memberships'"'"', '"'"'consent'"'"') AND last_analyze IS NOT NULL")" 4
'

test_case 'outbound_messages is partitioned by month; migrate and upkeep keep three months ahead' '
  expect_eq "$(sql "SELECT relkind FROM pg_class WHERE relname = '"'"'outbound_messages'"'"'")" p
  "$TOCSIN" upkeep --json > upkeep.json
  $PY -c "import json; r=json.load(open(\"upkeep.json\")); assert r[\"keep_days\"] == 0 and r[\"months_dropped\"] == 0, r"
  for k in 0 1 2 3; do
    sql "SELECT count(*) FROM outbound_partition_months() m WHERE m = tocsin_month(now() + interval '"'"'$k months'"'"')" | grep -qx 1
  done
'

test_case 'a fan-out puts all of a campaign in the month it started and analyses that month' '
  id=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id 2> send.err
  grep -q "event=queue_analyzed campaign=$id added=300" send.err
  expect_eq "$(sql "SELECT count(*) || '"'"' '"'"'|| count(DISTINCT month) FROM outbound_messages WHERE campaign_id = $id")" "300 1"
  expect_eq "$(sql "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = outbound_partition_name(tocsin_month(now()))")" t
'

test_case 'the counters say what count(*) says, after inserts, sends, cancels and deletes' '
  sql "UPDATE outbound_messages SET status = '"'"'sent'"'"', sent_at = now() WHERE id IN (SELECT id FROM outbound_messages ORDER BY id LIMIT 120)" >/dev/null
  sql "UPDATE outbound_messages SET status = '"'"'cancelled'"'"' WHERE status = '"'"'queued'"'"' AND id % 7 = 0" >/dev/null
  sql "DELETE FROM outbound_messages WHERE status = '"'"'cancelled'"'"' AND id % 2 = 0" >/dev/null
  sql "SELECT channel, status, count(*) FROM outbound_messages GROUP BY 1, 2 ORDER BY 1, 2" > counted
  sql "SELECT channel, status, messages FROM outbound_queue_totals ORDER BY 1, 2" > kept
  diff counted kept
  "$TOCSIN" queue status --json | $PY -c "import json,sys; r={x[\"status\"]: x[\"messages\"] for x in json.load(sys.stdin)}; assert r[\"sent\"] == 120, r"
'

test_case 'a dedupe key stays unique across months: an event moved back to a start announced a month ago notifies nobody twice' '
  sql "SELECT outbound_partitions_ensure(tocsin_month(now() - interval '"'"'1 month'"'"'), tocsin_month(now()))" >/dev/null
  first=$(sql "SELECT to_char((now() + interval '"'"'10 days'"'"') AT TIME ZONE '"'"'Europe/Paris'"'"', '"'"'YYYY-MM-DD HH24:MI'"'"')")
  second=$(sql "SELECT to_char((now() + interval '"'"'11 days'"'"') AT TIME ZONE '"'"'Europe/Paris'"'"', '"'"'YYYY-MM-DD HH24:MI'"'"')")
  "$TOCSIN" event add --team paris-10 --slug marche --title "Marché" --starts "$first" >/dev/null
  sql "INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, p.id, '"'"'yes'"'"' FROM events e, people p WHERE e.slug = '"'"'marche'"'"' AND p.id <= 3" >/dev/null
  "$TOCSIN" event move marche --starts "$second" | grep -q "3 people notified"
  "$TOCSIN" event move marche --starts "$first" | grep -q "3 people notified"
  # The notices of the first start, as if sent last month: they live in that partition.
  sql "UPDATE outbound_messages SET month = tocsin_month(now() - interval '"'"'1 month'"'"') WHERE kind = '"'"'event_moved'"'"'" >/dev/null
  "$TOCSIN" event move marche --starts "$second" | grep -q "0 people notified"
  expect_eq "$(sql "SELECT count(*) || '"'"' '"'"'|| count(DISTINCT dedupe_key) FROM outbound_messages WHERE kind = '"'"'event_moved'"'"'")" "6 6"
'

test_case 'retention drops whole months past keep_messages, keeps a month with a message still queued, deletes old inbound rows, and keeps campaign results and the ledger' '
  sql "SELECT outbound_partitions_ensure(tocsin_month(now() - interval '"'"'16 months'"'"'), tocsin_month(now()))" >/dev/null
  # An old campaign of 40 sent and 2 failed, 16 months ago; 14 months ago a row still queued.
  old=$(sql "INSERT INTO campaigns (channel, segment, template, status, started_at) VALUES ('"'"'email'"'"', '"'"'all'"'"', '"'"'x'"'"', '"'"'sent'"'"', now() - interval '"'"'16 months'"'"') RETURNING id")
  sql "INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, campaign_id, status, created_at, month)
       SELECT '"'"'email'"'"', '"'"'old'"'"' || g || '"'"'@example.org'"'"', '"'"'campaign'"'"', '"'"'old:'"'"' || g, $old,
              CASE WHEN g <= 40 THEN '"'"'sent'"'"' ELSE '"'"'failed'"'"' END, now() - interval '"'"'16 months'"'"', '"'"'$(month_ago 16)'"'"'
       FROM generate_series(1, 42) g" >/dev/null
  sql "INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, status, created_at, month)
       VALUES ('"'"'email'"'"', '"'"'held@example.org'"'"', '"'"'reply'"'"', '"'"'old:held'"'"', '"'"'queued'"'"', now() - interval '"'"'14 months'"'"', '"'"'$(month_ago 14)'"'"')" >/dev/null
  sql "INSERT INTO inbound_messages (channel, provider, provider_id, sender, body, received_at)
       SELECT '"'"'sms'"'"', '"'"'test'"'"', '"'"'old-'"'"' || g, '"'"'+33611111111'"'"', '"'"'OUI'"'"', now() - interval '"'"'15 months'"'"' FROM generate_series(1, 25) g" >/dev/null
  # A text a busy webhook stored 15 months ago and never applied (given up), and one of now.
  sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, attempts, accepted_at)
       VALUES ('"'"'twilio'"'"', '"'"'SMold'"'"', '"'"'+33611111111'"'"', '"'"'+33700000000'"'"', '"'"'OUI'"'"', 10, now() - interval '"'"'15 months'"'"'),
              ('"'"'twilio'"'"', '"'"'SMnew'"'"', '"'"'+33611111112'"'"', '"'"'+33700000000'"'"', '"'"'OUI'"'"', 10, now())" >/dev/null
  ledger=$(sql "SELECT count(*) FROM consent")
  inbound=$(sql "SELECT count(*) FROM inbound_messages")
  months=$(sql "SELECT count(*) FROM outbound_partitions_expired('"'"'365 days'"'"')")
  must_fail env TOCSIN_ENGINE_KEEP_MESSAGES=10d "$TOCSIN" upkeep 2> err
  grep -q "TOCSIN_ENGINE_KEEP_MESSAGES: expected off or a number of days in 32..36500" err
  TOCSIN_ENGINE_KEEP_MESSAGES=365d "$TOCSIN" upkeep --json > upkeep.json
  cat upkeep.json
  # Every month past 365 days went, but the one holding a queued message.
  $PY -c "import json; r=json.load(open(\"upkeep.json\")); assert r[\"months_dropped\"] == $months - 1 and r[\"months_kept_unsent\"] == 1 and r[\"inbound_deleted\"] == 26, r"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '"'"'old:%'"'"'")" 1
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages")" $((inbound - 25))
  expect_eq "$(sql "SELECT string_agg(provider_id, '"'"' '"'"') FROM sms_backlog")" SMnew
  expect_eq "$(sql "SELECT count(*) FROM consent")" "$ledger"
  # What the campaign sent is still known; the queue no longer counts the dropped rows.
  "$TOCSIN" campaign status $old --json | $PY -c "import json,sys; s=json.load(sys.stdin)[0]; assert s[\"sent\"] == 40 and s[\"failed\"] == 2 and s[\"enqueued\"] == 42, s"
  sql "SELECT channel, status, count(*) FROM outbound_messages GROUP BY 1, 2 ORDER BY 1, 2" > counted
  sql "SELECT channel, status, messages FROM outbound_queue_totals ORDER BY 1, 2" > kept
  diff counted kept
'

test_case 'keep_messages is off or a number of days of at least 32, and a bad value names its file and line' '
  printf "[engine]\nkeep_messages = 400d\n" > keep.conf
  "$TOCSIN" -c keep.conf config check
  printf "[engine]\nkeep_messages = 400\n" > bad.conf
  must_fail "$TOCSIN" -c bad.conf config check 2> err
  grep -q "bad.conf:2: key keep_messages: expected off or a number of days in 32..36500 followed by d" err
  printf "[engine]\nkeep_messages = 7d\n" > short.conf
  must_fail "$TOCSIN" -c short.conf config check 2> err
  grep -q "short.conf:2: key keep_messages" err
'
