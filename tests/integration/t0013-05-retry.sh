#!/usr/bin/env bash
# Issue 13, item 5 — `campaign retry ID [--error TEXT]` queues failed messages again (only
# those whose error says TEXT); `campaign status` shows the most common errors with their
# counts and the next attempt time.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
{ echo "email,name,teams"; for i in 1 2 3 4 5 6; do echo "p$i@example.org,Person $i,paris-10"; done; } > people.csv
"$TOCSIN" import people people.csv >/dev/null
cat > news.tmpl <<'T'
subject: Nouvelles
--- text
Bonjour {{first_name}}
T
id=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template news.tmpl | tail -n 1)
"$TOCSIN" campaign send $id >/dev/null
# What a flaky relay leaves behind: three refused for a full mailbox, one for a policy
# reason, one bounce, one waiting for its third attempt.
fail() { sql "UPDATE outbound_messages SET status = '$2', last_error = '$3', attempts = 8 WHERE campaign_id = $id AND recipient = '$1'" >/dev/null; }
fail p1@example.org failed "452 4.2.2 mailbox full"
fail p2@example.org failed "452 4.2.2 mailbox full"
fail p3@example.org failed "452 4.2.2 mailbox full"
fail p4@example.org failed "554 5.7.1 policy rejection"
fail p5@example.org bounced "550 5.1.1 no such user"
sql "UPDATE outbound_messages SET attempts = 2, last_error = '421 4.3.2 try later',
     next_attempt_at = now() + interval '20 minutes' WHERE campaign_id = $id AND recipient = 'p6@example.org'" >/dev/null
sql "UPDATE campaigns SET status = 'sent' WHERE id = $id" >/dev/null

test_case 'campaign status lists the most common errors first, with counts and the next attempt' '
  "$TOCSIN" campaign status $id > out
  cat out
  grep -n "^error " out > errors
  sed -n 1p errors | grep -q "error 3x: 452 4.2.2 mailbox full (3 failed)"
  grep -q "error 1x: 421 4.3.2 try later (0 failed, next attempt [0-9-]* [0-9:]* Europe/Paris)" out
  grep -q "error 1x: 550 5.1.1 no such user (1 failed)" out
  grep -q "campaign retry $id \[--error TEXT\]" out
  "$TOCSIN" campaign status $id --json | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)[0]
e = s[\"errors\"]
assert e[0] == {\"error\": \"452 4.2.2 mailbox full\", \"count\": 3, \"failed\": 3, \"next_attempt\": None}, e
assert s[\"next_retry\"], s
"
'

test_case 'retry --error queues again only the failures whose error says it' '
  "$TOCSIN" campaign retry $id --error "MAILBOX FULL" > out
  cat out
  grep -qx "campaign $id: 3 failed messages whose error says \"MAILBOX FULL\" queued again" out
  expect_eq "$(sql "SELECT string_agg(recipient || '"'"':'"'"' || status, '"'"' '"'"' ORDER BY recipient) FROM outbound_messages WHERE campaign_id = $id")" \
    "p1@example.org:queued p2@example.org:queued p3@example.org:queued p4@example.org:failed p5@example.org:bounced p6@example.org:queued"
  expect_eq "$(sql "SELECT status FROM campaigns WHERE id = $id")" sending
'

test_case 'retry without --error takes every failure, never a bounce' '
  "$TOCSIN" campaign retry $id | grep -qx "campaign $id: 1 failed message queued again"
  expect_eq "$(sql "SELECT status FROM outbound_messages WHERE campaign_id = $id AND recipient = '"'"'p5@example.org'"'"'")" bounced
  rc=0; "$TOCSIN" campaign retry 999 2> err || rc=$?
  expect_eq "$rc" 65
'
